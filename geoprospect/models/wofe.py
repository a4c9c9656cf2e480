"""Weights of evidence (Bonham-Carter, Agterberg and Wright 1989; Bonham-Carter 1994, ch. 9).

Each evidence layer is cut into classes (a binary pattern, categories, or bins of a continuous layer).
Class ``B`` of a layer gets the weights

    W+ = ln[P(B|D) / P(B|~D)],   W- = ln[P(~B|D) / P(~B|~D)],
    s^2(W+) = 1/N(B&D) + 1/N(B&~D),   s^2(W-) = 1/N(~B&D) + 1/N(~B&~D),
    C = W+ - W-,   s(C) = sqrt(s^2(W+) + s^2(W-)),   studentised contrast C / s(C),

counted over the training cells (deposit cells ``D`` and background cells ``~D``). A binary pattern
adds W+ where present and W- where absent; a multiclass layer adds each class's W+ (against all other
classes). A cell with a missing value adds 0. The posterior log-odds are the prior log-odds plus the
sum, and the posterior's variance follows by the delta method from the variances of the prior and the
weights (Bonham-Carter 1994, eq. 9-24, for small P). Conditional independence is checked with the
omnibus ratio N(D) / sum(P) (Bonham-Carter 1994: below 0.85 suggests a problem), the Agterberg and
Cheng (2002) one-sided test of the same difference, and pairwise chi-square tests of the layers' classes
over the deposit cells.

The background is a sample, so the prior and posterior are relative to that sample: the map ranks
cells; it is not a calibrated probability of a deposit per cell.
"""

from __future__ import annotations

from itertools import combinations
from numbers import Real

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, norm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from geoprospect.errors import InputError

SOURCE = "prospectivity.models (wofe).params.evidence"
KINDS = ("binary", "categorical", "continuous")


def weights(n_bd: float, n_b_notd: float, n_d: float, n_notd: float) -> dict[str, float]:
    """Weights of one binary pattern from its counts.

    Parameters
    ----------
    n_bd, n_b_notd : float
        Cells of the pattern with a deposit, and without.
    n_d, n_notd : float
        All deposit cells, and all cells without a deposit.

    Returns
    -------
    dict
        ``w_plus``, ``s_w_plus``, ``w_minus``, ``s_w_minus``, ``contrast``, ``s_contrast``,
        ``studentized_contrast``. A zero count gives infinite weights: classes without deposits are
        given half a deposit by :meth:`WeightsOfEvidence.fit` (Haldane's correction) before this.
    """
    n_bd, n_b_notd, n_d, n_notd = (np.float64(v) for v in (n_bd, n_b_notd, n_d, n_notd))  # x/0 -> inf, not an error
    n_notb_d, n_notb_notd = n_d - n_bd, n_notd - n_b_notd
    with np.errstate(divide="ignore", invalid="ignore"):
        w_plus = np.log((n_bd / n_d) / (n_b_notd / n_notd))
        w_minus = np.log((n_notb_d / n_d) / (n_notb_notd / n_notd))
        var_plus = 1.0 / n_bd + 1.0 / n_b_notd
        var_minus = 1.0 / n_notb_d + 1.0 / n_notb_notd
        s_contrast = np.sqrt(var_plus + var_minus)
        contrast = w_plus - w_minus
        return {"w_plus": float(w_plus), "s_w_plus": float(np.sqrt(var_plus)), "w_minus": float(w_minus),
                "s_w_minus": float(np.sqrt(var_minus)), "contrast": float(contrast), "s_contrast": float(s_contrast),
                "studentized_contrast": float(contrast / s_contrast)}


