"""Training samples for prospectivity models: deposit cells, unlabelled background, spatial blocks, folds.

Known deposits are the positives; every other cell is *unlabelled*, not a known barren cell
(positive-unlabelled learning). Background cells are drawn uniformly from the valid cells farther than
a buffer from every deposit, so that cells that share a deposit's footprint are not taught as
background. A cell is *valid* when every feature is finite there; predictions, area fractions and
samples use valid cells only.

Cross-validation holds out whole square blocks (spatial block CV, Roberts et al. 2017, Ecography
40:913-929) so that a held-out deposit has no near neighbour in the training rows. Blocks are sized
from the data as in blockCV (Valavi et al. 2019, Methods Ecol. Evol. 10:225-232): the range of
spatial autocorrelation of the features, read from an empirical variogram.

Cells are given as ``(rows, cols)``: two int arrays indexing the ``(y, x)`` grid of the features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy.spatial.distance import pdist

from geoprospect.crs import crs_name, same_crs
from geoprospect.errors import InputError

SAMPLE_COLUMNS = ("x", "y", "row", "col", "label")

Cells = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class GridGeometry:
    """Upper-left corner and cell size of a north-up grid of square cells (metres)."""

    xmin: float
    ymax: float
    cell_m: float
    height: int
    width: int

    @classmethod
    def of(cls, features: xr.DataArray) -> GridGeometry:
        """Read the geometry from the ``x`` / ``y`` cell-centre coordinates of a ``(band, y, x)`` array."""
        x, y = np.asarray(features["x"], float), np.asarray(features["y"], float)
        if x.size < 2 or y.size < 2:
            raise InputError("features", f"grid of {y.size} x {x.size} cells is too small",
                             "use a grid of at least 2 x 2 cells")
        dx, dy = x[1] - x[0], y[0] - y[1]
        if dx <= 0 or dy <= 0 or not np.isclose(dx, dy, rtol=1e-6):
            raise InputError("features", f"cells are not square and north-up (dx={dx:g}, dy={-dy:g})",
                             "align the layers on the target grid (ingest flow)")
        return cls(float(x[0] - dx / 2), float(y[0] + dy / 2), float(dx), int(y.size), int(x.size))

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre (x, y) in metres."""
        return self.xmin + (np.asarray(cols) + 0.5) * self.cell_m, self.ymax - (np.asarray(rows) + 0.5) * self.cell_m


@dataclass(frozen=True)
class DepositCells:
    """Grid cells holding at least one known deposit, with the deposits that could not be used.

    Attributes
    ----------
    rows, cols : ndarray of int, shape (n_cells,)
        One entry per positive cell (several deposits in a cell make one positive).
    n_deposits : int
        Deposits given.
    outside : int
        Deposits outside the grid (dropped).
    nodata : int
        Deposits on a cell where a feature is missing (dropped).
    shared : int
        Deposits in a cell that already holds another deposit (merged).
    """

    rows: np.ndarray
    cols: np.ndarray
    n_deposits: int
    outside: int
    nodata: int
    shared: int

    def report(self) -> dict[str, int]:
        """The counts, JSON-ready."""
        return {"deposits": self.n_deposits, "positive_cells": int(self.rows.size), "outside_grid": self.outside,
                "on_nodata": self.nodata, "sharing_a_cell": self.shared}


def valid_mask(features: xr.DataArray) -> np.ndarray:
    """Cells where every feature is finite, shape (y, x), bool; computed in one pass over a dask cube.

    Raises
    ------
    InputError
        A feature is nodata everywhere, or no cell has every feature.
    """
    finite = np.isfinite(features)
    checks = xr.Dataset({"valid": finite.all("band"), "present": finite.any(("y", "x"))}).compute()
    empty = [str(b) for b, ok in zip(features["band"].values, checks["present"].values) if not ok]
    if empty:
        raise InputError(f"feature {', '.join(empty)}", "is nodata over the whole grid",
                         "check the layer's nodata value and coverage, or leave the layer out of the features")
    valid = checks["valid"].values
    if not valid.any():
        raise InputError("features", "no cell has a value for every feature (the layers do not overlap)",
                         "leave out the layers that cover only part of the area")
    return valid


