"""Inputs a careless user tried (issue 20): duplicate YAML keys, FIFOs, absurd grids, a folder or a
link loop as the catalog, an outputs path that is a file. Each is refused at once with one
:class:`InputError` naming the real cause and the fix."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import Polygon

from geoprospect.catalog import DepositSource, GridSpec
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.io.catalog import read_catalog
from geoprospect.io.files import check_output_folder, content_hash
from geoprospect.io.tables import read_csv
from geoprospect.io.vectors import read_deposits, read_vector, to_grid_crs
from tests.bad_inputs.support import GRID_YAML, raises_input_error, text_file


def test_duplicate_yaml_key_names_both_lines(tmp_path):
    path = text_file(tmp_path, "area.yaml", "study_area: area\n"
                     "grid:\n  crs: EPSG:32612\n  resolution_m: 30\n  bounds: [500000, 3600000, 503000, 3603000]\n"
                     "  resolution_m: 400\n")
    error = raises_input_error(read_catalog, path, "duplicate key 'resolution_m' on lines 4 and 6")
    assert "keep one" in error.fix


def test_duplicate_top_level_section(tmp_path):
    path = text_file(tmp_path, "area.yaml", "study_area: area\n" + GRID_YAML + "study_area: other\n")
    raises_input_error(read_catalog, path, "duplicate key 'study_area' on lines 1 and 3")


def test_yaml_merge_keys_may_still_be_overridden(tmp_path):
    path = text_file(tmp_path, "area.yaml", "base: &b {crs: 'EPSG:32612', bounds: [500000, 3600000, 503000, 3603000], resolution_m: 60}\n"
                     "study_area: area\ngrid: {<<: *b, resolution_m: 30}\n")
    with pytest.raises(InputError, match="unknown key 'base'"):  # parsed: only the extra key is refused
        read_catalog(path)


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def _refused_within_seconds(call) -> InputError:
    """Run ``call`` in a thread: a reader that opened the FIFO would block forever, so the test would
    hang rather than fail; the join's timeout turns that into a failure."""
    outcome = {}

    def target():
        try:
            call()
        except InputError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the FIFO was opened: the reader is waiting for a writer"
    assert "error" in outcome
    return outcome["error"]


def test_fifo_as_catalog(tmp_path):
    path = _fifo(tmp_path, "area.yaml")
    error = _refused_within_seconds(lambda: read_catalog(path))
    assert "FIFO (named pipe), not a regular file" in str(error) and error.source == str(path)


def test_fifo_as_catalog_input(tmp_path):
    _fifo(tmp_path, "deposits.csv")
    path = text_file(tmp_path, "area.yaml", "study_area: area\n" + GRID_YAML + "deposits: {path: deposits.csv}\n")
    error = _refused_within_seconds(lambda: read_catalog(path))
    assert "key 'deposits.path'" in error.problem and "FIFO" in error.problem and error.source == str(path)


def test_fifo_inside_a_scene_folder(tmp_path):
    (tmp_path / "scene").mkdir()
    _fifo(tmp_path / "scene", "B4.TIF")
    path = text_file(tmp_path, "area.yaml", "study_area: area\n" + GRID_YAML + "scenes: {l8: {sensor: landsat8, path: scene}}\n")
    error = _refused_within_seconds(lambda: read_catalog(path))
    assert "B4.TIF: is a FIFO" in error.problem


def test_fifo_is_never_hashed(tmp_path):
    path = _fifo(tmp_path, "layer.tif")
    error = _refused_within_seconds(lambda: content_hash(path))
    assert error.source == str(path)


def test_grid_too_large_fails_at_the_catalog_check(tmp_path):
    """A 10^6 x 10^6 grid is refused from the catalog alone, with the figure and the fix (nothing is allocated)."""
    path = text_file(tmp_path, "area.yaml", "study_area: area\n"
                     'grid: {crs: "EPSG:32612", bounds: [0, 0, 30000000, 30000000], resolution_m: 30}\n')
    error = raises_input_error(read_catalog, path, r"1,000,000 x 1,000,000 cells x 1 layer\(s\) makes a feature cube of about 4 TB")
    assert "coarser grid.resolution_m (about 700 m or more fits)" in error.fix and "grid.max_cube_gb" in error.fix


def test_grid_size_limit_is_configurable_and_counts_layers(tmp_path):
    (tmp_path / "a.tif").write_bytes(b"")
    grid = 'grid: {crs: "EPSG:32612", bounds: [500000, 3600000, 530000, 3630000], resolution_m: 30, max_cube_gb: %s}\n'
    rasters = "rasters: {a: {path: a.tif, bands: [b1, b2, b3]}}\n"
    path = text_file(tmp_path, "area.yaml", "study_area: area\n" + grid % "0.01" + rasters)
    raises_input_error(read_catalog, path, r"1,000 x 1,000 cells x 3 layer\(s\) makes a feature cube of about 12 MB")
    path.write_text("study_area: area\n" + grid % "0.02" + rasters)
    assert read_catalog(path).grid.max_cube_gb == 0.02


