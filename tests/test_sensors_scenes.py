"""Sensor band tables, band-file discovery and DN -> physical value scaling of scenes."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from geoprospect.catalog import SceneSource
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.io.scenes import band_pattern, align_scene, scene_bands
from geoprospect.sensors import SENSORS, get_sensor

CRS = "EPSG:32612"
X0, Y0 = 500_000.0, 3_600_120.0


def _read(path):
    with rasterio.open(path) as src:
        return src.read(masked=False), src.descriptions, [src.tags(i).get("units") for i in range(1, src.count + 1)]


# ------------------------------------------------------------------------------ band tables


def test_landsat8_band_table():
    sensor = get_sensor("Landsat8")
    assert [b.name for b in sensor.bands] == [f"B{i}" for i in range(1, 12)]
    resolution = {b.name: b.resolution_m for b in sensor.bands}
    assert resolution["B8"] == 15 and all(r == 30 for n, r in resolution.items() if n != "B8")
    b4 = sensor.band("b4")
    assert (b4.scale, b4.offset, b4.nodata, b4.quantity) == (2.0e-5, -0.1, 0, "reflectance")
    assert sensor.band("B10").quantity == "radiance_w_m2_sr_um"
    assert [b.name for b in sensor.reflective] == [f"B{i}" for i in range(1, 10)]


def test_sentinel2_and_aster_band_tables():
    s2 = SENSORS["sentinel2"]
    assert s2.band("B8A").resolution_m == 20 and s2.band("B08").resolution_m == 10 and s2.band("B01").resolution_m == 60
    assert (s2.band("B04").scale, s2.band("B04").offset) == (1e-4, -0.1)
    assert len(s2.bands) == 12 and "B10" not in {b.name for b in s2.bands}  # L2A drops the cirrus band
    aster = SENSORS["aster"]
    assert aster.band("B3N").resolution_m == 15 and aster.band("B4").resolution_m == 30 and aster.band("B13").resolution_m == 90
    assert aster.band("B13").quantity == "emissivity"
    assert len(aster.reflective) == 9
    l2 = SENSORS["landsat8_l2"]
    assert (l2.band("B10").scale, l2.band("B10").offset, l2.band("B10").quantity) == (0.00341802, 149.0, "temperature_k")


def test_unknown_band_and_sensor_list_the_valid_names():
    with pytest.raises(InputError, match="unknown band 'B13' for sensor landsat8") as info:
        SENSORS["landsat8"].band("B13", "scenes.l8")
    assert info.value.source == "scenes.l8" and "B1, B2" in info.value.fix and "B11" in info.value.fix
    with pytest.raises(InputError, match="unknown sensor 'spot5'") as info:
        get_sensor("spot5")
    assert "sentinel2" in info.value.fix and "generic" in info.value.fix


# ------------------------------------------------------------------------------ band file names


@pytest.mark.parametrize(("band", "name", "matches"), [
    ("B4", "LC08_L1TP_035038_B4.TIF", True),
    ("B4", "X_B4", True),
    ("B4", "T12SVA_20240612_B04_10m.jp2", True),
    ("B04", "T12SVA_20240612_B04_10m", True),
    ("B04", "X_B4.TIF", True),
    ("B4", "X_B40.TIF", False),
    ("B4", "X_B4A.TIF", False),
    ("B8", "T12_B8A_20m", False),
    ("B8A", "T12_B8A_20m", True),
    ("B8A", "T12_B08_10m", False),
    ("B8", "T12_B08_10m", True),
    ("B3N", "AST_07XT_B3N.tif", True),
    ("B3", "AST_07XT_B3N.tif", False),
    ("B1", "LC08_B10.TIF", False),
    ("B1", "LC08_B11.TIF", False),
])
def test_band_pattern(band, name, matches):
    assert bool(band_pattern(band).search(name)) is matches


def _band_file(write_tif, folder, stem, dn, resolution=30.0, nodata=0):
    """A uint16 single-band file whose upper-left corner is (X0, Y0)."""
    return write_tif(folder / f"{stem}.TIF", dn.astype("uint16"), CRS, Affine(resolution, 0, X0, 0, -resolution, Y0), nodata=nodata)


def test_folder_bands_resolve_to_their_files(tmp_path, write_tif):
    dn = np.ones((4, 4))
    for band in ("B1", "B4", "B10", "B8"):
        _band_file(write_tif, tmp_path, f"LC08_{band}", dn)
    (tmp_path / "LC08_MTL.txt").write_text("metadata, not a raster")
    resolved = scene_bands(SceneSource(sensor="landsat8", path=tmp_path, bands=["B4", "B1", "B10"]))
    assert [(f.name, b.name, i) for f, b, i in resolved] == [("LC08_B4.TIF", "B4", 1), ("LC08_B1.TIF", "B1", 1), ("LC08_B10.TIF", "B10", 1)]
    assert resolved[2][1].quantity == "radiance_w_m2_sr_um"


def test_folder_missing_a_band_file(write_tif, tmp_path):
    _band_file(write_tif, tmp_path, "LC08_B4", np.ones((4, 4)))
    with pytest.raises(InputError, match="no file for band B5 of landsat8") as info:
        scene_bands(SceneSource(sensor="landsat8", path=tmp_path, bands=["B4", "B5"]))
    assert info.value.source == str(tmp_path)
    # without a band list every reflective band is needed
    with pytest.raises(InputError, match="no file for band B1"):
        scene_bands(SceneSource(sensor="landsat8", path=tmp_path))


def test_folder_with_two_files_for_one_band(tmp_path, write_tif):
    _band_file(write_tif, tmp_path, "T12_B04_10m", np.ones((4, 4)))
    _band_file(write_tif, tmp_path, "T12_B04_20m", np.ones((4, 4)))
    with pytest.raises(InputError, match="several files match band B04") as info:
        scene_bands(SceneSource(sensor="sentinel2", path=tmp_path, bands=["B04"]))
    assert "T12_B04_10m.TIF" in info.value.problem and "T12_B04_20m.TIF" in info.value.problem


def test_unknown_band_in_a_folder_scene(tmp_path, write_tif):
    _band_file(write_tif, tmp_path, "T12_B04_10m", np.ones((4, 4)))
    with pytest.raises(InputError, match="unknown band 'B13'") as info:
        scene_bands(SceneSource(sensor="sentinel2", path=tmp_path, bands=["B13"]), "scenes.s2")
    assert info.value.source == "scenes.s2" and "B8A" in info.value.fix


# ------------------------------------------------------------------------------ multi-band files


def test_multiband_file_named_by_the_catalog_band_list(tmp_path, write_tif):
    path = write_tif(tmp_path / "stack.tif", np.ones((3, 4, 4), dtype="uint16"), CRS, nodata=0)
    resolved = scene_bands(SceneSource(sensor="landsat8", path=path, bands=["B5", "B4", "B3"]))
    assert [(b.name, i) for _, b, i in resolved] == [("B5", 1), ("B4", 2), ("B3", 3)]
    assert all(b.scale == 2.0e-5 for _, b, _ in resolved)


def test_multiband_file_named_by_its_descriptions(tmp_path, write_tif):
    path = write_tif(tmp_path / "stack.tif", np.ones((2, 4, 4), dtype="uint16"), CRS, descriptions=["B02", "B8A"])
    resolved = scene_bands(SceneSource(sensor="sentinel2", path=path))
    assert [(b.name, b.resolution_m, i) for _, b, i in resolved] == [("B02", 10, 1), ("B8A", 20, 2)]


def test_multiband_file_band_count_mismatch_and_unnamed_bands(tmp_path, write_tif):
    path = write_tif(tmp_path / "stack.tif", np.ones((3, 4, 4), dtype="uint16"), CRS)
    with pytest.raises(InputError, match="2 band names given for a file of 3 bands") as info:
        scene_bands(SceneSource(sensor="landsat8", path=path, bands=["B4", "B3"]))
    assert info.value.source == str(path)
    with pytest.raises(InputError, match="have no descriptions") as info:
        scene_bands(SceneSource(sensor="landsat8", path=path))
    assert info.value.source == str(path)
    with pytest.raises(InputError, match="unknown band 'B12'"):
        scene_bands(SceneSource(sensor="landsat8", path=path, bands=["B4", "B3", "B12"]))


def test_generic_sensor_names_and_nodata(tmp_path, write_tif):
    path = write_tif(tmp_path / "rgb.tif", np.ones((3, 4, 4), dtype="uint8"), CRS, nodata=255)
    resolved = scene_bands(SceneSource(sensor="generic", path=path))
    assert [(b.name, b.scale, b.offset, b.nodata, b.quantity) for _, b, _ in resolved] == [
        (f"band{i}", 1.0, 0.0, 255, "dn") for i in (1, 2, 3)]
    unset = write_tif(tmp_path / "rgb0.tif", np.ones((3, 4, 4), dtype="uint8"), CRS)
    assert {b.nodata for _, b, _ in scene_bands(SceneSource(sensor="generic", path=unset, bands=["r", "g", "b"]))} == {0}
    with pytest.raises(InputError, match="1 band names given for a file of 3 bands"):
        scene_bands(SceneSource(sensor="generic", path=path, bands=["red"]))


# ------------------------------------------------------------------------------ DN -> physical values


def test_landsat_dn_become_toa_reflectance_and_nodata_nan(tmp_path, write_tif):
    dn = np.arange(10_000, 10_000 + 16 * 500, 500).reshape(4, 4)
    dn[0, 0] = 0  # Landsat's nodata
    _band_file(write_tif, tmp_path / "scene", "LC08_B4", dn)
    grid = TargetGrid(CRS, X0, Y0, 30.0, 4, 4)
    stats = align_scene(SceneSource(sensor="landsat8", path=tmp_path / "scene", bands=["B4"]), grid, tmp_path / "out.tif", "l8")
    values, names, units = _read(tmp_path / "out.tif")
    assert names == ("l8_B4",) and units == ["reflectance"]
    expected = np.where(dn == 0, np.nan, dn * 2.0e-5 - 0.1)
    np.testing.assert_allclose(values[0], expected, rtol=0, atol=1e-6)
    assert np.isnan(values[0, 0, 0]) and values[0, 0, 1] == pytest.approx(10_500 * 2e-5 - 0.1, abs=1e-6)
    assert stats["l8_B4"]["valid_fraction"] == pytest.approx(15 / 16)
    assert stats["l8_B4"]["mean"] == pytest.approx(np.nanmean(expected), abs=1e-6)


def test_catalog_scale_and_offset_override_the_band_table(tmp_path, write_tif):
    dn = np.full((4, 4), 2000)
    _band_file(write_tif, tmp_path / "scene", "AST_B3N", dn, resolution=15.0)
    grid = TargetGrid(CRS, X0, Y0, 15.0, 4, 4)
    source = SceneSource(sensor="aster", path=tmp_path / "scene", bands=["B3N"], scale=0.0005, offset=0.05)
    align_scene(source, grid, tmp_path / "out.tif", "aster")
    values, names, _ = _read(tmp_path / "out.tif")
    assert names == ("aster_B3N",)
    np.testing.assert_allclose(values[0], 2000 * 0.0005 + 0.05, atol=1e-6)


def test_10m_band_on_30m_grid_is_the_mean_of_each_3x3_block(tmp_path, write_tif):
    rng = np.random.default_rng(1)
    dn = rng.integers(1000, 11_000, (12, 12))
    dn[0, 0] = 0  # one nodata pixel: the block mean is of the other eight
    dn[6:9, 9:12] = 0  # a whole block of nodata: NaN
    _band_file(write_tif, tmp_path / "s2", "T12SVA_B02_10m", dn, resolution=10.0)
    grid = TargetGrid(CRS, X0, Y0, 30.0, 4, 4)
    align_scene(SceneSource(sensor="sentinel2", path=tmp_path / "s2", bands=["B02"]), grid, tmp_path / "out.tif", "s2")
    values, _, _ = _read(tmp_path / "out.tif")
    reflectance = np.where(dn == 0, np.nan, dn * 1e-4 - 0.1)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmean(reflectance.reshape(4, 3, 4, 3), axis=(1, 3))
    assert np.isnan(values[0, 2, 3]) and np.isnan(expected[2, 3])
    # GDAL averages in the source dtype: the mean DN is rounded to an integer (half a DN at most)
    np.testing.assert_allclose(values[0], expected, rtol=0, atol=0.5e-4 + 1e-6)
    # a nearest-neighbour pick would be off by far more than half a DN
    assert np.nanmax(np.abs(values[0] - reflectance[1::3, 1::3])) > 0.01