def deposit_cells(features: xr.DataArray, deposits) -> DepositCells:
    """Cells of the feature grid that hold deposits.

    Parameters
    ----------
    features : DataArray (band, y, x)
        The feature cube, in the deposits' CRS (metres).
    deposits : geopandas.GeoDataFrame
        Deposit points.

    Raises
    ------
    InputError
        The CRSs differ, or no deposit falls on a valid cell of the grid.
    """
    grid = GridGeometry.of(features)
    crs = features.rio.crs if hasattr(features, "rio") else None
    if crs is not None and deposits.crs is not None and not same_crs(deposits.crs, crs):
        raise InputError("deposits", f"are in {crs_name(deposits.crs)}, the features in {crs_name(crs)}",
                         "reproject the deposits to the grid CRS (the ingest flow does)")
    if len(deposits) and not (deposits.geom_type == "Point").all():
        raise InputError("deposits", "hold geometries other than points", "give one point per deposit")
    px, py = deposits.geometry.x.to_numpy(), deposits.geometry.y.to_numpy()
    cols = np.floor((px - grid.xmin) / grid.cell_m).astype(int)
    rows = np.floor((grid.ymax - py) / grid.cell_m).astype(int)
    inside = (rows >= 0) & (rows < grid.height) & (cols >= 0) & (cols < grid.width)
    rows, cols = rows[inside], cols[inside]
    values = _values_at(features, rows, cols)
    on_data = np.isfinite(values).all(axis=1)
    cells = np.unique(np.column_stack([rows[on_data], cols[on_data]]), axis=0)
    result = DepositCells(cells[:, 0], cells[:, 1], len(deposits), int((~inside).sum()), int((~on_data).sum()),
                          int(on_data.sum() - len(cells)))
    if not len(cells):
        raise InputError("deposits", f"none of the {len(deposits)} deposits lies on a valid cell of the grid "
                         f"({result.outside} outside, {result.nodata} on nodata)",
                         "check that the deposit file covers the study area and is in the right CRS")
    return result


def near_deposits(shape: tuple[int, int], positive_cells: Cells, buffer_m: float, cell_m: float) -> np.ndarray:
    """Cells whose centre lies within ``buffer_m`` of a deposit cell's centre (deposit cells included).

    Equal to ``scipy.ndimage.distance_transform_edt(~deposits, sampling=cell_m) <= buffer_m`` but
    built from a disk stencil around each deposit, so that memory stays one bool per cell.
    """
    reach = int(np.floor(buffer_m / cell_m + 1e-9))
    offsets = np.arange(-reach, reach + 1)
    disk = (offsets[:, None] ** 2 + offsets[None, :] ** 2) * cell_m**2 <= buffer_m**2 * (1 + 1e-9)
    mask = np.zeros(shape, bool)
    for r, c in zip(*positive_cells):
        r0, r1 = max(r - reach, 0), min(r + reach + 1, shape[0])
        c0, c1 = max(c - reach, 0), min(c + reach + 1, shape[1])
        mask[r0:r1, c0:c1] |= disk[r0 - r + reach:r1 - r + reach, c0 - c + reach:c1 - c + reach]
    return mask


def sample_background(valid_mask: np.ndarray, positive_cells: Cells, n: int, buffer_m: float, cell_m: float,
                      rng: np.random.Generator) -> Cells:
    """Draw unlabelled background cells uniformly, away from the deposits.

    Parameters
    ----------
    valid_mask : ndarray of bool (y, x)
        Cells with every feature.
    positive_cells : (rows, cols)
        Deposit cells.
    n : int
        Cells wanted; when fewer are available all of them are returned.
    buffer_m : float
        Cells whose centre is within this distance of a deposit cell's centre are excluded (0 excludes
        the deposit cells only).
    cell_m : float
        Cell size.

    Returns
    -------
    (rows, cols) : ndarrays of int, sorted in raster order.

    Raises
    ------
    InputError
        No valid cell is left outside the buffer.
    """
    candidates = valid_mask & ~near_deposits(valid_mask.shape, positive_cells, buffer_m, cell_m)
    if not candidates.any():
        raise InputError("prospectivity.buffer_m", f"a {buffer_m:g} m buffer around the deposits covers every valid cell",
                         "reduce the background buffer")
    return _draw_cells(candidates, n, rng)


