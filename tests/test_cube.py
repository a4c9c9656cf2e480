"""The feature cube: aligned GeoTIFFs -> Zarr -> back, with names, units, kinds, classes and CRS."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.io.cube import open_cube, write_cube
from geoprospect.io.rasters import write_geotiff

GRID = TargetGrid("EPSG:32612", 500_000.0, 3_600_600.0, 30.0, 7, 5)


@pytest.fixture
def layers(tmp_path):
    rng = np.random.default_rng(3)
    geophysics = rng.normal(size=(2, *GRID.shape)).astype("float32")
    geophysics[1, 0, 0] = np.nan
    geology = rng.integers(1, 4, GRID.shape).astype("float32")
    first = write_geotiff(geophysics, tmp_path / "geophysics.tif", GRID.crs, GRID.transform, ["magnetics", "gravity"], ["nT", "mGal"])
    second = write_geotiff(geology, tmp_path / "geology.tif", GRID.crs, GRID.transform, ["geology"], ["class"])
    return [first, second], np.concatenate([geophysics, geology[None]])


def test_cube_round_trip(layers, tmp_path):
    paths, values = layers
    out = write_cube(paths, tmp_path / "cube.zarr", kinds={"geology": "categorical"},
                     classes={"geology": {1: "granite", 2: "shale", 3: "andesite"}}, chunk=4)
    assert out == tmp_path / "cube.zarr" and (out / ".zmetadata").is_file()
    cube = open_cube(out)
    assert cube.dims == ("band", "y", "x") and cube.shape == (3, *GRID.shape) and cube.dtype == np.float32
    assert list(cube.band.values) == ["magnetics", "gravity", "geology"]
    assert list(cube.units.values) == ["nT", "mGal", "class"]
    assert list(cube.kind.values) == ["continuous", "continuous", "categorical"]
    assert cube.attrs["classes"] == {"geology": {1: "granite", 2: "shale", 3: "andesite"}}
    assert cube.rio.crs.to_epsg() == 32612
    assert tuple(cube.rio.transform()) == pytest.approx(tuple(GRID.transform))
    np.testing.assert_allclose(cube.x, GRID.x)
    np.testing.assert_allclose(cube.y, GRID.y)
    np.testing.assert_array_equal(cube.values, values)  # NaN where NaN, exact elsewhere
    assert cube.chunks is not None  # data stay lazy; the per-band coordinates are loaded
    assert isinstance(cube.kind.data, np.ndarray) and cube.sel(band="geology").kind.item() == "categorical"
    assert list(cube.band[cube.kind == "continuous"].values) == ["magnetics", "gravity"]
    # readable as a plain xarray store too, with the grid mapping decoded
    ds = xr.open_zarr(out, decode_coords="all")
    assert "spatial_ref" in ds.coords and ds["cube"].chunks[0] == (1, 1, 1)


def test_a_layer_on_another_grid_is_refused(layers, tmp_path):
    paths, _ = layers
    shifted = TargetGrid(GRID.crs, GRID.xmin + 30.0, GRID.ymax, 30.0, GRID.width, GRID.height)
    other = write_geotiff(np.ones(GRID.shape, dtype="float32"), tmp_path / "dem.tif", shifted.crs, shifted.transform, ["dem"], ["m"])
    with pytest.raises(InputError, match="is not on the cube's grid") as info:
        write_cube([paths[0], other], tmp_path / "cube.zarr")
    assert info.value.source == str(other)
    bigger = TargetGrid(GRID.crs, GRID.xmin, GRID.ymax, 30.0, GRID.width + 1, GRID.height)
    wide = write_geotiff(np.ones(bigger.shape, dtype="float32"), tmp_path / "wide.tif", bigger.crs, bigger.transform, ["w"], [""])
    with pytest.raises(InputError, match="is not on the cube's grid"):
        write_cube([paths[0], wide], tmp_path / "cube.zarr")
    assert not (tmp_path / "cube.zarr").exists()


def test_open_cube_on_something_else(tmp_path):
    with pytest.raises(InputError, match="not a geoprospect feature cube") as info:
        open_cube(tmp_path / "missing.zarr")
    assert info.value.source.endswith("missing.zarr")
    xr.Dataset({"other": ("x", np.arange(3.0))}).to_zarr(tmp_path / "other.zarr", zarr_format=2, consolidated=True)
    with pytest.raises(InputError, match="not a geoprospect feature cube"):
        open_cube(tmp_path / "other.zarr")


def test_the_study_area_mask_blanks_every_band_outside_it(layers, tmp_path):
    paths, values = layers
    inside = np.zeros(GRID.shape, bool)
    inside[1:4, 2:6] = True
    mask = write_geotiff(np.where(inside, 1.0, np.nan).astype("float32")[None], tmp_path / "study_area.tif", GRID.crs,
                         GRID.transform, ["study_area"], ["mask"])
    cube = open_cube(write_cube(paths, tmp_path / "cube.zarr", mask=mask, chunk=4)).values
    assert np.isnan(cube[:, ~inside]).all()
    np.testing.assert_array_equal(cube[:, inside], values[:, inside])
    small = TargetGrid(GRID.crs, GRID.xmin, GRID.ymax, 30.0, GRID.width - 1, GRID.height)
    other = write_geotiff(np.ones((1, *small.shape), "float32"), tmp_path / "other.tif", small.crs, small.transform, ["m"], [""])
    with pytest.raises(InputError, match="is not on the cube's grid"):
        write_cube(paths, tmp_path / "cube2.zarr", mask=other)
