"""Additive logistic model on spline transforms of each feature (a penalised GAM).

Presence-background prospectivity with tens of deposits suits an additive model on flexible per-feature
transforms: the logit is a sum of one smooth curve per evidence layer (Hastie and Tibshirani 1990), the
model class of MaxEnt's hinge features and of GAMs in species-distribution work (Elith et al. 2006). It
bends where logistic regression on raw features is straight (a proximity that matters only within a few
hundred metres of a fault), yet cannot build the interactions that trees overfit on a dozen positives.

Each feature is mapped to its empirical quantile among the training rows (so the knots sit at quantiles
of the area, not evenly over a skewed range such as a distance), then to a B-spline basis on evenly spaced
knots in [0, 1] (scipy's ``BSpline.design_matrix``, as scikit-learn's ``SplineTransformer`` builds it), and
an L2-penalised logistic regression is fitted on the bases. Beyond the training range the quantile is 0 or
1 (MaxEnt's clamping), so the map never extrapolates a curve. The fitted state is the quantile transform,
the knots and the regression, all plain arrays and scikit-learn estimators (skops-safe); prediction adds
the curves one feature at a time, so a map block never holds every feature's basis at once.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import BSpline
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


class SplineGAMClassifier(ClassifierMixin, BaseEstimator):
    """Logistic GAM: quantile transform -> B-splines per feature -> L2 logistic regression.

    Parameters
    ----------
    n_knots : int, default=5
        Knots per feature (scikit-learn's ``SplineTransformer`` default): ``n_knots + degree - 1`` basis
        functions each.
    degree : int, default=3
        Degree of the splines (cubic).
    C : float, default=0.01
        Inverse L2 penalty on the spline coefficients, as logistic regression's in the registry.
    class_weight : dict, "balanced" or None, default="balanced"
    max_iter : int, default=2000
    random_state : int or None
        Subsampling of the quantile transform (used only above 10,000 rows).

    Attributes
    ----------
    quantiles_ : QuantileTransformer
    knots_ : ndarray (n_knots + 2 * degree,)
        The B-spline knot vector on [0, 1], extended by ``degree`` knots each side.
    logistic_ : LogisticRegression
        Fitted on the bases, feature by feature (``n_knots + degree - 1`` columns each).
    classes_, n_features_in_
    """

    def __init__(self, n_knots=5, degree=3, C=0.01, class_weight="balanced", max_iter=2000, random_state=None):
        self.n_knots = n_knots
        self.degree = degree
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,)."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if int(self.n_knots) < 2 or int(self.degree) < 1:
            raise ValueError(f"n_knots must be >= 2 and degree >= 1, got {self.n_knots!r} and {self.degree!r}")
        self.quantiles_ = QuantileTransformer(n_quantiles=min(1000, X.shape[0]), random_state=self.random_state).fit(X)
        step = 1.0 / (self.n_knots - 1)
        self.knots_ = np.linspace(-self.degree * step, 1 + self.degree * step, self.n_knots + 2 * self.degree)
        basis = np.hstack(list(self._bases(X)))
        self.logistic_ = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter).fit(basis, y)
        self.classes_ = self.logistic_.classes_
        return self

    def _bases(self, X):
        """Each feature's B-spline basis, shape (n_samples, n_knots + degree - 1), one feature at a time."""
        q = np.clip(self.quantiles_.transform(X), 0.0, 1.0)
        for j in range(q.shape[1]):
            yield BSpline.design_matrix(q[:, j], self.knots_, self.degree).toarray()

    def decision_function(self, X):
        """The logit (binary) or class scores: intercept plus each feature's curve."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        coef, width = self.logistic_.coef_, self.n_knots + self.degree - 1
        score = np.tile(self.logistic_.intercept_, (X.shape[0], 1))
        for j, basis in enumerate(self._bases(X)):
            score += basis @ coef[:, j * width:(j + 1) * width].T
        return score[:, 0] if score.shape[1] == 1 else score

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        score = self.decision_function(X)
        if score.ndim == 1:
            positive = expit(score)
            return np.column_stack([1.0 - positive, positive])
        return softmax(score, axis=1)

    def predict(self, X):
        """Most probable class of each row."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
