"""In-fold feature selection: drop one of each pair of highly rank-correlated features.

Evidence layers often duplicate each other (a focal mean and the raw grid, two clay ratios of
different sensors). Dropping features whose Spearman rank correlation with an earlier kept feature
exceeds a threshold shortens training and stabilises importances without changing what the model
can learn (EIS Toolkit's correlation check; Farahbakhsh et al. 2023 drop features with
|rho| > 0.9-0.95). The correlation is data-driven, so it is fitted inside each cross-validation
fold, as a step of the model pipeline; PCA is scikit-learn's own ``PCA``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from geoprospect.errors import InputError


def spearman_matrix(X: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between the columns of ``X`` (n_samples, n_features), NaN-safe.

    Without NaN: Pearson correlation of the column ranks (ties take their average rank). With NaN:
    each pair over the rows where both are finite (pandas' pairwise-complete Spearman). A pair
    with a constant column, or fewer than 3 common rows, has NaN correlation.
    """
    X = np.asarray(X, dtype=float)
    if np.isnan(X).any():
        return pd.DataFrame(X).corr(method="spearman", min_periods=3).to_numpy()
    ranks = rankdata(X, axis=0)
    ranks -= ranks.mean(axis=0)
    norms = np.sqrt((ranks * ranks).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ranks.T @ ranks) / np.outer(norms, norms)


class SpearmanDrop(SelectorMixin, BaseEstimator):
    """Drop every feature whose |Spearman rho| with an earlier kept feature reaches ``threshold``.

    Features are visited in column order; the first of a correlated pair is kept. NaN in ``X`` is
    allowed (correlations use pairwise-complete rows) and passes through ``transform``.

    Parameters
    ----------
    threshold : float, default 0.95
        Absolute rank correlation, in (0, 1], at or above which the later feature is dropped.

    Attributes
    ----------
    correlation_ : ndarray of shape (n_features_in_, n_features_in_)
        Spearman rank correlations of the training features (NaN for a constant feature).
    keep_ : ndarray of int
        Indices of the features kept, ascending.
    dropped_ : ndarray of int
        Indices of the features dropped, ascending.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.c_[np.arange(10.0), np.arange(10.0) ** 3, np.cos(np.arange(10.0))]
    >>> SpearmanDrop(threshold=0.95).fit(X).keep_
    array([0, 2])
    """

    def __init__(self, threshold: float = 0.95):
        self.threshold = threshold

    def fit(self, X, y=None):
        """Compute the rank correlations of ``X`` (n_samples, n_features) and choose the features."""
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float, np.floating)) or not 0 < self.threshold <= 1:
            raise InputError("SpearmanDrop.threshold", f"{self.threshold!r} is not in (0, 1]", "use e.g. 0.95")
        X = validate_data(self, X, ensure_all_finite="allow-nan", ensure_min_samples=2, dtype="numeric")
        self.correlation_ = spearman_matrix(X)
        strong = np.abs(np.nan_to_num(self.correlation_, nan=0.0)) >= self.threshold
        kept: list[int] = []
        for j in range(X.shape[1]):
            if not any(strong[j, k] for k in kept):
                kept.append(j)
        self.keep_ = np.asarray(kept, dtype=int)
        self.dropped_ = np.setdiff1d(np.arange(X.shape[1]), self.keep_)
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "keep_")
        mask = np.zeros(self.n_features_in_, dtype=bool)
        mask[self.keep_] = True
        return mask

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags
