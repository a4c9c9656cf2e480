"""Cross-validation of spatio-temporal prospectivity models: the paper's shuffled K-fold beside block CV.

Diaz-Rodriguez, Müller and Chandra (2021, Ore Geology Reviews 137:104300) scored their classifiers by
stratified, shuffled 10-fold cross-validation. Their samples are not independent: deposits cluster
along a margin and in time, and each negative reuses a deposit's location (see
:mod:`geoprospect.tectonics.samples`), so a shuffled fold tests on near-copies of its training
samples and its scores are optimistic. Two grouped schemes are reported beside it:

``shuffled_10fold``
    ``StratifiedKFold(shuffle=True)``, the paper's scheme, labelled optimistic.
``leave_region_out``
    ``GroupKFold`` over ``region`` (present-day lon/lat blocks): does the model carry to a margin
    segment it has not seen?
``leave_age_bin_out``
    ``GroupKFold`` over ``age_bin``: does it carry to a time it has not seen?

Grouped schemes use ``StratifiedGroupKFold`` (sklearn), which keeps both classes in as many folds
as the groups allow. Every fold fits a fresh ``Pipeline(StandardScaler, model)`` on its training rows
only, so scaling never sees the test rows. Classes are predicted at probability >= 0.5.

Controls: beside the models given only the kinematics, a **time-only** control (a random forest
given only the sample's kinematics time, ``kinematics_time_ma``) and a **location-only** control
(given only the present-day position of the margin point, ``margin_x/y/z`` unit vector) are scored in
every scheme, where the table has those columns. A kinematics model that does not beat the time-only
control learns the sampling in time (e.g. young deposits against negatives spread over the whole
time range), not the kinematics.

Nothing is shown as a score that is not one: a fold whose test rows hold one class, or whose
training rows hold one class, is not scored (every metric NaN, ``note`` says why); a model that
fails on a fold (e.g. an SVM with a one-sample class) is reported on that fold and the other models
go on. Each row of the summary has a ``status``: ``ok``, ``partial: k of n folds scored (why)`` or
``not computable: why`` (then every metric is NaN). Feature importance is the permutation importance
(Breiman 2001) -- the drop in ROC-AUC when one feature is shuffled -- measured on the held-out rows
of each scored fold.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from geoprospect.errors import InputError
from geoprospect.models import make_model

SOURCE = "spatio-temporal training table"
SCHEMES = {  # name -> (group column or None, description)
    "shuffled_10fold": (None, "stratified shuffled K-fold (the paper's scheme; optimistic: neighbours share folds)"),
    "leave_region_out": ("region", "GroupKFold over present-day region blocks"),
    "leave_age_bin_out": ("age_bin", "GroupKFold over age bins"),
}
METRICS = ("accuracy", "roc_auc", "precision", "recall", "f1")
# control name -> the columns it is given (only when the table has them); fitted with CONTROL_MODEL
CONTROLS = {"time_only": ("kinematics_time_ma",), "location_only": ("margin_x", "margin_y", "margin_z")}
CONTROL_MODEL = "rf"
CONTROL_PARAMS = {"n_estimators": 100}  # one or three inputs: fewer trees than the models' default suffice


@dataclass(frozen=True)
class CVComparison:
    """Scores of every model under every scheme.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per scheme x model: ``scheme``, ``model``, ``kind`` (``kinematics`` or ``control``),
        ``status``, ``description``, ``optimistic`` (bool), ``n_splits``, ``n_scored`` (folds scored),
        and ``{metric}_mean``, ``{metric}_sd`` (over scored folds; SD with ddof=1) for each of
        :data:`METRICS`.
    folds : pandas.DataFrame
        One row per scheme x model x fold: ``scheme``, ``model``, ``fold``, ``n_train``, ``n_test``,
        ``n_test_positive``, the metrics, and ``note`` (why a fold scored NaN, else empty).
    confusion : dict
        (scheme, model) -> int array (2, 2) pooled over the folds: ``[[tn, fp], [fn, tp]]``.
    importances : pandas.DataFrame
        ``scheme``, ``model``, ``feature``, ``importance_mean``, ``importance_sd``: the mean (and SD
        over folds) of the per-fold permutation importance (drop in ROC-AUC) on held-out rows.
    splits : dict
        scheme -> list of (train_rows, test_rows) positional index arrays, the same for every model.
    """

    metrics: pd.DataFrame
    folds: pd.DataFrame
    confusion: dict[tuple[str, str], np.ndarray]
    importances: pd.DataFrame
    splits: dict[str, list[tuple[np.ndarray, np.ndarray]]]


def evaluate(
    table: pd.DataFrame,
    features: Sequence[str],
    model_names: Sequence[str],
    params: Mapping[str, Mapping[str, Any]] | None = None,
    seed: int = 0,
    n_splits: int = 10,
    n_repeats: int = 5,
    controls: Mapping[str, Sequence[str]] | None = None,
    pu: bool = False,
    importance_schemes: Sequence[str] | None = None,
) -> CVComparison:
    """Compare the three CV schemes of :data:`SCHEMES` for each model.

    Parameters
    ----------
    table : pandas.DataFrame
        Training samples with ``label`` (0/1), ``region``, ``age_bin`` and the ``features``
        (from :func:`geoprospect.tectonics.samples.training_samples`).
    features : sequence of str
        Feature columns.
    model_names : sequence of str
        Keys of :data:`geoprospect.models.MODELS` (``rf``, ``svm``, ``mlp``, ``gp``).
    params : mapping, optional
        Model name -> its parameters.
    seed : int
        Seeds the shuffled split, the models and the permutations.
    n_splits : int
        Folds per scheme. A grouped scheme with fewer groups uses one fold per group; the shuffled
        scheme uses at most as many folds as the smaller class has samples.
    n_repeats : int
        Shuffles per feature in the permutation importance; 0 skips the importance (faster).
    controls : mapping, optional
        Control name -> its columns; default :data:`CONTROLS`, each kept where the table has its columns.
    pu : bool
        Label 0 is unlabelled, not negative: every model (and control) is wrapped in positive-unlabelled
        bagging (the ``pu_<name>`` models of :mod:`geoprospect.models`); scores are then positives
        against unlabelled, a lower bound of the scores against true negatives.
    importance_schemes : sequence of str, optional
        Schemes whose folds get the permutation importance (default: all); it costs
        ``n_repeats`` predictions per feature and fold.

    Returns
    -------
    CVComparison

    Raises
    ------
    InputError
        Missing columns, non-finite features, labels other than 0/1 or a single class, an unknown
        model or parameter, or fewer than 2 groups (or 2 samples of a class) to split on.
    """
    X, y = _check_table(table, features)
    params = dict(params or {})
    controls = CONTROLS if controls is None else controls
    entries = [(name, _registry(name, pu), list(features), "kinematics") for name in model_names]
    entries += [(control, _registry(CONTROL_MODEL, pu), list(columns), "control") for control, columns in controls.items()
                if all(c in table.columns for c in columns) and np.isfinite(table[list(columns)].to_numpy(float)).all()]
    # every split and model is checked before the first fit: bad input fails at once
    all_splits = {scheme: _splits(table, y, scheme, group, n_splits, seed) for scheme, (group, _) in SCHEMES.items()}
    for name, registry, _, kind in entries:
        make_model(registry, _params(params, name, kind), random_state=seed)
    fold_rows, importance_rows, confusion = [], [], {}
    for scheme, splits in all_splits.items():
        for name, registry, columns, kind in entries:
            data = table[columns].to_numpy(float)
            pooled = np.zeros((2, 2), dtype=np.int64)
            for fold, (train, test) in enumerate(splits):
                row = {"scheme": scheme, "model": name, "kind": kind, "fold": fold, "n_train": train.size,
                       "n_test": test.size, "n_test_positive": int(y[test].sum()), **dict.fromkeys(METRICS, np.nan)}
                if np.unique(y[train]).size < 2:
                    fold_rows.append({**row, "note": "one class in training rows"})
                    continue
                if np.unique(y[test]).size < 2:
                    fold_rows.append({**row, "note": "one class in test rows: no score"})
                    continue
                try:
                    pipeline = _pipeline(registry, _params(params, name, kind), seed).fit(data[train], y[train])
                    probability = pipeline.predict_proba(data[test])[:, 1]
                except InputError:
                    raise
                except Exception as exc:  # one model failing on a fold must not sink the others
                    fold_rows.append({**row, "note": f"model failed: {type(exc).__name__}: {str(exc)[:160]}"})
                    continue
                predicted = (probability >= 0.5).astype(int)
                pooled += confusion_matrix(y[test], predicted, labels=[0, 1])
                row.update(_scores(y[test], predicted, probability, True))
                if n_repeats > 0 and kind == "kinematics" and (importance_schemes is None or scheme in importance_schemes):
                    result = permutation_importance(pipeline, data[test], y[test], scoring="roc_auc",
                                                    n_repeats=n_repeats, random_state=seed)
                    importance_rows += [{"scheme": scheme, "model": name, "feature": f, "fold": fold, "importance": v}
                                        for f, v in zip(columns, result.importances_mean)]
                fold_rows.append({**row, "note": ""})
            confusion[(scheme, name)] = pooled
    folds = pd.DataFrame(fold_rows)
    return CVComparison(metrics=_summary(folds), folds=folds, confusion=confusion,
                        importances=_importance_summary(importance_rows), splits=all_splits)


def _registry(name: str, pu: bool) -> str:
    """The registry name fitted for ``name``: its PU-bagging version with ``pu`` (unless it is one already)."""
    return f"pu_{name}" if pu and not name.startswith("pu_") else name


def _params(params: Mapping[str, Any], name: str, kind: str) -> Mapping[str, Any] | None:
    if kind == "kinematics":
        return params.get(name)
    return params[CONTROL_MODEL] if CONTROL_MODEL in params else (CONTROL_PARAMS if not name.startswith("pu_") else None)


def fit_final(
    table: pd.DataFrame,
    features: Sequence[str],
    model_name: str,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    pu: bool = False,
) -> Pipeline:
    """``Pipeline(StandardScaler, model)`` fitted on every row of ``table``, for scoring through time
    (with ``pu``, the model inside positive-unlabelled bagging).

    Raises
    ------
    InputError
        As :func:`evaluate`.
    """
    X, y = _check_table(table, features)
    return _pipeline(_registry(model_name, pu), params, seed).fit(X, y)


def _pipeline(name: str, params: Mapping[str, Any] | None, seed: int) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("model", make_model(name, params, random_state=seed))])


def _scores(y: np.ndarray, predicted: np.ndarray, probability: np.ndarray, both_classes: bool) -> dict[str, float]:
    return {
        "accuracy": accuracy_score(y, predicted),
        "roc_auc": roc_auc_score(y, probability) if both_classes else np.nan,
        "precision": precision_score(y, predicted, zero_division=np.nan),
        "recall": recall_score(y, predicted, zero_division=np.nan),
        "f1": f1_score(y, predicted, zero_division=np.nan),
    }


def _splits(table, y, scheme, group_column, n_splits, seed) -> list[tuple[np.ndarray, np.ndarray]]:
    if n_splits < 2:
        raise InputError(SOURCE, f"n_splits = {n_splits}", "use at least 2 folds")
    if group_column is None:
        smaller = int(np.bincount(y, minlength=2).min())
        if smaller < 2:
            raise InputError(SOURCE, f"only {smaller} sample(s) of one class: stratified folds need 2",
                             "add deposits or negative samples")
        splitter = StratifiedKFold(min(n_splits, smaller), shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(y.size), y))
    groups = table[group_column].to_numpy()
    n_groups = np.unique(groups).size
    if n_groups < 2:
        raise InputError(SOURCE, f"{scheme}: all samples share one {group_column} ({groups[0]}), nothing to hold out",
                         f"use a smaller {'region_size_deg' if group_column == 'region' else 'age_bin_myr'} "
                         "in training_samples, or drop this scheme's result")
    splitter = StratifiedGroupKFold(min(n_splits, n_groups), shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # "the least populated class has fewer members than n_splits": handled per fold
        warnings.simplefilter("ignore", UserWarning)
        return list(splitter.split(np.zeros(y.size), y, groups))


def _summary(folds: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (scheme, name), group in folds.groupby(["scheme", "model"], sort=False):
        scored = group["note"].eq("")
        reasons = "; ".join(f"{n} fold(s): {why}" for why, n in group.loc[~scored, "note"].value_counts().items())
        if not scored.any():
            status = f"not computable: {reasons}"
        elif scored.all():
            status = "ok"
        else:
            status = f"partial: {int(scored.sum())} of {len(group)} folds scored ({reasons})"
        row = {"scheme": scheme, "model": name, "kind": group["kind"].iloc[0], "status": status,
               "description": SCHEMES[scheme][1], "optimistic": SCHEMES[scheme][0] is None,
               "n_splits": len(group), "n_scored": int(scored.sum())}
        for metric in METRICS:
            values = group.loc[scored, metric].to_numpy(float)
            values = values[np.isfinite(values)]
            row[f"{metric}_mean"] = values.mean() if values.size else np.nan
            row[f"{metric}_sd"] = values.std(ddof=1) if values.size > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _importance_summary(rows: list[dict]) -> pd.DataFrame:
    columns = ["scheme", "model", "feature", "importance_mean", "importance_sd"]
    if not rows:
        return pd.DataFrame(columns=columns)
    grouped = pd.DataFrame(rows).groupby(["scheme", "model", "feature"], sort=False)["importance"]
    out = grouped.agg(importance_mean="mean", importance_sd=lambda v: v.std(ddof=1)).reset_index()
    return out[columns]


def _check_table(table: pd.DataFrame, features: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    features = list(features)
    if not features:
        raise InputError(SOURCE, "no feature column named", "pass the feature columns (samples.feature_columns)")
    absent = [c for c in ["label", "region", "age_bin", *features] if c not in table.columns]
    if absent:
        raise InputError(SOURCE, f"missing column(s) {absent}", "build the table with training_samples")
    if table.empty:
        raise InputError(SOURCE, "holds no sample", "check the training_samples report for why samples were dropped")
    X = table[features].to_numpy(dtype=float)
    bad = ~np.isfinite(X).all(axis=0)
    if bad.any():
        raise InputError(SOURCE, f"non-finite values in feature(s) {[f for f, b in zip(features, bad) if b]}",
                         "drop those features or rows (training_samples moves such rows to its report)")
    labels = table["label"].to_numpy()
    if not np.isin(labels, (0, 1)).all():
        raise InputError(SOURCE, f"labels must be 0 or 1, found {sorted(set(labels.tolist()) - {0, 1})[:5]}",
                         "label deposits 1 and non-deposits 0")
    y = labels.astype(int)
    if np.unique(y).size < 2:
        raise InputError(SOURCE, f"only class {y[0]} present", "add both deposit and non-deposit samples")
    return X, y
