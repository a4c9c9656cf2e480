"""Chunked prediction of a fitted classifier over a feature cube of any size.

The cube ``(band, y, x)`` is cut into spatial blocks holding every band; each block is reshaped to
``(pixels, bands)``, its fully valid pixels go through ``predict_proba`` and the positive-class
probability comes back as a ``(y, x)`` block. The graph is lazy (dask), so a cube opened from Zarr
and larger than memory is read, predicted and written one block per thread at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import dask
import dask.array as dsa
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from geoprospect.errors import InputError
from geoprospect.models.compiled import compile_for_maps


def predict_map(model, features: xr.DataArray, chunk: int = 512, positive_class=1, compiled: bool = True,
                progress: Callable[[int, int], None] | None = None) -> xr.DataArray:
    """Positive-class probability of ``model`` at every cell of ``features``, lazily, block by block.

    Parameters
    ----------
    model : fitted classifier
        Anything with ``predict_proba`` and ``classes_`` (a scikit-learn or imbalanced-learn
        pipeline, a PU-bagging wrapper...). If it was fitted on a DataFrame (``feature_names_in_``),
        the cube's bands are selected and ordered by those names; otherwise the cube must hold
        exactly ``n_features_in_`` bands in the order used for fitting.
    features : DataArray (band, y, x)
        The feature cube, numpy- or dask-backed (e.g. ``geoprospect.io.cube.open_cube``), NaN for
        nodata. CRS (rioxarray) and coordinates are carried over to the result.
    chunk : int
        Side in pixels of the square spatial blocks; every block holds all bands, so a block costs
        about ``chunk**2 * n_bands * 4`` bytes plus the model's working memory, per dask thread.
    positive_class : label
        The class whose probability is mapped (``model.classes_`` must contain it).
    compiled : bool
        Compile tree ensembles (:mod:`geoprospect.models.compiled`); False runs the model's own
        ``predict_proba`` (the reference the benchmark compares against).
    progress : callable, optional
        ``progress(done, total)`` called as each block is predicted, when the map is computed (by
        this process's threads; blocks predicted on a distributed cluster's workers report nothing).

    Returns
    -------
    DataArray (y, x), float32, dask-backed
        Probability in [0, 1], NaN wherever any feature is NaN (the model never sees nodata).

    Raises
    ------
    InputError
        If the bands do not match the model's features or the model lacks the positive class.

    Notes
    -----
    The model enters the graph once, as a single delayed key that every block depends on: the
    threaded scheduler shares the object, and a distributed cluster ships it once per worker
    instead of once per block. Random forests and extra trees (alone, in a pipeline or bagged for PU
    learning) are compiled first (:mod:`geoprospect.models.compiled`): the same probabilities, several
    times faster.
    """
    if tuple(features.dims) != ("band", "y", "x"):
        raise InputError("features", f"dims are {features.dims}, expected ('band', 'y', 'x')", "pass the feature cube as (band, y, x)")
    classes = list(getattr(model, "classes_", []))
    if positive_class not in classes:
        raise InputError("model", f"classes {classes} do not contain the positive class {positive_class!r}",
                         "fit the model on labels that include the positive class, or pass positive_class")
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        missing = [str(n) for n in names if n not in set(features.band.values.tolist())]
        if missing:
            raise InputError("features", f"bands {missing} used to fit the model are not in the cube",
                             "predict on a cube built from the same layers and features as the training data")
        features = features.sel(band=list(names))
        names = [str(n) for n in names]
    elif features.sizes["band"] != getattr(model, "n_features_in_", features.sizes["band"]):
        raise InputError("features", f"the cube has {features.sizes['band']} bands but the model was fitted on {model.n_features_in_} features",
                         "predict on a cube built from the same layers and features as the training data")
    data = features.data if isinstance(features.data, dsa.Array) else dsa.from_array(features.data, chunks=-1)
    data = data.rechunk({0: -1, 1: chunk, 2: chunk})
    if data.dtype.kind != "f":
        data = data.astype("float32")
    scorer = (compiled and compile_for_maps(model, positive_class, names)) or _ModelScorer(model, classes.index(positive_class), names)
    scorer_key = dask.delayed(scorer, pure=False)  # a random key: never hash (pickle) a large forest
    counter = dask.delayed(BlockCounter(len(data.chunks[1]) * len(data.chunks[2]), progress), pure=False)
    probability = dsa.map_blocks(_predict_block, data, scorer_key, counter, drop_axis=0, dtype="float32",
                                 meta=np.empty((0, 0), "float32"))
    coords = {"y": features.y, "x": features.x}
    if "spatial_ref" in features.coords:
        coords["spatial_ref"] = features.spatial_ref
    result = xr.DataArray(probability, dims=("y", "x"), coords=coords, name="probability",
                          attrs={"long_name": f"probability of class {positive_class}", "units": "1"})
    if features.rio.crs is not None:
        result = result.rio.write_crs(features.rio.crs)
    return result


BATCH_PIXELS = 16_384  # 16k pixels x 1,500 GP training rows x 8 bytes = 200 MB per kernel matrix


class _ModelScorer:
    """``X -> positive-class probability`` through the model's own ``predict_proba``."""

    def __init__(self, model, column: int, names: list[str] | None):
        self.model, self.column, self.names = model, column, names

    def __call__(self, X: np.ndarray) -> np.ndarray:
        if self.names is not None:
            X = pd.DataFrame(X, columns=self.names, copy=False)
        return self.model.predict_proba(X)[:, self.column]


class BlockCounter:
    """Counts predicted blocks for a ``progress(done, total)`` callback, from any thread. It pickles
    (to a cluster's workers) without its callback: the bars belong to the process that draws them."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None = None):
        self.total, self.progress, self.done = total, progress, 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        if self.progress is None:
            return
        with self.lock:
            self.done += 1
            done = min(self.done, self.total)  # a map computed twice does not pass its total
        self.progress(done, self.total)

    def __reduce__(self):
        return BlockCounter, (self.total,)


def _predict_block(block: np.ndarray, scorer, counter: BlockCounter | None = None) -> np.ndarray:
    """(band, y, x) block -> (y, x) float32 probability, NaN where any band is NaN."""
    bands, ny, nx = block.shape
    flat = block.reshape(bands, ny * nx)
    valid = np.isfinite(flat).all(axis=0)  # along contiguous band rows: 3x faster than across the transposed view
    rows = np.flatnonzero(valid)
    pixels = np.ascontiguousarray(flat.T)  # (pixels, bands) in C order, one copy
    if rows.size < valid.size:
        pixels = pixels[rows]
    out = np.full(ny * nx, np.nan, dtype="float32")
    # kernel models (GP, SVM) build (pixels x training rows) matrices: bound them by batching pixels
    for start in range(0, rows.size, BATCH_PIXELS):
        out[rows[start:start + BATCH_PIXELS]] = scorer(pixels[start:start + BATCH_PIXELS])
    if counter is not None:
        counter()
    return out.reshape(ny, nx)
