"""Lithology accuracy measures against hand computation; seed summaries and the paper-shaped table."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from geoprospect.errors import InputError
from geoprospect.lithology.metrics import (
    classification_metrics,
    format_mean_sd,
    paper_table,
    per_class_records,
    summarise,
)

# 10 samples, 3 classes; confusion (rows true, columns predicted): [[2, 2, 0], [0, 3, 0], [1, 0, 2]]
Y_TRUE = np.array([1, 1, 1, 1, 2, 2, 2, 3, 3, 3])
Y_PRED = np.array([1, 1, 2, 2, 2, 2, 2, 3, 3, 1])
PROBA = np.array([[.9, .1, .0], [.8, .1, .1], [.3, .6, .1], [.2, .5, .3], [.1, .8, .1],
                  [.1, .7, .2], [.4, .5, .1], [.2, .1, .7], [.3, .2, .5], [.6, .1, .3]])


def pairwise_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney: share of (positive, negative) pairs ordered right, ties half."""
    pairs = list(itertools.product(score[positive], score[~positive]))
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)


def test_metrics_equal_hand_computation():
    m = classification_metrics(Y_TRUE, Y_PRED, PROBA, classes=[1, 2, 3])
    confusion = np.array([[2, 2, 0], [0, 3, 0], [1, 0, 2]])
    np.testing.assert_array_equal(m["confusion"], confusion)
    n = confusion.sum()
    observed = np.trace(confusion) / n
    expected = (confusion.sum(axis=1) @ confusion.sum(axis=0)) / n**2  # chance agreement from the marginals
    assert m["overall_accuracy"] == pytest.approx(0.7)
    assert m["kappa"] == pytest.approx((observed - expected) / (1 - expected))
    assert m["kappa"] == pytest.approx(37 / 67)
    per_class = m["per_class"]
    np.testing.assert_allclose(per_class["producers_accuracy"], [2 / 4, 3 / 3, 2 / 3])
    np.testing.assert_allclose(per_class["users_accuracy"], [2 / 3, 3 / 5, 2 / 2])
    np.testing.assert_allclose(per_class["f1"], [4 / 7, 6 / 8, 4 / 5])  # 2TP / (2TP + FP + FN)
    assert m["macro_f1"] == pytest.approx((4 / 7 + 6 / 8 + 4 / 5) / 3)
    aucs = [pairwise_auc(Y_TRUE == c, PROBA[:, k]) for k, c in enumerate([1, 2, 3])]
    np.testing.assert_allclose(per_class["auc"], aucs)
    assert m["macro_auc"] == pytest.approx(np.mean(aucs))
    assert per_class["support"].tolist() == [4, 3, 3]


def test_class_absent_from_reference_gets_nan_not_an_error():
    proba = np.hstack([PROBA * 0.9, np.full((10, 1), 0.1)])
    m = classification_metrics(Y_TRUE, Y_PRED, proba, classes=[1, 2, 3, 4])
    row = m["per_class"].loc[4]
    assert np.isnan(row["auc"]) and np.isnan(row["producers_accuracy"]) and np.isnan(row["users_accuracy"])
    assert np.isnan(row["f1"]) and row["support"] == 0
    assert m["macro_auc"] == pytest.approx(np.mean(m["per_class"]["auc"].iloc[:3]))
    assert m["macro_f1"] == pytest.approx((4 / 7 + 6 / 8 + 4 / 5) / 3)
    assert m["confusion"].shape == (4, 4) and m["confusion"][3].sum() == 0 and m["confusion"][:, 3].sum() == 0


def test_class_never_predicted_has_nan_users_accuracy_and_zero_f1():
    y_pred = np.where(Y_PRED == 3, 1, Y_PRED)
    row = classification_metrics(Y_TRUE, y_pred, PROBA, [1, 2, 3])["per_class"].loc[3]
    assert np.isnan(row["users_accuracy"]) and row["producers_accuracy"] == 0 and row["f1"] == 0


@pytest.mark.parametrize("change, match", [
    (dict(y_pred=np.r_[Y_PRED[:-1], 7]), "not among the classes"),
    (dict(y_true=np.r_[Y_TRUE[:-1], 0]), "not among the classes"),
    (dict(proba=PROBA[:, :2]), "probabilities of shape"),
    (dict(y_pred=Y_PRED[:-1]), "9 predictions"),
    (dict(proba=np.where(PROBA == 0, np.nan, PROBA)), "NaN"),
    (dict(classes=[1, 1, 2]), "distinct"),
])
def test_bad_inputs_are_input_errors(change, match):
    args = dict(y_true=Y_TRUE, y_pred=Y_PRED, proba=PROBA, classes=[1, 2, 3]) | change
    with pytest.raises(InputError, match=match):
        classification_metrics(**args)


