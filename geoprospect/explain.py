"""Explanations as maps: per-cell SHAP contributions of a model's top features (Lundberg and Lee 2017).

The ``shap`` library computes them: ``TreeExplainer`` (exact, polynomial-time Tree SHAP, Lundberg et al.
2020) for random forests, LightGBM and PU bagging over either (the bagging's SHAP values are the mean of
its rounds', SHAP being linear in the model), on the features as the model sees them after the
pipeline's imputation, scaling and selection; a sampled ``PermutationExplainer`` on the raw features for
every other model (SVM, MLP, GP, weights of evidence, fuzzy overlay, the ensemble), on a decimated grid so
that its cost stays bounded. Maps are computed block by block (dask), so memory stays bounded whatever
the map size.

Units: Tree SHAP of a random forest is in probability; of LightGBM in log-odds; the sampled explainer's
in the model's score. Each map says which in its description.
"""

from __future__ import annotations

from typing import Literal

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import shap
import xarray as xr
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier

from geoprospect.errors import InputError
from geoprospect.models.pipeline import prediction_steps
from geoprospect.models.pu import PUBaggingClassifier

SOURCE = "prospectivity.explain_method"
TREES = (RandomForestClassifier, LGBMClassifier)


def _final(model):
    return model.steps[-1][1] if hasattr(model, "steps") else model


def tree_members(model) -> list | None:
    """The tree models SHAP's TreeExplainer can read in ``model`` (one, or a PU bagging's rounds), else None."""
    final = _final(model)
    if isinstance(final, TREES):
        return [final]
    if isinstance(final, PUBaggingClassifier) and all(isinstance(e, TREES) for e in final.estimators_):
        return list(final.estimators_)
    return None


class Explainer:
    """SHAP values of a fitted model (pipeline) for rows of raw features.

    Parameters
    ----------
    model : fitted classifier or pipeline
    feature_names : list of str
        The raw feature columns, in the order the model was fitted on.
    background : DataFrame
        Raw rows standing for the area (the map sample), for the sampled explainer's masker.
    method : {"auto", "tree", "sampled"}
        ``tree`` refuses a model TreeExplainer cannot read; ``auto`` picks ``tree`` where it can.
    n_background : int
        Background rows the sampled explainer keeps.
    """

    def __init__(self, model, feature_names: list[str], background: pd.DataFrame,
                 method: Literal["auto", "tree", "sampled"] = "auto", n_background: int = 50, seed: int = 0):
        self.model, self.raw_names = model, list(feature_names)
        members = tree_members(model)
        if method == "tree" and members is None:
            raise InputError(SOURCE, f"SHAP's TreeExplainer cannot explain a {type(_final(model)).__name__}",
                             "set explain_method: auto or sampled (a sampled explainer on a coarser grid), or keep a "
                             "tree model (rf, lgbm, pu_rf, pu_lgbm)")
        if method not in ("auto", "tree", "sampled"):
            raise InputError(SOURCE, f"unknown explain method {method!r}", "use auto, tree or sampled")
        self.kind = "tree" if members is not None and method != "sampled" else "sampled"
        if self.kind == "tree":
            self.transform = prediction_steps(model)
            try:
                self.names = [str(n) for n in self.transform.get_feature_names_out(self.raw_names)] if self.transform else self.raw_names
            except (AttributeError, ValueError):
                n = self.transform.transform(background.iloc[:1]).shape[1]
                self.names = [f"component {i}" for i in range(n)]
            self.explainers = [shap.TreeExplainer(member) for member in members]
            self.units = "log-odds" if isinstance(members[0], LGBMClassifier) else "probability"
        else:
            rows = background.sample(min(n_background, len(background)), random_state=seed).to_numpy(float)
            self.names = self.raw_names
            masker = shap.maskers.Independent(rows, max_samples=len(rows))
            self.explainers = [shap.PermutationExplainer(self._score, masker, seed=seed)]
            self.units = "score"

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(pd.DataFrame(X, columns=self.raw_names))[:, list(self.model.classes_).index(1)]

    def shap_values(self, X: pd.DataFrame) -> np.ndarray:
        """SHAP values of rows ``X`` (raw features), shape (n_rows, len(self.names))."""
        if self.kind == "sampled":
            return np.asarray(self.explainers[0](X.to_numpy(float), silent=True).values)
        Xt = self.transform.transform(X) if self.transform is not None else X.to_numpy(float)
        total = np.zeros((len(X), len(self.names)))
        for explainer in self.explainers:
            values = explainer.shap_values(np.asarray(Xt, float), check_additivity=False)
            values = values[1] if isinstance(values, list) else np.asarray(values)
            total += values[..., 1] if values.ndim == 3 else values
        return total / len(self.explainers)


def top_features(explainer: Explainer, sample: pd.DataFrame, n: int) -> tuple[list[int], np.ndarray]:
    """Indices of the ``n`` features of largest mean |SHAP| over ``sample``, and the sample's SHAP values."""
    values = explainer.shap_values(sample)
    order = np.argsort(-np.abs(values).mean(axis=0), kind="stable")[:n]
    return [int(i) for i in order], values


def shap_maps(explainer: Explainer, features: xr.DataArray, columns: list[int], chunk: int = 256,
              max_cells: int | None = None) -> xr.DataArray:
    """Lazy (band, y, x) SHAP maps of the features ``columns`` (indices into ``explainer.names``).

    Above ``max_cells`` cells the map is explained on every ``step``-th row and column (``step`` chosen so
    that at most ``max_cells`` cells are explained): a coarser grid over the same extent. NaN where a
    feature is missing.
    """
    features = features.sel(band=explainer.raw_names)
    if max_cells is not None:
        step = max(1, int(np.ceil(np.sqrt(features.sizes["y"] * features.sizes["x"] / max_cells))))
        features = features.isel(y=slice(step // 2, None, step), x=slice(step // 2, None, step))
    data = features.data if isinstance(features.data, dsa.Array) else dsa.from_array(features.data, chunks=-1)
    data = data.rechunk({0: -1, 1: chunk, 2: chunk}).astype("float32")
    key = dask.delayed(explainer, pure=False)
    maps = dsa.map_blocks(_shap_block, data, key, columns, chunks=((len(columns),), data.chunks[1], data.chunks[2]),
                          dtype="float32", meta=np.empty((0, 0, 0), "float32"))
    coords = {"band": [explainer.names[i] for i in columns], "y": features.y, "x": features.x}
    result = xr.DataArray(maps, dims=("band", "y", "x"), coords=coords, name="shap")
    return result.rio.write_crs(features.rio.crs) if features.rio.crs is not None else result


def _shap_block(block: np.ndarray, explainer: Explainer, columns: list[int]) -> np.ndarray:
    bands, ny, nx = block.shape
    pixels = block.reshape(bands, ny * nx).T
    valid = np.flatnonzero(np.isfinite(pixels).all(axis=1))
    out = np.full((len(columns), ny * nx), np.nan, dtype="float32")
    if valid.size:
        values = explainer.shap_values(pd.DataFrame(pixels[valid], columns=explainer.raw_names))
        out[:, valid] = values[:, columns].T
    return out.reshape(len(columns), ny, nx)
