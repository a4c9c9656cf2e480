"""Positive-unlabelled bagging (Mordelet and Vert 2014).

Known deposits are positives; every other cell is unlabelled, not negative: some of it hides
undiscovered deposits. Mordelet and Vert (2014), "A bagging SVM to learn from positive and unlabeled
examples" (Pattern Recognition Letters 37, 201-209), train many classifiers, each on all positives
against a small bootstrap of the unlabelled taken as negatives, and average them. Each unlabelled
sample is also scored by the rounds that did not draw it (out of bag), which ranks the unlabelled
training cells without their own label leaking in.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from geoprospect.errors import InputError


class PUBaggingClassifier(ClassifierMixin, BaseEstimator):
    """Bagging positive-unlabelled classifier (Mordelet and Vert 2014).

    Round ``t`` fits a clone of ``base_estimator`` on all positives (label 1) and a bootstrap of
    ``max_samples`` unlabelled samples (label 0); :meth:`predict_proba` averages the rounds' positive
    probabilities. The output is a relative prospectivity score: under the PU setting it is not a
    calibrated probability of a deposit.

    Parameters
    ----------
    base_estimator : classifier with ``predict_proba``, default=None
        The learner of each round; ``None`` means a :class:`~sklearn.tree.DecisionTreeClassifier`.
    n_estimators : int, default=50
        Number of rounds.
    max_samples : int or None, default=None
        Unlabelled samples drawn (with replacement) per round; ``None`` draws as many as there are
        positives, so each round is balanced.
    random_state : int, RandomState or None
        Seeds the bootstraps and each round's estimator.

    Attributes
    ----------
    estimators_ : list of fitted estimators
    classes_ : ndarray of shape (2,)
        ``classes_[1]`` is the positive class (the larger label, e.g. 1 or True).
    oob_decision_ : ndarray of shape (n_samples,)
        Out-of-bag mean positive probability of each training sample; NaN for the positives (always
        in the bag) and for unlabelled samples drawn in every round.
    n_features_in_ : int
    """

    def __init__(self, base_estimator=None, n_estimators=50, max_samples=None, random_state=None):
        self.base_estimator = base_estimator
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,): positives and unlabelled."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        fix = "give labels with both deposits (positives) and background (unlabelled) cells"
        if len(self.classes_) == 1:
            raise InputError("prospectivity.labels", "PU bagging needs positive and unlabelled samples, got one class "
                             f"({self.classes_[0]!r})", fix)
        if len(self.classes_) > 2:
            raise InputError("prospectivity.labels", "Only binary classification is supported (positive and unlabelled "
                             f"samples), got the classes {self.classes_.tolist()}", fix)
        for name in ("n_estimators",) + (("max_samples",) if self.max_samples is not None else ()):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        positives = np.flatnonzero(y == self.classes_[1])
        unlabelled = np.flatnonzero(y == self.classes_[0])
        n_draw = len(positives) if self.max_samples is None else self.max_samples
        base = DecisionTreeClassifier() if self.base_estimator is None else self.base_estimator
        rng = check_random_state(self.random_state)
        target = np.r_[np.ones(len(positives), dtype=int), np.zeros(n_draw, dtype=int)]

        oob_sum = np.zeros(len(y))
        oob_count = np.zeros(len(y))
        self.estimators_ = []
        for _ in range(self.n_estimators):
            bag = rng.choice(unlabelled, size=n_draw, replace=True)
            estimator = clone(base)
            _seed_all(estimator, rng)
            estimator.fit(X[np.r_[positives, bag]], target)
            out = np.setdiff1d(unlabelled, bag, assume_unique=False)
            if len(out):
                oob_sum[out] += estimator.predict_proba(X[out])[:, 1]
                oob_count[out] += 1
            self.estimators_.append(estimator)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.oob_decision_ = np.where(oob_count > 0, oob_sum / oob_count, np.nan)
        return self

    def predict_proba(self, X):
        """Mean positive score of the rounds: array of shape (n_samples, 2), columns ordered as ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        positive = np.zeros(len(X))
        for estimator in self.estimators_:  # a running sum: memory stays one column whatever n_estimators
            positive += estimator.predict_proba(X)[:, 1]
        positive /= len(self.estimators_)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X):
        """The positive class where the mean score is at least 0.5 (each round was balanced by default)."""
        positive = self.predict_proba(X)[:, 1]
        return self.classes_[(positive >= 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # positives against unlabelled only
        return tags


def _seed_all(estimator, rng: np.random.RandomState) -> None:
    """Give every ``random_state`` parameter of ``estimator`` (nested ones too) a fresh seed from ``rng``."""
    keys = [key for key in estimator.get_params(deep=True) if key == "random_state" or key.endswith("__random_state")]
    if keys:
        estimator.set_params(**{key: int(rng.randint(np.iinfo(np.int32).max)) for key in keys})
