"""Support vector machine (RBF kernel) with Platt-scaled probabilities.

The SVM's decision values are mapped to probabilities by a sigmoid (Platt 1999) fitted on
cross-validated decision values, then the SVM is refitted on all rows: what ``SVC(probability=True)``
did inside libsvm, which scikit-learn 1.9 deprecates in favour of ``CalibratedClassifierCV``.
"""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from geoprospect.errors import InputError


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    """:class:`~sklearn.svm.SVC` with sigmoid-calibrated ``predict_proba``.

    Parameters
    ----------
    C : float, default=1.0
        Soft-margin penalty.
    kernel : str, default="rbf"
    gamma : {"scale", "auto"} or float, default="scale"
        RBF width, in inverse squared feature units.
    class_weight : dict, "balanced" or None
    cv : int, default=5
        Folds for the calibration, capped by the smallest class count.
    random_state : int, RandomState or None
        Shuffles the calibration folds.

    Attributes
    ----------
    calibrated_ : CalibratedClassifierCV
    classes_, n_features_in_
    """

    BATCH = 4096  # rows per kernel matrix when predicting (4096 x support vectors, float64)

    def __init__(self, C=1.0, kernel="rbf", gamma="scale", class_weight=None, cv=5, random_state=None):
        self.C = C
        self.kernel = kernel
        self.gamma = gamma
        self.class_weight = class_weight
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y):
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,)."""
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        if not isinstance(self.cv, Integral) or self.cv < 2:
            raise ValueError(f"cv must be an integer >= 2, got {self.cv!r}")
        smallest = np.unique(y, return_counts=True)[1].min()
        if smallest < 2:
            # any pipeline's training set (prospectivity, tectonics, lithology): no catalog key to name
            raise InputError("SVM training set", f"a class has {smallest} sample(s); calibrating the SVM needs 2",
                             "add samples of that class (deposits), widen the time range, or use fewer cross-validation folds")
        folds = StratifiedKFold(min(self.cv, smallest), shuffle=True, random_state=self.random_state)
        svc = SVC(C=self.C, kernel=self.kernel, gamma=self.gamma, class_weight=self.class_weight)
        self.calibrated_ = CalibratedClassifierCV(svc, method="sigmoid", cv=folds, ensemble=False).fit(X, y)
        self.classes_ = self.calibrated_.classes_
        self._keep_ranking(X, y)
        return self

    def _keep_ranking(self, X, y) -> None:
        """A sigmoid fitted on held-out decision values that falls as the decision value rises (a rare class,
        a couple of samples per calibration fold) would map the SVM's ranking backwards (the Lapland deposits
        all in the lowest class): refit that sigmoid on the training rows' decision values, which keeps the
        SVM's ranking, and say so (those probabilities are overconfident)."""
        (calibrated,) = self.calibrated_.calibrated_classifiers_
        decision = calibrated.estimator.decision_function(X)
        decision = decision[:, None] if decision.ndim == 1 else decision
        positives = self.classes_[1:] if len(self.classes_) == 2 else self.classes_
        refitted = []
        for k, (sigmoid, cls) in enumerate(zip(calibrated.calibrators, positives)):
            if sigmoid.a_ >= 0:  # P = expit(-(a f + b)) must rise with the decision value f
                sigmoid.fit(decision[:, k], y == cls)
                refitted.append(str(cls))
        if refitted:
            warnings.warn(f"SVM: the probability calibration of class(es) {', '.join(refitted)} on held-out decision values "
                          "fell as the decision value rose (too few samples of the class per calibration fold); it was refitted "
                          "on the training rows, which keeps the SVM's ranking but makes its probabilities overconfident",
                          stacklevel=1)

    def predict_proba(self, X):
        """Calibrated class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        (calibrated,) = self.calibrated_.calibrated_classifiers_  # ensemble=False: one SVC, one sigmoid
        svc = calibrated.estimator
        if svc.kernel != "rbf" or len(self.classes_) != 2 or not hasattr(svc, "_gamma"):
            return self.calibrated_.predict_proba(X)
        # scikit-learn's sigmoid of the decision values, computed here from the kernel matrix with BLAS:
        # libsvm evaluates it one pair at a time (202 CPU s for a 10^6-cell map of the 30 km demo, issue 22)
        decision = np.empty(len(X))
        for i in range(0, len(X), self.BATCH):
            kernel = rbf_kernel(X[i:i + self.BATCH], svc.support_vectors_, gamma=svc._gamma)
            decision[i:i + self.BATCH] = kernel @ svc.dual_coef_[0] + svc.intercept_[0]
        positive = calibrated.calibrators[0].predict(decision)
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X):
        """Most probable class of each row (by the calibrated probabilities)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
