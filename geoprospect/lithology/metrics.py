"""Accuracy of lithological classifications, summarised over seeds and tabled like the paper's.

Follows the accuracy assessment of Shirmard et al. 2022 (Remote Sensing 14(4):819, "A comparative study
of convolutional neural networks and conventional machine learning models for lithological mapping
using remote sensing data"): overall accuracy, Cohen's kappa and per-class accuracies, here with the
remote-sensing names of Congalton (1991, Remote Sensing of Environment 37:35-46): the *producer's
accuracy* of a class is its recall (share of reference pixels of the class mapped as it), the *user's
accuracy* its precision (share of pixels mapped as the class that truly are). Metric values are
fractions (0-1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from geoprospect.errors import InputError

RUN_KEYS = ("sensor", "model", "chip_size", "split")
PER_CLASS_COLUMNS = ("producers_accuracy", "users_accuracy", "f1", "auc", "support")


def classification_metrics(y_true, y_pred, proba, classes: Sequence[int]) -> dict:
    """Accuracy measures of a classification of ``n`` samples into ``classes``.

    Parameters
    ----------
    y_true, y_pred : array-like (n,)
        Reference and predicted class codes, each one of ``classes``.
    proba : array-like (n, n_classes)
        Predicted class probabilities (or any scores), columns in the order of ``classes``.
    classes : sequence of int
        The class codes, in the order of ``proba``'s columns and of the confusion matrix.

    Returns
    -------
    dict
        ``overall_accuracy``, ``kappa`` (Cohen 1960), ``macro_f1``, ``macro_auc`` : float;
        ``per_class`` : DataFrame indexed by class code with columns ``producers_accuracy`` (recall),
        ``users_accuracy`` (precision), ``f1``, ``auc`` (one-vs-rest ROC-AUC of the class's column)
        and ``support`` (reference samples);
        ``confusion`` : int ndarray (n_classes, n_classes), rows = true, columns = predicted;
        ``classes`` : list of the class codes.

    Notes
    -----
    Undefined values are NaN, not errors: the producer's accuracy and AUC of a class absent from
    ``y_true`` (its AUC also when it is the only class present), the user's accuracy of a class never
    predicted, and the F1 of a class neither present nor predicted. Macro F1 and macro AUC are means
    over the classes where they are defined.
    """
    classes = list(classes)
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    proba = np.asarray(proba, dtype=np.float64)
    if len(set(classes)) != len(classes) or not classes:
        raise InputError("classes", f"class codes must be distinct and at least one, got {classes}", "list each class once")
    if len(y_true) != len(y_pred) or proba.shape != (len(y_true), len(classes)):
        raise InputError("y_pred", f"{len(y_true)} references, {len(y_pred)} predictions and probabilities of shape "
                         f"{proba.shape} for {len(classes)} classes", "give one prediction and one probability per class for every sample")
    if not len(y_true):
        raise InputError("y_true", "no samples", "evaluate on at least one sample")
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        unknown = sorted(set(np.unique(values).tolist()) - set(classes))
        if unknown:
            raise InputError(name, f"codes {unknown[:10]} are not among the classes {classes}", "list every class in `classes`")
    if not np.isfinite(proba).all():
        raise InputError("proba", "NaN or infinite probabilities", "score every sample")

    auc = np.full(len(classes), np.nan)
    for k, code in enumerate(classes):
        positive = y_true == code
        if 0 < positive.sum() < len(y_true):
            auc[k] = roc_auc_score(positive, proba[:, k])
    per_class = pd.DataFrame({
        "producers_accuracy": recall_score(y_true, y_pred, labels=classes, average=None, zero_division=np.nan),
        "users_accuracy": precision_score(y_true, y_pred, labels=classes, average=None, zero_division=np.nan),
        "f1": f1_score(y_true, y_pred, labels=classes, average=None, zero_division=np.nan),
        "auc": auc,
        "support": [int((y_true == c).sum()) for c in classes],
    }, index=pd.Index(classes, name="class"))
    return {
        "overall_accuracy": float(accuracy_score(y_true, y_pred)),
        "kappa": float(cohen_kappa_score(y_true, y_pred, labels=classes)),
        "macro_f1": _nanmean(per_class["f1"]),
        "macro_auc": _nanmean(per_class["auc"]),
        "per_class": per_class,
        "confusion": confusion_matrix(y_true, y_pred, labels=classes),
        "classes": classes,
    }


def _nanmean(values: pd.Series) -> float:
    return float(values.mean()) if values.notna().any() else float("nan")


def per_class_records(metrics: dict, **run) -> pd.DataFrame:
    """The per-class rows of one run, for :func:`paper_table`.

    Parameters
    ----------
    metrics : dict
        :func:`classification_metrics`'s output.
    **run
        The run's keys (e.g. ``sensor="landsat8", model="svm", chip_size=1, split="block", seed=0``),
        repeated on every row.

    Returns
    -------
    DataFrame
        One row per class: the run keys, ``class``, the :data:`PER_CLASS_COLUMNS` and the run's
        ``overall_accuracy`` and ``kappa``.
    """
    table = metrics["per_class"].reset_index()
    for key, value in reversed(run.items()):
        table.insert(0, key, value)
    return table.assign(overall_accuracy=metrics["overall_accuracy"], kappa=metrics["kappa"])


def summarise(records: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every metric, per (sensor, model, chip_size, split).

    Parameters
    ----------
    records : DataFrame
        One row per run: columns ``sensor``, ``model``, ``chip_size``, ``split``, ``seed`` and numeric
        metric columns (e.g. ``overall_accuracy``, ``kappa``, ``macro_f1``). A missing ``chip_size``
        (NaN, e.g. for per-pixel models) is a group of its own.

    Returns
    -------
    DataFrame
        One row per group: the four keys, ``n_seeds``, and ``<metric>_mean`` and ``<metric>_sd`` per
        metric. SD is the sample standard deviation (ddof=1) across seeds, NaN for a single seed.
    """
    needed = [*RUN_KEYS, "seed"]
    missing = [c for c in needed if c not in records.columns]
    if missing:
        raise InputError("records", f"missing columns {missing}", f"give one row per run with columns {needed} and metrics")
    metrics = [c for c in records.columns if c not in needed and pd.api.types.is_numeric_dtype(records[c])]
    if not metrics:
        raise InputError("records", "no numeric metric columns", "add metric columns such as overall_accuracy")
    repeated = records.duplicated(needed)
    if repeated.any():
        raise InputError("records", f"{int(repeated.sum())} run(s) repeat a (sensor, model, chip_size, split, seed)",
                         "keep one row per run")
    grouped = records.groupby(list(RUN_KEYS), dropna=False, sort=True)
    stats = grouped[metrics].agg(["mean", "std"])
    stats.columns = [f"{metric}_{'sd' if stat == 'std' else stat}" for metric, stat in stats.columns]
    return pd.concat([grouped["seed"].nunique().rename("n_seeds"), stats], axis=1).reset_index()


def paper_table(per_class: pd.DataFrame, class_names: dict[int, str], value: str = "producers_accuracy",
                statistic: str = "mean") -> pd.DataFrame:
    """A table shaped like Shirmard et al. (2022)'s: classes and overall measures by sensor and model.

    Parameters
    ----------
    per_class : DataFrame
        :func:`per_class_records` rows of several runs (columns ``sensor``, ``model``, ``seed``,
        ``class``, ``value``, ``overall_accuracy``, ``kappa``), for one chip size and split: filter
        first if it holds several.
    class_names : dict of int to str
        Row label of each class code.
    value : str
        The per-class measure tabled (default the producer's accuracy).
    statistic : {"mean", "std"}
        Across seeds; ``std`` is the sample SD (ddof=1). Pair the two with :func:`format_mean_sd`.

    Returns
    -------
    DataFrame
        Rows: class names (in code order), then ``overall accuracy`` and ``kappa``; columns: a
        (sensor, model) MultiIndex.
    """
    needed = ["sensor", "model", "seed", "class", value, "overall_accuracy", "kappa"]
    missing = [c for c in needed if c not in per_class.columns]
    if missing:
        raise InputError("per_class", f"missing columns {missing}", "pass per_class_records rows of the runs")
    if statistic not in ("mean", "std"):
        raise InputError("statistic", f"unknown statistic {statistic!r}", "use 'mean' or 'std'")
    for key in ("chip_size", "split"):
        if key in per_class.columns and per_class[key].nunique(dropna=False) > 1:
            raise InputError("per_class", f"rows of several {key}s {sorted(per_class[key].astype(str).unique())}",
                             f"filter the rows to one {key} first")
    unnamed = sorted(set(per_class["class"]) - set(class_names))
    if unnamed:
        raise InputError("class_names", f"classes {unnamed} have no name", "name every class code")
    if per_class.duplicated(["sensor", "model", "seed", "class"]).any():
        raise InputError("per_class", "a class appears twice in one run", "keep one row per class and run")
    classes = per_class.pivot_table(index="class", columns=["sensor", "model"], values=value, aggfunc=statistic, dropna=False)
    classes.index = [class_names[c] for c in classes.index]
    runs = per_class.drop_duplicates(["sensor", "model", "seed"])
    overall = runs.pivot_table(columns=["sensor", "model"], values=["overall_accuracy", "kappa"], aggfunc=statistic)
    overall = overall.loc[["overall_accuracy", "kappa"]].rename(index={"overall_accuracy": "overall accuracy"})
    table = pd.concat([classes, overall])
    table.columns.names = ["sensor", "model"]
    return table


def format_mean_sd(mean: pd.DataFrame, sd: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Cells ``"mean ± sd"`` of two same-shaped tables (``"mean"`` alone where the SD is NaN; ``""`` where the mean is)."""
    if not (mean.index.equals(sd.index) and mean.columns.equals(sd.columns)):
        raise InputError("sd", "the mean and SD tables have different rows or columns", "build both from the same records")

    def cell(m: float, s: float) -> str:
        if pd.isna(m):
            return ""
        return f"{m:.{digits}f}" if pd.isna(s) else f"{m:.{digits}f} ± {s:.{digits}f}"

    values = [[cell(m, s) for m, s in zip(row_m, row_s)] for row_m, row_s in zip(mean.to_numpy(), sd.to_numpy())]
    return pd.DataFrame(values, index=mean.index, columns=mean.columns)


def corrected_paired_test(a, b, test_train_ratio: float) -> dict:
    """Paired t-test of two models' scores over the same cross-validation folds, variance corrected.

    The folds' training sets overlap, so their scores are correlated and the plain paired t-test is
    too confident; the corrected resampled t-test of Nadeau and Bengio (2003, *Machine Learning* 52:
    239-281), as recommended by Bouckaert and Frank (2004, PAKDD), inflates the variance of the mean
    difference by ``1/J + n_test/n_train`` instead of ``1/J`` (J pairs).

    Parameters
    ----------
    a, b : array-like (J,)
        Scores of the two models on the same folds (and seeds), in the same order.
    test_train_ratio : float
        Test over training pixels of a fold (``1 / (k - 1)`` for k folds).

    Returns
    -------
    dict
        ``difference`` (mean of a - b), ``t``, ``p`` (two-sided), ``pairs``. ``p`` is NaN for fewer
        than two pairs, 1 for identical scores.
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise InputError("scores", f"score vectors of shapes {a.shape} and {b.shape}", "pass one score per fold for both models")
    diff = a - b
    pairs = diff.size
    result = {"difference": float(diff.mean()) if pairs else float("nan"), "t": float("nan"), "p": float("nan"), "pairs": pairs}
    if pairs < 2:
        return result
    variance = diff.var(ddof=1) * (1 / pairs + test_train_ratio)
    if variance == 0:
        return result | {"t": 0.0 if diff.mean() == 0 else float(np.sign(diff.mean()) * np.inf),
                         "p": 1.0 if diff.mean() == 0 else 0.0}
    t = diff.mean() / np.sqrt(variance)
    return result | {"t": float(t), "p": float(2 * stats.t.sf(abs(t), pairs - 1))}
