"""Spatial cross-validation of prospectivity models and the metrics of a prospectivity map.

Labels are positive-unlabelled: a background cell scoring high may be an undiscovered deposit, so
precision, F1 and ROC-AUC against background are lower bounds. The area-based measures need no
negatives: a *rate curve* plots the share of deposits captured against the share of the (valid)
map area marked prospective, cells taken from the highest score down (Chung and Fabbri 2003, Natural
Hazards 30:451-472). With the training deposits it is the success-rate curve; with held-out
deposits the prediction-rate curve. Area fractions are estimated from a uniform random sample of
valid map cells (nodata cells excluded).

Threshold rule: the F1 threshold of a fold is the one that maximises F1 on the training rows of that
fold, never on the held-out rows (score >= threshold is positive). By default the training rows are
scored out-of-fold by an inner stratified k-fold split of the training rows (fresh pipelines), since
in-sample probabilities of flexible models (forests) are optimistic and put the threshold too high;
``threshold_folds=0`` uses in-sample probabilities instead.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
)
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metaestimators import available_if

from geoprospect.errors import InputError


def threshold_rule(threshold_folds: int) -> str:
    """The F1 threshold rule in words, for reports."""
    scored = (f"out-of-fold probabilities from an inner stratified {threshold_folds}-fold split" if threshold_folds
              else "in-sample probabilities")
    return f"maximum F1 on the fold's training rows ({scored}); score >= threshold is positive"

TOP_AREA_FRACTIONS = (0.1, 0.2)


@dataclass(frozen=True)
class RateCurve:
    """Deposits captured against the fraction of the valid map area, cells ranked by score.

    Attributes
    ----------
    area_fraction, captured : ndarray
        Step curve (draw with ``drawstyle="steps-post"``) from (0, 0) to (1, 1): ``captured[i]`` of
        the deposits lie in the top ``area_fraction[i]`` of the area.
    auc : float
        Area under the step curve = 1 - mean area fraction above a deposit = the probability that a
        deposit outscores a random valid cell (ties count half). 1 perfect, 0.5 random.
    captured_top10, captured_top20 : float
        Share of deposits in the top 10 % and 20 % of the area.
    n_deposits : int
    """

    area_fraction: np.ndarray
    captured: np.ndarray
    auc: float
    captured_top10: float
    captured_top20: float
    n_deposits: int

    def to_dict(self) -> dict:
        return json_ready(asdict(self))


def deposit_area_fractions(deposit_scores: np.ndarray, map_scores: np.ndarray) -> np.ndarray:
    """Fraction of the valid area that outscores each deposit (ties count half).

    Parameters
    ----------
    deposit_scores : ndarray (n_deposits,)
        Map scores at deposit cells.
    map_scores : ndarray (n_cells,)
        Scores of a uniform sample of valid cells; NaN entries are ignored.
    """
    ranked = np.sort(np.asarray(map_scores, float)[np.isfinite(map_scores)])
    if not ranked.size:
        raise InputError("map sample", "holds no valid cell", "sample cells where every feature is present")
    scores = np.asarray(deposit_scores, float)
    below_or_equal = np.searchsorted(ranked, scores, side="right")
    ties = below_or_equal - np.searchsorted(ranked, scores, side="left")
    return (ranked.size - below_or_equal + 0.5 * ties) / ranked.size


def rate_curve(deposit_scores: np.ndarray, map_scores: np.ndarray) -> RateCurve:
    """Rate curve of deposits against a map (see :class:`RateCurve`).

    Parameters
    ----------
    deposit_scores : ndarray (n_deposits,)
        Scores at the deposits: training deposits give the success-rate curve, held-out deposits
        the prediction-rate curve.
    map_scores : ndarray (n_cells,)
        Scores of a uniform random sample of valid map cells.
    """
    return curve_from_area_fractions(deposit_area_fractions(deposit_scores, map_scores))


def success_rate_curve(scores_at_training_deposits: np.ndarray, map_scores: np.ndarray) -> RateCurve:
    """Success-rate curve of a final model: its training deposits against its map sample."""
    return rate_curve(scores_at_training_deposits, map_scores)


def curve_from_area_fractions(area_fractions: np.ndarray) -> RateCurve:
    """Rate curve from the area fraction above each deposit; fractions from different folds' maps may be pooled."""
    fractions = np.sort(np.asarray(area_fractions, float))
    n = fractions.size
    if not n:
        raise InputError("deposits", "no deposit to draw a rate curve from", "keep at least one deposit in every fold")
    area = np.r_[0.0, fractions, 1.0]
    captured = np.r_[0.0, np.arange(1, n + 1) / n, 1.0]
    top10, top20 = (float(np.mean(fractions <= f)) for f in TOP_AREA_FRACTIONS)
    return RateCurve(area, captured, float(1.0 - fractions.mean()), top10, top20, n)