class WeightsOfEvidence(ClassifierMixin, BaseEstimator):
    """Weights-of-evidence classifier on named evidence layers (the columns of a DataFrame).

    Parameters
    ----------
    evidence : dict or None
        Layer name -> how to cut it into classes:

        - ``{"kind": "binary"}``: present where the value is > 0.5;
        - ``{"kind": "categorical"}``: one class per distinct value (multiclass);
        - ``{"kind": "continuous", "thresholds": [t1, t2, ...]}``: classes between the thresholds (multiclass);
        - ``{"kind": "continuous", "thresholds": "contrast", "direction": "above" | "below" | "auto"}``: one
          binary pattern, ``value >= t`` (above) or ``value <= t`` (below), at the candidate threshold of
          maximum studentised contrast.

        ``None`` treats every column as continuous with ``thresholds: contrast``, and keeps only the layers
        whose best studentised contrast reaches ``min_studentized_contrast``.
    n_thresholds : int
        Candidate thresholds for ``contrast``: this many quantiles of the layer over the training cells.
    min_studentized_contrast : float
        Layers below it are dropped when ``evidence`` is ``None`` (1.96: significant at about 5 %).
    random_state : ignored
        Accepted for the registry's uniform construction; the method is deterministic.

    Attributes
    ----------
    weights_ : list of dict
        One record per layer class: ``layer``, ``class``, counts, the weights and contrasts
        (:meth:`report_tables` gives it as a table).
    contrast_curves_ : dict of list of dict
        Per ``contrast`` layer: the candidate thresholds and their weights.
    ci_test_ : dict
        Conditional-independence checks on the training cells: ``observed``, ``predicted``, ``ratio``,
        ``z``, ``p_value`` and ``pairwise`` (chi-square p-values of layer pairs over deposit cells).
    prior_, n_deposits_, layers_, classes_, feature_names_in_, n_features_in_
    """

    def __init__(self, evidence=None, n_thresholds=20, min_studentized_contrast=1.96, random_state=None):
        self.evidence = evidence
        self.n_thresholds = n_thresholds
        self.min_studentized_contrast = min_studentized_contrast
        self.random_state = random_state

    # -- fitting -------------------------------------------------------------------------------------
    def fit(self, X, y):
        """Fit on ``X`` (DataFrame of layers; NaN = missing) and ``y`` (1 = deposit cell, 0 = background)."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        names = [str(n) for n in getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])])]
        self.classes_ = np.unique(y)
        if list(self.classes_) != [0, 1]:
            raise InputError("prospectivity.labels", f"weights of evidence needs labels 0 and 1, got {self.classes_.tolist()}",
                             "give deposit cells (1) and background cells (0)")
        y = y.astype(int)
        spec = self._evidence_spec(names)
        n_d, n_notd = float(y.sum()), float((1 - y).sum())
        self.prior_, self.n_deposits_ = n_d / (n_d + n_notd), n_d
        self.layers_, rows, self.contrast_curves_ = {}, [], {}
        for name, layer in spec.items():
            values = X[:, names.index(name)]
            fitted = self._fit_layer(name, layer, values, y, n_d, n_notd)
            if fitted is None:
                continue
            self.layers_[name] = fitted
            rows += [{"layer": name, **row} for row in fitted["rows"]]
        if not self.layers_:
            raise InputError(SOURCE, "no evidence layer separates the deposits (no studentised contrast reaches "
                             f"{self.min_studentized_contrast})", "list the evidence layers and their thresholds in the catalog")
        self.weights_ = rows  # records, not a DataFrame: skops saves plain containers only
        self.ci_test_ = self._ci_test(X, y, names)
        return self

    def _evidence_spec(self, names: list[str]) -> dict[str, dict]:
        if self.evidence is None:
            return {name: {"kind": "continuous", "thresholds": "contrast", "direction": "auto", "auto": True} for name in names}
        if not isinstance(self.evidence, dict) or not self.evidence:
            raise InputError(SOURCE, f"must map evidence layers to their classes, got {self.evidence!r}",
                             "write e.g. 'evidence: {dist_faults_m: {kind: continuous, thresholds: contrast, direction: below}}'")
        spec = {}
        for name, layer in self.evidence.items():
            key = f"{SOURCE}.{name}"
            if name not in names:
                raise InputError(key, f"no evidence layer called {name!r}", f"use one of the feature layers: {', '.join(names)}")
            layer = dict(layer or {})
            kind = layer.get("kind")
            if kind not in KINDS:
                raise InputError(key, f"kind {kind!r} is not one of {KINDS}", "set kind: binary, categorical or continuous")
            if kind == "continuous":
                thresholds = layer.get("thresholds")
                if thresholds is None:
                    raise InputError(key, "a continuous layer needs thresholds",
                                     "give 'thresholds: [t1, t2, ...]' or 'thresholds: contrast' (maximum studentised contrast)")
                if thresholds != "contrast" and (not isinstance(thresholds, (list, tuple)) or not thresholds
                                                 or not all(isinstance(t, Real) for t in thresholds)):
                    raise InputError(key, f"thresholds {thresholds!r} are neither a list of numbers nor 'contrast'",
                                     "give 'thresholds: [t1, t2, ...]' or 'thresholds: contrast'")
                if layer.get("direction", "auto") not in ("above", "below", "auto"):
                    raise InputError(key, f"direction {layer['direction']!r} is not above, below or auto", "use one of them")
            spec[name] = layer
        return spec

    def _fit_layer(self, name, layer, values, y, n_d, n_notd):
        kind = layer["kind"]
        if kind == "binary":
            return self._binary(name, "present", _above(0.5), values, y, n_d, n_notd)
        if kind == "continuous" and layer["thresholds"] == "contrast":
            return self._best_threshold(name, layer, values, y, n_d, n_notd)
        known = np.isfinite(values)
        if kind == "categorical":
            codes = np.unique(values[known])
            labels = [f"{c:g}" for c in codes]
            classify = _categorical(codes)
        else:
            edges = np.sort(np.asarray(layer["thresholds"], float))
            labels = [f"< {edges[0]:g}"] + [f"[{a:g}, {b:g})" for a, b in zip(edges[:-1], edges[1:])] + [f">= {edges[-1]:g}"]
            classify = _bins(edges)
        cls = classify(values)
        rows, table = [], np.zeros(len(labels))
        for k, label in enumerate(labels):
            in_class = known & (cls == k)
            n_bd, n_b_notd = float(y[in_class].sum()), float((1 - y[in_class]).sum())
            # Haldane: a class without deposits (or background) gets half a cell, not an infinite weight
            row = weights(n_bd or 0.5, n_b_notd or 0.5, n_d, n_notd)
            table[k] = row["w_plus"]
            rows.append({"class": label, "n_deposits": int(n_bd), "n_cells": int(in_class.sum()), **row})
        return {"kind": "multiclass", "classify": classify, "w": table, "var": np.array([r["s_w_plus"] ** 2 for r in rows]),
                "rows": rows}

    def _binary(self, name, label, present, values, y, n_d, n_notd, extra=None):
        known = np.isfinite(values)
        inside = known & present(values)
        n_bd, n_b_notd = float(y[inside].sum()), float((1 - y[inside]).sum())
        # Haldane: an empty cell of the 2 x 2 table gets half a cell, not an infinite weight
        row = weights(np.clip(n_bd, 0.5, n_d - 0.5), np.clip(n_b_notd, 0.5, n_notd - 0.5), n_d, n_notd)
        return {"kind": "binary", "present": present, "w": (row["w_plus"], row["w_minus"]),
                "var": (row["s_w_plus"] ** 2, row["s_w_minus"] ** 2),
                "rows": [{"class": label, "n_deposits": int(n_bd), "n_cells": int(inside.sum()), **row, **(extra or {})}]}

    def _best_threshold(self, name, layer, values, y, n_d, n_notd):
        known = np.isfinite(values)
        candidates = np.unique(np.quantile(values[known], np.linspace(0.05, 0.95, self.n_thresholds)))
        directions = ("above", "below") if layer.get("direction", "auto") == "auto" else (layer["direction"],)
        curve = []
        for direction in directions:
            for t in candidates:
                inside = known & ((values >= t) if direction == "above" else (values <= t))
                n_bd, n_b_notd = float(y[inside].sum()), float((1 - y[inside]).sum())
                if min(n_bd, n_b_notd, n_d - n_bd, n_notd - n_b_notd) <= 0:
                    continue
                curve.append({"direction": direction, "threshold": float(t), **weights(n_bd, n_b_notd, n_d, n_notd)})
        if not curve:
            return None
        self.contrast_curves_[name] = curve
        best = max(curve, key=lambda row: row["studentized_contrast"])
        if layer.get("auto") and best["studentized_contrast"] < self.min_studentized_contrast:
            return None
        t, direction = float(best["threshold"]), best["direction"]
        present = _above(t) if direction == "above" else _below(t)
        return self._binary(name, f"{'>=' if direction == 'above' else '<='} {t:g}", present, values, y, n_d, n_notd,
                            {"threshold": t, "direction": direction})

    # -- prediction ----------------------------------------------------------------------------------
    def _sum_weights(self, X, names):
        """Posterior log-odds and their variance (prior: 1/N(D); each weight's variance) per row."""
        logit = np.full(len(X), np.log(self.prior_ / (1.0 - self.prior_)))
        variance = np.full(len(X), 1.0 / self.n_deposits_)
        for name, layer in self.layers_.items():
            values = X[:, names.index(name)]
            if layer["kind"] == "binary":
                inside = layer["present"](values)
                w = np.where(inside, layer["w"][0], layer["w"][1])
                var = np.where(inside, layer["var"][0], layer["var"][1])
            else:
                cls = layer["classify"](values)
                w, var = layer["w"][np.maximum(cls, 0)], layer["var"][np.maximum(cls, 0)]
            known = np.isfinite(values) & (self._classes_of(name, values) >= 0)
            logit += np.where(known, w, 0.0)
            variance += np.where(known, var, 0.0)
        return logit, variance

    def _posterior(self, X, names):
        """Posterior probability and its SD (delta method on the log-odds) per row."""
        logit, variance = self._sum_weights(X, names)
        p = 1.0 / (1.0 + np.exp(-logit))
        return p, p * (1.0 - p) * np.sqrt(variance)

    def _validated(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return X, [str(n) for n in getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])])]

    def predict_proba(self, X):
        """Posterior probability, shape (n_samples, 2) (columns ``classes_`` = [0, 1])."""
        p, _ = self._posterior(*self._validated(X))
        return np.column_stack([1.0 - p, p])

    def predict_sd(self, X):
        """SD of the posterior probability (delta method on the log-odds), shape (n_samples,)."""
        return self._posterior(*self._validated(X))[1]

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]

    def _ci_test(self, X, y, names) -> dict:
        p, sd = self._posterior(X, names)
        observed, predicted = float(y.sum()), float(p.sum())
        z = (predicted - observed) / float(np.sqrt((sd ** 2).sum()))
        pairwise = {}
        deposits = y == 1
        for a, b in combinations(self.layers_, 2):
            ca, cb = self._classes_of(a, X[deposits, names.index(a)]), self._classes_of(b, X[deposits, names.index(b)])
            table = pd.crosstab(ca, cb).to_numpy()
            if table.shape[0] > 1 and table.shape[1] > 1:
                pairwise[f"{a} x {b}"] = float(chi2_contingency(table)[1])
        return {"observed": observed, "predicted": predicted, "ratio": observed / predicted, "z": z,
                "p_value": float(norm.sf(z)), "pairwise": pairwise}

    def _classes_of(self, name, values):
        layer = self.layers_[name]
        cls = layer["present"](values).astype(int) if layer["kind"] == "binary" else layer["classify"](values)
        return np.where(np.isfinite(values), cls, -1)  # -1: missing (or an unseen category): adds no weight

    def report_tables(self) -> dict[str, pd.DataFrame]:
        """Tables to publish beside the model: the weights and the conditional-independence checks."""
        check_is_fitted(self)
        ci = {k: v for k, v in self.ci_test_.items() if k != "pairwise"}
        pairs = [{"test": f"chi-square {pair}", "value": p} for pair, p in self.ci_test_["pairwise"].items()]
        return {"wofe_weights": pd.DataFrame(self.weights_),
                "wofe_conditional_independence": pd.DataFrame([{"test": k, "value": v} for k, v in ci.items()] + pairs)}


class _above:
    """Picklable pattern test ``value >= threshold`` (NaN is never inside)."""

    def __init__(self, threshold: float):
        self.threshold = threshold

    def __call__(self, values):
        with np.errstate(invalid="ignore"):
            return values >= self.threshold


class _below(_above):
    def __call__(self, values):
        with np.errstate(invalid="ignore"):
            return values <= self.threshold


class _bins:
    """Class index of each value between sorted ``edges`` (0 below the first; NaN -> 0, masked by the caller)."""

    def __init__(self, edges):
        self.edges = np.asarray(edges, float)

    def __call__(self, values):
        return np.searchsorted(self.edges, np.nan_to_num(values, nan=-np.inf), side="right")


class _categorical:
    """Class index of each value among the fitted ``codes``; unseen values and NaN -> -1."""

    def __init__(self, codes):
        self.codes = np.asarray(codes, float)

    def __call__(self, values):
        index = np.searchsorted(self.codes, np.nan_to_num(values, nan=self.codes[0]))
        index = np.clip(index, 0, len(self.codes) - 1)
        return np.where(self.codes[index] == values, index, -1)
