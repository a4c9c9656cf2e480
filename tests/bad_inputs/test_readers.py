"""Malformed raster and vector files: each is one InputError naming the file; failed writes leave no trace."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import Point

from geoprospect.catalog import DepositSource
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.io.files import atomic_path, content_hash
from geoprospect.io.rasters import BandSpec, align_raster, describe_raster
from geoprospect.io.vectors import read_deposits, read_vector

UTM = "EPSG:32612"
GRID = TargetGrid(UTM, 500_000.0, 3_603_000.0, 30.0, 100, 100)
TRANSFORM = Affine(10, 0, 500_000, 0, -10, 3_603_000)


@pytest.fixture
def valid_tif(tmp_path, write_tif):
    """A complete tiled, compressed 300 x 300 GeoTIFF over GRID."""
    values = np.random.default_rng(0).random((300, 300)).astype("float32")
    return write_tif(tmp_path / "valid.tif", values, UTM, TRANSFORM, tiled=True, blockxsize=64, blockysize=64, compress="deflate")


def _align(path, destination, index=1):
    return align_raster([(path, BandSpec(index, "x"))], GRID, destination)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_valid_file_aligns(valid_tif, tmp_path):
    stats = _align(valid_tif, tmp_path / "out.tif")
    assert stats["x"]["valid_fraction"] == 1.0 and 0.4 < stats["x"]["mean"] < 0.6


def test_geotiff_truncated_in_its_data(valid_tif, tmp_path):
    """The header survives (it opens) but tiles are missing: the error comes while reading."""
    cut = tmp_path / "cut.tif"
    data = valid_tif.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert describe_raster(cut).width == 300
    (tmp_path / "out").mkdir()
    with pytest.raises(InputError, match="truncated or corrupt") as info:
        _align(cut, tmp_path / "out" / "aligned.tif")
    assert info.value.source == str(cut)
    assert list((tmp_path / "out").iterdir()) == []  # neither the output nor its temporary file


def test_geotiff_truncated_in_its_header(valid_tif, tmp_path):
    cut = tmp_path / "cut.tif"
    cut.write_bytes(valid_tif.read_bytes()[:200])
    with pytest.raises(InputError, match="cannot be read as a raster") as info:
        describe_raster(cut)
    assert info.value.source == str(cut) and "cut.tif" in str(info.value)


def test_text_file_named_tif(tmp_path):
    fake = tmp_path / "notes.tif"
    fake.write_text("x,y,value\n1,2,3\n")
    with pytest.raises(InputError, match="cannot be read as a raster") as info:
        _align(fake, tmp_path / "out.tif")
    assert info.value.source == str(fake)
    assert not (tmp_path / "out.tif").exists()


def test_missing_raster_file(tmp_path):
    with pytest.raises(InputError) as info:
        describe_raster(tmp_path / "absent.tif")
    assert info.value.source.endswith("absent.tif")


def test_raster_without_crs(tmp_path, write_tif):
    path = write_tif(tmp_path / "nocrs.tif", np.ones((10, 10), dtype="float32"), None, TRANSFORM)
    with pytest.raises(InputError, match="has no CRS") as info:
        _align(path, tmp_path / "out.tif")
    assert info.value.source == str(path) and "gdal_edit" in info.value.fix


def test_raster_not_overlapping_the_grid(tmp_path, write_tif):
    far = Affine(10, 0, 600_000, 0, -10, 3_700_000)  # 100 km away
    path = write_tif(tmp_path / "far.tif", np.ones((10, 10), dtype="float32"), UTM, far)
    with pytest.raises(InputError, match="does not overlap the target grid") as info:
        _align(path, tmp_path / "out.tif")
    assert info.value.source == str(path)
    # the same place in the wrong CRS (a UTM raster labelled as another zone) also misses
    wrong = write_tif(tmp_path / "zone.tif", np.ones((10, 10), dtype="float32"), "EPSG:32617", TRANSFORM)
    with pytest.raises(InputError, match="does not overlap"):
        _align(wrong, tmp_path / "out.tif")


def test_all_nodata_band(tmp_path, write_tif):
    path = write_tif(tmp_path / "empty.tif", np.full((30, 30), -9999, dtype="float32"), UTM, TRANSFORM, nodata=-9999)
    with pytest.raises(InputError, match="no valid data over the target grid") as info:
        _align(path, tmp_path / "out.tif")
    assert info.value.source == str(path)
    assert not (tmp_path / "out.tif").exists() and _leftovers(tmp_path) == []


def test_complex_dtype(tmp_path, write_tif):
    path = write_tif(tmp_path / "complex.tif", np.ones((10, 10), dtype="complex64"), UTM, TRANSFORM)
    with pytest.raises(InputError, match="unsupported data type complex64") as info:
        _align(path, tmp_path / "out.tif")
    assert info.value.source == str(path)


@pytest.mark.parametrize("index", [0, 3])
def test_band_index_out_of_range(tmp_path, write_tif, index):
    path = write_tif(tmp_path / "two.tif", np.ones((2, 10, 10), dtype="float32"), UTM, TRANSFORM)
    with pytest.raises(InputError, match=f"band {index} requested but the file has 2 band") as info:
        _align(path, tmp_path / "out.tif", index)
    assert info.value.source == str(path)


def test_failed_alignment_keeps_the_previous_output(valid_tif, tmp_path, write_tif):
    destination = tmp_path / "out" / "aligned.tif"
    _align(valid_tif, destination)
    before = content_hash(destination)
    empty = write_tif(tmp_path / "empty.tif", np.zeros((30, 30), dtype="float32"), UTM, TRANSFORM, nodata=0)
    with pytest.raises(InputError, match="no valid data"):
        align_raster([(valid_tif, BandSpec(1, "good")), (empty, BandSpec(1, "bad"))], GRID, destination)
    assert content_hash(destination) == before
    assert os.listdir(destination.parent) == ["aligned.tif"]


# ------------------------------------------------------------------------------ atomic_path


def test_atomic_path_moves_into_place_only_on_success(tmp_path):
    target = tmp_path / "sub" / "table.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp != target and tmp.suffix == ".csv"
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert not target.exists() and list(target.parent.iterdir()) == []

    with atomic_path(target) as tmp:
        tmp.write_text("version 1")
    assert target.read_text() == "version 1"

    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("version 2, incomplete")
            raise RuntimeError("failed")
    assert target.read_text() == "version 1" and os.listdir(target.parent) == ["table.csv"]


def test_atomic_path_replaces_a_folder_whole(tmp_path):
    store = tmp_path / "cube.zarr"
    with atomic_path(store) as tmp:
        tmp.mkdir()
        (tmp / "a").write_text("1")
        (tmp / "b").write_text("1")
    with pytest.raises(RuntimeError):
        with atomic_path(store) as tmp:
            tmp.mkdir()
            (tmp / "a").write_text("2")
            raise RuntimeError("failed")
    assert sorted(os.listdir(store)) == ["a", "b"] and (store / "a").read_text() == "1"
    with atomic_path(store) as tmp:
        tmp.mkdir()
        (tmp / "c").write_text("3")
    assert os.listdir(store) == ["c"] and os.listdir(tmp_path) == ["cube.zarr"]


# ------------------------------------------------------------------------------ vector files


def test_text_file_named_gpkg(tmp_path):
    fake = tmp_path / "geology.gpkg"
    fake.write_text("not a database")
    with pytest.raises(InputError, match="cannot be read as a vector file") as info:
        read_vector(fake, "polygon")
    assert info.value.source == str(fake)


def test_missing_layer_lists_the_layers(tmp_path):
    path = tmp_path / "two.gpkg"
    gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=UTM).to_file(path, layer="wells")
    gpd.GeoDataFrame(geometry=[Point(1, 1)], crs=UTM).to_file(path, layer="samples")
    with pytest.raises(InputError, match="layer problem") as info:
        read_vector(path, "point", layer="deposits")
    assert info.value.source == str(path) and "wells" in info.value.fix and "samples" in info.value.fix


def test_deposit_csv_with_header_only(tmp_path):
    path = tmp_path / "deposits.csv"
    path.write_text("name,lon,lat\n")
    with pytest.raises(InputError, match="no data rows") as info:
        read_deposits(DepositSource(path=path, x_column="lon", y_column="lat"))
    assert info.value.source == str(path)


def test_deposit_csv_that_is_empty(tmp_path):
    path = tmp_path / "deposits.csv"
    path.write_text("")
    with pytest.raises(InputError, match="the file is empty") as info:
        read_deposits(DepositSource(path=path, x_column="lon", y_column="lat"))
    assert info.value.source == str(path)


def test_deposit_csv_where_every_row_is_bad(tmp_path):
    path = tmp_path / "deposits.csv"
    path.write_text("name,lon,lat\nA,,10\nB,abc,10\nC,200,10\n")
    with pytest.raises(InputError, match="no usable deposit") as info:
        read_deposits(DepositSource(path=path, x_column="lon", y_column="lat"))
    assert info.value.source == str(path)
