"""Central-loop transient electromagnetics (TEM) over a 1-D layered earth, batched over models.

A horizontal circular loop of radius a on the surface carries a current I that is switched off at
t = 0 (step-off); the receiver measures the vertical field at the loop centre. In the frequency
domain (time factor exp(i omega t), quasi-static, non-magnetic earth; Ward and Hohmann 1988,
*Electromagnetic Theory for Geophysical Applications*, eq. 4.86 with source and receiver at z = 0)
the secondary field is

    H_z^s(omega) = (I a / 2) integral_0^inf r_TE(lambda) lambda J1(lambda a) d lambda,
    r_TE = (lambda - U_1) / (lambda + U_1),

where U_1 is the surface value of the layered-earth recursion
``U_i = u_i (U_{i+1} + u_i tanh(u_i h_i)) / (u_i + U_{i+1} tanh(u_i h_i))``,
``u_i = sqrt(lambda^2 + i omega mu0 sigma_i)``, ``U_N = u_N``.
The Hankel transform uses the 47-point J1 filter of Guptasarma and Singh (1997, Geophysical
Prospecting 45, 745-762). The step-off response follows from the imaginary part by the cosine and
sine transforms (Newman, Hohmann and Anderson 1986, Geophysics 51, 1608-1627)

    h_z(t) = -(2 / pi) integral_0^inf Im[H_z^s(omega)] / omega cos(omega t) d omega,
    dh_z/dt = (2 / pi) integral_0^inf Im[H_z^s(omega)] sin(omega t) d omega,

evaluated with the 201-point sine/cosine filter of Key (2012, Geophysics 77, F21-F30). The spectrum is
computed at ``POINTS_PER_DECADE`` log-spaced frequencies and interpolated by a cubic spline in
log-frequency; spline and filter are linear, so they fold into one matrix that maps the spectra of
a whole batch of models to the transients in a single product.
"""

from __future__ import annotations

from typing import NamedTuple

import libdlf
import numpy as np
from numpy.typing import ArrayLike
from scipy.interpolate import CubicSpline

MU0_H_PER_M = 4e-7 * np.pi
POINTS_PER_DECADE = 10
_BASE_J1, _WEIGHTS_J1 = libdlf.hankel.gupt_47_1997()
_BASE_FT, _SIN, _COS = libdlf.fourier.key_201_2012()
_BLOCK_MODELS = 128


class TEMResponse(NamedTuple):
    """Step-off transient at the loop centre, each array shaped (batch, n_times) or (n_times,).

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
) -> TEMResponse:
    """Step-off H_z and dB_z/dt at the centre of a circular loop on a layered earth.

    Parameters
    ----------
    times_s : array_like, shape (n_times,)
        Times after the current switch-off, s (> 0).
    resistivities_ohm_m : array_like, shape (batch, n_layers) or (n_layers,)
        Layer resistivities from the top down, the last one the basement half-space, ohm-m.
    thicknesses_m : array_like, shape (batch, n_layers - 1) or (n_layers - 1,)
        Layer thicknesses from the top down, m.
    loop_radius_m : float
        Radius of the transmitter loop, m.
    current_a : float, default 1.0
        Transmitter current before switch-off, A. The response is linear in it.

    Returns
    -------
    TEMResponse
        ``hz_a_per_m`` (A/m) and ``dbzdt_t_per_s`` (T/s), each (batch, n_times), or (n_times,)
        for a single 1-D model.

    Raises
    ------
    ValueError
        If shapes disagree or a time, resistivity, thickness or the radius is not positive.
    """
    times = np.atleast_1d(np.asarray(times_s, dtype=float))
    rho = np.asarray(resistivities_ohm_m, dtype=float)
    single = rho.ndim == 1
    rho = np.atleast_2d(rho)
    try:
        thick = np.broadcast_to(np.atleast_2d(np.asarray(thicknesses_m, dtype=float)), (len(rho), rho.shape[1] - 1))
    except ValueError:
        raise ValueError("thicknesses_m needs one value fewer than resistivities_ohm_m per model") from None
    if np.any(times <= 0) or np.any(rho <= 0) or np.any(thick <= 0) or loop_radius_m <= 0:
        raise ValueError("times, resistivities, thicknesses and the loop radius must be positive")

    omega, to_hz, to_dhzdt = _time_transform_matrices(times)
    wavenumbers = _BASE_J1 / loop_radius_m
    hz = np.empty((len(rho), len(times)))
    dhzdt = np.empty_like(hz)
    for start in range(0, len(rho), _BLOCK_MODELS):
        block = slice(start, start + _BLOCK_MODELS)
        im_hs = _secondary_field(omega, wavenumbers, rho[block], thick[block]).imag * (current_a / 2)
        hz[block] = (im_hs / omega) @ to_hz
        dhzdt[block] = im_hs @ to_dhzdt
    response = TEMResponse(hz, MU0_H_PER_M * dhzdt)
    return TEMResponse(*(r[0] for r in response)) if single else response


def _secondary_field(omega: np.ndarray, wavenumbers: np.ndarray, rho: np.ndarray, thick: np.ndarray) -> np.ndarray:
    """sum_j r_TE(lambda_j) lambda_j w_j = H_z^s / (I / 2): complex, shape (batch, n_omega), 1/m."""
    lam = wavenumbers[None, None, :]
    k2 = 1j * MU0_H_PER_M * omega[None, :, None]  # i omega mu0, times sigma per layer below
    admittance = np.sqrt(lam**2 + k2 / rho[:, -1, None, None])
    for layer in range(rho.shape[1] - 2, -1, -1):
        u = np.sqrt(lam**2 + k2 / rho[:, layer, None, None])
        # tanh(u h) = (1 - e) / (1 + e) with e = exp(-2 u h): one complex exp is cheaper than tanh.
        decay = np.exp(-2 * thick[:, layer, None, None] * u)
        plus, minus = 1 + decay, 1 - decay
        admittance = u * (admittance * plus + u * minus) / (u * plus + admittance * minus)
    r_te = (lam - admittance) / (lam + admittance)
    # (I a / 2) int f(l) l J1(l a) dl = (I a / 2) (1 / a) sum f(b/a) (b/a) w: lambda_j = b_j / a.
    return r_te @ (_WEIGHTS_J1 * wavenumbers)


def _time_transform_matrices(times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequencies (rad/s) and the (n_omega, n_times) matrices of the spline + sine/cosine filter.

    ``(Im H / omega) @ to_hz`` gives h_z(t) and ``Im H @ to_dhzdt`` gives dh_z/dt.
    """
    lo, hi = np.log10(_BASE_FT.min() / times.max()), np.log10(_BASE_FT.max() / times.min())
    n_omega = int(np.ceil((hi - lo) * POINTS_PER_DECADE)) + 1
    log_omega = np.linspace(lo, hi, n_omega)
    omega = 10.0**log_omega
    queries = _BASE_FT[None, :] / times[:, None]  # (n_times, n_filter) frequencies each time needs
    # Spline of the identity: row q of `interp` holds the weights of the grid values at query q.
    interp = CubicSpline(log_omega, np.eye(n_omega), axis=0)(np.log10(queries))  # (n_t, n_f, n_omega)
    # Both transforms interpolate the smooth Im H / omega; the sine transform multiplies it back
    # by the query frequency, hence the queries / omega factor.
    to_hz = -np.einsum("tfo,f->ot", interp, _COS) * (2 / np.pi) / times
    to_dhzdt = np.einsum("tfo,tf,f->ot", interp, queries, _SIN) / omega[:, None] * (2 / np.pi) / times
    return omega, to_hz, to_dhzdt
