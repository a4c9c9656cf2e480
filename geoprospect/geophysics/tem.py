"""Loop transient electromagnetics (TEM) over a 1-D layered earth, batched over models.

The circular central loop is below; rectangular loops, in-loop offset receivers and the coincident
(single) loop are sums of circular-loop kernels (:func:`rectangular_loop_step_off`).

A horizontal circular loop of radius a on the surface carries a current I that is switched off
(an ideal step, or a linear ramp); the receiver measures the vertical field at the loop centre.
With the Laplace variable s (s = i omega in the frequency domain; quasi-static, non-magnetic earth;
Ward and Hohmann 1988, *Electromagnetic Theory for Geophysical Applications*, eq. 4.86 with source
and receiver at z = 0) the secondary field is

    H_z^s(s) = (I a / 2) integral_0^inf r_TE(lambda) lambda J1(lambda a) d lambda,
    r_TE = (lambda - U_1) / (lambda + U_1),

where U_1 is the surface value of the layered-earth recursion
``U_i = u_i (U_{i+1} + u_i tanh(u_i h_i)) / (u_i + U_{i+1} tanh(u_i h_i))``,
``u_i = sqrt(lambda^2 + s mu0 sigma_i)``, ``U_N = u_N``. The Hankel transform is a digital linear
filter from ``libdlf``: Key's 101-point J1 filter (Key 2009, Geophysics 74, F63-F72) by default,
or the 47-point filter of Guptasarma and Singh (1997, Geophysical Prospecting 45, 745-762) that
Li et al. (2019, Nonlinear Processes in Geophysics 26, 445-456) use. Against Key's 401-point filter
on 200 random four-layer models, the 101-point filter is within 1e-7 on the spectrum and 1e-6 on
dB_z/dt at 0.3-1 ms for 100-300 m loops; the 47-point one within 2e-5 and 0.1 % (0.25 % at
worst over 10 us-10 ms).

Two transforms to the time domain, both giving the step-off field and its derivative:

* ``"key"`` (default): Key's 81-point sine/cosine filter (Key 2009, ``key_81_2009``) on the
  imaginary part of the spectrum (Newman, Hohmann and Anderson 1986, Geophysics 51, 1608-1627)

      h_z(t) = -(2 / pi) integral_0^inf Im[H_z^s(omega)] / omega cos(omega t) d omega,
      dh_z/dt = (2 / pi) integral_0^inf Im[H_z^s(omega)] sin(omega t) d omega,

  with the spectrum computed at ``POINTS_PER_DECADE`` log-spaced frequencies and interpolated by a
  cubic spline in log-frequency.
  Within 0.05 % of empymod on the test models while H_z is above 1e-7 of the primary field.
* ``"stehfest"``: the Gaver-Stehfest inversion with N = 12 as Li et al. (2019) use,
  ``f(t) = (ln 2 / t) sum_k V_k F(k ln 2 / t)`` (Stehfest 1970, Communications of the ACM 13, 47-49),
  applied to ``h_z = -L^-1[H_z^s(s) / s]``; dh_z/dt is the exact t-derivative of that sum (see
  ``_stehfest_matrices``). Real s only. Within 0.2 % of empymod on the paper's models, but it
  resolves near-exponential late decays (thin conductors) only to a few per cent, and its weights
  (up to 8e6) put a rounding floor at ~1e-7 of the primary field.

Both transforms, the spline and the ramp average are linear, so they fold into one matrix that maps
the sampled spectra of a whole batch to the transients in a single product.

Ramp turn-off: the current falls linearly from I to 0 over ``ramp_s``; times count from the end
of the ramp. The system is linear and the ramp is a sum of small steps spread over it, so the
ramp response is the step response averaged over the ramp,

    f_ramp(t) = (1 / ramp_s) integral_0^ramp_s f_step(t + tau) d tau,

evaluated by Gauss-Legendre quadrature with ``RAMP_NODES`` nodes.

Speed: the layered-earth kernel is compiled with numba, vectorised over the filter wavenumbers,
with a polynomial complex exponential (so that the loop vectorises without SVML), a cut of the
layer stack once the layers above have attenuated every wavenumber by e^-40, and, on request,
threads over blocks of models (the kernel releases the GIL). See ``benchmarks/tem_forward.py``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import pairwise
from math import factorial
from typing import NamedTuple

import libdlf
import numpy as np
from numba import njit
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.interpolate import CubicSpline

from geoprospect.geophysics.ves import lagrange_stencil

MU0_H_PER_M = 4e-7 * np.pi
FOURIER_FILTER = "key_81_2009"
POINTS_PER_DECADE = 10
STEHFEST_N = 12
RAMP_NODES = 6
LOOP_ANGLE_NODES = 16  # Gauss nodes per smooth piece of a rectangle's edge distance R(theta)
AREA_NODES = 12  # Gauss nodes along each side of a receiver loop, for the mean over its area
GRID_PER_DECADE = 20  # log-lambda grid the loops' filter evaluations are folded onto (1e-6 of 60 per decade)
TIME_TRANSFORMS = ("key", "stehfest")
_MODELS_PER_BLOCK = 32
_COMPLEX_STEP = 1e-20  # relative: no subtraction, so any tiny step gives H' to rounding
# exp(-40) ~ 4e-18: a layer stack that attenuates this much hides everything below it.
_ATTENUATION_CUT = 40.0


class TEMResponse(NamedTuple):
    """Transient at the loop centre after switch-off, each array shaped (batch, n_times) or (n_times,).

    Attributes
    ----------
    hz_a_per_m : numpy.ndarray
        Vertical magnetic field H_z after switch-off, A/m (positive: along the primary field).
    dbzdt_t_per_s : numpy.ndarray
        Its time derivative times mu0, dB_z/dt, T/s (= V/m^2: the EMF per square metre of a
        horizontal receiver coil, with the opposite sign). Negative while the field decays.
    """

    hz_a_per_m: np.ndarray
    dbzdt_t_per_s: np.ndarray


def central_loop_step_off(
    times_s: ArrayLike,
    resistivities_ohm_m: ArrayLike,
    thicknesses_m: ArrayLike,
    loop_radius_m: float,
    current_a: float = 1.0,
    *,
    ramp_s: float = 0.0,
    hankel_filter: str = "key_101_2009",
    time_transform: str = "key",
    n_threads: int = 1,
) -> TEMResponse:
    """H_z and dB_z/dt at the centre of a circular loop on a layered earth after switch-off.

    Parameters
    ----------
    times_s : array_like, shape (n_times,)
        Times after the end of the switch-off, s (> 0).
    resistivities_ohm_m : array_like, shape (batch, n_layers) or (n_layers,)
        Layer resistivities from the top down, the last one the basement half-space, ohm-m.
    thicknesses_m : array_like, shape (batch, n_layers - 1) or (n_layers - 1,)
        Layer thicknesses from the top down, m.
    loop_radius_m : float
        Radius of the transmitter loop, m.
    current_a : float, default 1.0
        Transmitter current before switch-off, A. The response is linear in it.
    ramp_s : float, default 0.0
        Duration of the linear turn-off ramp, s; 0 is an ideal step. Li et al. (2019) use 1e-6.
    hankel_filter : str, default "key_101_2009"
        Name of a J1 digital linear filter in ``libdlf.hankel``; ``"gupt_47_1997"`` is the
        47-point filter of Li et al. (2019), within 0.3 % of the default on dB_z/dt.
    time_transform : {"key", "stehfest"}, default "key"
        Key's 81-point sine/cosine filter, or Gaver-Stehfest with N = 12.
    n_threads : int, default 1
        Threads over blocks of models (the kernel releases the GIL). One by default: on the 2-vCPU
        machine this was measured on, two threads ran at 0.9-1.0x of one (``benchmarks/tem_forward.py
        --threads 2``), and callers already run in parallel workers; ask for more on real cores.

    Returns
    -------
    TEMResponse
        ``hz_a_per_m`` (A/m) and ``dbzdt_t_per_s`` (T/s), each (batch, n_times), or (n_times,)
        for a single 1-D model.

    Raises
    ------
    ValueError
        If shapes disagree, a time, resistivity, thickness or the radius is not positive, the
        ramp is negative, or a filter or transform name is unknown.
    """
    if not loop_radius_m > 0:
        raise ValueError("times, resistivities, thicknesses and the loop radius must be positive")
    base, weights = _j1_filter(hankel_filter)
    wavenumbers = base / loop_radius_m
    # (I a / 2) int f(l) l J1(l a) dl = (I a / 2) (1 / a) sum f(b/a) (b/a) w: lambda_j = b_j / a.
    return _step_off(times_s, resistivities_ohm_m, thicknesses_m, wavenumbers, weights * wavenumbers * (current_a / 2),
                     ramp_s=ramp_s, time_transform=time_transform, n_threads=n_threads)


def _step_off(times_s, resistivities_ohm_m, thicknesses_m, wavenumbers: np.ndarray, lambda_weights: np.ndarray, *,
              ramp_s: float, time_transform: str, n_threads: int) -> TEMResponse:
    """The transient of ``H_z^s(s) = sum_j r_TE(lambda_j, s) lambda_weights_j`` (any receiver's weights)."""
    times = np.atleast_1d(np.asarray(times_s, dtype=float))
    rho = np.asarray(resistivities_ohm_m, dtype=float)
    single = rho.ndim == 1
    rho = np.atleast_2d(rho)
    try:
        thick = np.broadcast_to(np.atleast_2d(np.asarray(thicknesses_m, dtype=float)), (len(rho), rho.shape[1] - 1))
    except ValueError:
        raise ValueError("thicknesses_m needs one value fewer than resistivities_ohm_m per model") from None
    if np.any(times <= 0) or np.any(rho <= 0) or np.any(thick <= 0):
        raise ValueError("times, resistivities, thicknesses and the loop radius must be positive")
    if ramp_s < 0:
        raise ValueError("ramp_s must be >= 0")
    if time_transform not in TIME_TRANSFORMS:
        raise ValueError(f"time_transform must be one of {TIME_TRANSFORMS}, not {time_transform!r}")
    transform = _transform(tuple(times), float(ramp_s), time_transform)
    sums = _hankel_sums(transform.s_re, transform.s_im, wavenumbers, lambda_weights, 1 / rho, thick, n_threads)
    response = TEMResponse((sums @ transform.to_hz).real, MU0_H_PER_M * (sums @ transform.to_dhzdt).real)
    return TEMResponse(*(r[0] for r in response)) if single else response


def rectangular_loop_step_off(
    times_s: ArrayLike,
    resistivities_ohm_m: ArrayLike,
    thicknesses_m: ArrayLike,
    side_x_m: float,
    side_y_m: float,
    current_a: float = 1.0,
    *,
    receiver_m: tuple[float, float] = (0.0, 0.0),
    receiver_sides_m: tuple[float, float] | None = None,
    n_angles: int = LOOP_ANGLE_NODES,
    n_area: int = AREA_NODES,
    ramp_s: float = 0.0,
    hankel_filter: str = "key_101_2009",
    time_transform: str = "key",
    n_threads: int = 1,
) -> TEMResponse:
    """H_z and dB_z/dt of a rectangular (or square) loop on a layered earth, at a point or over a receiver loop.

    The transmitter loop is centred on the origin with its sides along x and y. Two receivers:

    * **a point coil** (``receiver_sides_m=None``) at ``receiver_m`` inside the loop (the centre by
      default; an in-loop offset receiver otherwise). A loop is the sum of the vertical magnetic
      dipoles that fill it, so in polar coordinates about the receiver the field of any loop around
      it is the mean over directions theta of the field at the centre of a circular loop whose radius
      is the distance R(theta) to the loop's edge:
      ``H_z = (1 / 2 pi) integral_0^{2 pi} H_z^circle(R(theta)) d theta``. R(theta) is smooth between
      the directions of the four corners; each of those pieces is integrated by Gauss-Legendre
      quadrature with ``n_angles`` nodes.
    * **a receiver loop** (``receiver_sides_m=(sx, sy)``, centred on ``receiver_m``, sides along x
      and y, inside the transmitter loop or on its wire): the mean H_z over its area, i.e. its flux
      over its area, which is what a loop measures (its EMF is ``-area * turns * mean dB_z/dt``).
      The coincident (single) loop is ``receiver_sides_m=(side_x_m, side_y_m)`` at the origin.
      The mean is a Gauss-Legendre product rule with ``n_area`` nodes along each side over the
      point responses above. (Neumann's double line integral over the two wires, the other exact
      route, sums constants that cancel only to the filter's accuracy at late times.)

    Every radius is one J1 filter of ``hankel_filter``; the
    filter wavenumbers of all of them are folded, by 8-node Lagrange interpolation in log lambda,
    onto one grid of ``GRID_PER_DECADE`` points per decade (r_TE is smooth in log lambda; within
    3e-6 of a 60-per-decade grid on random four-layer earths), cached per geometry, so a loop costs
    about one central-loop evaluation whatever the node counts (151 grid wavenumbers for the 50 m
    single loop, against the filter's 101 for a circle).
    Checked against empymod's wire segments (and for the receiver loop, empymod's H_z averaged
    over the loop's area) in the tests.

    Parameters
    ----------
    times_s, resistivities_ohm_m, thicknesses_m, current_a, ramp_s, hankel_filter, time_transform, n_threads
        As in :func:`central_loop_step_off`.
    side_x_m, side_y_m : float
        Side lengths of the transmitter loop, m (> 0).
    receiver_m : (float, float), default (0, 0)
        Position of the point receiver (strictly inside the loop) or centre of the receiver loop,
        m, relative to the transmitter's centre.
    receiver_sides_m : (float, float), optional
        Side lengths of a receiver loop, m; ``None``: a point receiver (a small coil).
    n_angles, n_area : int
        Quadrature nodes per smooth piece (see above).

    Returns
    -------
    TEMResponse
        At the point, or averaged over the receiver loop's area.

    Raises
    ------
    ValueError
        If a side is not positive or a point receiver is not strictly inside the loop, and as
        :func:`central_loop_step_off`.
    """
    sides = (float(side_x_m), float(side_y_m))
    position = (float(receiver_m[0]), float(receiver_m[1]))
    rx_sides = None if receiver_sides_m is None else (float(receiver_sides_m[0]), float(receiver_sides_m[1]))
    if not (min(sides) > 0 and (rx_sides is None or min(rx_sides) > 0)):
        raise ValueError("loop sides must be positive")
    extent = (0.0, 0.0) if rx_sides is None else rx_sides
    inside = [abs(p) + e / 2 < s_ / 2 or (e > 0 and abs(p) + e / 2 <= s_ / 2) for p, e, s_ in zip(position, extent, sides)]
    if not all(inside):
        raise ValueError(f"the receiver (at {position}, sides {rx_sides}) must lie inside the transmitter loop (sides {sides})")
    if rx_sides is None:
        wavenumbers, weights = _in_loop_weights(hankel_filter, sides, position, int(n_angles))
    else:
        wavenumbers, weights = _receiver_loop_weights(hankel_filter, sides, position, rx_sides, int(n_angles), int(n_area))
    return _step_off(times_s, resistivities_ohm_m, thicknesses_m, wavenumbers, weights * current_a,
                     ramp_s=ramp_s, time_transform=time_transform, n_threads=n_threads)


@lru_cache(maxsize=64)
def _in_loop_weights(hankel_filter: str, sides: tuple[float, float], position: tuple[float, float], n_angles: int):
    """Grid wavenumbers and weights (unit current) of H_z^s at a point inside a rectangular loop."""
    return _fold_to_grid(*_in_loop_terms(hankel_filter, sides, position, n_angles))


@lru_cache(maxsize=64)
def _receiver_loop_weights(hankel_filter: str, sides: tuple[float, float], centre: tuple[float, float],
                           rx_sides: tuple[float, float], n_angles: int, n_area: int):
    """Grid wavenumbers and weights (unit current) of the mean H_z^s over a receiver loop inside the transmitter."""
    nodes, node_weights = np.polynomial.legendre.leggauss(n_area)
    xs, ys = (c + s_ / 2 * nodes for c, s_ in zip(centre, rx_sides))
    lam, wts = [], []
    for x, wx in zip(xs, node_weights / 2):
        for y, wy in zip(ys, node_weights / 2):
            point_lam, point_wts = _in_loop_terms(hankel_filter, sides, (float(x), float(y)), n_angles)
            lam.append(point_lam)
            wts.append(wx * wy * point_wts)
    return _fold_to_grid(np.concatenate(lam), np.concatenate(wts))


def _in_loop_terms(hankel_filter: str, sides: tuple[float, float], position: tuple[float, float], n_angles: int):
    """Filter wavenumbers and weights (unit current) of H_z^s at a point inside the loop, before folding."""
    base, weights = _j1_filter(hankel_filter)
    a, b = sides[0] / 2, sides[1] / 2
    px, py = position
    # Corner directions from the bottom-right corner anticlockwise through a full turn; between
    # two corners the ray from the receiver meets one side, at R = distance / cos(theta - normal).
    corners = np.unwrap(np.arctan2([-b - py, b - py, b - py, -b - py], [a - px, a - px, -a - px, -a - px]))
    edges = [(a - px, 0.0), (b - py, np.pi / 2), (a + px, np.pi), (b + py, 3 * np.pi / 2)]
    nodes, node_weights = np.polynomial.legendre.leggauss(n_angles)
    lam, wts = [], []
    for (lo, hi), (distance, normal) in zip(pairwise(np.r_[corners, corners[0] + 2 * np.pi]), edges):
        thetas = lo + (hi - lo) * (nodes + 1) / 2
        radii = distance / np.cos(thetas - normal)
        # H_z^circle(R) = (I R / 2) int r_TE lambda J1(lambda R) d lambda = sum_j r_TE(l_j) l_j w_j I / 2, l_j = b_j / R;
        # each direction weighs d theta / 2 pi.
        lam.append((base[None, :] / radii[:, None]).ravel())
        wts.append((node_weights[:, None] * (hi - lo) / (8 * np.pi) * weights[None, :] * base[None, :] / radii[:, None]).ravel())
    return np.concatenate(lam), np.concatenate(wts)


def _fold_to_grid(wavenumbers: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sum_i f(l_i) w_i`` as ``sum_g f(l_g) W_g`` on a log-lambda grid (8-node Lagrange interpolation).

    Valid for f smooth in log lambda, as r_TE is; one grid point per 1 / GRID_PER_DECADE decade
    over the wavenumbers queried.
    """
    log_lambda = np.log10(wavenumbers)
    step = 1.0 / GRID_PER_DECADE
    first = np.floor(log_lambda.min() / step) - 8
    log_grid = (first + np.arange(int(np.ceil(log_lambda.max() / step) - first) + 9)) * step
    index, basis = lagrange_stencil(log_lambda, log_grid[0], step)
    grid_weights = np.zeros(len(log_grid))
    np.add.at(grid_weights, index.ravel(), (basis * weights[:, None]).ravel())
    used = grid_weights != 0
    return 10.0 ** log_grid[used], grid_weights[used]


class _Transform(NamedTuple):
    """Laplace variables s = s_re + i s_im at which to sample H_z^s (rad/s), and the complex
    (n_s, n_times) matrices M with ``h_z = Re(H_z^s(s) @ M_hz)``, ``dh_z/dt = Re(H_z^s(s) @ M_dhzdt)``."""

    s_re: np.ndarray
    s_im: np.ndarray
    to_hz: np.ndarray | sparse.csr_array
    to_dhzdt: np.ndarray | sparse.csr_array


@lru_cache(maxsize=16)
def _j1_filter(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Base and J1 weights of a ``libdlf.hankel`` filter."""
    return _filter(name, "j1")


@lru_cache(maxsize=16)
def _j0_filter(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Base and J0 weights of a ``libdlf.hankel`` filter."""
    return _filter(name, "j0")


def _filter(name: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    make = getattr(libdlf.hankel, name, None)
    if make is None or kind not in getattr(make, "values", ()):
        raise ValueError(f"hankel_filter must name a {kind.upper()} filter of libdlf.hankel, not {name!r}")
    values = make()
    return values[0], values[make.values.index(kind) + 1]


@lru_cache(maxsize=64)
def _transform(times: tuple[float, ...], ramp_s: float, kind: str) -> _Transform:
    """Sampling points and matrices for these times (cached: inversions call with the same times)."""
    times_arr = np.asarray(times)
    if ramp_s > 0:
        nodes, node_weights = np.polynomial.legendre.leggauss(RAMP_NODES)
        eval_times = (times_arr[:, None] + ramp_s * (nodes + 1) / 2).ravel()
        # Mean over the ramp: Gauss-Legendre weights sum to 2.
        average = sparse.kron(sparse.eye_array(len(times_arr)), node_weights[:, None] / 2, format="csr")
    else:
        eval_times, average = times_arr, sparse.eye_array(len(times_arr), format="csr")
    s_re, s_im, to_hz, to_dhzdt = (_key_matrices if kind == "key" else _stehfest_matrices)(eval_times)
    return _Transform(s_re, s_im, to_hz @ average, to_dhzdt @ average)


def _key_matrices(times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """s = i omega on a log grid and the spline + sine/cosine filter matrices, (n_omega, n_times)."""
    base, sin_weights, cos_weights = getattr(libdlf.fourier, FOURIER_FILTER)()
    queries = base[None, :] / times[:, None]  # (n_times, n_filter) frequencies each time needs
    lo, hi = np.log10(queries.min()), np.log10(queries.max())
    n_omega = int(np.ceil((hi - lo) * POINTS_PER_DECADE)) + 1
    log_omega = np.linspace(lo, hi, n_omega)
    omega = 10.0**log_omega
    # Spline of the identity: row q of `interp` holds the weights of the grid values at query q.
    interp = CubicSpline(log_omega, np.eye(n_omega), axis=0)(np.log10(queries))  # (n_t, n_f, n_omega)
    # Both transforms interpolate the smooth Im H / omega (hence the 1 / omega); the sine transform
    # multiplies it back by the query frequency.
    to_hz = -np.einsum("tfo,f->ot", interp, cos_weights) * (2 / np.pi) / times / omega[:, None]
    to_dhzdt = np.einsum("tfo,tf,f->ot", interp, queries, sin_weights) * (2 / np.pi) / times / omega[:, None]
    # Re(H (-i A)) = Im(H) A.
    return np.zeros(n_omega), omega, -1j * to_hz, -1j * to_dhzdt


def _stehfest_matrices(times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """s = k ln2 / t (k = 1..N per time, plus a complex step) and the Gaver-Stehfest matrices.

    ``h_z(t) = -L^-1[H / s](t) ~ -(ln2 / t) sum_k V_k H(s_k) / s_k``. Inverting H itself for
    dh_z/dt fails at late times: H ~ c1 s for small s, whose inverse vanishes for t > 0 but whose
    Stehfest sum does not (sum_k k V_k = 1/60). The exact t-derivative of the h_z formula instead,
    ``dh_z/dt ~ (ln2 / t^2) sum_k V_k H'(s_k)``, cancels c1 (sum_k V_k = 0); H'(s) comes free from
    a complex step, ``H(s + i eta s) = H(s) + i eta s H'(s)``, in the same kernel call.
    """
    half = STEHFEST_N // 2
    k = np.arange(1, STEHFEST_N + 1)
    v = np.array([
        (-1) ** (kk + half) * sum(
            j**half * factorial(2 * j) / (factorial(half - j) * factorial(j) * factorial(j - 1) * factorial(kk - j) * factorial(2 * j - kk))
            for j in range((kk + 1) // 2, min(kk, half) + 1)
        )
        for kk in k
    ])
    s = (k[None, :] * np.log(2) / times[:, None]).ravel()  # (n_times * N,), time-major
    per_node = np.tile(v, len(times)) * np.repeat(np.log(2) / times, STEHFEST_N)
    # Block-diagonal (one time per block), sparse so that long time series stay cheap.
    rows, cols = np.arange(len(s)), np.repeat(np.arange(len(times)), STEHFEST_N)
    shape = (len(s), len(times))
    to_hz = sparse.csr_array((-per_node / s + 0j, (rows, cols)), shape=shape)
    # Re(H (-i B)) = Im(H) B, and Im H(s + i eta s) / (eta s) = H'(s).
    to_dhzdt = sparse.csr_array((-1j * per_node / (np.repeat(times, STEHFEST_N) * _COMPLEX_STEP * s), (rows, cols)), shape=shape)
    return s, _COMPLEX_STEP * s, to_hz, to_dhzdt


def _hankel_sums(
    s_re: np.ndarray, s_im: np.ndarray, wavenumbers: np.ndarray, lambda_weights: np.ndarray,
    conductivity: np.ndarray, thickness: np.ndarray, n_threads: int,
) -> np.ndarray:
    """sum_j r_TE(lambda_j, s_k) lambda_j w_j (I / 2) = H_z^s(s_k), complex (batch, n_s), A/m."""
    conductivity = np.ascontiguousarray(conductivity)
    thickness = np.ascontiguousarray(thickness)
    n_models = len(conductivity)
    out_re = np.empty((n_models, len(s_re)))
    out_im = np.empty_like(out_re)
    mu_s_re, mu_s_im = MU0_H_PER_M * s_re, MU0_H_PER_M * s_im

    def run(block: slice) -> None:
        _kernel(mu_s_re, mu_s_im, wavenumbers, lambda_weights, conductivity[block], thickness[block],
                out_re[block], out_im[block])

    n_blocks = min(n_threads, -(-n_models // _MODELS_PER_BLOCK))
    if n_blocks <= 1:
        run(slice(None))
    else:
        edges = np.linspace(0, n_models, n_blocks + 1).astype(int)
        with ThreadPoolExecutor(n_blocks) as pool:
            list(pool.map(run, [slice(a, b) for a, b in pairwise(edges)]))
    return out_re + 1j * out_im


@njit(cache=True, inline="always")
def _csqrt(a: float, b: float) -> tuple[float, float]:
    """Principal sqrt(a + ib) for a >= 0 (no cancellation there)."""
    re = np.sqrt(0.5 * (np.sqrt(a * a + b * b) + a))
    return re, 0.5 * b / re


@njit(cache=True, inline="always")
def _cexp(x: float, y: float) -> tuple[float, float]:
    """exp(x + iy) for x <= 0 to ~1e-12 relative, as plain arithmetic so that loops vectorise.

    Below x = -40 the value (< 4e-18) is negligible beside the 1 it is added to, so x and y are
    clamped to |.| <= 40; then w = z / 256 has |w| < 0.23, a degree-10 Taylor polynomial is exact
    to 1e-15 and eight squarings give exp(z) = exp(w)^256.
    """
    x = max(x, -40.0) * 0.00390625
    y = min(max(y, -40.0), 40.0) * 0.00390625
    re = x * 2.755731922398589e-07 + 2.755731922398589e-06
    im = y * 2.755731922398589e-07
    re, im = re * x - im * y + 2.48015873015873e-05, re * y + im * x
    re, im = re * x - im * y + 1.984126984126984e-04, re * y + im * x
    re, im = re * x - im * y + 1.388888888888889e-03, re * y + im * x
    re, im = re * x - im * y + 8.333333333333333e-03, re * y + im * x
    re, im = re * x - im * y + 4.166666666666666e-02, re * y + im * x
    re, im = re * x - im * y + 1.666666666666667e-01, re * y + im * x
    re, im = re * x - im * y + 0.5, re * y + im * x
    re, im = re * x - im * y + 1.0, re * y + im * x
    re, im = re * x - im * y + 1.0, re * y + im * x
    re, im = re * re - im * im, 2.0 * re * im
    re, im = re * re - im * im, 2.0 * re * im
    re, im = re * re - im * im, 2.0 * re * im
    re, im = re * re - im * im, 2.0 * re * im
    re, im = re * re - im * im, 2.0 * re * im
    re, im = re * re - im * im, 2.0 * re * im
    re, im = re * re - im * im, 2.0 * re * im
    re, im = re * re - im * im, 2.0 * re * im
    return re, im


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def _basement(lambda2: np.ndarray, k2_re: float, k2_im: float, u_re: np.ndarray, u_im: np.ndarray) -> None:
    """U_N = u_N = sqrt(lambda^2 + k^2) for every wavenumber."""
    for j in range(lambda2.size):
        u_re[j], u_im[j] = _csqrt(lambda2[j] + k2_re, k2_im)


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def _layer(lambda2: np.ndarray, k2_re: float, k2_im: float, thickness: float, u_re: np.ndarray, u_im: np.ndarray) -> None:
    """One step of the recursion up through a layer, in place on U, for every wavenumber.

    ``U <- u (U (1 + e) + u (1 - e)) / (u (1 + e) + U (1 - e))`` with ``e = exp(-2 u h)``, the
    tanh form without overflow.
    """
    for j in range(lambda2.size):
        vr, vi = _csqrt(lambda2[j] + k2_re, k2_im)
        er, ei = _cexp(-2.0 * thickness * vr, -2.0 * thickness * vi)
        pr, pi = 1.0 + er, ei
        mr, mi = 1.0 - er, -ei
        ur, ui = u_re[j], u_im[j]
        nr = ur * pr - ui * pi + vr * mr - vi * mi
        ni = ur * pi + ui * pr + vr * mi + vi * mr
        nr, ni = vr * nr - vi * ni, vr * ni + vi * nr
        dr = vr * pr - vi * pi + ur * mr - ui * mi
        di = vr * pi + vi * pr + ur * mi + ui * mr
        scale = 1.0 / (dr * dr + di * di)
        u_re[j] = (nr * dr + ni * di) * scale
        u_im[j] = (ni * dr - nr * di) * scale


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def _reflection_sum(wavenumbers: np.ndarray, lambda_weights: np.ndarray, u_re: np.ndarray, u_im: np.ndarray) -> tuple[float, float]:
    """sum_j r_TE(lambda_j) lambda_weights_j, r_TE = (lambda - U) / (lambda + U); overwrites U.

    The terms go to U in a loop that vectorises; four partial sums then keep the adds in flight.
    """
    for j in range(wavenumbers.size):
        nr, ni = wavenumbers[j] - u_re[j], -u_im[j]
        dr, di = wavenumbers[j] + u_re[j], u_im[j]
        scale = lambda_weights[j] / (dr * dr + di * di)
        u_re[j] = (nr * dr + ni * di) * scale
        u_im[j] = (ni * dr - nr * di) * scale
    re = np.zeros(4)
    im = np.zeros(4)
    for j in range(wavenumbers.size):
        re[j % 4] += u_re[j]
        im[j % 4] += u_im[j]
    return (re[0] + re[1]) + (re[2] + re[3]), (im[0] + im[1]) + (im[2] + im[3])


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def _kernel(
    mu_s_re: np.ndarray, mu_s_im: np.ndarray, wavenumbers: np.ndarray, lambda_weights: np.ndarray,
    conductivity: np.ndarray, thickness: np.ndarray, out_re: np.ndarray, out_im: np.ndarray,
) -> None:
    """out[m, k] = sum_j r_TE(lambda_j, s_k) lambda_weights_j for each model m (rows of conductivity)."""
    n_models, n_layers = conductivity.shape
    lambda2 = wavenumbers * wavenumbers
    u_re = np.empty(wavenumbers.size)
    u_im = np.empty(wavenumbers.size)
    for m in range(n_models):
        for k in range(mu_s_re.size):
            # Re u_i >= Re sqrt(s mu0 sigma_i) at every wavenumber: once the layers above have
            # attenuated by e^-40, the layer reached acts as the basement.
            bottom, attenuation = n_layers - 1, 0.0
            for layer in range(n_layers - 1):
                attenuation += 2.0 * thickness[m, layer] * _csqrt(mu_s_re[k] * conductivity[m, layer], mu_s_im[k] * conductivity[m, layer])[0]
                if attenuation > _ATTENUATION_CUT:
                    bottom = layer
                    break
            _basement(lambda2, mu_s_re[k] * conductivity[m, bottom], mu_s_im[k] * conductivity[m, bottom], u_re, u_im)
            for layer in range(bottom - 1, -1, -1):
                _layer(lambda2, mu_s_re[k] * conductivity[m, layer], mu_s_im[k] * conductivity[m, layer],
                       thickness[m, layer], u_re, u_im)
            out_re[m, k], out_im[m, k] = _reflection_sum(wavenumbers, lambda_weights, u_re, u_im)
