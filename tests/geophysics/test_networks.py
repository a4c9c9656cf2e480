"""Network inversion: training sets, metrics and the four regressors (MLP, RBF, GRNN, PSO-trained BP)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from geoprospect.geophysics.metrics import inversion_metrics, relative_errors
from geoprospect.geophysics.networks import GRNN, MLPInverter, PSOTrainedNetwork, RBFNetwork, choose_hidden_size
from geoprospect.geophysics.optimize import ParticleSwarm
from geoprospect.geophysics.training import (
    SP_GRID,
    SP_NAMES,
    TEM_CASES,
    sp_training_set,
    tem_training_set,
    ves_training_set,
)
from geoprospect.geophysics.ves import schlumberger_rhoa
from geoprospect.nn import one_torch_thread


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # These nets are tiny: on this shared 2-core machine two torch threads trained 25x slower than one.
    with one_torch_thread():
        yield


def smooth_problem(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 2))
    y = np.column_stack([np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2, np.cos(X[:, 1])])
    return X, y


def sp_split(n_models=1500, n_train=1200):
    data = sp_training_set(np.random.default_rng(1), n_models=n_models, sampling="uniform")
    return data.inputs[:n_train], data.targets[:n_train], data.inputs[n_train:], data.targets[n_train:]


# --- metrics -----------------------------------------------------------------------------------------

def test_inversion_metrics_match_hand_computed_values():
    m = inversion_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0])
    assert m["mse"] == pytest.approx(0.25)
    assert m["rmse"] == pytest.approx(0.5)
    assert m["nrmse"] == pytest.approx(0.5 / 3)  # RMSE over the true range 4 - 1
    assert m["psnr_db"] == pytest.approx(10 * np.log10(16 / 0.25))  # peak = max |true| = 4
    assert m["r"] == pytest.approx(6.5 / np.sqrt(5 * 8.75))
    assert m["mape_pct"] == pytest.approx(6.25)  # only 4 -> 5 is off, by 25%


def test_inversion_metrics_perfect_and_bad_input():
    perfect = inversion_metrics([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]])
    assert perfect["mse"] == 0 and perfect["psnr_db"] == np.inf and perfect["r"] == pytest.approx(1)
    with pytest.raises(ValueError, match="shape"):
        inversion_metrics([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        inversion_metrics([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="zero"):
        inversion_metrics([0.0, 1.0], [1.0, 1.0])


def test_relative_errors_per_parameter():
    table = relative_errors([100.0, 10.0], [[110.0, 10.0], [90.0, 12.0]], ["resistivity_1_ohm_m", "thickness_1_m"])
    assert list(table.index) == ["resistivity_1_ohm_m", "thickness_1_m"]
    np.testing.assert_allclose(table["mean_rel_error_pct"], [10.0, 10.0])
    np.testing.assert_allclose(table["min_rel_error_pct"], [10.0, 0.0])
    np.testing.assert_allclose(table["max_rel_error_pct"], [10.0, 20.0])
    with pytest.raises(ValueError, match="name"):
        relative_errors([1.0, 2.0], [[1.0, 2.0]], ["only_one"])


# --- training sets -----------------------------------------------------------------------------------

def test_sp_training_sets_follow_the_study():
    grid = sp_training_set(np.random.default_rng(3), n_models=5000)
    assert grid.inputs.shape == (5000, 101) and grid.targets.shape == (5000, 4) and grid.names == SP_NAMES
    for column, values in zip(grid.targets.T, SP_GRID, strict=True):
        assert np.isin(column, values).all()
    assert len(np.unique(grid.targets, axis=0)) <= 7 * 7 * 5 * 7  # the grid draw repeats models
    uniform = sp_training_set(np.random.default_rng(3), n_models=500, sampling="uniform")
    assert len(np.unique(uniform.targets, axis=0)) == 500
    for column, values in zip(uniform.targets.T, SP_GRID, strict=True):
        assert values[0] <= column.min() and column.max() <= values[-1]
    noisy = sp_training_set(np.random.default_rng(3), n_models=5000, noise_std_mv=np.sqrt(10))
    np.testing.assert_array_equal(noisy.targets, grid.targets)
    assert np.var(noisy.inputs - grid.inputs) == pytest.approx(10, rel=0.02)
    with pytest.raises(ValueError, match="sampling"):
        sp_training_set(np.random.default_rng(3), sampling="latin")


def test_training_sets_are_deterministic_for_a_seed():
    a = sp_training_set(np.random.default_rng(5), n_models=50, sampling="uniform", relative_noise=0.05)
    b = sp_training_set(np.random.default_rng(5), n_models=50, sampling="uniform", relative_noise=0.05)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)


def test_ves_training_set_is_the_forward_model_of_its_targets():
    ab2 = np.geomspace(1.5, 200, 15)
    data = ves_training_set(np.random.default_rng(2), ab2, n_layers=3, n_models=40)
    assert data.names == ("resistivity_1_ohm_m", "resistivity_2_ohm_m", "resistivity_3_ohm_m",
                          "thickness_1_m", "thickness_2_m")
    rho, thick = data.targets[:, :3], data.targets[:, 3:]
    assert rho.min() >= 1 and rho.max() <= 1000 and thick.min() >= 1 and thick.max() <= 50
    np.testing.assert_allclose(data.inputs, schlumberger_rhoa(ab2, rho, thick))
    noisy = ves_training_set(np.random.default_rng(2), ab2, n_models=2000, relative_noise=0.1)
    clean = ves_training_set(np.random.default_rng(2), ab2, n_models=2000)
    assert np.std(noisy.inputs / clean.inputs - 1) == pytest.approx(0.1, rel=0.05)
    with pytest.raises(ValueError, match="n_layers"):
        ves_training_set(np.random.default_rng(2), ab2, n_layers=1)


def test_tem_training_sets_around_the_paper_models():
    for case, (rho, thick) in TEM_CASES.items():
        data = tem_training_set(np.random.default_rng(4), case, n_models=6, spread=0.5)
        reference = np.concatenate([rho, thick])
        assert data.inputs.shape == (6, 10) and data.targets.shape == (6, len(reference))
        assert np.all(np.abs(data.targets / reference - 1) <= 0.5)
        assert np.all(data.inputs > 0) and np.all(np.diff(data.inputs, axis=1) < 0)  # a positive, decaying -dBz/dt
    with pytest.raises(ValueError, match="case"):
        tem_training_set(np.random.default_rng(4), "q_type")


# --- estimators ----------------------------------------------------------------------------------------

def test_mlp_learns_the_sp_inverse():
    X_train, y_train, X_test, y_test = sp_split()
    mlp = MLPInverter(hidden=(64, 64), epochs=30, random_state=0).fit(X_train, y_train)
    rel_error = np.abs(mlp.predict(X_test) - y_test) / np.abs(y_test)
    prior_error = np.abs(y_train.mean(axis=0) - y_test) / np.abs(y_test)
    assert np.median(rel_error[:, 0]) < 0.05  # x0; guessing the mean gives about 16%
    assert np.all(np.median(rel_error, axis=0) < 0.5 * np.median(prior_error, axis=0))
    assert len(mlp.validation_loss_curve_) == len(mlp.loss_curve_) and 0 <= mlp.best_epoch_ < 30


def test_mlp_baseline_is_101_2_5_4_and_pickles():
    X_train, y_train, X_test, _ = sp_split(n_models=200, n_train=150)
    mlp = MLPInverter(hidden=(2, 5), epochs=2, random_state=0).fit(X_train, y_train)
    sizes = [layer.weight.shape[::-1] for layer in mlp.net_ if hasattr(layer, "weight")]
    assert sizes == [(101, 2), (2, 5), (5, 4)]
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(mlp)).predict(X_test), mlp.predict(X_test))
    with pytest.raises(ValueError, match="tuple"):
        MLPInverter(hidden=8).fit(X_train, y_train)


def test_mlp_is_deterministic_for_a_seed():
    X, y = smooth_problem(200)
    first = MLPInverter(hidden=(16,), epochs=5, random_state=3).fit(X, y).predict(X)
    again = MLPInverter(hidden=(16,), epochs=5, random_state=3).fit(X, y).predict(X)
    other = MLPInverter(hidden=(16,), epochs=5, random_state=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_rbf_fits_a_smooth_function():
    X, y = smooth_problem(500)
    rbf = RBFNetwork(n_centres=60, random_state=0).fit(X[:400], y[:400])
    assert rbf.centres_.shape == (60, 2) and rbf.coef_.shape == (61, 2)
    assert rbf.score(X[400:], y[400:]) > 0.99
    again = RBFNetwork(n_centres=60, random_state=0).fit(X[:400], y[:400])
    np.testing.assert_array_equal(again.predict(X), rbf.predict(X))
    with pytest.raises(ValueError, match="n_centres"):
        RBFNetwork(n_centres=500).fit(X[:400], y[:400])


def test_grnn_limits_and_loo_choice():
    X, y = smooth_problem(300)
    np.testing.assert_allclose(GRNN(sigma=1e-6).fit(X, y).predict(X), y, rtol=0, atol=1e-12)
    np.testing.assert_allclose(GRNN(sigma=1e6).fit(X, y).predict(X[:5]), np.tile(y.mean(axis=0), (5, 1)))
    auto = GRNN().fit(X[:250], y[:250])
    assert auto.loo_mse_.shape == auto.sigma_grid_.shape == (31,)
    assert auto.sigma_ == auto.sigma_grid_[np.argmin(auto.loo_mse_)]
    assert auto.sigma_grid_[0] < auto.sigma_ < auto.sigma_grid_[-1]  # an interior optimum on smooth data
    assert auto.score(X[250:], y[250:]) > 0.9
    assert GRNN(sigma=0.3).fit(X, y[:, 0]).predict(X[:3]).shape == (3,)


@pytest.mark.parametrize("chaotic", [False, True], ids=["spso_bp", "copso_bp"])
def test_pso_trained_network_reduces_its_mse(chaotic):
    X, y = smooth_problem(200)
    swarm = ParticleSwarm(chaotic=chaotic, random_state=1)
    net = PSOTrainedNetwork(hidden=6, optimizer=swarm).fit(X, y)
    assert net.coefs_[0].shape == (2, 6) and net.coefs_[1].shape == (6, 2)
    history = net.optimizer_result_.history
    assert history[-1] < 0.5 * history[0]
    assert net.training_mse_ == pytest.approx(net.swarm_mse_) and net.training_mse_ < 0.3  # the mean scores 1
    polished = PSOTrainedNetwork(hidden=6, optimizer=swarm, polish="lbfgs").fit(X, y)
    assert polished.training_mse_ < 0.5 * polished.swarm_mse_
    assert polished.score(X, y) > 0.95
    again = PSOTrainedNetwork(hidden=6, optimizer=ParticleSwarm(chaotic=chaotic, random_state=1)).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), net.predict(X))


def test_pso_trained_network_default_swarm_and_adam_polish():
    X, y = smooth_problem(200)
    net = PSOTrainedNetwork(hidden=6, polish="adam", random_state=5).fit(X, y)
    assert len(net.optimizer_result_.history) == 30  # ParticleSwarm's defaults: the paper's Tmax = 30
    assert net.training_mse_ < net.swarm_mse_
    np.testing.assert_array_equal(PSOTrainedNetwork(hidden=6, polish="adam", random_state=5).fit(X, y).predict(X),
                                  net.predict(X))


def test_choose_hidden_size_by_validation_r2():
    X, y = smooth_problem(200)
    template = PSOTrainedNetwork(optimizer=ParticleSwarm(random_state=2), polish="lbfgs", polish_iter=100)
    best, table = choose_hidden_size([1, 8], X, y, template, random_state=0)
    assert list(table["hidden"]) == [1, 8]
    assert best == table.loc[table["r2_validation"].idxmax(), "hidden"] == 8


@pytest.mark.parametrize("estimator", [
    MLPInverter(epochs=1), RBFNetwork(n_centres=5), GRNN(), PSOTrainedNetwork(optimizer=ParticleSwarm(max_iter=1)),
], ids=["mlp", "rbf", "grnn", "pso"])
def test_estimators_reject_nan(estimator):
    X, y = smooth_problem(50)
    X_bad, y_bad = X.copy(), y.copy()
    X_bad[3, 1] = np.nan
    y_bad[7, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        estimator.fit(X_bad, y)
    with pytest.raises(ValueError, match="NaN"):
        estimator.fit(X, y_bad)
    fitted = estimator.fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(X_bad)
