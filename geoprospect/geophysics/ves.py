"""Schlumberger vertical electrical sounding (VES) over a 1-D layered earth, batched over models.

The surface potential of a point current source over horizontal layers is a Hankel transform of
the resistivity transform T(lambda) (Koefoed 1979, *Geosounding Principles 1*; Pekeris recursion):

    T_N = rho_N,   T_i = rho_i (T_{i+1} + rho_i tanh(lambda h_i)) / (rho_i + T_{i+1} tanh(lambda h_i))

    U(r) = I / (2 pi) * integral_0^inf T(lambda) J0(lambda r) d lambda

The ideal Schlumberger apparent resistivity (MN -> 0) is
``rho_a(s) = s^2 integral T(lambda) lambda J1(lambda s) d lambda`` and with a finite MN it is the
geometric factor times the potential difference between M and N. Both integrals are evaluated with
the published digital linear filters of Guptasarma and Singh (1997, Geophysical Prospecting 45,
745-762; 47-point J1 and 61-point J0, taken from the ``libdlf`` package). The half-space part
``rho_1`` is integrated analytically and only ``T - rho_1``, which decays exponentially with
lambda, goes through the filter, so a homogeneous earth returns its resistivity exactly.
"""

from __future__ import annotations

import libdlf
import numpy as np
from numpy.typing import ArrayLike

_BASE_J1, _WEIGHTS_J1 = libdlf.hankel.gupt_47_1997()
_BASE_J0, _WEIGHTS_J0 = libdlf.hankel.gupt_61_1997()
_BLOCK_MODELS = 512


def resistivity_transform(
    lambda_per_m: np.ndarray, resistivities_ohm_m: np.ndarray, thicknesses_m: np.ndarray
) -> np.ndarray:
    """Resistivity transform T(lambda) of a layered earth (Pekeris recursion), ohm-m.

    Parameters
    ----------
    lambda_per_m : numpy.ndarray, shape (...)
        Hankel wavenumbers, 1/m.
    resistivities_ohm_m : numpy.ndarray, shape (batch, n_layers)
    thicknesses_m : numpy.ndarray, shape (batch, n_layers - 1)

    Returns
    -------
    numpy.ndarray, shape (batch, ...)
    """
    expand = (slice(None),) + (None,) * np.ndim(lambda_per_m)
    transform = np.broadcast_to(resistivities_ohm_m[:, -1][expand], (len(resistivities_ohm_m),) + np.shape(lambda_per_m))
    for layer in range(resistivities_ohm_m.shape[1] - 2, -1, -1):
        rho = resistivities_ohm_m[:, layer][expand]
        tanh = np.tanh(lambda_per_m * thicknesses_m[:, layer][expand])
        transform = rho * (transform + rho * tanh) / (rho + transform * tanh)
    return transform


def schlumberger_rhoa(
    ab2_m: ArrayLike,
    resistivities_ohm_m: ArrayLike,
    thicknesses_m: ArrayLike,
    mn2_m: ArrayLike | None = None,
) -> np.ndarray:
    """Schlumberger apparent resistivity of 1-D layered earths, ohm-m.

    Parameters
    ----------
    ab2_m : array_like, shape (n,)
        Half current-electrode spacings AB/2, m (> 0).
    resistivities_ohm_m : array_like, shape (batch, n_layers) or (n_layers,)
        Layer resistivities from the top down, the last one the basement half-space, ohm-m (> 0).
    thicknesses_m : array_like, shape (batch, n_layers - 1) or (n_layers - 1,)
        Layer thicknesses from the top down, m (> 0).
    mn2_m : float or array_like, shape (n,), optional
        Half potential-electrode spacings MN/2, m, with 0 <= MN/2 < AB/2. ``None`` or 0 gives the
        ideal Schlumberger limit (MN -> 0) for every or that spacing.

    Returns
    -------
    numpy.ndarray
        Apparent resistivity, ohm-m, shape (batch, n); shape (n,) for a single 1-D model.

    Raises
    ------
    ValueError
        If shapes disagree or a resistivity, thickness, AB/2 or MN/2 is out of range.
    """
    ab2 = np.atleast_1d(np.asarray(ab2_m, dtype=float))
    rho = np.asarray(resistivities_ohm_m, dtype=float)
    thick = np.asarray(thicknesses_m, dtype=float)
    single = rho.ndim == 1
    rho = np.atleast_2d(rho)
    try:
        thick = np.broadcast_to(np.atleast_2d(thick), (len(rho), rho.shape[1] - 1))
    except ValueError:
        raise ValueError("thicknesses_m needs one value fewer than resistivities_ohm_m per model") from None
    mn2 = np.zeros_like(ab2) if mn2_m is None else np.broadcast_to(np.asarray(mn2_m, dtype=float), ab2.shape)
    if np.any(rho <= 0) or np.any(thick <= 0) or np.any(ab2 <= 0):
        raise ValueError("resistivities, thicknesses and AB/2 must be positive")
    if np.any(mn2 < 0) or np.any(mn2 >= ab2):
        raise ValueError("MN/2 must satisfy 0 <= MN/2 < AB/2")

    rhoa = np.empty((len(rho), len(ab2)))
    # Blocks of models bound the (block, n, n_filter) temporaries, whatever the batch size.
    for start in range(0, len(rho), _BLOCK_MODELS):
        block = slice(start, start + _BLOCK_MODELS)
        rhoa[block] = _rhoa_block(ab2, mn2, rho[block], thick[block])
    return rhoa[0] if single else rhoa


def _rhoa_block(ab2: np.ndarray, mn2: np.ndarray, rho: np.ndarray, thick: np.ndarray) -> np.ndarray:
    """Apparent resistivity (batch, n) for one block of models; MN/2 = 0 marks ideal spacings."""
    rho1 = rho[:, :1]
    rhoa = np.empty((len(rho), len(ab2)))
    ideal = mn2 == 0
    if ideal.any():
        s = ab2[ideal]
        # rho_a = rho1 + s^2 int (T - rho1) lambda J1(lambda s) dlambda; the filter sum
        # int f(l) J1(l s) dl = (1/s) sum f(b/s) w turns the s^2 and lambda = b/s into sum (T - rho1) b w.
        correction = resistivity_transform(_BASE_J1[None, :] / s[:, None], rho, thick) - rho1[:, :, None]
        rhoa[:, ideal] = rho1 + correction @ (_BASE_J1 * _WEIGHTS_J1)
    if (~ideal).any():
        s, m = ab2[~ideal], mn2[~ideal]
        # 2 pi U(r) / I = rho1 / r + int (T - rho1) J0(lambda r) dlambda, then Delta V between M and N.
        near, far = s - m, s + m
        u_near = rho1 / near + _potential_correction(near, rho, thick)
        u_far = rho1 / far + _potential_correction(far, rho, thick)
        # rho_a = K Delta V / I with K = pi (s^2 - m^2) / (2 m), Delta V = 2 (U(s-m) - U(s+m)).
        rhoa[:, ~ideal] = (s**2 - m**2) / (2 * m) * (u_near - u_far)
    return rhoa


def _potential_correction(r_m: np.ndarray, rho: np.ndarray, thick: np.ndarray) -> np.ndarray:
    """int_0^inf (T - rho1) J0(lambda r) dlambda, shape (batch, len(r_m)), ohm."""
    correction = resistivity_transform(_BASE_J0[None, :] / r_m[:, None], rho, thick) - rho[:, :1, None]
    return (correction @ _WEIGHTS_J0) / r_m
