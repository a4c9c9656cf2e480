"""Point surveys (till geochemistry...) gridded onto the target grid as evidence layers.

Libraries made for this do the interpolation: scipy's KD-tree for nearest-neighbour and inverse
distance weighting (the cheap default), verde's biharmonic spline (Uieda 2018) and PyKrige's
ordinary kriging as options. Cells farther than ``max_distance_m`` from every sample are nodata, so
that values are not invented far from the data, and the distance to the nearest sample is a layer
of its own (a model can then learn how much to trust the gridded values).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from geoprospect.catalog import SurveyGridding
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid

log = logging.getLogger(__name__)

METHODS = ("nearest", "idw", "spline", "kriging")
_CHUNK = 10_000  # cells predicted at once by the spline and kriging (a chunk x samples matrix each)


def sample_spacing_m(x: np.ndarray, y: np.ndarray) -> float:
    """Median distance from each sample to its nearest neighbour."""
    if len(x) < 2:
        return float("nan")
    distance, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    return float(np.median(distance[:, 1]))


def distance_to_samples(x: np.ndarray, y: np.ndarray, grid: TargetGrid) -> np.ndarray:
    """Distance (m) from every cell centre to the nearest sample, shape ``grid.shape``, float32."""
    gx, gy = np.meshgrid(grid.x, grid.y)
    distance, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([gx.ravel(), gy.ravel()]), k=1)
    return distance.reshape(grid.shape).astype("float32")


def interpolate(x: np.ndarray, y: np.ndarray, values: np.ndarray, cx: np.ndarray, cy: np.ndarray, method: str,
                neighbours: int = 8, power: float = 2.0, damping: float = 1e-3, variogram: str = "spherical") -> np.ndarray:
    """Values at points ``(cx, cy)`` interpolated from samples ``(x, y, values)`` by ``method``.

    Samples at the same place are averaged first (the spline and kriging systems would be singular).
    Coordinates are centred on the samples' mean, which keeps the kriging and spline systems well
    conditioned with national-grid coordinates in the millions of metres.
    """
    if method not in METHODS:
        raise InputError("gridding.method", f"unknown gridding method {method!r}", f"use one of {', '.join(METHODS)}")
    frame = pd.DataFrame({"x": x, "y": y, "v": values}).groupby(["x", "y"], as_index=False)["v"].mean()
    x0, y0 = frame["x"].mean(), frame["y"].mean()
    sx, sy, v = frame["x"].to_numpy() - x0, frame["y"].to_numpy() - y0, frame["v"].to_numpy()
    px, py = cx - x0, cy - y0
    if method in ("nearest", "idw"):
        k = 1 if method == "nearest" else min(neighbours, len(v))
        distance, index = cKDTree(np.column_stack([sx, sy])).query(np.column_stack([px, py]), k=k)
        if k == 1:
            return v[index]
        weights = 1.0 / np.maximum(distance, 1e-9) ** power  # a cell on a sample takes (almost) its value
        return (weights * v[index]).sum(axis=1) / weights.sum(axis=1)
    out = np.empty(len(px))
    if method == "spline":
        import verde

        model = verde.Spline(damping=damping or None).fit((sx, sy), v)
        for start in range(0, len(px), _CHUNK):
            out[start:start + _CHUNK] = model.predict((px[start:start + _CHUNK], py[start:start + _CHUNK]))
        return out
    from pykrige.ok import OrdinaryKriging

    kriging = OrdinaryKriging(sx, sy, v, variogram_model=variogram)
    for start in range(0, len(px), _CHUNK):
        z, _ = kriging.execute("points", px[start:start + _CHUNK], py[start:start + _CHUNK])
        out[start:start + _CHUNK] = np.asarray(z)
    return out


def grid_survey(x: np.ndarray, y: np.ndarray, table: pd.DataFrame, grid: TargetGrid, spec: SurveyGridding,
                name: str, mask: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Grid each of ``spec.columns`` of a point survey onto ``grid``.

    Parameters
    ----------
    x, y : arrays
        Sample coordinates in the grid CRS.
    table : DataFrame
        One row per sample, holding ``spec.columns``.
    mask : bool array, optional
        Cells to fill (the study area); others stay nodata.

    Returns
    -------
    layers : dict
        ``<name>_<column>`` (``log10_`` prefixed when transformed) -> (height, width) float32 array,
        NaN beyond ``max_distance_m`` from every sample; plus ``<name>_distance_m`` when asked.
    rows : list of dict
        Per column: samples used, samples dropped (and why), method, transform, valid fraction.

    Raises
    ------
    InputError
        A column missing or not numeric, or no usable sample left (e.g. log10 of all non-positive values).
    """
    for column in spec.columns:
        if column not in table.columns:
            raise InputError(f"surveys.points.{name}.gridding.columns", f"column {column!r} not found",
                             f"use some of {', '.join(c for c in table.columns if c != 'geometry')}")
    distance = distance_to_samples(x, y, grid)
    spacing = sample_spacing_m(x, y)
    limit = spec.max_distance_m or (3 * spacing if np.isfinite(spacing) else np.inf)
    within = distance <= limit
    if mask is not None:
        within &= mask
    gx, gy = np.meshgrid(grid.x, grid.y)
    layers: dict[str, np.ndarray] = {}
    rows = []
    for column in spec.columns:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        missing = ~np.isfinite(values)
        nonpositive = np.zeros_like(missing)
        if spec.transform == "log10":
            nonpositive = ~missing & (values <= 0)
            if nonpositive.any():
                log.warning("surveys.points.%s: %d of %d %s values are zero or negative (below detection?): "
                            "left out of the log10 layer", name, int(nonpositive.sum()), len(values), column)
        keep = ~missing & ~nonpositive
        if keep.sum() < 3:
            raise InputError(f"surveys.points.{name}.gridding", f"column {column!r} has {int(keep.sum())} usable sample(s) "
                             f"({int(missing.sum())} missing or not numeric, {int(nonpositive.sum())} non-positive for log10)",
                             "choose another column, or transform: none for values that can be zero or negative")
        v = np.log10(values[keep]) if spec.transform == "log10" else values[keep]
        layer = np.full(grid.shape, np.nan, dtype="float32")
        layer[within] = interpolate(x[keep], y[keep], v, gx[within], gy[within], spec.method, spec.neighbours,
                                    spec.power, spec.damping, spec.variogram)
        key = f"{name}_{'log10_' if spec.transform == 'log10' else ''}{column}"
        layers[key] = layer
        rows.append({"layer": key, "method": spec.method, "transform": spec.transform, "samples_used": int(keep.sum()),
                     "dropped_missing": int(missing.sum()), "dropped_non_positive": int(nonpositive.sum()),
                     "max_distance_m": round(float(limit), 1), "valid_fraction": float(within.mean())})
    if spec.distance_layer:
        layers[f"{name}_distance_m"] = np.where(mask, distance, np.nan).astype("float32") if mask is not None else distance
    return layers, rows
