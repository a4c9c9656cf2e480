"""Fuzzy overlay (Bonham-Carter 1994, ch. 9; An, Moon and Rencz 1991; the operators of ArcGIS and EIS Toolkit).

Each evidence layer becomes a membership in [0, 1] through a function set in the catalog; the memberships
are combined cell by cell with fuzzy AND (minimum), OR (maximum), algebraic product, algebraic sum or the
gamma operator ``sum**gamma * product**(1 - gamma)``. A knowledge-driven model: nothing is learnt from the
deposits unless a layer asks for ``function: auto``.

Membership functions (``x`` the layer's value):

- ``large``: ``1 / (1 + (x / midpoint) ** -spread)`` (ArcGIS Fuzzy Large; x > 0);
- ``small``: ``1 / (1 + (x / midpoint) ** spread)`` (Fuzzy Small);
- ``linear``: 0 at ``low``, 1 at ``high``, linear between, clipped (``low > high`` decreases);
- ``gaussian``: ``exp(-spread * (x - midpoint) ** 2)``;
- ``categorical``: ``values: {class: membership}`` (other classes 0);
- ``auto``: ``linear`` between the 5th and 95th percentiles of the training cells, rising towards the side
  where the deposits lie (a data-assisted default for layers the expert has not described).
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted, validate_data

from geoprospect.errors import InputError

SOURCE = "prospectivity.models (fuzzy).params"
NEEDS = {"large": ("midpoint",), "small": ("midpoint",), "linear": ("low", "high"), "gaussian": ("midpoint", "spread"),
         "categorical": ("values",), "auto": ()}
OPERATORS = ("and", "or", "product", "sum", "gamma")


def membership(values: np.ndarray, function: str, **params) -> np.ndarray:
    """Membership in [0, 1] of ``values`` under one of the functions above; NaN stays NaN."""
    x = np.asarray(values, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if function == "large":
            m = 1.0 / (1.0 + (np.maximum(x, 0.0) / params["midpoint"]) ** -params.get("spread", 5.0))
        elif function == "small":
            m = 1.0 / (1.0 + (np.maximum(x, 0.0) / params["midpoint"]) ** params.get("spread", 5.0))
        elif function == "linear":
            low, high = float(params["low"]), float(params["high"])
            m = np.clip((x - low) / (high - low), 0.0, 1.0)
        elif function == "gaussian":
            m = np.exp(-params["spread"] * (x - params["midpoint"]) ** 2)
        elif function == "categorical":
            m = np.zeros_like(x)
            for code, value in params["values"].items():
                m[x == float(code)] = value
        else:
            raise ValueError(f"unknown membership function {function!r}")
    return np.where(np.isfinite(x), np.clip(m, 0.0, 1.0), np.nan)


def combine(memberships: np.ndarray, operator: str, gamma: float = 0.9) -> np.ndarray:
    """Fuzzy overlay of (n_layers, n_cells) memberships; layers missing (NaN) at a cell are left out there."""
    m = np.asarray(memberships, float)
    missing = ~np.isfinite(m)
    with np.errstate(invalid="ignore", all="ignore"):
        if operator == "and":
            out = np.nanmin(np.where(missing, np.inf, m), axis=0)
        elif operator == "or":
            out = np.nanmax(np.where(missing, -np.inf, m), axis=0)
        else:
            product = np.prod(np.where(missing, 1.0, m), axis=0)
            algebraic_sum = 1.0 - np.prod(np.where(missing, 1.0, 1.0 - m), axis=0)
            out = {"product": product, "sum": algebraic_sum,
                   "gamma": algebraic_sum ** gamma * product ** (1.0 - gamma)}[operator]
    return np.where(missing.all(axis=0), np.nan, out)


class FuzzyOverlay(ClassifierMixin, BaseEstimator):
    """Fuzzy-overlay classifier on named evidence layers (the columns of a DataFrame).

    Parameters
    ----------
    memberships : dict or None
        Layer name -> ``{"function": ..., <its parameters>}`` (see the module). ``None`` gives every layer
        ``function: auto`` and keeps the ``max_auto_layers`` whose deposits stand out most (ROC-AUC
        furthest from 0.5 on the training cells).
    operator : {"and", "or", "product", "sum", "gamma"}
    gamma : float in [0, 1]
        Of the gamma operator.
    max_auto_layers : int
    random_state : ignored (deterministic; accepted for the registry)

    Attributes
    ----------
    memberships_ : dict
        Layer -> resolved function and parameters (``auto`` resolved to ``linear``).
    classes_, feature_names_in_, n_features_in_
    """

    def __init__(self, memberships=None, operator="gamma", gamma=0.9, max_auto_layers=6, random_state=None):
        self.memberships = memberships
        self.operator = operator
        self.gamma = gamma
        self.max_auto_layers = max_auto_layers
        self.random_state = random_state

    def fit(self, X, y):
        """Resolve the memberships on ``X`` (DataFrame of layers) and ``y`` (1 = deposit, 0 = background)."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        names = self._names(X)
        self.classes_ = np.unique(y)
        if self.operator not in OPERATORS:
            raise InputError(f"{SOURCE}.operator", f"{self.operator!r} is not a fuzzy operator", f"use one of {OPERATORS}")
        if not isinstance(self.gamma, Real) or not 0.0 <= self.gamma <= 1.0:
            raise InputError(f"{SOURCE}.gamma", f"gamma must be in [0, 1], got {self.gamma!r}", "set a value between 0 and 1")
        requested = self.memberships if self.memberships is not None else {name: {"function": "auto"} for name in names}
        if not isinstance(requested, dict) or not requested:
            raise InputError(f"{SOURCE}.memberships", f"must map evidence layers to membership functions, got {requested!r}",
                             "write e.g. 'memberships: {dist_faults_m: {function: small, midpoint: 1000, spread: 3}}'")
        resolved, strength = {}, {}
        for name, spec in requested.items():
            key = f"{SOURCE}.memberships.{name}"
            if name not in names:
                raise InputError(key, f"no evidence layer called {name!r}", f"use one of the feature layers: {', '.join(names)}")
            spec = dict(spec or {})
            function = spec.pop("function", None)
            if function not in NEEDS:
                raise InputError(key, f"membership function {function!r} is unknown", f"use one of {sorted(NEEDS)}")
            missing = [p for p in NEEDS[function] if p not in spec]
            if missing:
                raise InputError(key, f"the {function} membership needs {missing}", f"add {', '.join(missing)} to the layer")
            if function == "auto":
                values = X[:, names.index(name)]
                known = np.isfinite(values)
                auc = roc_auc_score(y[known], values[known]) if len(np.unique(y[known])) == 2 else 0.5
                low, high = np.quantile(values[known], [0.05, 0.95])
                function, spec = "linear", ({"low": low, "high": high} if auc >= 0.5 else {"low": high, "high": low})
                strength[name] = abs(auc - 0.5)
            resolved[name] = {"function": function, **spec}
        if self.memberships is None:
            keep = sorted(strength, key=strength.get, reverse=True)[:self.max_auto_layers]
            resolved = {name: resolved[name] for name in keep}
        self.memberships_ = resolved
        return self

    def _names(self, X):
        return [str(n) for n in getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])])]

    def predict_proba(self, X):
        """Combined membership as the positive score, shape (n_samples, 2); 0 where every layer is missing."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        names = self._names(X)
        m = np.stack([membership(X[:, names.index(name)], **spec) for name, spec in self.memberships_.items()])
        score = np.nan_to_num(combine(m, self.operator, self.gamma), nan=0.0)
        return np.column_stack([1.0 - score, score])

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
