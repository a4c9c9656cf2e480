"""Rasters through time (crustal thickness...) as extra features: read from a NetCDF with a time dimension or
a folder of per-age grids, sampled at each trench point (moved inland) at the grid time nearest each step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from geoprospect.catalog import PlateModelSource
from geoprospect.io.plates import raster_series_times, read_raster_series_grid
from geoprospect.pipelines.tectonics import with_rasters
from geoprospect.tectonics.samples import feature_columns

LON, LAT = np.arange(-80.0, -59.0), np.arange(-10.0, 11.0)


def thickness(time_ma: float) -> np.ndarray:
    """30 km + the time (Ma) + 1 km per degree east of 80 W: each value says where and when it was read."""
    return 30.0 + time_ma + (LON[None, :] + 80.0) + 0.0 * LAT[:, None]


def series_file(path, times=(0.0, 10.0, 20.0)):
    data = np.stack([thickness(t) for t in times])
    xr.Dataset({"thickness_km": (("time", "lat", "lon"), data)},
               coords={"time": list(times), "lat": LAT, "lon": LON}).to_netcdf(path, engine="scipy")
    return path


def plates_with(tmp_path, **series) -> PlateModelSource:
    return PlateModelSource(rotations=[tmp_path / "m.rot"], topologies=[tmp_path / "m.gpml"], rasters={"crust_km": series})


def kinematics() -> pd.DataFrame:
    return pd.DataFrame({"time_ma": [0.0, 2.0, 10.0, 30.0], "lon": -75.0, "lat": 0.0, "trench_normal_azimuth_deg": 90.0})


def test_a_netcdf_series_is_read_at_the_nearest_time_and_sampled_inland_of_the_trench(tmp_path):
    path = series_file(tmp_path / "crust.nc")
    assert raster_series_times(path) == {0.0: (path, 0.0), 10.0: (path, 10.0), 20.0: (path, 20.0)}
    grid = read_raster_series_grid(path, 10.0)
    assert grid.dims == ("lat", "lon") and float(grid.sel(lon=-75.0, lat=0.0)) == 45.0

    table, notes = with_rasters(kinematics(), plates_with(tmp_path, path=path, inland_km=111.2, max_time_gap_myr=5))
    # 1 degree (111.2 km) east of the trench: 80 W + 6; steps 0 and 2 Ma read the 0 Ma grid; 30 Ma has none within 5 Myr
    np.testing.assert_array_equal(table["raster_crust_km"].to_numpy(), [36.0, 36.0, 46.0, np.nan])
    assert feature_columns(table.assign(convergence_rate_cm_yr=1.0)) == ["convergence_rate_cm_yr", "raster_crust_km"]
    assert any("no grid within 5 Myr of 1 time step(s) (30 Ma)" in n for n in notes)


def test_a_folder_of_grids_by_age(tmp_path):
    folder = tmp_path / "crust"
    folder.mkdir()
    for t in (0, 10):
        xr.Dataset({"z": (("lat", "lon"), thickness(t))}, coords={"lat": LAT, "lon": LON}).to_netcdf(folder / f"crust_{t}Ma.nc", engine="scipy")
    (folder / "README.txt").write_text("not a grid")
    assert sorted(raster_series_times(folder, "crust_{time}Ma.nc")) == [0.0, 10.0]
    table, notes = with_rasters(kinematics().iloc[:3], plates_with(tmp_path, path=folder, pattern="crust_{time}Ma.nc"))
    np.testing.assert_array_equal(table["raster_crust_km"].to_numpy(), [35.0, 35.0, 45.0])
    assert notes == []


def test_a_raster_with_no_value_on_the_margin_is_left_out_and_said(tmp_path):
    path = series_file(tmp_path / "crust.nc")
    far = kinematics().assign(lon=100.0)
    table, notes = with_rasters(far, plates_with(tmp_path, path=path, max_time_gap_myr=50))
    assert "raster_crust_km" not in table.columns and any("no value at any trench point" in n for n in notes)


def test_no_raster_series_leaves_the_table_as_it_is(tmp_path):
    table, notes = with_rasters(kinematics(), PlateModelSource(rotations=[tmp_path / "m.rot"], topologies=[tmp_path / "m.gpml"]))
    assert list(table.columns) == list(kinematics().columns) and notes == []


def test_a_catalog_pattern_needs_a_time_field(tmp_path):
    with pytest.raises(ValueError, match=r"pattern must contain \{time\}"):
        plates_with(tmp_path, path=tmp_path, pattern="crust.nc")
