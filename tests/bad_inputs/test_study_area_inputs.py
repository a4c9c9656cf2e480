"""A study-area mask and gridded point surveys that cannot be used: one InputError each, naming the
file or catalog key and the fix; and what is dropped (non-positive values under log10) is said."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geoprospect.catalog import PointSurveySource, SurveyGridding
from geoprospect.errors import InputError
from geoprospect.features.gridding import grid_survey, interpolate
from geoprospect.grid import TargetGrid
from geoprospect.io.catalog import read_catalog
from geoprospect.pipelines.ingest import grid_point_survey, ingest_mask
from tests.bad_inputs.support import raises_input_error, text_file

CRS = "EPSG:3067"
GRID = TargetGrid(CRS, 400_000.0, 7_500_000.0, 500.0, 20, 20)  # 10 km square


def _write(gdf: gpd.GeoDataFrame, path):
    gdf.to_file(path)
    return path


def test_mask_without_a_polygon(tmp_path):
    path = _write(gpd.GeoDataFrame(geometry=[Point(402_000, 7_495_000)], crs=CRS), tmp_path / "mask.gpkg")
    raises_input_error(ingest_mask, path, "expected polygon geometries, found Point", GRID, tmp_path / "mask.tif")


def test_mask_in_the_wrong_crs(tmp_path):
    """National-grid coordinates labelled as longitude/latitude: nothing lands on the grid."""
    polygon = box(401_000, 7_491_000, 409_000, 7_499_000)
    path = _write(gpd.GeoDataFrame(geometry=[polygon], crs="EPSG:4326"), tmp_path / "mask.gpkg")
    error = raises_input_error(ingest_mask, path, "no feature lies inside the target grid", GRID, tmp_path / "mask.tif")
    assert "CRS" in error.fix


def test_mask_that_does_not_overlap_the_grid(tmp_path):
    path = _write(gpd.GeoDataFrame(geometry=[box(500_000, 7_600_000, 510_000, 7_610_000)], crs=CRS), tmp_path / "mask.gpkg")
    raises_input_error(ingest_mask, path, "no feature lies inside the target grid", GRID, tmp_path / "mask.tif")


def test_mask_sliver_holding_no_cell_centre(tmp_path):
    path = _write(gpd.GeoDataFrame(geometry=[box(400_010, 7_499_010, 400_050, 7_499_050)], crs=CRS), tmp_path / "mask.gpkg")
    raises_input_error(ingest_mask, path, "holds no cell centre", GRID, tmp_path / "mask.tif")


def _samples(tmp_path, values=None):
    rng = np.random.default_rng(0)
    n = 30
    frame = gpd.GeoDataFrame({"Cu_ppm": values if values is not None else rng.lognormal(3, 1, n)},
                             geometry=gpd.points_from_xy(rng.uniform(400_000, 410_000, n), rng.uniform(7_490_000, 7_500_000, n)),
                             crs=CRS)
    return _write(frame, tmp_path / "till.gpkg")


def test_survey_column_missing(tmp_path):
    path = _samples(tmp_path)
    source = PointSurveySource(path=path, gridding=SurveyGridding(columns=["Cu_pm"]))
    with pytest.raises(InputError, match="Cu_pm") as info:
        grid_point_survey(source, "till", GRID, tmp_path / "till.tif")
    assert info.value.source == str(path) and info.value.fix.startswith("did you mean 'Cu_ppm'? use one of Cu_ppm")


def test_log10_of_non_positive_values_drops_them_and_says_how_many(tmp_path, caplog):
    values = np.random.default_rng(1).lognormal(3, 1, 30)
    values[:4] = [0, -1, 0, 0]
    path = _samples(tmp_path, values)
    source = PointSurveySource(path=path, gridding=SurveyGridding(columns=["Cu_ppm"], max_distance_m=50_000))
    with caplog.at_level(logging.WARNING, logger="geoprospect.features.gridding"):
        stats, rows, _ = grid_point_survey(source, "till", GRID, tmp_path / "till.tif")
    assert "4 of 30 Cu_ppm values are zero or negative" in caplog.text and "left out" in caplog.text
    assert rows[0]["dropped_non_positive"] == 4 and rows[0]["samples_used"] == 26
    assert np.isfinite(stats["till_log10_Cu_ppm"]["max"])


def test_log10_of_a_column_with_no_positive_value(tmp_path):
    path = _samples(tmp_path, np.zeros(30))
    table = gpd.read_file(path)
    with pytest.raises(InputError, match="0 usable sample") as info:
        grid_survey(table.geometry.x.to_numpy(), table.geometry.y.to_numpy(), table, GRID,
                    SurveyGridding(columns=["Cu_ppm"]), "till")
    assert info.value.source == "surveys.points.till.gridding" and "transform: none" in info.value.fix


def test_unknown_gridding_method_in_the_catalog(tmp_path):
    path = text_file(tmp_path, "area.yaml", "study_area: a\ngrid: {crs: 'EPSG:3067', bounds: [400000, 7490000, 410000, 7500000], "
                     "resolution_m: 500}\nsurveys:\n  points:\n    till: {path: till.gpkg, gridding: {columns: [Cu_ppm], method: cubic}}\n")
    with pytest.raises(InputError, match="surveys.points.till.gridding.method") as info:
        read_catalog(path, check_files=False)
    assert "nearest" in str(info.value) and "kriging" in str(info.value)


def test_unknown_gridding_method_called_directly():
    with pytest.raises(InputError, match="unknown gridding method 'cubic'"):
        interpolate(np.arange(3.0), np.arange(3.0), np.arange(3.0), np.zeros(1), np.zeros(1), "cubic")


def test_a_feature_cube_of_no_layer(tmp_path):
    from geoprospect.io.cube import write_cube

    error = raises_input_error(lambda path: write_cube([], path), tmp_path / "cube.zarr", "no layer to stack into a feature cube")
    assert "rasters:" in error.fix and not (tmp_path / "cube.zarr").exists()


def test_deposits_without_a_layer_to_map_them_from(tmp_path):
    from geoprospect.catalog import Catalog

    for name in ("deposits.gpkg", "faults.gpkg"):
        (tmp_path / name).write_bytes(b"")
    catalog = Catalog.model_validate({"study_area": "lines", "grid": {"crs": "EPSG:32612", "bounds": [0, 0, 3000, 3000], "resolution_m": 30},
                                      "vectors": {"faults": {"path": tmp_path / "faults.gpkg", "geometry": "line"}},
                                      "deposits": {"path": tmp_path / "deposits.gpkg"}})
    assert "raster, scene, vector with a class_column" in catalog.missing_inputs()["prospectivity"]  # regenerate skips it
    with pytest.raises(InputError, match="catalog lines: the prospectivity pipeline cannot run: the catalog has no raster") as info:
        catalog.require("prospectivity")
    assert info.value.fix
