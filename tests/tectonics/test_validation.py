"""Shuffled K-fold against leave-region-out and leave-age-bin-out cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoprospect.errors import InputError
from geoprospect.tectonics.validation import METRICS, SCHEMES, evaluate, fit_final

RF = {"rf": {"n_estimators": 15, "min_samples_leaf": 2}}
FEATURES = ["convergence_rate_cm_yr", "trench_velocity_cm_yr", "distance_to_trench_edge_km"]


def convergence_table(n=240, seed=0) -> pd.DataFrame:
    """Label set by convergence rate (plus noise) in every region and age bin; other features are noise."""
    rng = np.random.default_rng(seed)
    convergence = rng.uniform(1.0, 10.0, n)
    label = (convergence + rng.normal(0.0, 0.8, n) > 5.5).astype(int)
    return pd.DataFrame({
        "label": label,
        "region": rng.integers(0, 8, n),
        "age_bin": rng.integers(0, 6, n) * 10,
        "convergence_rate_cm_yr": convergence,
        "trench_velocity_cm_yr": rng.normal(0.0, 2.0, n),
        "distance_to_trench_edge_km": rng.uniform(0.0, 3000.0, n),
    })


def region_leak_table(n_pairs=5, per_region=16, seed=1) -> pd.DataFrame:
    """Label set by region only, a spatial leak: each region's features cluster tightly (kinematics shared
    along a margin segment), and every positive region has a negative twin just beside it in feature
    space, so that the features say nothing about the label of a region not seen in training."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, (n_pairs, len(FEATURES)))
    shift = rng.normal(0.0, 1.0, (n_pairs, len(FEATURES)))
    shift *= 0.15 / np.linalg.norm(shift, axis=1, keepdims=True)
    region_centres = np.concatenate([centres + shift, centres - shift])  # regions k and k + n_pairs are twins
    region_label = np.repeat([1, 0], n_pairs)
    region = np.repeat(np.arange(2 * n_pairs), per_region)
    features = region_centres[region] + rng.normal(0.0, 0.02, (region.size, len(FEATURES)))
    table = pd.DataFrame(features, columns=FEATURES)
    table.insert(0, "label", region_label[region])
    table.insert(1, "region", region)
    table.insert(2, "age_bin", rng.integers(0, 5, region.size) * 10)
    return table


@pytest.fixture(scope="module")
def convergence_result():
    return convergence_table(), evaluate(convergence_table(), FEATURES, ["rf"], RF, seed=0, n_splits=4, n_repeats=2)


def test_label_from_convergence_is_learnt_under_block_cv(convergence_result):
    table, result = convergence_result
    metrics = result.metrics.set_index("scheme")
    assert set(metrics.index) == set(SCHEMES)
    for scheme in ("leave_region_out", "leave_age_bin_out"):
        assert metrics.loc[scheme, "roc_auc_mean"] > 0.8, scheme
        assert not metrics.loc[scheme, "optimistic"]
    assert metrics.loc["shuffled_10fold", "optimistic"]
    assert {f"{m}_{s}" for m in METRICS for s in ("mean", "sd")} <= set(metrics.columns)
    for (scheme, model), matrix in result.confusion.items():
        assert matrix.sum() == len(table) and matrix.shape == (2, 2)
    importance = result.importances[result.importances["scheme"] == "leave_region_out"].set_index("feature")
    assert importance["importance_mean"].idxmax() == "convergence_rate_cm_yr"
    assert importance.loc["convergence_rate_cm_yr", "importance_mean"] > 0.2


def test_group_folds_are_disjoint_and_cover_every_row(convergence_result):
    table, result = convergence_result
    for scheme, (group_column, _) in SCHEMES.items():
        tests = np.concatenate([test for _, test in result.splits[scheme]])
        assert np.array_equal(np.sort(tests), np.arange(len(table))), scheme
        for train, test in result.splits[scheme]:
            assert not set(train) & set(test)
            if group_column:
                groups = table[group_column].to_numpy()
                assert not set(groups[train]) & set(groups[test]), scheme


