"""Gaussian process classifier with a bounded training size.

Gaussian process classification (Rasmussen and Williams 2006, ch. 3; Laplace approximation, as in
scikit-learn) costs O(n^3) time and O(n^2) memory in the training size n. Above ``max_samples`` rows
a stratified random subsample is used, so a large background sample cannot stall a run.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.gaussian_process import GaussianProcessClassifier
from sklearn.utils import check_random_state, resample
from sklearn.utils.validation import check_is_fitted, validate_data


class SubsampledGaussianProcessClassifier(ClassifierMixin, BaseEstimator):
    """:class:`~sklearn.gaussian_process.GaussianProcessClassifier` fitted on at most ``max_samples`` rows.

    Parameters
    ----------
    kernel : sklearn kernel or None, default=None
        ``None`` means ``1.0 * RBF(1.0)``; hyperparameters are fitted by maximising the marginal likelihood.
    max_samples : int, default=1500
        Largest training size; larger inputs are subsampled, stratified by class.
    n_restarts_optimizer : int, default=0
    max_iter_predict : int, default=100
    random_state : int, RandomState or None
        Seeds the subsample and the optimiser restarts.

    Attributes
    ----------
    estimator_ : GaussianProcessClassifier
    n_train_ : int
        Rows actually used for fitting.
    classes_, n_features_in_
    """

    def __init__(self, kernel=None, max_samples=1500, n_restarts_optimizer=0, max_iter_predict=100,
                 random_state=None):
        self.kernel = kernel
        self.max_samples = max_samples
        self.n_restarts_optimizer = n_restarts_optimizer
        self.max_iter_predict = max_iter_predict
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features), ``y`` (n_samples,), subsampled above ``max_samples``."""
        X, y = validate_data(self, X, y)
        if not isinstance(self.max_samples, Integral) or self.max_samples < 2:
            raise ValueError(f"max_samples must be an integer >= 2, got {self.max_samples!r}")
        rng = check_random_state(self.random_state)
        if len(y) > self.max_samples:
            X, y = resample(X, y, replace=False, n_samples=self.max_samples, stratify=y, random_state=rng)
        self.estimator_ = GaussianProcessClassifier(
            kernel=self.kernel, n_restarts_optimizer=self.n_restarts_optimizer,
            max_iter_predict=self.max_iter_predict, random_state=int(rng.randint(np.iinfo(np.int32).max)),
        ).fit(X, y)
        self.classes_ = self.estimator_.classes_
        self.n_train_ = len(y)
        return self

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        check_is_fitted(self)
        return self.estimator_.predict_proba(validate_data(self, X, reset=False))

    def predict(self, X):
        """Most probable class of each row."""
        check_is_fitted(self)
        return self.estimator_.predict(validate_data(self, X, reset=False))
