"""Simulations, data misfit, optimisers (LM, PSO, COPSO, bargain) and the inversion that composes them."""

from __future__ import annotations

import numpy as np
import pytest

from geoprospect.geophysics.inversion import Inversion
from geoprospect.geophysics.misfit import DataMisfit
from geoprospect.geophysics.optimize import Bargain, LevenbergMarquardt, ParticleSwarm, LogisticSequence, latin_hypercube
from geoprospect.geophysics.simulation import SPSimulation, TEMSimulation, VESSimulation
from geoprospect.geophysics.sp import sp_anomaly
from geoprospect.geophysics.tem import central_loop_step_off
from geoprospect.geophysics.ves import schlumberger_rhoa

# The synthetic case of the SP study (Kaftan et al. 2014 geometry): 101 stations over 150 m.
SP_X_M = np.linspace(0.0, 150.0, 101)
SP_TRUE = np.array([94686.0, 41.81, 309.37, 77.07])  # k (mV m^2), depth (m), angle (deg), x0 (m)
VES_AB2_M = np.geomspace(1.0, 300.0, 25)
VES_TRUE_PHYSICAL = np.array([100.0, 20.0, 300.0, 10.0, 25.0])  # rho 1-3 (ohm-m), h 1-2 (m)


def sphere(x):
    return np.sum((x - 0.5) ** 2, axis=1)


def rosenbrock(x):
    return np.sum(100.0 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1.0 - x[:, :-1]) ** 2, axis=1)


# -------------------------------------------------------------------------------- simulations


def test_sp_simulation_names_bounds_and_prediction():
    sim = SPSimulation(SP_X_M)
    assert sim.param_names == ("k_mv_m2", "depth_m", "angle_deg", "x0_m")
    assert sim.n_params == 4
    # The half-turn ambiguity is closed: K > 0 and the angle in one 180-degree window.
    assert sim.lower[0] > 0 and (sim.lower[2], sim.upper[2]) == (180.0, 360.0)
    assert (sim.lower[3], sim.upper[3]) == (0.0, 150.0)
    models = np.array([SP_TRUE, SP_TRUE * [2.0, 0.5, 1.0, 1.1]])
    np.testing.assert_allclose(sim.predict(models), sp_anomaly(SP_X_M, *models.T))
    physical = sim.to_physical(models)
    np.testing.assert_array_equal(physical["depth_m"], models[:, 1])
    assert SPSimulation(SP_X_M, q=1.0).param_names[0] == "k_mv_m"
    assert SPSimulation(SP_X_M, q=0.5).param_names[0] == "k_mv"


def test_simulation_bounds_override_and_reject_unknown_names():
    sim = SPSimulation(SP_X_M, bounds={"depth_m": (5.0, 80.0)})
    assert (sim.lower[1], sim.upper[1]) == (5.0, 80.0)
    ves = VESSimulation(VES_AB2_M, n_layers=2, bounds={"rho_2_ohm_m": (10.0, 1000.0)})
    assert (ves.lower[1], ves.upper[1]) == (1.0, 3.0)  # log10 model space
    with pytest.raises(ValueError, match="unknown parameter"):
        SPSimulation(SP_X_M, bounds={"depth": (1.0, 2.0)})
    with pytest.raises(ValueError, match="low < high"):
        SPSimulation(SP_X_M, bounds={"depth_m": (50.0, 5.0)})


def test_ves_simulation_is_log10_rhoa_with_each_readings_mn2():
    mn2 = np.where(VES_AB2_M > 20, 5.0, 0.5)
    sim = VESSimulation(VES_AB2_M, mn2_m=mn2, n_layers=3)
    assert sim.param_names == ("rho_1_ohm_m", "rho_2_ohm_m", "rho_3_ohm_m", "h_1_m", "h_2_m")
    models = np.log10([VES_TRUE_PHYSICAL, [10.0, 500.0, 50.0, 3.0, 40.0]])
    expected = schlumberger_rhoa(VES_AB2_M, 10 ** models[:, :3], 10 ** models[:, 3:], mn2)
    np.testing.assert_allclose(sim.predict(models), np.log10(expected), rtol=1e-12)
    np.testing.assert_allclose(sim.to_physical(models)["h_2_m"], [25.0, 40.0])
    with pytest.raises(ValueError, match="cannot resolve"):
        VESSimulation(VES_AB2_M[:4], n_layers=3)