def pu_criterion(recall: float, predicted_positive_fraction: float) -> float:
    """Lee and Liu (2003, ICML) criterion r^2 / P(y_hat = 1), which is proportional to precision x recall.

    Needs no labelled negatives: ``recall`` on (held-out) positives, ``P(y_hat = 1)`` the fraction
    of valid map cells predicted positive. NaN when no cell is predicted positive.
    """
    return float(recall**2 / predicted_positive_fraction) if predicted_positive_fraction > 0 else math.nan


def max_f1_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold (score >= threshold is positive) that maximises F1 on these rows."""
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    return float(thresholds[np.argmax(f1[:-1])])


def fold_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float, map_scores: np.ndarray) -> dict[str, float]:
    """Metrics of held-out rows at a threshold chosen elsewhere.

    Parameters
    ----------
    labels : ndarray of int (n,)
        1 deposit, 0 unlabelled.
    scores : ndarray (n,)
        Probability of the deposit class.
    threshold : float
        score >= threshold is predicted positive.
    map_scores : ndarray (n_cells,)
        Scores of a uniform sample of valid map cells (for P(y_hat = 1) and the prediction-rate curve).

    Returns
    -------
    dict
        ``roc_auc``, ``pr_auc`` (average precision; NaN without both classes), ``f1``,
        ``precision``, ``recall``, ``tn``, ``fp``, ``fn``, ``tp``, ``predicted_positive_fraction``
        (on the map), ``pu_criterion``, ``prediction_rate_auc``, ``captured_top10``, ``captured_top20``.
    """
    labels, scores = np.asarray(labels).astype(int), np.asarray(scores, float)
    map_scores = np.asarray(map_scores, float)
    map_scores = map_scores[np.isfinite(map_scores)]
    predicted = scores >= threshold
    tp, fp = int((predicted & (labels == 1)).sum()), int((predicted & (labels == 0)).sum())
    fn, tn = int((~predicted & (labels == 1)).sum()), int((~predicted & (labels == 0)).sum())
    both = 0 < labels.sum() < labels.size
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
    predicted_positive = float(np.mean(map_scores >= threshold))
    curve = rate_curve(scores[labels == 1], map_scores) if (labels == 1).any() else None
    return {
        "roc_auc": float(roc_auc_score(labels, scores)) if both else math.nan,
        "pr_auc": float(average_precision_score(labels, scores)) if both else math.nan,
        "f1": float(f1), "precision": float(precision), "recall": float(recall),
        "tn": tn, "fp": fp, "fn": fn, "tp": tp,
        "predicted_positive_fraction": predicted_positive,
        "pu_criterion": pu_criterion(recall, predicted_positive) if tp + fn else math.nan,
        "prediction_rate_auc": curve.auc if curve else math.nan,
        "captured_top10": curve.captured_top10 if curve else math.nan,
        "captured_top20": curve.captured_top20 if curve else math.nan,
    }


def positive_probability(model, X) -> np.ndarray:
    """Probability of class 1 from a fitted classifier's ``predict_proba``, shape (n,)."""
    proba = np.asarray(model.predict_proba(X))
    classes = list(getattr(model, "classes_", [0, 1]))
    return proba[:, classes.index(1)]


@dataclass(frozen=True)
class CVResult:
    """Cross-validation of one model.

    Attributes
    ----------
    fold_metrics : DataFrame
        One row per fold: ``fold``, ``n_train``, ``n_train_positive``, ``n_test``,
        ``n_test_positive``, ``threshold`` and the :func:`fold_metrics` columns.
    summary : DataFrame
        Index metric, columns ``mean`` and ``sd`` (across folds, ddof=1).
    oof_probability : ndarray (n_samples,)
        Out-of-fold probability of every row of the table.
    prediction_rate : list of RateCurve
        Per fold: held-out deposits against that fold's map sample.
    pooled_prediction_rate : RateCurve
        All held-out deposits, each placed on the map of the model that did not see it.
    threshold_rule : str
    importances : DataFrame, optional
        Permutation importances measured on each fold's held-out rows (``feature``, ``importance``:
        mean across folds of the drop in average precision, ``sd`` across folds), when asked for.
    """

    fold_metrics: pd.DataFrame
    summary: pd.DataFrame
    oof_probability: np.ndarray
    prediction_rate: list[RateCurve]
    pooled_prediction_rate: RateCurve
    threshold_rule: str
    importances: pd.DataFrame | None = None

    def to_dict(self) -> dict:
        """JSON-ready: folds, summary (metric -> mean, sd), curves, the threshold rule."""
        return json_ready({
            "threshold_rule": self.threshold_rule,
            "folds": self.fold_metrics.to_dict(orient="records"),
            "summary": self.summary.to_dict(orient="index"),
            "prediction_rate_by_fold": [c.to_dict() for c in self.prediction_rate],
            "pooled_prediction_rate": self.pooled_prediction_rate.to_dict(),
        })