def test_folder_as_catalog_names_the_yaml_inside(tmp_path):
    text_file(tmp_path, "area.yaml", "study_area: area\n" + GRID_YAML)
    error = raises_input_error(read_catalog, tmp_path, "is a folder, not a catalog file")
    assert f"pass the YAML file inside it, e.g. {tmp_path / 'area.yaml'}" in error.fix


def test_symlink_loop_as_catalog(tmp_path):
    path = tmp_path / "area.yaml"
    path.symlink_to(tmp_path / "loop.yaml")
    (tmp_path / "loop.yaml").symlink_to(path)
    raises_input_error(read_catalog, path, "symbolic link loop")


def test_broken_symlink_as_catalog(tmp_path):
    path = tmp_path / "area.yaml"
    path.symlink_to(tmp_path / "moved.yaml")
    raises_input_error(read_catalog, path, r"broken symbolic link \(to .*moved.yaml, which does not exist\)")


@pytest.mark.parametrize("under", [False, True])
def test_outputs_pointing_at_a_file(tmp_path, under):
    file = text_file(tmp_path, "outputs", "not a folder")
    target = file / "area" if under else file
    with pytest.raises(InputError, match="is not a folder: a file is in the way") as info:
        check_output_folder(target)
    assert info.value.source == "--outputs" and "pass a folder path" in info.value.fix
    assert check_output_folder(tmp_path / "new" / "outputs") == tmp_path / "new" / "outputs"


# ------------------------------------------------------------------------------ messages that misled


def _deposits(path):
    return read_deposits(DepositSource(path=path, x_column="lon", y_column="lat"))


def test_semicolon_separated_deposits(tmp_path):
    path = text_file(tmp_path, "deposits.csv", "name;lon;lat\nA;-117,2;35,1\n")
    error = raises_input_error(_deposits, path, "separated by semicolons, not commas")
    assert "comma-separated" in error.fix and "decimal mark" in error.fix


def test_swapped_lon_lat_deposits_beyond_90(tmp_path):
    path = text_file(tmp_path, "deposits.csv", "name,lon,lat\nA,35.1,-117.2\nB,35.3,-117.4\n")
    error = raises_input_error(_deposits, path, "swapped")
    assert "exchange x_column and y_column" in error.fix


def test_swapped_lon_lat_deposits_within_range(tmp_path):
    """lon/lat both under 90 and swapped: the points land elsewhere on Earth; the hint says why."""
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32636", always_xy=True).transform(33.0, 60.0)
    grid = TargetGrid.from_spec(GridSpec(crs="EPSG:32636", bounds=(x - 5000, y - 5000, x + 5000, y + 5000), resolution_m=100))
    path = text_file(tmp_path, "deposits.csv", "name,lon,lat\nA,33.01,60.01\n")
    gdf, _ = read_deposits(DepositSource(path=path, x_column="lat", y_column="lon"))
    with pytest.raises(InputError, match="no feature lies inside the target grid") as info:
        to_grid_crs(gdf, grid, path)
    assert "longitude and latitude look swapped" in info.value.fix


def test_zero_area_polygons_are_named_not_blamed_on_the_crs(tmp_path):
    path = tmp_path / "geology.gpkg"
    flat = Polygon([(500100, 3600100), (500200, 3600100), (500300, 3600100)])
    gpd.GeoDataFrame({"unit": ["a", "b"]}, geometry=[flat, flat], crs="EPSG:32612").to_file(path)
    error = raises_input_error(read_vector, path, r"every polygon \(2\) has zero area", "polygon", None, "unit")
    assert "CRS" not in str(error)


def test_some_zero_area_polygons_are_dropped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "geology.gpkg"
    flat = Polygon([(500100, 3600100), (500200, 3600100), (500300, 3600100)])
    square = Polygon([(500100, 3600100), (500200, 3600100), (500200, 3600200), (500100, 3600200)])
    gpd.GeoDataFrame({"unit": ["a", "b"]}, geometry=[square, flat], crs="EPSG:32612").to_file(path)
    assert len(read_vector(path, "polygon", class_column="unit")) == 1
    assert "1 zero-area polygon(s) dropped" in caplog.text


def test_utf16_csv_is_read_not_called_binary(tmp_path):
    path = tmp_path / "deposits.csv"
    path.write_text("name,lon,lat\nA,-110.95,32.56\n", encoding="utf-16")
    gdf, _ = read_deposits(DepositSource(path=path, x_column="lon", y_column="lat"))
    assert len(gdf) == 1


def test_utf16_csv_without_byte_order_mark(tmp_path):
    path = tmp_path / "deposits.csv"
    path.write_bytes("name,lon,lat\nA,-110.95,32.56\n".encode("utf-16-le"))
    error = raises_input_error(read_csv, path, "is UTF-16 text without a byte-order mark, not UTF-8")
    assert "CSV UTF-8" in error.fix


def test_grid_bounds_in_degrees_under_a_projected_crs(tmp_path):
    path = text_file(tmp_path, "area.yaml", "study_area: area\n"
                     'grid: {crs: "EPSG:32612", bounds: [-111.2, 32.4, -110.9, 32.7], resolution_m: 30}\n')
    raises_input_error(read_catalog, path, r"bounds look like degrees \(longitude/latitude\), but EPSG:32612 is in metres.*"
                                           r"these degrees are about \[4\d{5}, 35\d{5}, ")