def test_tem_simulation_is_log10_abs_response():
    times = np.geomspace(1e-5, 1e-2, 10)
    models = np.log10([[100.0, 10.0, 100.0, 100.0, 200.0]])
    response = central_loop_step_off(times, 10 ** models[:, :3], 10 ** models[:, 3:], 100.0, 100.0)
    dbdt = TEMSimulation(times, 100.0, 100.0, n_layers=3).predict(models)
    hz = TEMSimulation(times, 100.0, 100.0, n_layers=3, quantity="hz").predict(models)
    np.testing.assert_allclose(dbdt, np.log10(np.abs(response.dbzdt_t_per_s)), rtol=1e-12)
    np.testing.assert_allclose(hz, np.log10(np.abs(response.hz_a_per_m)), rtol=1e-12)
    with pytest.raises(ValueError, match="quantity"):
        TEMSimulation(times, 100.0, 100.0, quantity="ez")


# ----------------------------------------------------------------------------------- misfit


def test_data_misfit_is_reduced_chi_square():
    sim = SPSimulation(SP_X_M)
    observed = sim.predict(SP_TRUE[None])[0]
    sigma = np.full(len(SP_X_M), 2.0)
    misfit = DataMisfit(sim, observed - sigma, sigma)  # every datum one sigma off
    np.testing.assert_allclose(misfit.residual(SP_TRUE[None]), 1.0)
    np.testing.assert_allclose(misfit(np.array([SP_TRUE, SP_TRUE])), [1.0, 1.0])
    assert DataMisfit(sim, observed, 2.0)(SP_TRUE[None])[0] == pytest.approx(0.0, abs=1e-20)


def test_data_misfit_rejects_bad_data():
    sim = SPSimulation(SP_X_M)
    observed = sim.predict(SP_TRUE[None])[0]
    with pytest.raises(ValueError, match="NaN"):
        DataMisfit(sim, np.where(SP_X_M > 100, np.nan, observed), 1.0)
    with pytest.raises(ValueError, match="positive"):
        DataMisfit(sim, observed, 0.0)
    with pytest.raises(ValueError, match="one value per datum"):
        DataMisfit(sim, observed, np.ones(3))
    with pytest.raises(ValueError, match="predicts 101 data"):
        DataMisfit(sim, observed[:50], 1.0).residual(SP_TRUE[None])


# --------------------------------------------------------------------------- least squares


def test_lm_recovers_the_sp_synthetic_case_within_one_percent():
    sim = SPSimulation(SP_X_M)
    misfit = DataMisfit(sim, sim.predict(SP_TRUE[None])[0], 1.0)
    result = Inversion(misfit, LevenbergMarquardt(random_state=0)).run()
    np.testing.assert_allclose(result.model, SP_TRUE, rtol=0.01)
    assert result.physical["angle_deg"] == pytest.approx(309.37, rel=0.01)
    assert result.misfit < 1e-6 and result.rms_percent < 1e-3
    np.testing.assert_allclose(result.predicted, misfit.observed, atol=1e-3)
    assert result.elapsed_s > 0 and result.optimization.n_evaluations > 0


def test_lm_resolves_the_half_turn_ambiguity_into_the_window():
    # Data of (a - 180, -K) are those of (a, K): the bounds make the inversion return the latter.
    sim = SPSimulation(SP_X_M)
    observed = sp_anomaly(SP_X_M, -SP_TRUE[0], SP_TRUE[1], SP_TRUE[2] - 180.0, SP_TRUE[3])
    result = Inversion(DataMisfit(sim, observed, 1.0), LevenbergMarquardt(random_state=1)).run()
    np.testing.assert_allclose(result.model, SP_TRUE, rtol=0.01)


def test_lm_on_noisy_sp_data_fits_to_the_noise_level():
    # The study's noise: Gaussian with a variance of 10 mV^2.
    sim = SPSimulation(SP_X_M)
    sigma = np.sqrt(10.0)
    noisy = sim.predict(SP_TRUE[None])[0] + np.random.default_rng(3).normal(0.0, sigma, len(SP_X_M))
    result = Inversion(DataMisfit(sim, noisy, sigma), LevenbergMarquardt(random_state=0)).run()
    assert 0.6 < result.misfit < 1.4  # reduced chi-square ~ 1: fitted to the noise, not beyond
    np.testing.assert_allclose(result.model, SP_TRUE, rtol=0.05)