def cross_validate(make_pipeline: Callable[[], Any], table: pd.DataFrame, feature_columns: list[str], folds: np.ndarray,
                   background_sample, executor: Executor | None = None, threshold_folds: int = 3,
                   progress: Callable[[int, int], None] | None = None, importance_repeats: int = 0) -> CVResult:
    """Spatial block cross-validation with every data-driven step fitted inside the fold.

    For each fold a fresh pipeline from ``make_pipeline()`` is fitted on the other folds' rows (so
    scalers, feature selection, samplers and encoders see training rows only), its F1 threshold is
    chosen on those rows (:func:`threshold_rule`), and it predicts the held-out rows and the map sample.

    Parameters
    ----------
    make_pipeline : callable
        Returns a new unfitted classifier (``fit``, ``predict_proba``); picklable when an executor
        runs folds in other processes.
    table : DataFrame
        :func:`geoprospect.labels.training_table` output (``label`` and the feature columns).
    feature_columns : list of str
    folds : ndarray of int (n_samples,)
        :func:`geoprospect.labels.assign_folds` output.
    background_sample : DataFrame, DataArray or array (n_cells, n_features)
        Features of a uniform random sample of valid map cells (:func:`geoprospect.labels.sample_cells`),
        used for area fractions; a DataFrame is indexed by ``feature_columns``, an array must be in that
        order. Rows with a NaN feature are dropped.
    executor : concurrent.futures.Executor, optional
        Runs the folds (e.g. a thread pool, or ``distributed.Client.get_executor()`` for a Dask cluster);
        sequential by default.
    threshold_folds : int
        Inner folds that score the training rows for the F1 threshold; 0 scores them in-sample.
    progress : callable, optional
        Called as ``progress(done, total)`` as each fold's result arrives.
    importance_repeats : int
        With n > 0, permutation importances (average precision, n shuffles) of each fold's model on
        its held-out rows, never its training rows: a feature the model memorised but that does not
        generalise across space scores near zero.
    """
    folds = np.asarray(folds)
    X = table[feature_columns].astype(float)
    y = table["label"].to_numpy().astype(int)
    map_X = _map_frame(background_sample, feature_columns)
    fold_ids = np.unique(folds)
    tasks = [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in fold_ids]
    run = executor.map if executor is not None else map
    outputs = []
    n = len(tasks)  # lists, not iterators: a Dask executor refuses to map over iterators
    for output in run(_run_fold, [make_pipeline] * n, [X.iloc[tr] for tr, _ in tasks], [y[tr] for tr, _ in tasks],
                      [X.iloc[te] for _, te in tasks], [y[te] for _, te in tasks], [map_X] * n, [threshold_folds] * n,
                      [importance_repeats] * n):
        outputs.append(output)
        if progress is not None:
            progress(len(outputs), len(tasks))
    oof = np.full(len(table), np.nan)
    rows, curves, pooled = [], [], []
    held_out_importance = []
    for k, (train, test), (metrics, test_scores, map_scores, importance) in zip(fold_ids, tasks, outputs):
        held_out_importance.append(importance)
        oof[test] = test_scores
        held_out = test_scores[y[test] == 1]
        fractions = deposit_area_fractions(held_out, map_scores)
        curves.append(curve_from_area_fractions(fractions))
        pooled.append(fractions)
        rows.append({"fold": int(k), "n_train": int(train.size), "n_train_positive": int(y[train].sum()),
                     "n_test": int(test.size), "n_test_positive": int(y[test].sum()), **metrics})
    per_fold = pd.DataFrame(rows)
    numeric = per_fold.drop(columns="fold")
    summary = pd.DataFrame({"mean": numeric.mean(), "sd": numeric.std(ddof=1)})
    importances = None
    if importance_repeats:
        by_fold = np.array(held_out_importance, dtype=float)
        with warnings.catch_warnings():  # a fold without held-out deposits has no importance (NaN)
            warnings.simplefilter("ignore", RuntimeWarning)
            importances = pd.DataFrame({"feature": feature_columns, "importance": np.nanmean(by_fold, axis=0),
                                        "sd": np.nanstd(by_fold, axis=0, ddof=1) if len(by_fold) > 1 else np.nan,
                                        "folds": np.isfinite(by_fold).sum(axis=0)})
        importances = importances.sort_values("importance", ascending=False, ignore_index=True)
    return CVResult(per_fold, summary, oof, curves, curve_from_area_fractions(np.concatenate(pooled)),
                    threshold_rule(threshold_folds), importances)


