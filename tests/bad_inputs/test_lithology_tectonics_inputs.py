"""Malformed inputs of the lithology and tectonics flows: settings, age grids, kinematics tables, bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoprospect.catalog import LithologySpec
from geoprospect.errors import InputError
from geoprospect.io.catalog import read_catalog
from geoprospect.io.plates import read_age_grid, read_kinematics, read_rotation_model
from geoprospect.pipelines.lithology import label_layer, scene_band_names
from tests.bad_inputs.support import GRID_YAML, raises_input_error, text_file


def test_catalog_with_an_even_chip_size(tmp_path):
    path = text_file(tmp_path, "area.yaml", "study_area: area\n" + GRID_YAML + "lithology: {chip_sizes: [4]}\n")
    raises_input_error(read_catalog, path, r"lithology.chip_sizes.*must be odd")


def test_catalog_with_a_time_range_that_ends_before_it_starts(tmp_path):
    path = text_file(tmp_path, "area.yaml", "study_area: area\n" + GRID_YAML + "tectonics: {start_ma: 50, stop_ma: 20}\n")
    raises_input_error(read_catalog, path, "stop_ma must be greater than start_ma")


def test_age_grid_without_longitude_latitude(tmp_path):
    path = tmp_path / "agegrid_0.nc"
    xr.Dataset({"age": (("row", "col"), np.ones((3, 4)))}).to_netcdf(path, engine="scipy")
    raises_input_error(read_age_grid, path, "no longitude/latitude coordinates")


def test_truncated_age_grid(tmp_path):
    good = tmp_path / "good.nc"
    xr.Dataset({"age": (("lat", "lon"), np.ones((30, 40)))}, coords={"lat": np.arange(30.0), "lon": np.arange(40.0)}).to_netcdf(good, engine="scipy")
    path = tmp_path / "agegrid_10.nc"
    path.write_bytes(good.read_bytes()[:200])
    raises_input_error(read_age_grid, path, "could not read this NetCDF age grid")


def test_kinematics_table_missing_columns(tmp_path):
    path = tmp_path / "kinematics.parquet"
    pd.DataFrame({"time_ma": [0.0], "lon": [1.0], "lat": [2.0]}).to_parquet(path)
    raises_input_error(read_kinematics, path, "missing")


CUBE = xr.DataArray(np.zeros((3, 2, 2), "float32"), dims=("band", "y", "x"),
                    coords={"band": ["landsat8_B2", "landsat8_B3", "geology"]}, attrs={"classes": {"geology": {1: "granite"}}})


def test_lithology_band_unknown_to_the_sensor():
    with pytest.raises(InputError, match=r"lithology.bands.landsat8: unknown band 'B99' for sensor landsat8"):
        scene_band_names(CUBE, "landsat8", "landsat8", ["B2", "B99"])


def test_lithology_band_not_ingested():
    with pytest.raises(InputError, match=r"band\(s\) \['landsat8_B4'\] of scene 'landsat8' are not in the feature cube"):
        scene_band_names(CUBE, "landsat8", "landsat8", ["B2", "B4"])


def test_lithology_label_layer_absent():
    with pytest.raises(InputError, match=r"lithology.labels: no layer 'units' in the feature cube"):
        label_layer(CUBE, LithologySpec(labels="units"))


def test_rotation_cycle_in_a_rot_file(tmp_path):
    """701 on 201 and 201 on 701 over the same times: the pole pygplates uses depends on its path."""
    lines = ["201 0.0 0.0 0.0 0.0 701 !", "201 50.0 10.0 20.0 5.0 701 !",
             "701 0.0 0.0 0.0 0.0 201 !", "701 40.0 10.0 20.0 3.0 201 !",
             "999 0.0 0.0 0.0 0.0 999 ! comment line"]
    path = text_file(tmp_path, "cycle.rot", "\n".join(lines) + "\n")
    raises_input_error(read_rotation_model, path, r"cycle\.rot: rotation cycle 201 -> 701 -> 201 around \d+ Ma \(lines 1, 3\)")
    # a crossover (201 on 701 until 50 Ma, 701 on 201 before) is no cycle
    crossover = ["201 0.0 0.0 0.0 0.0 701 !", "201 50.0 10.0 20.0 5.0 701 !",
                 "701 50.0 10.0 20.0 -5.0 201 !", "701 80.0 10.0 20.0 -8.0 201 !"]
    read_rotation_model(text_file(tmp_path, "crossover.rot", "\n".join(crossover) + "\n"))


def _plates(deposits, **columns):
    from geoprospect.catalog import PlateModelSource

    return PlateModelSource(rotations=["model.rot"], topologies=["model.gpml"], deposits=deposits, deposit_columns=columns)


def test_deposit_columns_are_mapped_in_the_catalog_and_checked_before_the_kinematics(tmp_path):
    """A table with its own column names: the catalog maps them; a wrong name is refused up front,
    naming the catalog key and the table's columns; no id column numbers the rows."""
    from geoprospect.pipelines.tectonics import check_deposits, read_deposits

    path = text_file(tmp_path, "dated.csv", "longitude,latitude,age_ma,continent\n-70,-20,12,SA\n-110,30,60,NA\n")
    with pytest.raises(InputError, match=r"plate_model\.deposits.*dated\.csv has no column lon: 'LongitudeDecimal'.*"
                                         r"'longitude', 'latitude'.*deposit_columns"):
        check_deposits(_plates(path))
    points, _ = read_deposits(_plates(path, lon="longitude", lat="latitude", age="age_ma", region="continent"))
    assert points["deposit_id"].tolist() == [1, 2] and points["region_label"].tolist() == ["SA", "NA"]
    assert points["age_ma"].tolist() == [12.0, 60.0]
    with pytest.raises(InputError, match=r"has no column region: 'plate'"):
        check_deposits(_plates(path, lon="longitude", lat="latitude", age="age_ma", region="plate"))


def test_region_box_in_the_wrong_order(tmp_path):
    text_file(tmp_path, "model.rot", "201 0.0 0.0 0.0 0.0 000 !\n")
    text_file(tmp_path, "model.gpml", "<x/>\n")
    path = text_file(tmp_path, "area.yaml", "study_area: area\nplate_model: {rotations: [model.rot], topologies: [model.gpml], "
                     "region_box: [-60, -10, -80, 10]}\n")
    raises_input_error(read_catalog, path, r"region_box is \[lon_min, lat_min, lon_max, lat_max\]")


def test_raster_series_folder_with_no_grid_matching_the_pattern(tmp_path):
    from geoprospect.io.plates import raster_series_times

    (tmp_path / "crust_0.nc").write_text("")
    raises_input_error(raster_series_times, tmp_path, r"no file matches the pattern 'crust_\{time\}Ma.nc'", "crust_{time}Ma.nc")


def test_raster_series_netcdf_without_its_time_dimension(tmp_path):
    from geoprospect.io.plates import raster_series_times

    path = tmp_path / "crust.nc"
    xr.Dataset({"z": (("age", "lat", "lon"), np.ones((2, 3, 4)))},
               coords={"age": [0.0, 10.0], "lat": np.arange(3.0), "lon": np.arange(4.0)}).to_netcdf(path, engine="scipy")
    raises_input_error(raster_series_times, path, r"no 'time' coordinate \(found \['age', 'lat', 'lon'\]\)")
