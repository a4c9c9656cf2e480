"""The model and oversampler registries.

``MODELS`` maps a model name (as written in a catalog) to a factory ``factory(random_state=..., **params)``
returning an unfitted scikit-learn classifier. Every base model ``NAME`` also has ``pu_NAME``: the same
model inside positive-unlabelled bagging, whose ``params`` are the bagging's own (``n_estimators``,
``max_samples``) plus ``base``, a dict of the wrapped model's parameters. ``SAMPLERS`` does the same for
the imbalance options. Adding a model is one file (an estimator) plus one line in ``BASE_MODELS``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from geoprospect.errors import InputError
from geoprospect.models.ensemble import RankEnsemble
from geoprospect.models.fuzzy import FuzzyOverlay
from geoprospect.models.gan import CappedSMOTE, SMOTifiedGAN
from geoprospect.models.gam import SplineGAMClassifier
from geoprospect.models.gp import SubsampledGaussianProcessClassifier
from geoprospect.models.mlp import DropoutMLPClassifier
from geoprospect.models.pu import PUBaggingClassifier
from geoprospect.models.svm import CalibratedSVC
from geoprospect.models.wofe import WeightsOfEvidence

# scikit-learn warns once per fitted tree when its joblib helpers run under another thread pool
# (Prefect's, Dask's): thousands of identical lines about configuration propagation, none a problem.
# A filter alone does not hold: scikit-learn's workers call warnings.resetwarnings() inside
# catch_warnings, which is not thread-safe, so concurrent tasks see an empty filter list. The display
# hook is not reset that way.
_DELAYED = "sklearn.utils.parallel.delayed` should be used with"
warnings.filterwarnings("ignore", message=r".*sklearn\.utils\.parallel\.delayed.*should be used with.*")


def _quiet(show):
    def showwarning(message, category, filename, lineno, file=None, line=None):
        if _DELAYED not in str(message):
            show(message, category, filename, lineno, file, line)
    showwarning.quiet = True
    return showwarning


if not getattr(warnings.showwarning, "quiet", False):
    warnings.showwarning = _quiet(warnings.showwarning)
logging.getLogger("py.warnings").addFilter(lambda record: _DELAYED not in record.getMessage())

SOURCE = "prospectivity.models"
IMBALANCE_SOURCE = "prospectivity.imbalance"


@dataclass(frozen=True)
class Factory:
    """Builds ``estimator(**defaults, **params, random_state=...)``."""

    estimator: type
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def parameters(self) -> set[str]:
        """Names a user may set."""
        return set(self.estimator().get_params(deep=False)) - {"random_state"}

    def __call__(self, random_state=None, **params):
        return self.estimator(**{**self.defaults, **params}, random_state=random_state)


@dataclass(frozen=True)
class PUFactory:
    """``PUBaggingClassifier`` around the base model ``base``; ``params["base"]`` holds the base model's own."""

    base: str
    base_defaults: Mapping[str, Any] = field(default_factory=dict)

    def parameters(self) -> set[str]:
        """Names a user may set: the bagging's, and ``base`` for the wrapped model's."""
        return {"n_estimators", "max_samples", "base"}

    def __call__(self, random_state=None, base=None, **params):
        # The base model's seed is left unset: the bagging seeds every round from ``random_state``.
        base_model = BASE_MODELS[self.base](**{**self.base_defaults, **(base or {})})
        return PUBaggingClassifier(base_model, **params, random_state=random_state)


BASE_MODELS: dict[str, Factory] = {
    # Leaves of >= 10 rows, classes weighted: with tens of deposits among thousands of background rows, leaves of
    # 2 are nearly all pure background, and the map ties most of the area at 0 (94 % of the small demo's cells),
    # which loses the ranking of the low-probability bulk (Spearman with the demo's truth 0.42 -> 0.55).
    "rf": Factory(RandomForestClassifier, {"n_estimators": 200, "min_samples_leaf": 10, "class_weight": "balanced_subsample"}),
    # Classes weighted, as rf and logreg: unweighted, the margin all but ignores a dozen deposits (on Lapland's 13 its
    # held-out decision values ranked them below the background and the calibrated map came out inverted).
    "svm": Factory(CalibratedSVC, {"kernel": "rbf", "C": 1.0, "gamma": "scale", "class_weight": "balanced"}),
    # torch, with dropout: its spread is the SD over Monte Carlo dropout passes (geoprospect.uncertainty)
    "mlp": Factory(DropoutMLPClassifier, {"hidden_layer_sizes": (32, 16), "alpha": 1e-3, "max_iter": 200}),
    "gp": Factory(SubsampledGaussianProcessClassifier, {"max_samples": 1500}),
    # Regularised logistic regression, the classic data-driven prospectivity model (Agterberg 1974; Arc-SDM's
    # logistic regression): additive in the (scaled) evidence, so with a dozen deposits it ranks the whole area
    # smoothly where trees leave it flat. Strong L2 (C=0.01) because the deposits are few and the features many.
    "logreg": Factory(LogisticRegression, {"C": 0.01, "class_weight": "balanced", "max_iter": 2000}),
    # Additive logistic model on cubic splines of each feature's quantile (a penalised GAM, the model class of
    # MaxEnt's hinge features): logistic regression's curves allowed to bend. Defaults are a priori: scikit-learn's
    # 5 knots, and logreg's penalty C=0.01 on the spline coefficients. Truth Spearman on the demos (issue 16): 0.61
    # (logreg 0.59) with 12 deposits, 0.65 (logreg 0.72) with 54 among 91 features, where shrinkage matters more than shape.
    "gam": Factory(SplineGAMClassifier),
    # Gradient boosting (Ke et al. 2017). One thread and deterministic=True: the same seed gives the same
    # trees on any machine; small leaves and subsampling because deposits number tens, not thousands.
    "lgbm": Factory(LGBMClassifier, {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 5,
                                     "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 1.0,
                                     "n_jobs": 1, "deterministic": True, "force_row_wise": True, "verbose": -1}),
}