def test_lm_recovers_a_three_layer_ves_model_within_five_percent():
    sim = VESSimulation(VES_AB2_M, n_layers=3)
    truth = np.log10(VES_TRUE_PHYSICAL)
    misfit = DataMisfit(sim, sim.predict(truth[None])[0], 0.01)
    result = Inversion(misfit, LevenbergMarquardt(random_state=0)).run()
    recovered = np.array([result.physical[name] for name in sim.param_names])
    np.testing.assert_allclose(recovered, VES_TRUE_PHYSICAL, rtol=0.05)
    assert result.rms_percent < 0.1


def test_lm_batches_the_jacobian_and_starts_from_x0():
    calls = []

    def residual(x):
        calls.append(len(x))
        return x - np.array([0.2, -0.3, 0.7])

    result = LevenbergMarquardt(n_starts=4, random_state=0).minimize(residual, -np.ones(3), np.ones(3), x0=[0.1, 0.1, 0.1])
    np.testing.assert_allclose(result.x, [0.2, -0.3, 0.7], atol=1e-6)
    assert calls[0] == 4 and calls[1] == 4 * 3  # the starts, then every column of every start at once
    assert result.n_evaluations == sum(calls)
    assert np.all(np.diff(result.history) <= 0)
    unmoved = LevenbergMarquardt(n_starts=1, max_iter=0).minimize(residual, -np.ones(3), np.ones(3), x0=[0.1, 0.2, 0.3])
    np.testing.assert_allclose(unmoved.x, [0.1, 0.2, 0.3])


# ---------------------------------------------------------------------------- particle swarm


@pytest.mark.parametrize("chaotic", [False, True])
def test_swarm_minimises_a_batched_sphere_and_is_deterministic(chaotic):
    calls = []

    def objective(x):
        calls.append(x.shape)
        return sphere(x)

    lower, upper = -5 * np.ones(6), 5 * np.ones(6)
    result = ParticleSwarm(max_iter=100, chaotic=chaotic, random_state=7).minimize(objective, lower, upper)
    assert result.fun < 1e-4
    np.testing.assert_allclose(result.x, 0.5, atol=0.02)
    assert set(calls) == {(60, 6)}  # the whole swarm in each call
    assert result.n_evaluations == 60 * 101 and len(result.history) == 100
    assert np.all(np.diff(result.history) <= 0)
    again = ParticleSwarm(max_iter=100, chaotic=chaotic, random_state=7).minimize(sphere, lower, upper)
    np.testing.assert_array_equal(again.x, result.x)
    np.testing.assert_array_equal(again.history, result.history)
    other = ParticleSwarm(max_iter=100, chaotic=chaotic, random_state=8).minimize(sphere, lower, upper)
    assert not np.array_equal(other.x, result.x)


@pytest.mark.parametrize("chaotic", [False, True])
def test_swarm_minimises_rosenbrock(chaotic):
    result = ParticleSwarm(max_iter=300, chaotic=chaotic, random_state=0).minimize(rosenbrock, [-2.0, -2.0], [2.0, 2.0])
    assert result.fun < 1e-3
    np.testing.assert_allclose(result.x, [1.0, 1.0], atol=0.05)


def test_copso_differs_from_standard_pso_and_uses_the_logistic_map():
    pso = ParticleSwarm(random_state=0).minimize(sphere, -np.ones(3), np.ones(3))
    copso = ParticleSwarm(chaotic=True, random_state=0).minimize(sphere, -np.ones(3), np.ones(3))
    assert not np.array_equal(pso.history, copso.history)
    z = [0.234]
    for _ in range(4):
        z.append(4 * z[-1] * (1 - z[-1]))
    np.testing.assert_allclose(LogisticSequence(0.234, 4.0).take((2, 2)).ravel(), z[1:], rtol=1e-12)


