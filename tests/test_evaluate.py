"""Metrics against hand-computed values, fold isolation in cross-validation, truth scores, curve figures."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from geoprospect.errors import InputError
from geoprospect.evaluate import (
    cross_validate,
    deposit_area_fractions,
    fold_metrics,
    json_ready,
    max_f1_threshold,
    pu_criterion,
    rate_curve,
    success_rate_curve,
    truth_scores,
)
from geoprospect.labels import BlockSizing
from geoprospect.render.curves import (
    plot_rate_curves,
    plot_roc_pr,
    plot_variogram,
    step_area,
)


def test_rate_curve_hand_computed():
    map_scores = np.arange(100.0)
    curve = rate_curve(np.array([99.5, 95.0, 85.0, 50.0]), map_scores)
    # area above each deposit (ties half): 0, 4.5 %, 14.5 %, 49.5 %
    np.testing.assert_allclose(curve.area_fraction, [0, 0, 0.045, 0.145, 0.495, 1])
    np.testing.assert_allclose(curve.captured, [0, 0.25, 0.5, 0.75, 1, 1])
    assert curve.captured_top10 == 0.5 and curve.captured_top20 == 0.75
    assert curve.auc == pytest.approx(1 - (0 + 0.045 + 0.145 + 0.495) / 4)
    assert step_area(curve.area_fraction, curve.captured) == pytest.approx(curve.auc)


def test_rate_curve_area_perfect_random_and_reversed():
    rng = np.random.default_rng(0)
    map_scores = rng.random(20_000)
    assert rate_curve(np.full(50, 2.0), map_scores).auc == pytest.approx(1.0)
    assert rate_curve(np.full(50, -1.0), map_scores).auc == pytest.approx(0.0)
    random = rate_curve(rng.random(2000), map_scores)
    assert random.auc == pytest.approx(0.5, abs=0.02)
    assert random.captured_top10 == pytest.approx(0.1, abs=0.02) and random.captured_top20 == pytest.approx(0.2, abs=0.03)
    assert success_rate_curve(np.full(3, 0.5), np.full(10, 0.5)).auc == 0.5  # a constant map ranks nothing


def test_rate_curve_area_is_the_auc_of_deposits_against_map_cells():
    rng = np.random.default_rng(1)
    deposits, cells = rng.normal(1.0, 1.0, 40).round(1), rng.normal(0.0, 1.0, 500).round(1)  # rounding makes ties
    expected = roc_auc_score(np.r_[np.ones(40), np.zeros(500)], np.r_[deposits, cells])
    assert rate_curve(deposits, cells).auc == pytest.approx(expected)
    assert deposit_area_fractions(np.array([np.inf]), np.array([1.0, np.nan]))[0] == 0.0


def test_max_f1_threshold_hand_computed():
    labels = np.array([0, 0, 1, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.8, 0.9])
    # >= 0.3: tp 3, fp 1 -> F1 6/7; >= 0.8: tp 2, fn 1 -> 0.8; >= 0.1: tp 3, fp 3 -> 2/3
    assert max_f1_threshold(labels, scores) == 0.3


def test_fold_metrics_against_sklearn_and_hand_values():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.7, 0.4, 0.2, 0.8, 0.3, 0.3, 0.1, 0.1, 0.05])
    map_scores = np.r_[np.full(5, 0.9), np.full(15, 0.1)]  # a quarter of the map at or above 0.5
    metrics = fold_metrics(labels, scores, 0.5, map_scores)
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert metrics["pr_auc"] == pytest.approx(average_precision_score(labels, scores))
    assert metrics["f1"] == pytest.approx(f1_score(labels, scores >= 0.5))
    assert (metrics["tn"], metrics["fp"], metrics["fn"], metrics["tp"]) == (5, 1, 2, 2)
    assert metrics["recall"] == 0.5 and metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["predicted_positive_fraction"] == 0.25
    assert metrics["pu_criterion"] == pytest.approx(0.5**2 / 0.25)


def test_pu_criterion():
    assert pu_criterion(0.8, 0.1) == pytest.approx(6.4)
    assert pu_criterion(1.0, 1.0) == 1.0  # everything positive: recall 1 at the cost of the whole map
    assert np.isnan(pu_criterion(0.0, 0.0))


class SpyScaler(TransformerMixin, BaseEstimator):
    """Records the row labels it was fitted on."""

    def fit(self, X, y=None):
        self.fitted_index_ = X.index.to_numpy().copy()
        return self

    def transform(self, X):
        return X


def _toy_problem(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.1).astype(int)
    table = pd.DataFrame({"x": rng.random(n), "y": rng.random(n), "label": label,
                          "signal": rng.normal(2.0 * label, 1.0) * 100 + 5000, "noise": rng.normal(0, 1, n)})
    table.index = table.index + 1000  # row labels differ from positions
    folds = np.arange(n) % 4
    map_sample = pd.DataFrame({"signal": rng.normal(0, 1, 3000) * 100 + 5000, "noise": rng.normal(0, 1, 3000)})
    return table, folds, map_sample


def test_cross_validation_fits_every_step_inside_the_fold():
    table, folds, map_sample = _toy_problem()
    built = []

    def make():
        built.append(make_pipeline(SpyScaler(), StandardScaler(), LogisticRegression()))
        return built[-1]

    result = cross_validate(make, table, ["signal", "noise"], folds, map_sample, threshold_folds=3)
    assert len(built) == 4 * (1 + 3) and len({id(p) for p in built}) == 16
    columns = ["signal", "noise"]
    for k in range(4):
        train = folds != k
        outer, *inner = built[4 * k:4 * k + 4]  # each fold's model, then its 3 inner threshold models
        np.testing.assert_array_equal(np.sort(outer[0].fitted_index_), table.index[train])
        np.testing.assert_allclose(outer[1].mean_, table.loc[train, columns].mean(), rtol=1e-12)
        np.testing.assert_allclose(result.oof_probability[~train], outer.predict_proba(table.loc[~train, columns])[:, 1])
        inner_rows = [set(p[0].fitted_index_) for p in inner]
        assert all(rows < set(table.index[train]) for rows in inner_rows)  # never a held-out row
        assert set.union(*inner_rows) == set(table.index[train])
    assert result.fold_metrics["n_test"].tolist() == [150] * 4
    assert result.fold_metrics["n_test_positive"].sum() == table["label"].sum()
    assert result.summary.loc["roc_auc", "mean"] > 0.85
    assert result.summary.loc["prediction_rate_auc", "mean"] > 0.8
    assert result.summary.loc["roc_auc", "sd"] == pytest.approx(result.fold_metrics["roc_auc"].std(ddof=1))
    assert result.pooled_prediction_rate.n_deposits == table["label"].sum()
    assert "inner stratified 3-fold" in result.threshold_rule
    json.dumps(result.to_dict(), allow_nan=False)


def test_in_sample_threshold_rule():
    table, folds, map_sample = _toy_problem(seed=2)
    columns, built = ["signal", "noise"], []

    def make():
        built.append(make_pipeline(StandardScaler(), LogisticRegression()))
        return built[-1]

    result = cross_validate(make, table, columns, folds, map_sample, threshold_folds=0)
    assert len(built) == 4 and "in-sample" in result.threshold_rule
    for k, model in enumerate(built):
        train = folds != k
        expected = max_f1_threshold(table["label"][train], model.predict_proba(table.loc[train, columns])[:, 1])
        assert result.fold_metrics["threshold"][k] == pytest.approx(expected)


def test_cross_validation_with_an_executor_matches_sequential():
    table, folds, map_sample = _toy_problem(seed=1)
    make = lambda: make_pipeline(StandardScaler(), LogisticRegression())
    sequential = cross_validate(make, table, ["signal", "noise"], folds, map_sample.to_numpy(), threshold_folds=2)
    with ThreadPoolExecutor(2) as pool:
        parallel = cross_validate(make, table, ["signal", "noise"], folds, map_sample, executor=pool, threshold_folds=2)
    pd.testing.assert_frame_equal(sequential.fold_metrics, parallel.fold_metrics)
    np.testing.assert_array_equal(sequential.oof_probability, parallel.oof_probability)


def test_cross_validation_without_positives_in_training_is_an_input_error():
    table, _, map_sample = _toy_problem()
    folds = np.where(table["label"] == 1, 0, 1 + np.arange(len(table)) % 2)
    with pytest.raises(InputError, match="single class"):
        cross_validate(lambda: LogisticRegression(), table, ["signal"], folds, map_sample)


def test_more_inner_folds_than_training_deposits_is_an_input_error():
    table, folds, map_sample = _toy_problem(n=120)
    with pytest.raises(InputError, match="threshold_folds"):
        cross_validate(lambda: LogisticRegression(), table, ["signal"], folds, map_sample, threshold_folds=50)


def test_map_sample_of_the_wrong_width_is_an_input_error():
    table, folds, _ = _toy_problem()
    with pytest.raises(InputError, match="map sample"):
        cross_validate(lambda: LogisticRegression(), table, ["signal", "noise"], folds, np.zeros((10, 3)))


def test_truth_scores():
    rng = np.random.default_rng(0)
    truth = rng.random((80, 80))
    truth[:5] = np.nan
    perfect = truth_scores(truth, truth)
    assert perfect["spearman"] == pytest.approx(1.0) and perfect["n_cells"] == 75 * 80
    # the soft-label AUC is the mean AUC over Bernoulli draws of the outcomes
    valid = np.isfinite(truth)
    draws = [roc_auc_score(rng.random(valid.sum()) < truth[valid], truth[valid]) for _ in range(30)]
    assert perfect["roc_auc"] == pytest.approx(np.mean(draws), abs=0.01)
    noise = truth_scores(rng.random((80, 80)), truth, n_sample=3000, rng=np.random.default_rng(1))
    assert abs(noise["spearman"]) < 0.08 and noise["roc_auc"] == pytest.approx(0.5, abs=0.04) and noise["n_cells"] == 3000
    mask = np.zeros(truth.shape, bool)
    mask[5:10] = True
    assert truth_scores(truth, truth, deposits_mask=mask)["n_cells"] == 70 * 80
    with pytest.raises(InputError, match="truth map"):
        truth_scores(truth, truth[:10])


def test_truth_roc_auc_ceiling_is_the_truth_ranked_by_itself():
    rng = np.random.default_rng(3)
    truth = rng.beta(0.3, 6.0, (60, 60))  # mostly low probabilities, as a prospectivity truth
    truth[:4] = np.nan
    own = truth_scores(truth, truth)
    # the ceiling is what truth_scores(t, t) gives, whatever map it is reported beside
    for prob in (rng.random(truth.shape), truth ** 3, -truth):
        assert truth_scores(prob, truth)["roc_auc_ceiling"] == pytest.approx(own["roc_auc"], abs=1e-12)
    # a map ranking cells as the truth does (any increasing transform of it) scores exactly the ceiling
    assert truth_scores(np.log(truth + 1e-9) * 7 + 2, truth)["roc_auc"] == pytest.approx(own["roc_auc_ceiling"], abs=1e-12)
    # and no map scores above it
    for _ in range(5):
        noisy = truth + rng.normal(0, 0.02, truth.shape)
        assert truth_scores(noisy, truth)["roc_auc"] <= own["roc_auc_ceiling"] + 1e-12
    assert own["roc_auc_ceiling"] < 0.95  # a probability map's own AUC is well below 1 (low, close probabilities)


def test_json_ready():
    out = json_ready({"a": np.float32(0.5), "b": np.array([1, 2]), "c": float("nan"), "d": (np.int64(3), np.bool_(True))})
    assert out == {"a": 0.5, "b": [1, 2], "c": None, "d": [3, True]}
    json.dumps(out, allow_nan=False)


def test_curve_figures():
    rng = np.random.default_rng(0)
    map_scores = rng.random(1000)
    success = rate_curve(rng.random(30) ** 0.3, map_scores)
    fig = plot_rate_curves({"success rate": success, "prediction rate": (np.array([0, 0.5, 1]), np.array([0, 0.8, 1]))})
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"success rate (area {success.auc:.2f})" in legend and "prediction rate (area 0.40)" in legend
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    labels = np.r_[np.ones(20), np.zeros(80)].astype(int)
    fig = plot_roc_pr(labels, {"model": labels + rng.random(100)})
    assert [a.get_title() for a in fig.axes] == ["ROC", "Precision-recall"]
    sizing = BlockSizing(800.0, 1000.0, True, "blocks holding deposits", 10, [100.0, 500.0, 1500.0], [0.3, 0.8, 1.0],
                         1.0, 0.95)
    assert "block 0.80 km" in " ".join(t.get_text() for t in plot_variogram(sizing).axes[0].get_legend().get_texts())


def test_importances_are_measured_on_held_out_rows():
    """A 1-nearest-neighbour model memorises its training rows: on them, shuffling pure noise looks
    important; on held-out rows it is not. Held-out importances rank the real signal first."""
    from sklearn.inspection import permutation_importance
    from sklearn.neighbors import KNeighborsClassifier

    table, folds, map_sample = _toy_problem()
    columns = ["signal", "noise"]
    make = lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(1))  # noqa: E731
    result = cross_validate(make, table, columns, folds, map_sample, threshold_folds=0, importance_repeats=5)
    held_out = result.importances.set_index("feature")
    assert list(result.importances["feature"]) == ["signal", "noise"] and (held_out["folds"] == 4).all()
    in_sample = permutation_importance(make().fit(table[columns], table["label"]), table[columns], table["label"],
                                       scoring="average_precision", n_repeats=5, random_state=0)
    assert in_sample.importances_mean[1] > 0.3 and abs(held_out.loc["noise", "importance"]) < 0.1


@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
@pytest.mark.parametrize("model", ["logreg", "svm"])  # predict_proba, and a decision function the scorer prefers
def test_held_out_importance_skips_dropped_columns_with_the_same_values(model):
    from sklearn.inspection import permutation_importance

    from geoprospect.evaluate import held_out_importance, used_columns
    from geoprospect.models.pipeline import build_pipeline

    rng = np.random.default_rng(3)
    base = rng.normal(size=(300, 4))
    # columns 1 and 3 copy 0 and 2 (the Spearman filter drops them); column 5 is empty (the imputer drops it)
    X = pd.DataFrame(np.column_stack([base[:, 0], base[:, 0] * 2, base[:, 1], base[:, 1] + 1, base[:, 2:], np.full(300, np.nan)]),
                     columns=[f"f{i}" for i in range(7)])
    y = (base[:, 0] + base[:, 1] + rng.normal(scale=0.5, size=300) > 1).astype(int)
    fitted = build_pipeline(model, {}, "none", 0.95, None, None, None, 0).fit(X[:200], y[:200])
    assert used_columns(fitted, list(X.columns)).tolist() == [0, 2, 4, 5]
    full = permutation_importance(fitted, X[200:], y[200:], scoring="average_precision", n_repeats=3, random_state=0)
    fast = held_out_importance(fitted, X[200:], y[200:], 3)
    np.testing.assert_array_equal(fast, full.importances_mean)
    assert fast[[1, 3, 6]].tolist() == [0, 0, 0] and fast[0] > 0