MODELS: dict[str, Callable[..., Any]] = {
    **BASE_MODELS,
    **{f"pu_{name}": PUFactory(name) for name in BASE_MODELS},
    # The bagging already builds the ensemble: 50 rounds x 10 trees, not 50 x 200.
    "pu_rf": PUFactory("rf", base_defaults={"n_estimators": 10, "min_samples_leaf": 2, "class_weight": None}),
    # Each balanced round holds twice the deposits: a few shallow trees, not 200.
    "pu_lgbm": PUFactory("lgbm", base_defaults={"n_estimators": 30, "num_leaves": 7, "min_child_samples": 3}),
}

# Weights of evidence and fuzzy overlay read the evidence layers in their own units (thresholds and
# memberships are set in them): build_pipeline puts no imputation, scaling or oversampling before them.
EVIDENCE_MODELS: dict[str, Factory] = {
    "wofe": Factory(WeightsOfEvidence),
    "fuzzy": Factory(FuzzyOverlay),
}
MODELS.update(EVIDENCE_MODELS)
# The rank-averaging ensemble builds its members' pipelines itself (the flow fills ``members`` with the
# best models of the comparison).
ENSEMBLE = "ensemble"
MODELS[ENSEMBLE] = Factory(RankEnsemble)
RAW_INPUT_MODELS = frozenset(EVIDENCE_MODELS) | {ENSEMBLE}

SAMPLERS: dict[str, Factory | None] = {
    "none": None,
    "smote": Factory(CappedSMOTE),
    "gan": Factory(SMOTifiedGAN),
}


def _check_params(source: str, kind: str, name: str, factory, params) -> None:
    if not isinstance(params, Mapping):
        raise InputError(source, f"the parameters of {kind} '{name}' are not a mapping: {params!r}",
                         "write them as 'name: value' pairs")
    unknown = sorted(set(params) - factory.parameters())
    if unknown:
        raise InputError(source, f"{kind} '{name}' has no parameter(s) {unknown}",
                         f"use only: {sorted(factory.parameters())}")


def make_model(name: str, params: Mapping[str, Any] | None = None, random_state: int | None = 0):
    """An unfitted classifier from the registry.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS` (``rf``, ``svm``, ``mlp``, ``gp``, ``logreg``, ``gam``, ``lgbm``, ``pu_rf``, ``pu_lgbm``, ...).
    params : dict, optional
        Estimator parameters; for ``pu_*`` models the bagging's, with the wrapped model's under ``base``.
    random_state : int or None
        Seed of the estimator (and of every PU round).

    Raises
    ------
    InputError
        For an unknown model name or parameter.
    """
    params = {} if params is None else params
    if name not in MODELS:
        raise InputError(SOURCE, f"unknown model '{name}'", f"use one of: {sorted(MODELS)}")
    factory = MODELS[name]
    _check_params(SOURCE, "model", name, factory, params)
    if isinstance(factory, PUFactory):
        _check_params(SOURCE, "model", factory.base, BASE_MODELS[factory.base], params.get("base") or {})
    return factory(random_state=random_state, **dict(params))


def make_sampler(name: str, params: Mapping[str, Any] | None = None, random_state: int | None = 0):
    """The oversampler for an imbalance option (``none`` -> ``None``, ``smote``, ``gan``).

    Raises
    ------
    InputError
        For an unknown option or parameter.
    """
    params = {} if params is None else params
    if name not in SAMPLERS:
        raise InputError(IMBALANCE_SOURCE, f"unknown imbalance option '{name}'",
                         f"use one of: {sorted(SAMPLERS)}")
    factory = SAMPLERS[name]
    if factory is None:
        if params:
            raise InputError(IMBALANCE_SOURCE, f"imbalance 'none' takes no parameters, got {sorted(params)}",
                             "remove the imbalance parameters or choose 'smote' or 'gan'")
        return None
    _check_params(IMBALANCE_SOURCE, "imbalance option", name, factory, params)
    return factory(random_state=random_state, **dict(params))


__all__ = ["BASE_MODELS", "ENSEMBLE", "EVIDENCE_MODELS", "MODELS", "RAW_INPUT_MODELS", "SAMPLERS", "Factory", "PUFactory", "make_model", "make_sampler"]


def is_positive_unlabelled(name: str) -> bool:
    """Whether registry model ``name`` learns from positives and unlabelled cells (``pu_*``): its output
    ranks cells and is a score, not the probability of a deposit."""
    return isinstance(MODELS.get(name), PUFactory)