def test_shuffled_folds_are_optimistic_under_a_spatial_leak():
    table = region_leak_table()
    result = evaluate(table, FEATURES, ["rf"], RF, seed=0, n_splits=5, n_repeats=0)
    assert result.importances.empty
    metrics = result.metrics.set_index("scheme")
    shuffled, held_out = metrics.loc["shuffled_10fold", "roc_auc_mean"], metrics.loc["leave_region_out", "roc_auc_mean"]
    assert shuffled > 0.95
    assert held_out < 0.5
    # stratified group folds: each holds a region of each class
    folds = result.folds[result.folds["scheme"] == "leave_region_out"]
    assert len(folds) == 5 and (folds["n_test_positive"] > 0).all() and folds["note"].eq("").all()


def test_single_class_folds_are_not_computable_never_scored():
    """One region per fold, each of one class: no fold has a score; the scheme says why, with no
    accuracy 0 or ROC-AUC NaN shown as a score."""
    result = evaluate(region_leak_table(), FEATURES, ["rf"], RF, seed=0, n_splits=10, n_repeats=0)
    folds = result.folds[result.folds["scheme"] == "leave_region_out"]
    assert len(folds) == 10 and folds[list(METRICS)].isna().all().all()
    assert folds["note"].eq("one class in test rows: no score").all()
    row = result.metrics.set_index("scheme").loc["leave_region_out"]
    assert row["status"].startswith("not computable: 10 fold(s): one class") and row["n_scored"] == 0
    assert np.isnan(row["accuracy_mean"]) and np.isnan(row["roc_auc_mean"])


def test_a_model_failing_on_a_fold_does_not_lose_the_others(monkeypatch):
    """An SVM that raises on every fit: its rows say why; RF is scored as usual."""
    from geoprospect.models.svm import CalibratedSVC

    def broken(self, X, y):
        raise ValueError("n_splits=2 cannot be greater than the number of members in each class")

    monkeypatch.setattr(CalibratedSVC, "fit", broken)
    table = convergence_table(n=120)
    result = evaluate(table, FEATURES, ["svm", "rf"], {"rf": {"n_estimators": 5}}, seed=0, n_splits=3, n_repeats=0)
    metrics = result.metrics.set_index(["scheme", "model"])
    assert metrics.loc[("leave_region_out", "rf"), "status"] == "ok"
    assert metrics.loc[("leave_region_out", "rf"), "roc_auc_mean"] > 0.8
    svm = metrics.loc[("leave_region_out", "svm")]
    assert svm["status"].startswith("not computable") and "model failed: ValueError" in svm["status"]
    assert np.isnan(svm["roc_auc_mean"])


def test_controls_sit_beside_the_models():
    """A label set by time alone: the time-only control scores high, the kinematics (noise) do not."""
    table = convergence_table(n=200)
    rng = np.random.default_rng(5)
    table["kinematics_time_ma"] = np.where(table["label"] == 1, rng.uniform(0, 20, 200), rng.uniform(0, 100, 200))
    table["convergence_rate_cm_yr"] = rng.normal(size=200)
    result = evaluate(table, FEATURES, ["rf"], {"rf": {"n_estimators": 20}}, seed=0, n_splits=4, n_repeats=0)
    metrics = result.metrics.set_index(["scheme", "model"])
    assert set(result.metrics["model"]) == {"rf", "time_only"}  # no margin_x/y/z: no location control
    assert metrics.loc[("leave_region_out", "time_only"), "kind"] == "control"
    assert metrics.loc[("leave_region_out", "time_only"), "roc_auc_mean"] > metrics.loc[("leave_region_out", "rf"), "roc_auc_mean"] + 0.2


def test_fewer_groups_than_splits_uses_one_fold_per_group():
    table = convergence_table(n=120).assign(region=lambda t: t["region"] % 3)
    result = evaluate(table, FEATURES, ["rf"], {"rf": {"n_estimators": 5}}, seed=0, n_splits=10, n_repeats=0)
    assert len(result.splits["leave_region_out"]) == 3
    assert len(result.splits["leave_age_bin_out"]) == 6
    assert len(result.splits["shuffled_10fold"]) == 10