def _run_fold(make_pipeline, X_train, y_train, X_test, y_test, map_X, threshold_folds, importance_repeats=0):
    """Fit one fold; returns (metrics with the threshold, held-out scores, map-sample scores, held-out
    permutation importances or NaN)."""
    if y_train.min() == y_train.max():
        raise InputError("folds", "a training split holds a single class", "use more background cells or fewer folds")
    if threshold_folds and y_train.sum() < threshold_folds:
        raise InputError("threshold_folds", f"a training split holds {y_train.sum()} deposits, fewer than the "
                         f"{threshold_folds} inner folds", "reduce threshold_folds (0 scores training rows in-sample)")
    model = make_pipeline()
    model.fit(X_train, y_train)
    if threshold_folds:
        inner = np.full(y_train.size, np.nan)
        for fit_rows, score_rows in StratifiedKFold(threshold_folds, shuffle=True, random_state=0).split(X_train, y_train):
            inner_model = make_pipeline().fit(X_train.iloc[fit_rows], y_train[fit_rows])
            inner[score_rows] = positive_probability(inner_model, X_train.iloc[score_rows])
    else:
        inner = positive_probability(model, X_train)
    threshold = max_f1_threshold(y_train, inner)
    test_scores = positive_probability(model, X_test)
    map_scores = positive_probability(model, map_X)
    importance = np.full(X_test.shape[1], np.nan)
    if importance_repeats and 0 < y_test.sum() < y_test.size:
        importance = held_out_importance(model, X_test, y_test, importance_repeats)
    return ({"threshold": threshold, **fold_metrics(y_test, test_scores, threshold, map_scores)}, test_scores, map_scores,
            importance)


def held_out_importance(model, X_test: pd.DataFrame, y_test: np.ndarray, repeats: int) -> np.ndarray:
    """Permutation importances (drop in average precision, ``repeats`` shuffles, seed 0) of a fitted model on
    held-out rows, shape (n_features,).

    The columns a fitted pipeline drops before its estimator (empty ones, the Spearman filter's) are not
    permuted: their importance is exactly 0. The others get the same values as permuting every column
    (scikit-learn draws each column's shuffles from one seed), at a fraction of the predictions: 35 of
    91 columns on the 30 km demo (issue 22)."""
    used = used_columns(model, list(X_test.columns))
    if used is None:
        return permutation_importance(model, X_test, y_test, scoring="average_precision", n_repeats=repeats,
                                      random_state=0).importances_mean
    importance = np.zeros(X_test.shape[1])
    importance[used] = permutation_importance(_OnColumns(model, X_test, used), X_test.iloc[:, used], y_test,
                                              scoring="average_precision", n_repeats=repeats, random_state=0).importances_mean
    return importance


def used_columns(model, columns: list[str]) -> np.ndarray | None:
    """Indices of the input ``columns`` that reach a fitted pipeline's estimator past its leading imputers,
    scalers and feature selectors; None when every column may (no such steps, or none dropped)."""
    steps = getattr(model, "steps", None) or []
    k = 0
    while k < len(steps) - 1 and isinstance(steps[k][1], (SimpleImputer, StandardScaler, SelectorMixin)):
        k += 1
    if k == 0:
        return None
    kept = set(model[:k].get_feature_names_out(columns))
    used = np.array([i for i, name in enumerate(columns) if name in kept], dtype=int)
    return used if used.size < len(columns) else None


class _OnColumns(ClassifierMixin, BaseEstimator):
    """``model`` seen through some columns of ``X`` (the others held at their values): what the permutation
    importance of those columns permutes. It answers with the model's own methods (the scorer prefers a
    decision function where the model has one)."""

    def __init__(self, model, X: pd.DataFrame, columns: np.ndarray):
        self.model, self.X, self.columns = model, X, columns
        self.classes_ = model.classes_

    def fit(self, X, y=None):  # scikit-learn's parameter check asks for one; it is never called
        return self

    def _full(self, X) -> pd.DataFrame:
        full = self.X.copy()
        full.iloc[:, self.columns] = np.asarray(X, dtype=float)
        return full

    def predict_proba(self, X):
        return self.model.predict_proba(self._full(X))

    @available_if(lambda self: hasattr(self.model, "decision_function"))
    def decision_function(self, X):
        return self.model.decision_function(self._full(X))