def sample_cells(features: xr.DataArray, n: int, rng: np.random.Generator, valid: np.ndarray | None = None) -> pd.DataFrame:
    """A uniform random sample of valid cells with their features: the map sample for area fractions.

    Returns
    -------
    DataFrame
        ``x``, ``y`` (cell centres, m), ``row``, ``col`` and one column per feature band; at most ``n`` rows.
    """
    valid = valid_mask(features) if valid is None else valid
    rows, cols = _draw_cells(valid, n, rng)
    return _table(features, rows, cols)


def training_table(features: xr.DataArray, deposits, n_background: int, buffer_m: float, rng: np.random.Generator,
                   valid: np.ndarray | None = None) -> pd.DataFrame:
    """One row per training sample: the deposit cells (label 1) and unlabelled background cells (label 0).

    Parameters
    ----------
    features : DataArray (band, y, x)
        Feature cube (numpy- or dask-backed); only the sampled cells are read, plus one pass for the
        valid mask when ``valid`` is not given.
    deposits : geopandas.GeoDataFrame
        Deposit points in the features' CRS.
    n_background : int
        Background cells wanted (fewer if fewer are available).
    buffer_m : float
        Exclusion buffer around deposit cells, see :func:`sample_background`.
    valid : ndarray of bool (y, x), optional
        Precomputed :func:`valid_mask`.

    Returns
    -------
    DataFrame
        Columns ``x``, ``y`` (cell centres, m), ``row``, ``col``, ``label`` (1 deposit, 0 unlabelled)
        and one float column per feature band. ``attrs`` holds the counts (``deposits``: see
        :meth:`DepositCells.report`; ``background_requested``, ``background_drawn``, ``buffer_m``,
        ``cell_m``) and the grid origin ``origin_xy`` (upper-left corner, m).
    """
    valid = valid_mask(features) if valid is None else valid
    names = [str(b) for b in features["band"].values]
    clash = sorted(set(names) & set(SAMPLE_COLUMNS))
    if clash:
        raise InputError("features", f"band names {clash} clash with the sample columns", "rename those feature bands")
    grid = GridGeometry.of(features)
    positives = deposit_cells(features, deposits)
    rows, cols = sample_background(valid, (positives.rows, positives.cols), n_background, buffer_m, grid.cell_m, rng)
    table = _table(features, np.concatenate([positives.rows, rows]), np.concatenate([positives.cols, cols]))
    table.insert(4, "label", np.r_[np.ones(positives.rows.size, int), np.zeros(rows.size, int)])
    table.attrs = {"deposits": positives.report(), "background_requested": int(n_background),
                   "background_drawn": int(rows.size), "buffer_m": float(buffer_m), "cell_m": grid.cell_m,
                   "origin_xy": [grid.xmin, grid.ymax]}
    return table


def spatial_blocks(x: np.ndarray, y: np.ndarray, block_size_m: float, origin_xy: tuple[float, float]) -> np.ndarray:
    """Square block of each point, on a block grid anchored at the grid's upper-left corner.

    Parameters
    ----------
    x, y : ndarray (n,)
        Point coordinates (m).
    block_size_m : float
        Block side.
    origin_xy : (xmin, ymax)
        Upper-left corner of the feature grid (``table.attrs["origin_xy"]``).

    Returns
    -------
    ndarray of int (n,)
        Block id, numbered 0.. in raster order of the blocks that hold points.
    """
    block_col = np.floor((np.asarray(x) - origin_xy[0]) / block_size_m).astype(np.int64)
    block_row = np.floor((origin_xy[1] - np.asarray(y)) / block_size_m).astype(np.int64)
    _, ids = np.unique(np.column_stack([block_row, block_col]), axis=0, return_inverse=True)
    return ids.ravel()


@dataclass(frozen=True)
class BlockSizing:
    """The block size chosen for spatial CV and how it was found.

    Attributes
    ----------
    block_size_m : float
        Block side used.
    range_m : float
        Lag at which the variogram of the leading principal component first reaches
        ``sill_fraction`` of its sill (the sample variance); the largest lag if it never does.
    range_reached : bool
        Whether the variogram reached the threshold within the largest lag.
    limited_by : str
        ``"autocorrelation range"``, ``"blocks holding deposits"`` (shrunk so that enough blocks
        hold deposits) or ``"cell size"`` (raised to one cell).
    blocks_with_deposits : int
        Blocks holding deposit cells at ``block_size_m``.
    lags_m, semivariance : list of float
        The empirical variogram (bin centres, semivariance of the standardised component).
    sill : float
    sill_fraction : float
    """

    block_size_m: float
    range_m: float
    range_reached: bool
    limited_by: str
    blocks_with_deposits: int
    lags_m: list[float]
    semivariance: list[float]
    sill: float
    sill_fraction: float

    def to_dict(self) -> dict:
        return asdict(self)