def test_pso_on_sp_reaches_the_basin_of_the_true_model():
    sim = SPSimulation(SP_X_M)
    misfit = DataMisfit(sim, sim.predict(SP_TRUE[None])[0], np.sqrt(10.0))
    result = Inversion(misfit, ParticleSwarm(max_iter=60, chaotic=True, random_state=0)).run()
    np.testing.assert_allclose(result.model, SP_TRUE, rtol=0.15)


# ------------------------------------------------------------------------------------ bargain


def test_bargain_improves_and_keeps_its_profit_loss_record():
    lower, upper = -3 * np.ones(4), 3 * np.ones(4)
    first = Bargain(random_state=0).minimize(sphere, lower, upper, x0=[2.5, 2.5, 2.5, 2.5])
    bargain = Bargain(random_state=0)
    result = bargain.minimize(sphere, lower, upper)
    start_cost = sphere(latin_hypercube(30, 4, np.random.default_rng(0)) * 6 - 3).min()
    assert result.fun < 1e-3 * start_cost
    assert np.all(np.diff(result.history) <= 0)
    assert bargain.record_.shape == result.history.shape == bargain.margin_.shape
    # The profits add up to the improvement of the deal; losses leave it unchanged.
    gains = bargain.record_[1:]
    assert gains[gains > 0].sum() == pytest.approx(result.history[0] - result.history[-1], rel=1e-9)
    assert start_cost - result.history[0] == pytest.approx(bargain.record_[0], rel=1e-9)
    assert first.fun < sphere(np.full((1, 4), 2.5))[0]


def test_bargain_records_losses_on_a_multimodal_objective():
    def rastrigin(x):
        return 10 * x.shape[1] + np.sum(x**2 - 10 * np.cos(2 * np.pi * x), axis=1)

    bargain = Bargain(random_state=1)
    result = bargain.minimize(rastrigin, -2 * np.ones(4), 2 * np.ones(4))
    assert (bargain.record_ > 0).any() and (bargain.record_ < 0).any()  # profits and losses
    # A loss leaves the deal as it was; a profit lowers it by exactly the profit.
    np.testing.assert_allclose(np.diff(result.history), -np.maximum(bargain.record_[1:], 0.0), atol=1e-12)
    assert result.fun < 1e-3


def test_bargain_stops_when_the_mean_absolute_deviation_meets_the_tolerance():
    bargain = Bargain(max_epochs=500, tolerance=1e-3, random_state=1)
    result = bargain.minimize(sphere, -np.ones(2), np.ones(2))
    assert len(result.history) < 500
    assert bargain.margin_[-1] >= 1e-3 and bargain.margin_.min() < 0.1


def test_bargain_inverts_a_ves_sounding():
    sim = VESSimulation(VES_AB2_M, n_layers=3)
    truth = np.log10(VES_TRUE_PHYSICAL)
    misfit = DataMisfit(sim, sim.predict(truth[None])[0], 0.01)
    result = Inversion(misfit, Bargain(max_epochs=60, random_state=0)).run()
    assert result.rms_percent < 5.0


# ------------------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(
    "optimizer",
    [
        LevenbergMarquardt(random_state=0),
        ParticleSwarm(random_state=0),
        ParticleSwarm(chaotic=True, random_state=0),
        Bargain(max_epochs=20, random_state=0),
    ],
    ids=["lm", "pso", "copso", "bargain"],
)
def test_every_evaluation_stays_in_bounds(optimizer):
    lower, upper = np.array([-1.0, 2.0]), np.array([1.0, 3.0])
    target = np.array([4.0, 2.5])  # outside the box in the first parameter
    seen = []

    def residual(x):
        seen.append(x.copy())
        return x - target

    def objective(x):
        return np.sum(residual(x) ** 2, axis=1)

    function = residual if getattr(optimizer, "needs_residual", False) else objective
    result = optimizer.minimize(function, lower, upper)
    seen = np.concatenate(seen)
    assert np.all(seen >= lower) and np.all(seen <= upper)
    np.testing.assert_allclose(result.x, [1.0, 2.5], atol=0.02)


def test_bad_bounds_and_objective_shapes_are_rejected():
    with pytest.raises(ValueError, match="lower < upper"):
        ParticleSwarm().minimize(sphere, [1.0, 0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="expected"):
        ParticleSwarm().minimize(lambda x: x, [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="x0"):
        Bargain().minimize(sphere, [0.0, 0.0], [1.0, 1.0], x0=[0.5])
