"""Spread of a prospectivity prediction, and target ranking by score and spread.

Each model's spread is the standard deviation, at each cell, of the members that make up its
prediction, whichever applies:

- a positive-unlabelled bagging model (:class:`~geoprospect.models.pu.PUBaggingClassifier`): its rounds;
- a model with its own predictive SD (``predict_sd``, e.g. weights of evidence: the SD of the
  posterior probability, Bonham-Carter 1994 ch. 9; the MLP: the SD over Monte Carlo dropout passes,
  Gal and Ghahramani 2016);
- any other model: the models fitted in spatial cross-validation, one per fold (a
  :class:`FoldEnsemble`), so the spread says how much the map moves when a block of the area is left out.

:class:`SpreadModel` exposes the spread through ``predict_proba`` so that the chunked
:func:`geoprospect.predict.predict_map` maps it block by block like a probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoprospect.evaluate import positive_probability
from geoprospect.models.pipeline import prediction_steps
from geoprospect.models.pu import PUBaggingClassifier

SPREAD = "spread"


class FoldEnsemble:
    """The fitted models of the CV folds, treated as the members of one prediction.

    Parameters
    ----------
    models : list of fitted classifiers
        All fitted on the same feature columns.
    """

    def __init__(self, models: list):
        self.models = models
        self.classes_ = np.array([0, 1])
        names = getattr(models[0], "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        self.n_features_in_ = models[0].n_features_in_

    def member_probabilities(self, X) -> np.ndarray:
        """Positive probability of every member, shape (n_members, n_samples)."""
        return np.stack([positive_probability(model, X) for model in self.models])

    def predict_proba(self, X) -> np.ndarray:
        mean = self.member_probabilities(X).mean(axis=0)
        return np.column_stack([1.0 - mean, mean])


def spread_source(model) -> str | None:
    """How ``model`` (a fitted pipeline or estimator) gives its spread: ``"rounds"``, its own ``predict_sd``
    (``"own"``, or the model's ``spread_name``: ``"dropout"``, ``"members"``), ``"folds"`` or ``None``
    (then fit a :class:`FoldEnsemble`)."""
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if isinstance(final, PUBaggingClassifier):
        return "rounds"
    if hasattr(final, "predict_sd"):
        return getattr(final, "spread_name", "own")  # "dropout": the MLP's MC-dropout passes
    if isinstance(final, FoldEnsemble):
        return "folds"
    return None


class SpreadModel:
    """Wraps a fitted model so that ``predict_proba(X)[:, 1]`` is the SD of its members at each row.

    Column 0 is the members' mean. ``classes_`` is ``["mean", "spread"]``: map it with
    ``predict_map(SpreadModel(model), features, positive_class="spread")``.
    """

    def __init__(self, model):
        self.model = model
        self.source = spread_source(model)
        if self.source is None:
            raise ValueError("the model has no members: wrap its CV fold models in a FoldEnsemble")
        self.classes_ = np.array(["mean", SPREAD])
        names = getattr(model, "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        self.n_features_in_ = model.n_features_in_

    def predict_proba(self, X) -> np.ndarray:
        if self.source == "folds":
            members = self.model.member_probabilities(X)
            return np.column_stack([members.mean(axis=0), members.std(axis=0)])
        steps = getattr(self.model, "steps", None)
        final = steps[-1][1] if steps else self.model
        transform = prediction_steps(self.model)  # resamplers (SMOTE) are skipped, as at prediction
        Xt = transform.transform(X) if transform is not None else X
        if self.source == "rounds":
            members = np.stack([estimator.predict_proba(Xt)[:, 1] for estimator in final.estimators_])
            return np.column_stack([members.mean(axis=0), members.std(axis=0)])
        return np.column_stack([final.predict_proba(Xt)[:, 1], final.predict_sd(Xt)])  # its own predict_sd


def rank_targets(probability: np.ndarray, spread: np.ndarray, x: np.ndarray, y: np.ndarray,
                 top_share: float = 0.02, max_rows: int = 200) -> pd.DataFrame:
    """Target cells ranked by score and spread: high probability with low spread first.

    The candidates are the cells in the top ``top_share`` of the map by probability. They are sorted by
    the lower bound ``probability - spread`` (a one-SD pessimistic score), so that of two equally high
    cells the one the members agree on comes first. ``agreement`` says whether a cell's spread is
    below the median spread of the candidates.

    Parameters
    ----------
    probability, spread : ndarray (y, x)
        The map and its spread (NaN = nodata).
    x, y : ndarray (x,), (y,)
        Cell-centre coordinates of the grid's columns and rows.

    Returns
    -------
    DataFrame
        ``rank``, ``x``, ``y``, ``row``, ``col``, ``probability``, ``spread``, ``lower_bound``,
        ``probability_percentile``, ``agreement``; at most ``max_rows`` rows.
    """
    valid = np.isfinite(probability) & np.isfinite(spread)
    values = probability[valid]
    if values.size == 0:
        return pd.DataFrame(columns=["rank", "x", "y", "row", "col", "probability", "spread", "lower_bound",
                                     "probability_percentile", "agreement"])
    cutoff = np.quantile(values, 1.0 - top_share)
    rows, cols = np.nonzero(valid & (probability >= cutoff))
    p, s = probability[rows, cols].astype(float), spread[rows, cols].astype(float)
    percentile = 100.0 * np.searchsorted(np.sort(values), p, side="right") / values.size
    table = pd.DataFrame({"x": x[cols], "y": y[rows], "row": rows, "col": cols, "probability": p, "spread": s,
                          "lower_bound": p - s, "probability_percentile": percentile,
                          "agreement": np.where(s <= np.median(s), "high score, low spread", "high score, high spread")})
    table = table.sort_values(["lower_bound", "probability"], ascending=False, kind="mergesort").head(max_rows)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)
