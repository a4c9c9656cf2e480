"""Forward models (SP, VES, TEM) against closed forms and independent codes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from geoprospect.geophysics.sp import SHAPE_FACTORS, sp_anomaly
from geoprospect.geophysics.tem import MU0_H_PER_M, central_loop_step_off
from geoprospect.geophysics.ves import schlumberger_rhoa

# ----------------------------------------------------------------------------------------- SP


@pytest.mark.parametrize("q", sorted(SHAPE_FACTORS.values()))
def test_sp_vertical_polarisation_is_symmetric_with_known_centre_value(q):
    x = np.linspace(-200.0, 200.0, 401)
    v = sp_anomaly(x, k=1000.0, depth_m=20.0, angle_deg=90.0, x0_m=0.0, q=q)
    np.testing.assert_allclose(v, v[::-1], rtol=1e-12)
    # V(x0) = -K sin(a) h^(1 - 2q); for a = 90 deg that is also the extremum.
    assert v[200] == pytest.approx(-1000.0 * 20.0 ** (1 - 2 * q))
    assert np.argmin(v) == 200


@pytest.mark.parametrize("q", [1.5, 1.0])
def test_sp_horizontal_polarisation_peaks_where_derivative_vanishes(q):
    # a = 0: V = K d / (d^2 + h^2)^q, antisymmetric, maximum at d = h / sqrt(2q - 1).
    x = np.linspace(-100.0, 100.0, 200001)
    v = sp_anomaly(x, k=500.0, depth_m=10.0, angle_deg=0.0, x0_m=0.0, q=q)
    np.testing.assert_allclose(v, -v[::-1], atol=1e-12)
    assert x[np.argmax(v)] == pytest.approx(10.0 / np.sqrt(2 * q - 1), abs=1e-3)


def test_sp_batch_shape_and_half_turn_identity():
    rng = np.random.default_rng(1)
    x = np.linspace(0.0, 150.0, 101)
    k, h, a, x0 = rng.uniform(1e3, 1e5, 8), rng.uniform(5, 60, 8), rng.uniform(0, 360, 8), rng.uniform(0, 150, 8)
    v = sp_anomaly(x, k, h, a, x0)
    assert v.shape == (8, 101)
    np.testing.assert_allclose(sp_anomaly(x, -k, h, a + 180.0, x0), v, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(v[3], sp_anomaly(x, k[3], h[3], a[3], x0[3]))


def test_sp_rejects_non_positive_depth():
    with pytest.raises(ValueError):
        sp_anomaly([0.0, 1.0], 1.0, 0.0, 0.0, 0.0)


# ---------------------------------------------------------------------------------------- VES


def _two_layer_image_series(s, rho1, rho2, h, m=None, n_terms=4000):
    """Keller and Frischknecht (1966) image series for a two-layer earth, ideal or finite MN."""
    k = (rho2 - rho1) / (rho2 + rho1)
    n = np.arange(1, n_terms + 1)[:, None]
    if m is None:
        return rho1 * (1 + 2 * np.sum(k**n * s**3 / (s**2 + (2 * n * h) ** 2) ** 1.5, axis=0))

    def potential(r):  # 2 pi U / I
        return rho1 * (1 / r + 2 * np.sum(k**n / np.sqrt(r**2 + (2 * n * h) ** 2), axis=0))

    return (s**2 - m**2) / (2 * m) * (potential(s - m) - potential(s + m))


AB2 = np.logspace(0, 3, 31)


def test_ves_half_space_returns_its_resistivity():
    np.testing.assert_allclose(schlumberger_rhoa(AB2, [123.0], []), 123.0, rtol=1e-12)
    np.testing.assert_allclose(schlumberger_rhoa(AB2, [123.0], [], mn2_m=AB2 / 5), 123.0, rtol=1e-12)
    # Equal layers are a half-space too: the filtered part must vanish.
    np.testing.assert_allclose(schlumberger_rhoa(AB2, [50.0, 50.0, 50.0], [3.0, 7.0]), 50.0, rtol=1e-10)


@pytest.mark.parametrize("rho1, rho2", [(100.0, 10.0), (10.0, 100.0), (50.0, 5000.0), (300.0, 3.0)])
def test_ves_two_layers_match_image_series(rho1, rho2):
    expected = _two_layer_image_series(AB2, rho1, rho2, 10.0)
    got = schlumberger_rhoa(AB2, [rho1, rho2], [10.0])
    np.testing.assert_allclose(got, expected, rtol=1e-2)
    mn2 = AB2 / 5
    expected_finite = _two_layer_image_series(AB2, rho1, rho2, 10.0, m=mn2)
    np.testing.assert_allclose(schlumberger_rhoa(AB2, [rho1, rho2], [10.0], mn2), expected_finite, rtol=1e-2)


def test_ves_finite_mn_approaches_ideal_and_batch_matches_single():
    rho = np.array([[100.0, 10.0, 500.0], [20.0, 200.0, 5.0]])
    thick = np.array([[5.0, 20.0], [2.0, 30.0]])
    ideal = schlumberger_rhoa(AB2, rho, thick)
    assert ideal.shape == (2, len(AB2))
    np.testing.assert_allclose(schlumberger_rhoa(AB2, rho, thick, AB2 / 50), ideal, rtol=1e-2)
    np.testing.assert_allclose(ideal[1], schlumberger_rhoa(AB2, rho[1], thick[1]))
    # Mixed: MN/2 = 0 marks the ideal spacings within one sounding.
    mixed = np.where(np.arange(len(AB2)) % 2 == 0, 0.0, AB2 / 10)
    got = schlumberger_rhoa(AB2, rho, thick, mixed)
    np.testing.assert_allclose(got[:, ::2], ideal[:, ::2])


def test_ves_rejects_bad_geometry():
    with pytest.raises(ValueError):
        schlumberger_rhoa([10.0], [10.0, 100.0], [5.0], mn2_m=10.0)
    with pytest.raises(ValueError):
        schlumberger_rhoa([10.0], [10.0, 100.0], [5.0, 1.0])


def test_ves_matches_pygimli_three_layers():
    ves = pytest.importorskip("pygimli.physics.ves")
    ab2 = np.logspace(0, 2.5, 20)
    mn2 = ab2 / 10
    thick, rho = [5.0, 20.0], [100.0, 10.0, 300.0]
    expected = np.asarray(ves.VESModelling(ab2=ab2, mn2=mn2).response(thick + rho))
    np.testing.assert_allclose(schlumberger_rhoa(ab2, rho, thick, mn2), expected, rtol=1e-3)


# ---------------------------------------------------------------------------------------- TEM

TIMES_S = np.logspace(-5, -2, 31)


def _half_space_central_loop(times_s, rho, radius, current=1.0):
    """Ward and Hohmann (1988) eqs. 4.98 and 4.100: step-off h_z (A/m) and dB_z/dt (T/s)."""
    sigma = 1 / rho
    theta_a = np.sqrt(MU0_H_PER_M * sigma / (4 * times_s)) * radius
    gauss = np.exp(-(theta_a**2))
    hz = current / (2 * radius) * (3 / (np.sqrt(np.pi) * theta_a) * gauss + (1 - 3 / (2 * theta_a**2)) * erf(theta_a))
    dhzdt = -current / (MU0_H_PER_M * sigma * radius**3) * (
        3 * erf(theta_a) - 2 / np.sqrt(np.pi) * theta_a * (3 + 2 * theta_a**2) * gauss
    )
    return hz, MU0_H_PER_M * dhzdt


@pytest.mark.parametrize("rho, radius", [(100.0, 100.0), (10.0, 50.0), (1000.0, 20.0)])
def test_tem_half_space_matches_closed_form(rho, radius):
    hz, dbzdt = _half_space_central_loop(TIMES_S, rho, radius, current=2.0)
    got = central_loop_step_off(TIMES_S, [rho], [], radius, current_a=2.0)
    np.testing.assert_allclose(got.hz_a_per_m, hz, rtol=1e-2)
    np.testing.assert_allclose(got.dbzdt_t_per_s, dbzdt, rtol=1e-2)


def test_tem_thick_top_layer_looks_like_half_space_early_and_batches():
    early = TIMES_S[TIMES_S <= 1e-4]
    hz, dbzdt = _half_space_central_loop(early, 100.0, 50.0)
    got = central_loop_step_off(early, [[100.0, 5.0], [100.0, 1000.0]], [[500.0], [500.0]], 50.0)
    assert got.dbzdt_t_per_s.shape == (2, len(early))
    for row in got.dbzdt_t_per_s:
        np.testing.assert_allclose(row, dbzdt, rtol=1e-2)
    # Later, the conductive basement slows the decay and the resistive one speeds it up.
    late = central_loop_step_off([5e-3], [[100.0, 5.0], [100.0, 1000.0]], [[500.0], [500.0]], 50.0)
    half = _half_space_central_loop(np.array([5e-3]), 100.0, 50.0)[1]
    assert abs(late.dbzdt_t_per_s[0, 0]) > abs(half[0]) > abs(late.dbzdt_t_per_s[1, 0])


def test_tem_matches_empymod_layered():
    empymod = pytest.importorskip("empymod")
    radius, n_sides = 50.0, 32
    phi = np.linspace(0, 2 * np.pi, n_sides + 1)
    x, y = radius * np.cos(phi), radius * np.sin(phi)
    times = np.logspace(-5, -2, 4)
    res, depth = [2e14, 30.0, 5.0, 200.0], [0.0, 20.0, 60.0]
    segments = empymod.bipole(
        src=[x[:-1], x[1:], y[:-1], y[1:], 0, 0], rec=[0, 0, 0, 0, 90], mrec=True, signal=-1,
        srcpts=3, strength=1.0, depth=depth, res=res, freqtime=times, verb=1,
    )
    expected = np.asarray(segments).sum(axis=-1)
    got = central_loop_step_off(times, res[1:], [20.0, 40.0], radius).hz_a_per_m
    # A 32-sided polygon differs from the circle by up to 0.64 % (its area); allow 1 %.
    np.testing.assert_allclose(got, expected, rtol=1e-2)


def test_tem_rejects_non_positive_time():
    with pytest.raises(ValueError):
        central_loop_step_off([0.0, 1e-3], [100.0], [], 50.0)
