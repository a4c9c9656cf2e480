"""Focal (moving-window) statistics and texture of a continuous layer.

A square window of ``window_cells`` x ``window_cells`` cells summarises each cell's neighbourhood:
the mean (a low-pass version of the layer), the standard deviation (local variability) and, as a
texture measure, the local range (maximum minus minimum). These are the focal statistics of EIS
Toolkit (``focal_filter``) and of Farahbakhsh et al. (2023), who take window means and standard
deviations of the geophysical grids as evidence layers.

NaN-aware: with ``valid`` the indicator of finite cells and ``v0`` the values with NaN set to 0,
the window sums ``S1 = U(v0)``, ``S2 = U(v0^2)`` and ``N = U(valid)`` (``U`` a uniform filter with
zero padding) give ``mean = S1 / N`` and ``var = S2 / N - mean^2`` over the valid cells of the window,
so that neither a NaN nor the grid edge pulls the statistics towards zero. Values are centred on the
layer's mean first to keep ``var`` free of cancellation. Cells that are NaN stay NaN.

Dask-backed inputs are filtered chunk by chunk with an overlap of half a window
(``dask.array.map_overlap``), which gives the same values as filtering the whole grid.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.ndimage import maximum_filter, minimum_filter, uniform_filter

from geoprospect.errors import InputError
from geoprospect.features.distances import feature_like


def check_window(window_cells: int) -> int:
    """An odd window width of at least 3 cells, else an :class:`InputError`."""
    if isinstance(window_cells, bool) or not isinstance(window_cells, (int, np.integer)) or window_cells < 3 or window_cells % 2 == 0:
        raise InputError("features.window_cells", f"{window_cells!r} is not an odd number of cells >= 3", "use 3, 5, 7, ...")
    return int(window_cells)


def _window_mean(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(valid mask, mean of the valid values in each window): NaN cells neither count nor contribute."""
    valid = np.isfinite(values)
    count = uniform_filter(valid.astype(float), size, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return valid, uniform_filter(np.where(valid, values, 0.0), size, mode="constant", cval=0.0) / count


def _mean(values: np.ndarray, size: int) -> np.ndarray:
    valid, mean = _window_mean(values, size)
    return np.where(valid, mean, np.nan)


def _std(values: np.ndarray, size: int) -> np.ndarray:
    valid, mean = _window_mean(values, size)
    _, square = _window_mean(values * values, size)
    return np.where(valid, np.sqrt(np.clip(square - mean * mean, 0.0, None)), np.nan)


def _range(values: np.ndarray, size: int) -> np.ndarray:
    valid = np.isfinite(values)
    high = maximum_filter(np.where(valid, values, -np.inf), size, mode="constant", cval=-np.inf)
    low = minimum_filter(np.where(valid, values, np.inf), size, mode="constant", cval=np.inf)
    return np.where(valid, high - low, np.nan)


def _filter(da: xr.DataArray, func, size: int) -> np.ndarray:
    """Apply ``func(values, size)`` to a (y, x) layer (float64), chunk-wise when dask-backed."""
    data = da.transpose("y", "x").data
    if hasattr(data, "map_overlap"):
        return data.astype("float64").map_overlap(func, depth=size // 2, boundary="none", dtype="float64", size=size)
    return func(np.asarray(data, dtype="float64"), size)


def focal_stats(da: xr.DataArray, window_cells: int = 5) -> tuple[xr.DataArray, xr.DataArray]:
    """Window mean and standard deviation of a layer, ignoring NaN.

    Parameters
    ----------
    da : DataArray, shape (y, x)
        A continuous layer (numpy- or dask-backed) named after its band, ``attrs["units"]`` optional.
    window_cells : int
        Window width in cells (odd, >= 3).

    Returns
    -------
    mean, std : DataArray, shape (y, x), float32, in the layer's units, named
        ``<name>_mean_w<window>`` and ``<name>_std_w<window>``. The standard deviation is the
        population one (divided by the number of valid cells in the window).
    """
    size = check_window(window_cells)
    offset = float(da.mean(skipna=True))
    centred = da - offset  # variance without cancellation on large offsets (a TMI of ~50,000 nT)
    mean = _filter(centred, _mean, size) + offset
    std = _filter(centred, _std, size)
    units = da.attrs.get("units", "")
    return (feature_like(da, mean.astype("float32"), f"{da.name}_mean_w{size}", units),
            feature_like(da, std.astype("float32"), f"{da.name}_std_w{size}", units))


def focal_range(da: xr.DataArray, window_cells: int = 5) -> xr.DataArray:
    """Local range (window maximum minus minimum, ignoring NaN): a texture measure.

    High where the layer changes sharply within the window (edges of magnetic bodies, fault
    offsets), low over smooth ground.

    Returns
    -------
    DataArray, shape (y, x), float32, in the layer's units, named ``<name>_range_w<window>``.
    """
    size = check_window(window_cells)
    local = _filter(da, _range, size)
    return feature_like(da, local.astype("float32"), f"{da.name}_range_w{size}", da.attrs.get("units", ""))
