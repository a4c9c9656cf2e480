"""Point surveys gridded onto the target grid: each method against a known field, the distance mask,
and the study-area mask rasterized from a polygon."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import Polygon

from geoprospect.catalog import SurveyGridding
from geoprospect.features.gridding import distance_to_samples, grid_survey, interpolate, sample_spacing_m
from geoprospect.grid import TargetGrid
from geoprospect.pipelines.ingest import ingest_mask

CRS = "EPSG:3067"
GRID = TargetGrid(CRS, 400_000.0, 7_500_000.0, 250.0, 40, 40)  # 10 km square, national-grid coordinates


def _field(x, y):
    """A smooth field with a 10 km wavelength."""
    return np.sin((x - 400_000) / 1600) + np.cos((y - 7_490_000) / 2000)


def _samples(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(400_000, 410_000, n), rng.uniform(7_490_000, 7_500_000, n)
    return x, y, _field(x, y)


@pytest.mark.parametrize("method, tolerance", [("nearest", 0.35), ("idw", 0.3), ("spline", 0.12), ("kriging", 0.12)])
def test_each_method_recovers_a_smooth_field(method, tolerance):
    x, y, v = _samples()
    gx, gy = np.meshgrid(GRID.x[5:-5], GRID.y[5:-5])  # away from the edges, where every method extrapolates
    estimate = interpolate(x, y, v, gx.ravel(), gy.ravel(), method)
    error = np.sqrt(np.mean((estimate - _field(gx.ravel(), gy.ravel())) ** 2))
    assert error < tolerance, (method, error)


def test_nearest_and_idw_honour_the_samples():
    x, y, v = _samples(50)
    for method in ("nearest", "idw"):
        np.testing.assert_allclose(interpolate(x, y, v, x, y, method), v, atol=1e-6)


def test_duplicate_samples_are_averaged_not_singular():
    x, y, v = _samples(60)
    x, y, v = np.r_[x, x[:5]], np.r_[y, y[:5]], np.r_[v, v[:5] + 1.0]
    for method in ("spline", "kriging"):
        assert np.isfinite(interpolate(x, y, v, x[:3], y[:3], method)).all()


def test_cells_far_from_every_sample_are_nodata_and_the_distance_is_a_layer():
    x, y, v = _samples()
    west = x < 405_000  # samples only in the western half
    table = pd.DataFrame({"Cu": np.exp(v[west] + 3)})
    spec = SurveyGridding(columns=["Cu"], max_distance_m=1000)
    layers, rows = grid_survey(x[west], y[west], table, GRID, spec, "till")
    cu, distance = layers["till_log10_Cu"], layers["till_distance_m"]
    assert set(layers) == {"till_log10_Cu", "till_distance_m"}
    np.testing.assert_array_equal(np.isfinite(cu), distance <= 1000)
    assert np.isnan(cu[:, -5:]).all() and 0.35 < rows[0]["valid_fraction"] < 0.6
    np.testing.assert_allclose(np.nanmax(cu), np.log10(table["Cu"]).max(), atol=0.3)  # log10 of ppm
    assert distance.max() > 4000


def test_the_default_distance_limit_follows_the_sample_spacing():
    x, y, _ = _samples(400)
    spacing = sample_spacing_m(x, y)
    assert 150 < spacing < 500
    layers, rows = grid_survey(x, y, pd.DataFrame({"c": np.ones(400)}), GRID, SurveyGridding(columns=["c"], transform="none"), "s")
    assert rows[0]["max_distance_m"] == pytest.approx(3 * spacing, rel=1e-3)
    assert distance_to_samples(x, y, GRID).shape == GRID.shape


def test_study_area_mask_is_nan_outside_the_polygon(tmp_path):
    triangle = Polygon([(400_000, 7_490_000), (410_000, 7_490_000), (400_000, 7_500_000)])
    path = tmp_path / "area.gpkg"
    gpd.GeoDataFrame(geometry=[triangle], crs=CRS).to_file(path)
    summary = ingest_mask(path, GRID, tmp_path / "mask.tif")
    assert summary["inside_fraction"] == pytest.approx(0.5, abs=0.03)
    with rasterio.open(tmp_path / "mask.tif") as src:
        mask = src.read(1)
    assert np.isfinite(mask[-1, 0]) and np.isnan(mask[0, -1])
