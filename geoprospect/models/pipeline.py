"""The model pipeline: every data-driven step of a prospectivity model in one estimator.

Imputation, scaling, the correlated-feature drop, PCA, the autoencoder and the oversampler are all
fitted inside :meth:`Pipeline.fit`, so spatial cross-validation fits them on each fold's training
rows only and the held-out rows never inform them. Oversamplers act at fit only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imblearn.pipeline import Pipeline
from sklearn.pipeline import Pipeline as PredictionPipeline
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from geoprospect.errors import InputError
from geoprospect.models import RAW_INPUT_MODELS, make_model, make_sampler
from geoprospect.models.autoencoder import AutoencoderEmbedding


def build_pipeline(model: str, params: Mapping[str, Any] | None = None, imbalance: str = "none",
                   spearman_threshold: float | None = 0.95, pca_components: float | None = None,
                   autoencoder: Mapping[str, Any] | None = None, imbalance_params: Mapping[str, Any] | None = None,
                   random_state: int | None = 0) -> Pipeline:
    """Median imputation -> standard scaling -> [Spearman drop] -> [PCA] -> [autoencoder] -> [oversampler] -> model.

    Parameters
    ----------
    model : str
        A key of :data:`geoprospect.models.MODELS`.
    params : dict, optional
        The model's parameters (see :func:`geoprospect.models.make_model`).
    imbalance : {"none", "smote", "gan"}
        Oversampling of the minority class at fit: none, SMOTE (Chawla et al. 2002) or SMOTified-GAN
        (Sharma et al. 2022).
    spearman_threshold : float or None, default=0.95
        Drop one of each pair of features whose absolute Spearman correlation exceeds this
        (``geoprospect.features.selection.SpearmanDrop``); ``None`` keeps all features.
    pca_components : int, float or None
        Keep this many principal components (a float in (0, 1): this share of the variance).
    autoencoder : dict or None
        Parameters of :class:`~geoprospect.models.autoencoder.AutoencoderEmbedding` (e.g.
        ``{"n_components": 4, "mode": "append"}``); its codes are standardised after it.
    imbalance_params : dict, optional
        Parameters of the oversampler (e.g. ``{"epochs": 20}`` for ``gan``).
    random_state : int or None
        Seeds every stochastic step.

    Returns
    -------
    imblearn.pipeline.Pipeline
        Unfitted; for weights of evidence, fuzzy overlay and the ensemble (``RAW_INPUT_MODELS``) the model
        step alone; else steps named ``impute``, ``scale``, ``spearman``, ``pca``, ``autoencoder``,
        ``scale_codes``, ``oversample``, ``model`` (the optional ones only when used).

    Raises
    ------
    InputError
        For an unknown model, imbalance option or parameter.
    """
    # evidence layers in their own units (oversampling would fake deposit counts); the ensemble builds its own
    if model in RAW_INPUT_MODELS:
        return Pipeline([("model", make_model(model, params, random_state))])
    steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    if spearman_threshold is not None:
        # Imported only when used: the features package loads geopandas and rioxarray.
        from geoprospect.features.selection import SpearmanDrop

        steps.append(("spearman", SpearmanDrop(threshold=spearman_threshold)))
    if pca_components is not None:
        steps.append(("pca", PCA(n_components=pca_components, random_state=random_state)))
    if autoencoder is not None:
        allowed = set(AutoencoderEmbedding().get_params()) - {"random_state"}
        unknown = sorted(set(autoencoder) - allowed)
        if unknown:
            raise InputError("prospectivity.autoencoder", f"the autoencoder has no parameter(s) {unknown}",
                             f"use only: {sorted(allowed)}")
        steps.append(("autoencoder", AutoencoderEmbedding(**autoencoder, random_state=random_state)))
        steps.append(("scale_codes", StandardScaler()))
    sampler = make_sampler(imbalance, imbalance_params, random_state)
    if sampler is not None:
        steps.append(("oversample", sampler))
    steps.append(("model", make_model(model, params, random_state)))
    return Pipeline(steps)


def prediction_steps(model) -> PredictionPipeline | None:
    """The fitted steps before a pipeline's estimator that run at prediction, as one pipeline (resamplers
    such as SMOTE run only at fit); None when there are none or ``model`` is not a pipeline."""
    steps = [(name, step) for name, step in getattr(model, "steps", [])[:-1]
             if step not in (None, "passthrough") and not hasattr(step, "fit_resample")]
    return PredictionPipeline(steps) if steps else None
