"""Rank-averaging ensemble of prospectivity models.

Models output scores on different scales (a PU bagging mean, a calibrated SVM, a WofE posterior), so
they are averaged as ranks: each member's score becomes its percentile among the training background
cells (a uniform sample of the area, so the percentile approximates the share of the map the cell
outranks), and the ensemble's score is the members' mean percentile. The spread is the SD of the members'
percentiles: where the models disagree.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from geoprospect.errors import InputError

SOURCE = "prospectivity.ensemble"


class RankEnsemble(ClassifierMixin, BaseEstimator):
    """Mean percentile rank of several model pipelines.

    Parameters
    ----------
    members : list of dict
        Each ``{"model": name, "params": {...}, "imbalance": "none"}``, built with
        :func:`geoprospect.models.pipeline.build_pipeline` and the preprocessing below.
    spearman_threshold, pca_components :
        Preprocessing of every member (as in the catalog's prospectivity section).
    random_state : int or None
        Seed of every member.

    Attributes
    ----------
    estimators_ : list of fitted pipelines
    references_ : list of ndarray
        Each member's sorted scores on the training background cells (its percentile scale).
    classes_, feature_names_in_, n_features_in_
    """

    def __init__(self, members=None, spearman_threshold=0.95, pca_components=None, random_state=None):
        self.members = members
        self.spearman_threshold = spearman_threshold
        self.pca_components = pca_components
        self.random_state = random_state

    def fit(self, X, y):
        """Fit every member on ``X`` (DataFrame of features) and ``y``; record its background scores."""
        from geoprospect.models.pipeline import build_pipeline  # the pipeline module imports the registry

        if not self.members or len(self.members) < 2:
            raise InputError(SOURCE, f"an ensemble needs at least two members, got {self.members!r}",
                             "keep at least two models in the comparison, or set ensemble_top: 0")
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        self.estimators_, self.references_ = [], []
        for member in self.members:
            pipeline = build_pipeline(member["model"], member.get("params") or {}, member.get("imbalance", "none"),
                                      self.spearman_threshold, self.pca_components, None, None, self.random_state)
            pipeline.fit(X, y)
            self.estimators_.append(pipeline)
            self.references_.append(np.sort(pipeline.predict_proba(X[y == 0])[:, 1]))
        first = self.estimators_[0]
        if hasattr(first, "feature_names_in_"):
            self.feature_names_in_ = first.feature_names_in_
        self.n_features_in_ = first.n_features_in_
        return self

    def member_ranks(self, X) -> np.ndarray:
        """Each member's percentile (0-1) of every row, shape (n_members, n_samples)."""
        check_is_fitted(self)
        return np.stack([np.searchsorted(ref, est.predict_proba(X)[:, 1], side="right") / ref.size
                         for est, ref in zip(self.estimators_, self.references_)])

    def predict_proba(self, X):
        """Mean member percentile as the positive score, shape (n_samples, 2)."""
        score = self.member_ranks(X).mean(axis=0)
        return np.column_stack([1.0 - score, score])

    spread_name = "members"  # how geoprospect.uncertainty labels predict_sd

    def predict_sd(self, X):
        """SD of the members' percentiles, shape (n_samples,)."""
        return self.member_ranks(X).std(axis=0)

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