def _map_frame(sample, feature_columns: list[str]) -> pd.DataFrame:
    if isinstance(sample, pd.DataFrame):
        frame = sample[feature_columns].astype(float)
    else:
        values = np.asarray(sample, float)
        if values.ndim != 2 or values.shape[1] != len(feature_columns):
            raise InputError("map sample", f"has shape {values.shape}, expected (n_cells, {len(feature_columns)})",
                             "pass the sampled cells' features in the order of the feature columns")
        frame = pd.DataFrame(values, columns=feature_columns)
    frame = frame[np.isfinite(frame.to_numpy()).all(axis=1)].reset_index(drop=True)
    if frame.empty:
        raise InputError("map sample", "holds no cell with every feature", "sample valid cells (every feature present)")
    return frame


def truth_scores(prob_map, truth_map, deposits_mask: np.ndarray | None = None, n_sample: int = 20_000,
                 rng: np.random.Generator | None = None) -> dict[str, float]:
    """Agreement of a prospectivity map with a known true probability (demo region).

    Both scores are computed on a uniform sample of ``n_sample`` cells where both maps are finite
    (drawn with ``rng``, seed 0 by default), leaving out ``deposits_mask`` (e.g. training deposit
    cells, where the map is scored in-sample).

    - ``spearman``: rank correlation of the map with the truth.
    - ``roc_auc``: soft-label ROC-AUC. Each cell counts as a positive with weight ``t`` (its true
      probability) and as a negative with weight ``1 - t``: the probability that a cell drawn in
      proportion to the truth outranks one drawn in proportion to ``1 - t``. It is the expected AUC
      over Bernoulli draws of the outcomes, without their noise (up to the O(1/n) weight of a cell
      paired with itself).
    - ``roc_auc_ceiling``: the same soft-label ROC-AUC of the truth itself, on the same cells: ranking by
      the true probability maximises it (the likelihood ratio ``t / (1 - t)`` rises with ``t``), so no
      map can score above it. A region whose probabilities are mostly low and close together has a low
      ceiling (0.89 on the small demo, 0.79 on the 30 km demo): read ``roc_auc`` against it.

    Parameters
    ----------
    prob_map, truth_map : array-like (y, x)
        Predicted and true probability; NaN is nodata.
    deposits_mask : ndarray of bool (y, x), optional
        Cells to leave out.

    Returns
    -------
    dict
        ``spearman``, ``roc_auc``, ``roc_auc_ceiling``, ``n_cells``.
    """
    prob, truth = np.asarray(prob_map, float), np.asarray(truth_map, float)
    if prob.shape != truth.shape:
        raise InputError("truth map", f"has shape {truth.shape}, the prospectivity map {prob.shape}",
                         "compare maps on the same grid")
    keep = np.isfinite(prob) & np.isfinite(truth)
    if deposits_mask is not None:
        keep &= ~np.asarray(deposits_mask, bool)
    cells = np.flatnonzero(keep)
    if cells.size < 2:
        raise InputError("truth map", "shares fewer than 2 valid cells with the prospectivity map", "check both maps' nodata")
    rng = np.random.default_rng(0) if rng is None else rng
    if cells.size > n_sample:
        cells = rng.choice(cells, size=n_sample, replace=False)
    p, t = prob.ravel()[cells], np.clip(truth.ravel()[cells], 0.0, 1.0)
    rho = spearmanr(p, t).statistic
    if not 0 < t.sum() < t.size:  # no positive or no negative weight
        return {"spearman": float(rho), "roc_auc": math.nan, "roc_auc_ceiling": math.nan, "n_cells": int(cells.size)}
    labels, weights = np.r_[np.ones(p.size), np.zeros(p.size)], np.r_[t, 1.0 - t]
    auc = roc_auc_score(labels, np.r_[p, p], sample_weight=weights)
    ceiling = roc_auc_score(labels, np.r_[t, t], sample_weight=weights)
    return {"spearman": float(rho), "roc_auc": float(auc), "roc_auc_ceiling": float(ceiling), "n_cells": int(cells.size)}


def json_ready(obj):
    """Plain Python for ``json.dump``: numpy scalars and arrays to floats/ints/lists, NaN and inf to None."""
    if is_dataclass(obj) and not isinstance(obj, type):
        return json_ready(asdict(obj))
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_ready(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj
