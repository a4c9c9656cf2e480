"""Lithology's cache key follows what it reads: the scene's bands and the label layer, not the whole cube."""

from __future__ import annotations

import numpy as np
import xarray as xr

from geoprospect.catalog import LithologySpec
from geoprospect.io.cube import save_cube
from geoprospect.pipelines.lithology import scene_digest


def _cube(tmp_path, name, dem=0.0, red=0.1, unit=1.0):
    values = np.stack([np.full((4, 5), v, "float32") for v in (dem, red, 0.2, unit)])
    cube = xr.DataArray(values, dims=("band", "y", "x"),
                        coords={"band": ["dem", "landsat8_B4", "landsat8_B5", "geology"], "y": np.arange(4.0)[::-1] * 30,
                                "x": np.arange(5.0) * 30, "kind": ("band", ["continuous"] * 3 + ["categorical"])},
                        attrs={"classes": {"geology": {1: "granite"}}}).rio.write_crs("EPSG:32612")
    return save_cube(cube, tmp_path / f"{name}.zarr")


def test_scene_digest_ignores_other_layers_and_follows_bands_and_labels(tmp_path):
    spec = LithologySpec(labels="geology", bands={"landsat8": ["B4", "B5"]})
    key = scene_digest(_cube(tmp_path, "a"), "landsat8", "landsat8", spec)
    assert scene_digest(_cube(tmp_path, "dem", dem=5.0), "landsat8", "landsat8", spec) == key  # an edited DEM: cache hit
    assert scene_digest(_cube(tmp_path, "red", red=0.3), "landsat8", "landsat8", spec) != key
    assert scene_digest(_cube(tmp_path, "unit", unit=2.0), "landsat8", "landsat8", spec) != key
    assert scene_digest(_cube(tmp_path, "a2"), "landsat8", "landsat8", LithologySpec(labels="geology",
                                                                                     bands={"landsat8": ["B4"]})) != key