def test_fit_final_predicts_probabilities():
    table = convergence_table()
    pipeline = fit_final(table, FEATURES, "rf", RF["rf"], seed=0)
    probability = pipeline.predict_proba(pd.DataFrame({f: [9.5, 1.5] if f.startswith("conv") else [0.0, 0.0]
                                                       for f in FEATURES}).to_numpy())[:, 1]
    assert probability[0] > 0.8 and probability[1] < 0.2
    assert list(pipeline.named_steps) == ["scale", "model"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t: t.assign(region=0), "all samples share one region"),
        (lambda t: t.drop(columns="age_bin"), r"missing column\(s\) \['age_bin'\]"),
        (lambda t: t.assign(label=1), "only class 1 present"),
        (lambda t: t.assign(label=np.where(t["label"] == 1, 2, 0)), "labels must be 0 or 1"),
        (lambda t: t.assign(trench_velocity_cm_yr=np.nan), "non-finite values in feature"),
        (lambda t: t.iloc[:0], "holds no sample"),
        (lambda t: t.assign(label=np.r_[1, np.zeros(len(t) - 1, int)]), "only 1 sample"),
    ],
)
def test_evaluate_refuses_bad_tables(change, match):
    with pytest.raises(InputError, match=match):
        evaluate(change(convergence_table(n=60)), FEATURES, ["rf"], RF, n_splits=5, n_repeats=1)


def test_unknown_model_parameter_or_fold_count_is_refused():
    with pytest.raises(InputError, match="unknown model 'xgb'"):
        evaluate(convergence_table(n=60), FEATURES, ["xgb"], n_splits=3)
    with pytest.raises(InputError, match="use at least 2 folds"):
        evaluate(convergence_table(n=60), FEATURES, ["rf"], RF, n_splits=1)
    with pytest.raises(InputError, match="has no parameter"):
        fit_final(convergence_table(n=60), FEATURES, "rf", {"depth": 3})


def test_a_training_fold_with_one_class_scores_nan():
    table = convergence_table(n=120)
    table["age_bin"] = np.where(table["label"] == 1, 0, 10)  # holding out bin 0 leaves no positive to train on
    result = evaluate(table, FEATURES, ["rf"], {"rf": {"n_estimators": 5}}, seed=0, n_splits=10, n_repeats=0)
    folds = result.folds[result.folds["scheme"] == "leave_age_bin_out"]
    assert len(folds) == 2 and folds["note"].eq("one class in training rows").all()
    assert folds[list(METRICS)].isna().all().all()
    assert result.confusion[("leave_age_bin_out", "rf")].sum() == 0


def test_control_comparison_keeps_a_below_chance_time_only_score_beside_the_chance_reference():
    """A time-only control below 0.5 (a CV artefact under time-matched negatives) is shown raw; the model
    is measured against chance, not against the artefact."""
    from geoprospect.pipelines.tectonics import control_comparison

    metrics = pd.DataFrame({"design": "time_matched", "scheme": ["leave_region_out"] * 3 + ["leave_age_bin_out"] * 3,
                            "model": ["rf", "time_only", "location_only"] * 2,
                            "kind": ["kinematics", "control", "control"] * 2,
                            "roc_auc_mean": [0.78, 0.12, 0.79, 0.70, 0.62, 0.6]})
    table = control_comparison(metrics).set_index("scheme")
    below, above = table.loc["leave_region_out"], table.loc["leave_age_bin_out"]
    assert below["time_only_roc_auc"] == 0.12 and below["time_only_below_chance"]
    assert below["time_only_reference"] == 0.5 and below["margin_over_time_only"] == pytest.approx(0.28)
    assert not above["time_only_below_chance"] and above["margin_over_time_only"] == pytest.approx(0.08)
