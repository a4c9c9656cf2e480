"""Lithology inputs that used to pass silently: mis-scaled scenes, continuous label rasters, 0 as fill."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from affine import Affine

from geoprospect.catalog import LithologySpec, SceneSource
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.io.catalog import read_catalog
from geoprospect.io.scenes import align_scene
from geoprospect.pipelines.lithology import check_fill_code, label_layer
from tests.bad_inputs.support import GRID_YAML, raises_input_error, text_file

CRS = "EPSG:32612"
X0, Y0 = 500_000.0, 3_600_120.0


def _scene(write_tif, tmp_path, values, dtype):
    write_tif(tmp_path / "scene.tif", np.stack([values, values]).astype(dtype), CRS, Affine(30, 0, X0, 0, -30, Y0), nodata=0)
    return tmp_path / "scene.tif"


def _align(path, tmp_path, **scaling):
    source = SceneSource(sensor="landsat8", path=path, bands=["B4", "B5"], **scaling)
    return align_scene(source, TargetGrid(CRS, X0, Y0, 30.0, 4, 4), tmp_path / "out.tif", "l8")


def test_reflectance_file_given_level1_scaling(tmp_path, write_tif):
    path = _scene(write_tif, tmp_path, np.full((4, 4), 0.2), "float32")
    with pytest.raises(InputError, match=r"scenes.l8: band B4 has a mean of -0.1.*already holds reflectance: "
                                         r"set scenes.l8.scale: 1 and scenes.l8.offset: 0"):
        _align(path, tmp_path)
    assert _align(path, tmp_path, scale=1, offset=0)["l8_B4"]["mean"] == pytest.approx(0.2)


def test_digital_numbers_read_as_reflectance(tmp_path, write_tif):
    path = _scene(write_tif, tmp_path, np.full((4, 4), 9000), "uint16")
    with pytest.raises(InputError, match=r"scenes.l8: band B4 has a mean of 9000.*digital numbers: set scenes.l8.scale "
                                         r"and scenes.l8.offset"):
        _align(path, tmp_path, scale=1, offset=0)
    assert _align(path, tmp_path)["l8_B4"]["mean"] == pytest.approx(0.08)


def test_continuous_label_raster_in_the_catalog(tmp_path, write_tif):
    write_tif(tmp_path / "units.tif", np.ones((4, 4), "uint8"), CRS, Affine(30, 0, X0, 0, -30, Y0))
    write_tif(tmp_path / "scene.tif", np.ones((2, 4, 4), "uint16"), CRS, Affine(30, 0, X0, 0, -30, Y0))
    path = text_file(tmp_path, "area.yaml", "study_area: area\n" + GRID_YAML + "rasters: {units: {path: units.tif}}\n"
                     "scenes: {l8: {sensor: landsat8, path: scene.tif, bands: [B4, B5]}}\nlithology: {labels: units}\n")
    raises_input_error(read_catalog, path, r"lithology.labels names the raster 'units', whose kind is continuous.*"
                                           r"Set 'kind: categorical' on rasters.units")


def test_continuous_label_layer_in_the_cube():
    cube = xr.DataArray(np.zeros((2, 2, 2), "float32"), dims=("band", "y", "x"),
                        coords={"band": ["l8_B4", "units"], "kind": ("band", ["continuous", "continuous"])})
    with pytest.raises(InputError, match=r"rasters.units.kind: the label layer 'units' was ingested as continuous.*"
                                         r"set 'kind: categorical' on rasters.units"):
        label_layer(cube, LithologySpec(labels="units"))


def test_zero_fill_without_label_nodata():
    labels = np.array([[0, 0, 1], [0, 2, 2]], float)
    with pytest.raises(InputError, match=r"lithology.label_nodata: code 0 covers 3 cells .* looks like fill.*"
                                         r"set 'label_nodata: 0'"):
        check_fill_code(labels, "units", {}, LithologySpec(labels="units"))
    check_fill_code(labels, "units", {}, LithologySpec(labels="units", label_nodata=0))
    check_fill_code(labels, "units", {0: "alluvium"}, LithologySpec(labels="units"))


def test_unknown_model_parameter():
    from geoprospect.lithology.experiment import make_model

    with pytest.raises(InputError, match=r"lithology.model_params.svm: unknown parameter\(s\) \['C'\] of TunedSVC.*"
                                         r"param_grid"):
        make_model("svm", params={"svm": {"C": 10}})


def test_fewer_blocks_than_folds():
    from geoprospect.lithology.split import block_folds

    labels = np.repeat(np.arange(1.0, 3.0), 20)[None, :].repeat(20, axis=0)
    with pytest.raises(InputError, match=r"lithology.block_size_m: only 2 blocks of 20 cells hold labels, fewer than the 5 "
                                         r"folds.*smaller blocks \(block_size_m\) or fewer folds \(n_folds\)"):
        block_folds(labels, 20, 5)
