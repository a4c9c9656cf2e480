"""Vector layers and deposits: validation, repair, skipped-row reports, reprojection to the grid."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiPoint, Point, Polygon, box

from geoprospect.catalog import DepositSource
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.pipelines.ingest import ingest_deposits
from geoprospect.io.vectors import read_deposits, read_vector, to_grid_crs, write_vector

UTM = "EPSG:32612"
GRID = TargetGrid(UTM, 500_000.0, 3_610_000.0, 100.0, 100, 100)  # 10 km square


def _gpkg(path, geometries, crs=UTM, **columns):
    gpd.GeoDataFrame(columns, geometry=geometries, crs=crs).to_file(path, engine="pyogrio")
    return path


def test_polygons_read_with_their_classes(tmp_path):
    path = _gpkg(tmp_path / "geology.gpkg", [box(0, 0, 1, 1), box(1, 0, 2, 1)], unit=["granite", "shale"])
    gdf = read_vector(path, "polygon", class_column="unit")
    assert list(gdf["unit"]) == ["granite", "shale"] and gdf.crs.to_epsg() == 32612


def test_geometry_type_mismatch(tmp_path):
    path = _gpkg(tmp_path / "faults.gpkg", [LineString([(0, 0), (1, 1)])])
    with pytest.raises(InputError, match="expected polygon geometries, found LineString") as info:
        read_vector(path, "polygon")
    assert info.value.source == str(path)
    assert len(read_vector(path, "line")) == 1


def test_empty_layer(tmp_path):
    path = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"unit": []}, geometry=gpd.GeoSeries([], crs=UTM)).to_file(path, engine="pyogrio")
    with pytest.raises(InputError, match="no features") as info:
        read_vector(path, "polygon")
    assert info.value.source == str(path)


def test_shapefile_without_prj_has_no_crs(tmp_path):
    path = _gpkg(tmp_path / "geology.shp", [box(0, 0, 1, 1)], unit=["granite"])
    path.with_suffix(".prj").unlink()
    with pytest.raises(InputError, match="has no CRS") as info:
        read_vector(path, "polygon")
    assert info.value.source == str(path) and ".prj" in info.value.fix


def test_missing_class_column_lists_the_columns(tmp_path):
    path = _gpkg(tmp_path / "geology.gpkg", [box(0, 0, 1, 1)], lithology=["granite"], age=["K"])
    with pytest.raises(InputError, match="column 'unit' not found") as info:
        read_vector(path, "polygon", class_column="unit")
    assert info.value.source == str(path) and "lithology" in info.value.fix and "age" in info.value.fix
    # among many columns (the Lapland map has 50) the closest name comes first
    path = _gpkg(tmp_path / "lith.gpkg", [box(0, 0, 1, 1)], ROCK_ASSOC=["x"], ROCK_ASS_1=["y"], AGE=["K"])
    with pytest.raises(InputError) as info:
        read_vector(path, "polygon", class_column="ROCK_ASS")
    assert info.value.fix.startswith("did you mean 'ROCK_ASS_1' or 'ROCK_ASSOC'? use one of ")


def test_null_class_values(tmp_path):
    path = _gpkg(tmp_path / "geology.gpkg", [box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], unit=["granite", None, None])
    with pytest.raises(InputError, match="2 feature\\(s\\) have no 'unit' value") as info:
        read_vector(path, "polygon", class_column="unit")
    assert info.value.source == str(path)


def test_null_geometry(tmp_path):
    path = _gpkg(tmp_path / "geology.gpkg", [box(0, 0, 1, 1), None], unit=["granite", "shale"])
    with pytest.raises(InputError, match="1 feature\\(s\\) have no geometry") as info:
        read_vector(path, "polygon")
    assert info.value.source == str(path)


def test_invalid_polygons_are_repaired_into_polygons(tmp_path):
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    spike = Polygon([(20, 0), (30, 0), (30, 10), (25, 10), (25, 20), (25, 10), (20, 10), (20, 0)])  # a digitising spike
    path = _gpkg(tmp_path / "geology.gpkg", [bowtie, spike, box(40, 0, 50, 10)], unit=["a", "b", "c"])
    gdf = read_vector(path, "polygon", class_column="unit")
    assert gdf.is_valid.all()
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}  # the spike's line is dropped, not kept in a collection
    np.testing.assert_allclose(gdf.area, [50.0, 100.0, 100.0])


# ------------------------------------------------------------------------------ deposits


def test_deposit_csv_skips_and_reports_bad_and_duplicate_rows(tmp_path):
    path = tmp_path / "deposits.csv"
    path.write_text(
        "name,lon,lat\n"
        "A,-111.0,32.0\n"      # row 0
        "B,,32.1\n"            # row 1: missing
        "C,-111.2,north\n"     # row 2: unparseable
        "D,-111.3,32.3\n"      # row 3
        "E,-111.0,32.0\n"      # row 4: duplicate of A
        "F,-191.0,32.5\n"      # row 5: out of range
        "G,-111.4,95.0\n"      # row 6: out of range
        "H,-111.5,32.5\n"      # row 7
    )
    deposits, skipped = read_deposits(DepositSource(path=path, x_column="lon", y_column="lat"))
    assert list(deposits["name"]) == ["A", "D", "H"] and list(deposits.index) == [0, 3, 7]
    assert deposits.crs.to_epsg() == 4326
    np.testing.assert_allclose(deposits.geometry.x, [-111.0, -111.3, -111.5])
    assert dict(zip(skipped["row"], skipped["reason"])) == {
        1: "missing, unparseable or out-of-range coordinates", 2: "missing, unparseable or out-of-range coordinates",
        5: "missing, unparseable or out-of-range coordinates", 6: "missing, unparseable or out-of-range coordinates",
        4: "duplicate coordinates"}


def test_deposit_csv_in_a_projected_crs_and_latin1(tmp_path):
    path = tmp_path / "deposits.csv"
    path.write_bytes("name;E;N\nCerro Colorado;500100;3609000\nLa Caridad;500200;3609100\n".replace(";", ",").encode("latin-1"))
    deposits, skipped = read_deposits(DepositSource(path=path, x_column="E", y_column="N", crs="EPSG:32612"))
    assert list(deposits["name"]) == ["Cerro Colorado", "La Caridad"] and skipped.empty
    assert deposits.crs.to_epsg() == 32612 and deposits.geometry.y.tolist() == [3_609_000, 3_609_100]


def test_deposit_csv_needs_its_coordinate_columns(tmp_path):
    path = tmp_path / "deposits.csv"
    path.write_text("name,lon,lat\nA,-111,32\n")
    with pytest.raises(InputError, match="needs x_column and y_column") as info:
        read_deposits(DepositSource(path=path, y_column="lat"))
    assert info.value.source == str(path)
    with pytest.raises(InputError, match="column\\(s\\) longitude not found") as info:
        read_deposits(DepositSource(path=path, x_column="longitude", y_column="lat"))
    assert info.value.source == str(path) and "lon, lat" in info.value.fix


def test_deposit_layer_explodes_multipoints_and_drops_duplicates(tmp_path):
    path = _gpkg(tmp_path / "deposits.gpkg", [Point(1, 1), MultiPoint([(2, 2), (3, 3)]), Point(1, 1)], name=["a", "b", "c"])
    deposits, skipped = read_deposits(DepositSource(path=path))
    assert list(deposits["name"]) == ["a", "b", "b"] and deposits.geometry.x.tolist() == [1, 2, 3]
    assert skipped.to_dict("records") == [{"row": 2, "reason": "duplicate coordinates"}]
    lines = _gpkg(tmp_path / "lines.gpkg", [LineString([(0, 0), (1, 1)])])
    with pytest.raises(InputError, match="expected point geometries"):
        read_deposits(DepositSource(path=lines))


def test_ingest_deposits_reports_rows_outside_the_grid_by_source_row(tmp_path):
    path = tmp_path / "deposits.csv"
    inside = [(500_500 + 1000 * i, 3_605_000) for i in range(3)]
    path.write_text("name,x,y\n" + "\n".join([
        f"in0,{inside[0][0]},{inside[0][1]}", "bad,,", "out,400000,3605000",
        f"in1,{inside[1][0]},{inside[1][1]}", f"in2,{inside[2][0]},{inside[2][1]}"]) + "\n")
    summary = ingest_deposits(DepositSource(path=path, x_column="x", y_column="y", crs=UTM), GRID,
                              tmp_path / "out" / "deposits.gpkg", tmp_path / "out" / "skipped.csv")
    assert summary == {"deposits": 3, "skipped": 2}
    report = pd.read_csv(tmp_path / "out" / "skipped.csv")
    assert dict(zip(report["row"], report["reason"])) == {1: "missing, unparseable or out-of-range coordinates",
                                                          2: "outside the target grid"}
    written = read_vector(tmp_path / "out" / "deposits.gpkg", "point")
    assert list(written["name"]) == ["in0", "in1", "in2"] and written.geometry.x.tolist() == [p[0] for p in inside]


# ------------------------------------------------------------------------------ reprojection


def test_to_grid_crs_reprojects_and_clips(tmp_path, caplog):
    lonlat = gpd.GeoDataFrame(geometry=[LineString([(-114.0, 32.55), (-110.0, 32.55)])], crs="EPSG:4326")
    grid = TargetGrid(UTM, 300_000.0, 3_610_000.0, 100.0, 100, 100)
    with caplog.at_level("INFO", logger="geoprospect"):
        out = to_grid_crs(lonlat, grid, "faults.gpkg")
    assert "faults.gpkg: reprojected from EPSG:4326" in caplog.text  # a deposit file in another CRS: reprojected, logged
    assert out.crs.to_epsg() == 32612 and out.total_bounds[0] < 300_000
    clipped = to_grid_crs(lonlat, grid, "faults.gpkg", clip=True)
    xmin, ymin, xmax, ymax = clipped.total_bounds
    assert xmin == pytest.approx(300_000) and xmax == pytest.approx(310_000) and 3_600_000 < ymin <= ymax < 3_610_000


def test_to_grid_crs_on_a_layer_outside_the_grid():
    far = gpd.GeoDataFrame(geometry=[Point(-70.0, -33.0)], crs="EPSG:4326")  # Chile, not Arizona
    with pytest.raises(InputError, match="no feature lies inside the target grid") as info:
        to_grid_crs(far, GRID, "vectors/deposits.gpkg")
    assert info.value.source == "vectors/deposits.gpkg"


def test_write_vector_round_trip(tmp_path):
    gdf = gpd.GeoDataFrame({"unit": ["a", "b"], "code": [1, 2]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=UTM)
    path = write_vector(gdf, tmp_path / "out" / "geology.gpkg")
    back = read_vector(path, "polygon", class_column="unit")
    assert list(back["code"]) == [1, 2] and back.geometry.geom_equals(gdf.geometry).all() and back.crs == gdf.crs