def block_size_from_data(features: xr.DataArray, table: pd.DataFrame, n_folds: int, rng: np.random.Generator,
                         valid: np.ndarray | None = None, n_sample: int = 2000, n_lags: int = 25,
                         sill_fraction: float = 0.95, shrink: float = 0.8, blocks_per_fold: int = 2) -> BlockSizing:
    """Size CV blocks from the range of spatial autocorrelation of the features.

    Rule: draw ``n_sample`` valid cells, standardise the features there and project them on their
    leading principal component; compute its empirical semivariogram (``n_lags`` equal bins up to
    half the largest distance between sampled cells); the range is the first lag where the
    semivariance reaches ``sill_fraction`` of the sill, taken as the sample variance (linearly
    interpolated between bin centres, from the origin within the first bin); the largest lag if it
    never does. Blocks that size hold cells that are nearly independent of their
    neighbours in other blocks. The size is then bounded below by one cell and shrunk by factors of
    ``shrink`` until at least ``blocks_per_fold * n_folds`` blocks hold deposit cells (or blocks are
    one cell), so that the folds can share the deposits evenly; at least ``n_folds`` such blocks
    always exist.

    Parameters
    ----------
    features : DataArray (band, y, x)
    table : DataFrame
        :func:`training_table` output (``x``, ``y``, ``label``).
    n_folds : int

    Raises
    ------
    InputError
        Fewer deposit cells than folds.
    """
    grid = GridGeometry.of(features)
    positives = table.loc[table["label"] == 1, ["x", "y"]].to_numpy()
    _check_enough_positives(len(positives), n_folds)
    sample = sample_cells(features, n_sample, rng, valid)
    values = sample.drop(columns=["x", "y", "row", "col"]).to_numpy(float)
    spread = values.std(axis=0)
    standard = (values - values.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    _, _, components = np.linalg.svd(standard, full_matrices=False)
    score = standard @ components[0]
    xy = sample[["x", "y"]].to_numpy()
    distance, half_sq_diff = pdist(xy), 0.5 * pdist(score[:, None], "sqeuclidean")
    edges = np.linspace(0.0, distance.max() / 2, n_lags + 1)
    which = np.digitize(distance, edges) - 1
    keep = which < n_lags
    counts = np.bincount(which[keep], minlength=n_lags)
    gamma = np.bincount(which[keep], weights=half_sq_diff[keep], minlength=n_lags) / np.maximum(counts, 1)
    lags = 0.5 * (edges[1:] + edges[:-1])
    lags, gamma = lags[counts > 0], gamma[counts > 0]
    sill = float(score.var(ddof=1))
    above = np.flatnonzero(gamma >= sill_fraction * sill)
    if above.size:
        i = above[0]
        target = sill_fraction * sill
        range_m = float(lags[0] * target / gamma[0]) if i == 0 else float(
            np.interp(target, [gamma[i - 1], gamma[i]], [lags[i - 1], lags[i]]))
    else:
        range_m = float(lags[-1])
    size, limited_by = range_m, "autocorrelation range"
    if size < grid.cell_m:
        size, limited_by = grid.cell_m, "cell size"
    origin = (grid.xmin, grid.ymax)
    n_blocks = np.unique(spatial_blocks(positives[:, 0], positives[:, 1], size, origin)).size
    while n_blocks < blocks_per_fold * n_folds and size > grid.cell_m:
        size, limited_by = max(size * shrink, grid.cell_m), "blocks holding deposits"
        n_blocks = np.unique(spatial_blocks(positives[:, 0], positives[:, 1], size, origin)).size
    if n_blocks < n_folds:  # only when deposit rows repeat a cell: one-cell blocks separate distinct cells
        _check_enough_positives(n_blocks, n_folds)
    return BlockSizing(float(size), range_m, bool(above.size), limited_by, int(n_blocks), lags.tolist(), gamma.tolist(),
                       sill, float(sill_fraction))


def assign_folds(blocks: np.ndarray, labels: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Give each block to one fold, balancing the positives across folds.

    Blocks with positives are placed first, most positives first (ties in random order), each into
    the fold with the fewest positives so far (then the fewest samples); blocks without positives
    then go to the fold with the fewest samples. Every fold holds positives.

    Parameters
    ----------
    blocks : ndarray of int (n,)
        Block id per sample (:func:`spatial_blocks`).
    labels : ndarray of int (n,)
        1 deposit, 0 unlabelled.
    n_folds : int

    Returns
    -------
    ndarray of int (n,)
        Fold 0..n_folds-1 per sample.

    Raises
    ------
    InputError
        Fewer than 2 folds, fewer positives than folds, or fewer blocks holding positives than folds.
    """
    blocks, labels = np.asarray(blocks), np.asarray(labels)
    if n_folds < 2:
        raise InputError("prospectivity.n_folds", f"{n_folds} folds cannot cross-validate", "use at least 2 folds")
    _check_enough_positives(int((labels == 1).sum()), n_folds)
    ids, inverse = np.unique(blocks, return_inverse=True)
    positives = np.bincount(inverse, weights=labels == 1, minlength=ids.size)
    sizes = np.bincount(inverse, minlength=ids.size)
    if (positives > 0).sum() < n_folds:
        raise InputError("prospectivity.n_folds",
                         f"only {(positives > 0).sum()} spatial blocks hold deposits, fewer than the {n_folds} folds",
                         "reduce n_folds or the block size")
    shuffled = rng.permutation(ids.size)
    order = shuffled[np.lexsort((-sizes[shuffled], -positives[shuffled]))]  # most positives, then largest, first
    fold_positives, fold_sizes = np.zeros(n_folds), np.zeros(n_folds)
    fold_of_block = np.empty(ids.size, int)
    for block in order:
        key = fold_positives if positives[block] > 0 else fold_sizes
        candidates = np.flatnonzero(key == key.min())
        fold = candidates[np.argmin(fold_sizes[candidates])]
        fold_of_block[block] = fold
        fold_positives[fold] += positives[block]
        fold_sizes[fold] += sizes[block]
    return fold_of_block[inverse.ravel()]


def _check_enough_positives(n_positive: int, n_folds: int) -> None:
    if n_positive < n_folds:
        raise InputError("deposits", f"{n_positive} cells hold deposits, fewer than the {n_folds} cross-validation folds",
                         f"reduce n_folds (prospectivity.n_folds) to at most {n_positive} or add known deposits"
                         if n_positive >= 2 else "add known deposits: cross-validation needs at least 2 deposit cells")


def _draw_cells(mask: np.ndarray, n: int, rng: np.random.Generator) -> Cells:
    """``n`` distinct True cells of ``mask`` drawn uniformly (all of them if fewer), without listing them all."""
    per_row = mask.sum(axis=1)
    ends = np.cumsum(per_row)
    total = int(ends[-1])
    ranks = np.arange(total) if n >= total else np.sort(rng.choice(total, size=n, replace=False))
    rows = np.searchsorted(ends, ranks, side="right")
    offsets = ranks - (ends[rows] - per_row[rows])
    cols = np.empty_like(rows)
    for r in np.unique(rows):
        here = rows == r
        cols[here] = np.flatnonzero(mask[r])[offsets[here]]
    return rows.astype(int), cols.astype(int)


def _values_at(features: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Feature values at cells, shape (n, band); reads only those cells of a dask cube."""
    picked = features.isel(y=xr.DataArray(np.asarray(rows, int), dims="sample"),
                           x=xr.DataArray(np.asarray(cols, int), dims="sample"))
    return np.asarray(picked.transpose("sample", "band").values, dtype=float)


def _table(features: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> pd.DataFrame:
    grid = GridGeometry.of(features)
    x, y = grid.centres(rows, cols)
    values = _values_at(features, rows, cols)
    table = pd.DataFrame({"x": x, "y": y, "row": rows, "col": cols})
    names = [str(b) for b in features["band"].values]
    return pd.concat([table, pd.DataFrame(values, columns=names)], axis=1)
