"""The target grid, resampling rules and raster alignment (reprojection, nodata, statistics)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.enums import Resampling
from shapely.geometry import box

from geoprospect.catalog import GridSpec
from geoprospect.grid import TargetGrid, native_resolution_m, rasterize_classes, resampling_for
from geoprospect.io.rasters import BandSpec, align_raster, describe_raster, read_preview, write_geotiff

UTM = "EPSG:32612"


def test_from_spec_snaps_bounds_outwards_to_whole_cells():
    grid = TargetGrid.from_spec(GridSpec(crs=UTM, bounds=(500_000, 3_600_000, 500_100, 3_600_095), resolution_m=30))
    assert (grid.width, grid.height) == (4, 4)
    assert grid.bounds == (500_000, 3_600_095 - 120, 500_120, 3_600_095)
    xmin, ymin, xmax, ymax = grid.bounds
    assert xmin <= 500_000 and ymin <= 3_600_000 and xmax >= 500_100 and ymax >= 3_600_095
    exact = TargetGrid.from_spec(GridSpec(crs=UTM, bounds=(0, 0, 90, 60), resolution_m=30))
    assert exact.shape == (2, 3) and exact.bounds == (0, 0, 90, 60)  # no spurious extra cell


def test_transform_and_cell_centres_agree():
    grid = TargetGrid(UTM, 500_000.0, 3_600_000.0, 25.0, 5, 3)
    assert grid.shape == (3, 5)
    for col in range(grid.width):
        for row in range(grid.height):
            x, y = grid.transform @ (col + 0.5, row + 0.5)
            assert (x, y) == (grid.x[col], grid.y[row])
    assert np.all(np.diff(grid.y) < 0) and np.all(np.diff(grid.x) > 0)
    da = grid.data_array(np.arange(15.0).reshape(3, 5), "v", units="m")
    assert da.rio.crs.to_epsg() == 32612 and da.rio.transform() == grid.transform
    assert da.attrs["units"] == "m" and float(da.sel(x=grid.x[1], y=grid.y[2])) == 11.0


@pytest.mark.parametrize(("kind", "source", "target", "expected"), [
    ("continuous", 10, 30, Resampling.average),
    ("continuous", 30, 30, Resampling.bilinear),
    ("continuous", 90, 30, Resampling.bilinear),
    ("continuous", 22.4, 30, Resampling.average),
    ("continuous", 22.6, 30, Resampling.bilinear),
    ("categorical", 10, 30, Resampling.mode),
    ("categorical", 30, 30, Resampling.nearest),
    ("categorical", 100, 30, Resampling.nearest),
])
def test_resampling_rules(kind, source, target, expected):
    assert resampling_for(kind, source, target) == expected


def test_native_resolution_of_projected_and_geographic_rasters():
    assert native_resolution_m(Affine(30, 0, 0, 0, -30, 0), UTM) == pytest.approx(30)
    assert native_resolution_m(Affine(300, 0, 0, 0, -300, 0), "EPSG:2231") == pytest.approx(300 * 0.3048006, rel=1e-5)  # US ft
    at_equator = native_resolution_m(Affine(0.001, 0, 0, 0, -0.001, 0), "EPSG:4326", 0.0)
    at_60 = native_resolution_m(Affine(0.001, 0, 0, 0, -0.001, 0), "EPSG:4326", 60.0)
    assert at_equator == pytest.approx(np.sqrt(111.32 * 110.574))
    assert at_60 == pytest.approx(at_equator * np.sqrt(0.5), rel=1e-6)


def test_rasterize_classes_burns_cell_centres():
    grid = TargetGrid(UTM, 0.0, 100.0, 10.0, 10, 10)
    out = rasterize_classes([box(0, 50, 50, 100), box(50, 0, 100, 50), None], np.array([3, 7, 9]), grid)
    assert out.dtype == np.int16 and out.shape == (10, 10)
    assert (out[:5, :5] == 3).all() and (out[5:, 5:] == 7).all() and (out[:5, 5:] == 0).all() and (out[5:, :5] == 0).all()


# ------------------------------------------------------------------------------ align_raster


def test_a_hot_pixel_in_geographic_coordinates_lands_in_the_right_utm_cell(tmp_path, write_tif):
    grid = TargetGrid(UTM, 500_000.0, 3_610_000.0, 500.0, 20, 20)
    row, col = 7, 12
    to_lonlat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    lon, lat = to_lonlat.transform(grid.x[col], grid.y[row])
    lon0, lat0, lon1, lat1 = to_lonlat.transform_bounds(*grid.bounds)
    step = 0.001  # ~100 m
    # put a pixel centre exactly on the target cell's centre
    i, j = int((lat1 + 0.01 - lat) / step), int((lon - lon0 + 0.01) / step)
    transform = Affine(step, 0, lon - (j + 0.5) * step, 0, -step, lat + (i + 0.5) * step)
    height, width = int((lat1 - lat0 + 0.02) / step), int((lon1 - lon0 + 0.02) / step)
    data = np.zeros((height, width), dtype="float32")
    data[i, j] = 100.0
    path = write_tif(tmp_path / "hot.tif", data, "EPSG:4326", transform)
    assert rasterio.open(path).xy(i, j) == pytest.approx((lon, lat))
    stats = align_raster([(path, BandSpec(1, "hot", "x"))], grid, tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        out = src.read(1)
        assert src.crs.to_epsg() == 32612 and src.transform == grid.transform and out.shape == grid.shape
    assert np.unravel_index(np.argmax(out), out.shape) == (row, col)
    assert 0 < out[row, col] < 100  # averaged with the ~22 cold pixels around it
    others = np.delete(out.ravel(), row * grid.width + col)
    assert np.all(others == 0)
    assert stats["hot"]["valid_fraction"] == 1.0 and stats["hot"]["max"] == pytest.approx(out[row, col])


def test_nodata_becomes_nan_and_stats_are_exact(tmp_path, write_tif):
    grid = TargetGrid(UTM, 500_000.0, 3_600_000.0, 30.0, 8, 6)
    values = np.arange(48, dtype="float32").reshape(6, 8)
    values[0, :] = -9999
    values[3, 4] = -9999
    path = write_tif(tmp_path / "v.tif", values, UTM, grid.transform, nodata=-9999)
    stats = align_raster([(path, BandSpec(1, "v", "nT", scale=2.0, offset=1.0))], grid, tmp_path / "out.tif")
    with rasterio.open(tmp_path / "out.tif") as src:
        out = src.read(1)
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert src.descriptions == ("v",) and src.tags(1)["units"] == "nT"
    expected = np.where(values == -9999, np.nan, values * 2 + 1)
    np.testing.assert_array_equal(out, expected)
    assert stats["v"] == pytest.approx(dict(valid_fraction=39 / 48, min=np.nanmin(expected), max=np.nanmax(expected),
                                            mean=np.nanmean(expected)))


def test_catalog_nodata_overrides_a_file_without_one(tmp_path, write_tif):
    grid = TargetGrid(UTM, 500_000.0, 3_600_000.0, 30.0, 4, 4)
    values = np.full((4, 4), 5.0, dtype="float32")
    values[1, 1] = -1.0
    path = write_tif(tmp_path / "v.tif", values, UTM, grid.transform)
    stats = align_raster([(path, BandSpec(1, "v", nodata=-1.0))], grid, tmp_path / "out.tif")
    assert stats["v"]["valid_fraction"] == 15 / 16 and stats["v"]["min"] == 5.0
    assert np.isnan(rasterio.open(tmp_path / "out.tif").read(1)[1, 1])


@pytest.mark.parametrize("dtype", ["uint16", "float32"])
def test_cells_outside_a_footprint_are_nodata_whatever_the_file_declares(tmp_path, write_tif, dtype):
    """A raster with no declared nodata covering a quarter of the grid: valid fraction 0.25, not 1.0 of zeros."""
    grid = TargetGrid(UTM, 500_000.0, 3_600_000.0, 30.0, 40, 40)
    quarter = Affine(30.0, 0.0, 500_000.0, 0.0, -30.0, 3_600_000.0)  # the grid's north-west quarter
    path = write_tif(tmp_path / "q.tif", np.full((20, 20), 7, dtype=dtype), UTM, quarter)
    stats = align_raster([(path, BandSpec(1, "q"))], grid, tmp_path / "out.tif")
    assert stats["q"]["valid_fraction"] == pytest.approx(0.25) and stats["q"]["min"] == 7.0
    out = rasterio.open(tmp_path / "out.tif").read(1)
    assert np.isnan(out[20:, :]).all() and np.isnan(out[:, 20:]).all() and (out[:20, :20] == 7).all()


def test_catalog_nodata_zero_and_the_footprint_together(tmp_path, write_tif):
    """The Lapland AEM grid: uint32, 0 around the survey, no nodata declared; the catalog says 0."""
    grid = TargetGrid(UTM, 500_000.0, 3_600_000.0, 30.0, 40, 40)
    values = np.full((40, 20), 9, dtype="uint32")
    values[:10] = 0
    path = write_tif(tmp_path / "aem.tif", values, UTM, grid.transform)
    stats = align_raster([(path, BandSpec(1, "aem", nodata=0))], grid, tmp_path / "out.tif")
    assert stats["aem"]["valid_fraction"] == pytest.approx(30 * 20 / 1600) and stats["aem"]["min"] == 9.0


def test_a_zero_fill_without_nodata_is_warned_about(tmp_path, write_tif, caplog):
    """The same grid with the catalog's nodata forgotten: the zeros are kept as data (the user's
    choice) but a warning names the file and the key to set."""
    grid = TargetGrid(UTM, 500_000.0, 3_600_000.0, 30.0, 40, 40)
    values = np.full((40, 20), 9, dtype="uint32")
    values[:10] = 0
    path = write_tif(tmp_path / "aem.tif", values, UTM, grid.transform)
    with caplog.at_level("WARNING", logger="geoprospect.io.rasters"):
        stats = align_raster([(path, BandSpec(1, "aem"))], grid, tmp_path / "out.tif")
    assert stats["aem"]["min"] == 0.0
    assert f"{path}: band aem is exactly 0 in 25 % of the grid's cells and declares no nodata" in caplog.text
    assert "set nodata: 0" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="geoprospect.io.rasters"):  # declared: no warning
        align_raster([(path, BandSpec(1, "aem", nodata=0))], grid, tmp_path / "out2.tif")
    assert "exactly 0" not in caplog.text


def test_bands_of_several_files_and_resolutions_in_one_output(tmp_path, write_tif):
    grid = TargetGrid(UTM, 500_000.0, 3_600_120.0, 30.0, 4, 4)
    fine = write_tif(tmp_path / "fine.tif", np.full((12, 12), 3.0, dtype="float32"), UTM, Affine(10, 0, 500_000, 0, -10, 3_600_120))
    coarse = write_tif(tmp_path / "coarse.tif", np.stack([np.full((2, 2), 7.0), np.full((2, 2), 9.0)]).astype("float32"),
                       UTM, Affine(60, 0, 500_000, 0, -60, 3_600_120))
    sources = [(fine, BandSpec(1, "a")), (coarse, BandSpec(2, "b")), (coarse, BandSpec(1, "c"))]
    align_raster(sources, grid, tmp_path / "out.tif", block=2)  # several blocks
    with rasterio.open(tmp_path / "out.tif") as src:
        assert src.descriptions == ("a", "b", "c")
        out = src.read()
    assert np.all(out[0] == 3.0) and np.all(out[1] == 9.0) and np.all(out[2] == 7.0)


def test_categorical_layer_keeps_class_codes(tmp_path, write_tif):
    grid = TargetGrid(UTM, 500_000.0, 3_600_120.0, 30.0, 4, 4)
    classes = np.kron(np.array([[1, 2], [3, 4]]), np.ones((6, 6))).astype("uint8")
    classes[0, 0] = 4  # one odd pixel: the block's majority wins
    path = write_tif(tmp_path / "c.tif", classes, UTM, Affine(10, 0, 500_000, 0, -10, 3_600_120))
    align_raster([(path, BandSpec(1, "unit"))], grid, tmp_path / "out.tif", kind="categorical")
    out = rasterio.open(tmp_path / "out.tif").read(1)
    np.testing.assert_array_equal(out, np.kron(np.array([[1, 2], [3, 4]]), np.ones((2, 2))))


def test_describe_raster_reports_what_the_file_declares(tmp_path, write_tif):
    path = write_tif(tmp_path / "d.tif", np.zeros((2, 5, 4), dtype="int16"), UTM, Affine(20, 0, 1000, 0, -20, 5000),
                     nodata=-1, descriptions=["a", "b"])
    info = describe_raster(path)
    assert (info.crs, info.count, info.width, info.height, info.dtype, info.nodata) == ("EPSG:32612", 2, 4, 5, "int16", -1)
    assert info.bounds == (1000, 4900, 1080, 5000) and info.resolution_m == 20 and info.descriptions == ("a", "b")
    assert describe_raster(path, nodata=7).nodata == 7


def test_write_geotiff_and_read_preview_round_trip(tmp_path):
    grid = TargetGrid(UTM, 500_000.0, 3_600_000.0, 10.0, 30, 20)
    data = np.arange(2 * 20 * 30, dtype="float32").reshape(2, 20, 30)
    data[0, 0, 0] = np.nan
    path = write_geotiff(data, tmp_path / "w.tif", grid.crs, grid.transform, ["p", "q"], ["m", "nT"])
    preview, bounds, names, units = read_preview(path, max_size=10)
    assert preview.shape == (2, 7, 10) and names == ["p", "q"] and units == ["m", "nT"]
    assert bounds == pytest.approx(grid.bounds)
    assert np.isin(preview[1], data[1]).all()  # nearest picks, not averages
    full, *_ = read_preview(path)
    np.testing.assert_array_equal(full, data)
    assert np.isnan(full[0, 0, 0])
