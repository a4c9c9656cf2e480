"""Training samples, background buffer, spatial blocks sized from the data, folds."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import distance_transform_edt, gaussian_filter
from shapely.geometry import Point

from geoprospect.errors import InputError
from geoprospect.labels import (
    GridGeometry,
    assign_folds,
    block_size_from_data,
    deposit_cells,
    near_deposits,
    sample_background,
    sample_cells,
    spatial_blocks,
    training_table,
    valid_mask,
)

CELL_M = 50.0
X0, Y0 = 500_000.0, 4_000_000.0


def _cube(values: np.ndarray) -> xr.DataArray:
    bands, height, width = values.shape
    return xr.DataArray(values.astype("float32"), dims=("band", "y", "x"),
                        coords={"band": [f"f{i}" for i in range(bands)], "x": X0 + (np.arange(width) + 0.5) * CELL_M,
                                "y": Y0 - (np.arange(height) + 0.5) * CELL_M})


def _field(sigma_cells: float, seed: int = 0, shape=(96, 96), bands: int = 3) -> xr.DataArray:
    """Gaussian random fields whose correlation length grows with ``sigma_cells``."""
    rng = np.random.default_rng(seed)
    return _cube(np.stack([gaussian_filter(rng.standard_normal(shape), sigma_cells, mode="wrap") for _ in range(bands)]))


def _points(rows, cols, crs=None) -> gpd.GeoDataFrame:
    x = X0 + (np.asarray(cols) + 0.5) * CELL_M
    y = Y0 - (np.asarray(rows) + 0.5) * CELL_M
    return gpd.GeoDataFrame(geometry=[Point(a, b) for a, b in zip(x, y)], crs=crs)


def _scattered_table(features: xr.DataArray, n_deposits: int = 40, seed: int = 1):
    rng = np.random.default_rng(seed)
    h, w = features.sizes["y"], features.sizes["x"]
    cells = rng.choice(h * w, n_deposits, replace=False)
    return training_table(features, _points(cells // w, cells % w), 400, 100.0, rng)


def test_block_range_grows_with_correlation_length():
    ranges = []
    for sigma in (1.5, 4.0, 9.0):
        features = _field(sigma)
        sizing = block_size_from_data(features, _scattered_table(features), n_folds=5, rng=np.random.default_rng(2))
        assert sizing.range_reached
        assert sizing.block_size_m <= sizing.range_m or sizing.limited_by == "cell size"
        assert sizing.blocks_with_deposits >= 5
        ranges.append(sizing.range_m)
    assert ranges[0] < ranges[1] < ranges[2], ranges
    # white noise smoothed by a Gaussian of sd s has covariance exp(-h^2 / 4 s^2): 95 % of the sill at
    # h = 2 s sqrt(ln 20); the estimates are within a factor of 2 of it
    for sigma, estimate in zip((1.5, 4.0, 9.0), ranges):
        theory_m = 2 * sigma * CELL_M * np.sqrt(np.log(20))
        assert theory_m / 2 < estimate < 2 * theory_m, (sigma, estimate, theory_m)


def test_block_size_shrinks_until_enough_blocks_hold_deposits():
    features = _field(9.0)
    rows, cols = np.meshgrid(np.arange(40, 46), np.arange(40, 46), indexing="ij")  # one tight cluster
    table = training_table(features, _points(rows.ravel(), cols.ravel()), 300, 0.0, np.random.default_rng(0))
    sizing = block_size_from_data(features, table, n_folds=4, rng=np.random.default_rng(0))
    assert sizing.limited_by == "blocks holding deposits"
    assert sizing.block_size_m < sizing.range_m
    blocks = spatial_blocks(table.x[table.label == 1], table.y[table.label == 1], sizing.block_size_m, table.attrs["origin_xy"])
    assert np.unique(blocks).size == sizing.blocks_with_deposits >= 8


def test_deposit_cells_drops_and_counts():
    values = np.ones((2, 10, 12))
    values[1, 3, 4] = np.nan  # one feature missing at (3, 4)
    features = _cube(values)
    deposits = _points([1, 1, 3, 8, 20], [2, 2, 4, 11, 0])  # a shared cell, a nodata cell, one outside
    cells = deposit_cells(features, deposits)
    assert sorted(zip(cells.rows.tolist(), cells.cols.tolist())) == [(1, 2), (8, 11)]
    assert cells.report() == {"deposits": 5, "positive_cells": 2, "outside_grid": 1, "on_nodata": 1, "sharing_a_cell": 1}


def test_deposit_on_cell_edge_goes_to_the_cell_it_starts():
    features = _cube(np.ones((1, 4, 4)))
    deposits = gpd.GeoDataFrame(geometry=[Point(X0 + 2 * CELL_M, Y0 - 1 * CELL_M)])
    cells = deposit_cells(features, deposits)
    assert (cells.rows.tolist(), cells.cols.tolist()) == ([1], [2])


def test_no_deposit_inside_is_an_input_error():
    features = _cube(np.ones((1, 5, 5)))
    with pytest.raises(InputError, match="deposits.*none of the 2 deposits"):
        deposit_cells(features, _points([-3, 9], [1, 1]))


def test_deposits_in_another_crs_are_an_input_error():
    features = _cube(np.ones((1, 5, 5))).rio.write_crs("EPSG:32612")
    with pytest.raises(InputError, match="deposits.*EPSG:4326"):
        deposit_cells(features, _points([1], [1], crs="EPSG:4326"))


def test_feature_all_nodata_is_an_input_error():
    values = np.ones((2, 5, 5))
    values[1] = np.nan
    with pytest.raises(InputError, match="feature f1: is nodata over the whole grid"):
        valid_mask(_cube(values))


def test_buffer_equals_euclidean_distance_transform():
    shape = (40, 50)
    rows, cols = np.array([0, 10, 25, 39]), np.array([0, 30, 12, 49])
    deposits = np.zeros(shape, bool)
    deposits[rows, cols] = True
    for buffer_m in (0.0, 120.0, 333.0):
        expected = distance_transform_edt(~deposits, sampling=CELL_M) <= buffer_m
        np.testing.assert_array_equal(near_deposits(shape, (rows, cols), buffer_m, CELL_M), expected)


def test_background_avoids_buffer_and_nodata():
    valid = np.ones((30, 30), bool)
    valid[:, :5] = False
    positives = (np.array([15]), np.array([15]))
    rows, cols = sample_background(valid, positives, 200, 260.0, CELL_M, np.random.default_rng(3))
    assert rows.size == 200 and len(set(zip(rows, cols))) == 200
    distance_m = np.hypot(rows - 15, cols - 15) * CELL_M
    assert distance_m.min() > 260.0 and valid[rows, cols].all()
    again = sample_background(valid, positives, 200, 260.0, CELL_M, np.random.default_rng(3))
    np.testing.assert_array_equal(again[1], cols)


def test_background_takes_every_cell_when_too_few():
    valid = np.zeros((10, 10), bool)
    valid[0, :6] = True
    rows, cols = sample_background(valid, (np.array([9]), np.array([9])), 50, 0.0, CELL_M, np.random.default_rng(0))
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, c) for c in range(6)]


def test_background_buffer_covering_everything_is_an_input_error():
    with pytest.raises(InputError, match="prospectivity.buffer_m"):
        sample_background(np.ones((5, 5), bool), (np.array([2]), np.array([2])), 10, 1000.0, CELL_M, np.random.default_rng(0))


def test_map_sample_is_uniform_over_valid_cells():
    values = np.random.default_rng(0).standard_normal((2, 60, 60))
    values[0, :, :20] = np.nan
    sample = sample_cells(_cube(values), 2000, np.random.default_rng(1))
    assert len(sample) == 2000 and not sample.duplicated(["row", "col"]).any()
    assert sample["col"].min() >= 20
    # uniform over columns 20..59 and rows 0..59: means near the centres
    assert abs(sample["col"].mean() - 39.5) < 1.0 and abs(sample["row"].mean() - 29.5) < 1.5


def test_training_table_rows_match_the_cube():
    features = _field(2.0, shape=(40, 40))
    deposits = _points([5, 20, 30], [5, 25, 10])
    table = training_table(features, deposits, 100, 150.0, np.random.default_rng(0))
    assert list(table.columns) == ["x", "y", "row", "col", "label", "f0", "f1", "f2"]
    assert table["label"].tolist() == [1, 1, 1] + [0] * 100
    grid = GridGeometry.of(features)
    np.testing.assert_allclose(table[["x", "y"]].to_numpy(), np.column_stack(grid.centres(table["row"], table["col"])))
    np.testing.assert_allclose(table[["f0", "f1", "f2"]].to_numpy(),
                               features.values[:, table["row"], table["col"]].T)
    assert table.attrs["background_drawn"] == 100 and table.attrs["origin_xy"] == [X0, Y0]


def test_spatial_blocks_anchor_at_grid_origin():
    origin = (X0, Y0)
    x = X0 + np.array([10.0, 990.0, 1010.0, 10.0, 2500.0])
    y = Y0 - np.array([10.0, 10.0, 10.0, 1500.0, 1500.0])
    blocks = spatial_blocks(x, y, 1000.0, origin)
    # block (row, col): (0,0), (0,0), (0,1), (1,0), (1,2)
    assert blocks.tolist() == [0, 0, 1, 2, 3]


def test_folds_keep_whole_blocks_and_balance_positives():
    rng = np.random.default_rng(5)
    blocks = rng.integers(0, 40, 2000)
    labels = (rng.random(2000) < 0.05).astype(int)
    folds = assign_folds(blocks, labels, 5, np.random.default_rng(0))
    for block in np.unique(blocks):
        assert np.unique(folds[blocks == block]).size == 1
    per_fold = np.bincount(folds, weights=labels, minlength=5)
    largest_block = np.bincount(blocks, weights=labels).max()
    assert per_fold.min() > 0 and per_fold.max() - per_fold.min() <= largest_block
    sizes = np.bincount(folds, minlength=5)
    assert sizes.max() - sizes.min() <= np.bincount(blocks).max()


def test_too_few_positives_for_the_folds():
    labels = np.r_[np.ones(3, int), np.zeros(50, int)]
    with pytest.raises(InputError, match="deposits: 3 cells hold deposits, fewer than the 5.*reduce n_folds"):
        assign_folds(np.arange(53), labels, 5, np.random.default_rng(0))


def test_too_few_blocks_with_positives_for_the_folds():
    labels = np.r_[np.ones(10, int), np.zeros(50, int)]
    blocks = np.r_[np.zeros(5, int), np.ones(5, int), np.arange(50) % 7]
    with pytest.raises(InputError, match="prospectivity.n_folds: only 2 spatial blocks hold deposits.*reduce n_folds or the block size"):
        assign_folds(blocks, labels, 3, np.random.default_rng(0))


def test_block_sizing_with_too_few_deposits_is_an_input_error():
    features = _field(3.0, shape=(30, 30))
    table = training_table(features, _points([3, 20], [3, 20]), 100, 0.0, np.random.default_rng(0))
    with pytest.raises(InputError, match="fewer than the 5 cross-validation folds.*to at most 2 or add"):
        block_size_from_data(features, table, n_folds=5, rng=np.random.default_rng(0))