def runs() -> pd.DataFrame:
    rows = []
    for sensor, model, split, seed in itertools.product(["aster", "landsat8"], ["svm", "cnn"], ["block", "random"], [0, 1, 2]):
        chip = 9 if model == "cnn" else np.nan
        accuracy = 0.6 + 0.1 * (sensor == "aster") + 0.05 * (model == "cnn") + 0.15 * (split == "random") + 0.01 * seed
        rows.append(dict(sensor=sensor, model=model, chip_size=chip, split=split, seed=seed,
                         overall_accuracy=accuracy, kappa=accuracy - 0.1))
    return pd.DataFrame(rows)


def test_summarise_gives_mean_and_sample_sd_over_seeds():
    summary = summarise(runs())
    assert len(summary) == 8 and (summary["n_seeds"] == 3).all()
    row = summary[(summary.sensor == "aster") & (summary.model == "cnn") & (summary.split == "random")].iloc[0]
    assert row["chip_size"] == 9
    assert row["overall_accuracy_mean"] == pytest.approx(0.6 + 0.1 + 0.05 + 0.15 + 0.01)
    assert row["overall_accuracy_sd"] == pytest.approx(0.01)  # sample SD of 0, 0.01, 0.02
    assert row["kappa_mean"] == pytest.approx(row["overall_accuracy_mean"] - 0.1)
    svm = summary[summary.model == "svm"]
    assert len(svm) == 4 and svm["chip_size"].isna().all()  # per-pixel models keep their group


def test_summarise_refuses_missing_keys_and_repeated_runs():
    with pytest.raises(InputError, match="missing columns"):
        summarise(runs().drop(columns="split"))
    with pytest.raises(InputError, match="repeat"):
        summarise(pd.concat([runs(), runs().iloc[:1]]))


def per_class_runs() -> pd.DataFrame:
    tables = []
    for sensor, model, seed in itertools.product(["aster", "sentinel2"], ["svm", "mlp"], [0, 1]):
        y_pred = Y_PRED if seed == 0 else np.where(np.arange(10) == 2, 1, Y_PRED)  # seed 1 gets one more class-1 right
        metrics = classification_metrics(Y_TRUE, y_pred, PROBA, [1, 2, 3])
        tables.append(per_class_records(metrics, sensor=sensor, model=model, chip_size=1, split="block", seed=seed))
    return pd.concat(tables, ignore_index=True)


def test_paper_table_shape_and_values():
    records = per_class_runs()
    names = {1: "granite", 2: "basalt", 3: "shale"}
    table = paper_table(records, names)
    assert list(table.index) == ["granite", "basalt", "shale", "overall accuracy", "kappa"]
    assert table.columns.names == ["sensor", "model"]
    assert set(table.columns) == {("aster", "svm"), ("aster", "mlp"), ("sentinel2", "svm"), ("sentinel2", "mlp")}
    column = table[("aster", "svm")]
    assert column["granite"] == pytest.approx((2 / 4 + 3 / 4) / 2)
    assert column["basalt"] == pytest.approx(1.0)
    assert column["overall accuracy"] == pytest.approx((0.7 + 0.8) / 2)
    sd = paper_table(records, names, statistic="std")
    assert sd[("aster", "svm")]["granite"] == pytest.approx(np.std([2 / 4, 3 / 4], ddof=1))
    text = format_mean_sd(table, sd, digits=2)
    assert text.loc["granite", ("aster", "svm")] == "0.62 ± 0.18"
    assert text.loc["basalt", ("aster", "svm")] == "1.00 ± 0.00"


def test_paper_table_refuses_mixed_splits_and_unnamed_classes():
    records = per_class_runs()
    mixed = pd.concat([records, records.assign(split="random")])
    with pytest.raises(InputError, match="several splits"):
        paper_table(mixed, {1: "a", 2: "b", 3: "c"})
    with pytest.raises(InputError, match="no name"):
        paper_table(records, {1: "a", 2: "b"})
    with pytest.raises(InputError, match="missing columns"):
        paper_table(records.drop(columns="kappa"), {1: "a", 2: "b", 3: "c"})


def test_format_mean_sd_leaves_out_undefined_sd():
    mean = pd.DataFrame({"a": [0.5, np.nan]})
    text = format_mean_sd(mean, pd.DataFrame({"a": [np.nan, 0.1]}), digits=1)
    assert text["a"].tolist() == ["0.5", ""]
    with pytest.raises(InputError, match="different rows"):
        format_mean_sd(mean, pd.DataFrame({"b": [0.1, 0.1]}))


def test_corrected_paired_test_is_more_cautious_than_the_plain_one():
    from scipy import stats

    from geoprospect.lithology.metrics import corrected_paired_test

    a = np.array([0.80, 0.82, 0.85, 0.79, 0.84])
    b = a - np.array([0.02, 0.01, 0.03, 0.015, 0.025])
    test = corrected_paired_test(a, b, 1 / 4)
    plain = stats.ttest_rel(a, b)
    assert test["difference"] == pytest.approx(0.02) and test["pairs"] == 5
    assert test["p"] > plain.pvalue and test["t"] == pytest.approx(plain.statistic / np.sqrt(1 + 5 / 4))
    assert corrected_paired_test(a, a, 0.25)["p"] == 1.0
    assert np.isnan(corrected_paired_test(a[:1], b[:1], 0.25)["p"])
