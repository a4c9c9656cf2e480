"""Malformed catalogs, surveys, plate models, deposits, waveforms and model files.

Each case feeds one malformed file to its public reader (or to ``python -m flows.ingest``) and
expects one :class:`InputError` naming that file and a fix; the CLI cases also check the exit code 2,
the single line on stderr and that a previous output is left byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pygplates
import pytest
import skops.io as sio
from shapely.geometry import Point
from sklearn.linear_model import LogisticRegression

from geoprospect.catalog import DepositSource
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.io.catalog import read_catalog
from geoprospect.io.deposits import read_deposit_table
from geoprospect.io.models import load_model, manifest_path, save_model
from geoprospect.io.plates import read_features, read_rotation_model
from geoprospect.io.surveys import (
    read_point_survey,
    read_sp_profile,
    read_tem,
    read_ves,
)
from geoprospect.io.vectors import read_deposits, read_vector, to_grid_crs
from geoprospect.io.waveforms import read_event_catalog, read_waveforms
from tests.bad_inputs.support import GRID_YAML, raises_input_error, text_file

ROOT = Path(__file__).resolve().parents[2]
UTM = "EPSG:32612"
# ------------------------------------------------------------------------------ VES


VES_HEADER = "ab2_m,mn2_m,rhoa_ohm_m\n"


def test_ves_spacings_not_increasing(tmp_path):
    path = text_file(tmp_path, "ves.csv", VES_HEADER + "1.5,0.5,100\n3,0.5,90\n2,0.5,80\n")
    raises_input_error(read_ves, path, r"AB/2 within one MN/2 segment not strictly increasing in 1 row\(s\) \(data rows 3\)")


def test_ves_negative_resistivity(tmp_path):
    path = text_file(tmp_path, "ves.csv", VES_HEADER + "1.5,0.5,100\n3,0.5,-90\n")
    error = raises_input_error(read_ves, path, "non-positive apparent resistivity")
    assert "swapped M and N" in error.fix


def test_ves_nan_resistivity(tmp_path):
    path = text_file(tmp_path, "ves.csv", VES_HEADER + "1.5,0.5,100\n3,0.5,\n")
    raises_input_error(read_ves, path, r"missing values \(NaN\) in 'rhoa_ohm_m'")


def test_ves_unparseable_number(tmp_path):
    """A decimal comma (quoted, so the row keeps three fields) is text, not a number."""
    path = text_file(tmp_path, "ves.csv", VES_HEADER + '1.5,0.5,100\n3,0.5,"90,5"\n')
    raises_input_error(read_ves, path, "non-numeric values in 'rhoa_ohm_m'")


def test_ves_mn_not_below_ab(tmp_path):
    path = text_file(tmp_path, "ves.csv", VES_HEADER + "1.5,2,100\n3,2,90\n")
    raises_input_error(read_ves, path, "MN/2 negative or not below AB/2")


def test_ves_missing_column(tmp_path):
    path = text_file(tmp_path, "ves.csv", "ab2_m,rhoa_ohm_m\n1.5,100\n")
    raises_input_error(read_ves, path, "missing column 'mn2_m'")


# ------------------------------------------------------------------------------ TEM


TEM_HEADER = "time_s,dbzdt_t_per_s,loop_radius_m,current_a\n"


def test_tem_times_not_increasing(tmp_path):
    path = text_file(tmp_path, "tem.csv", TEM_HEADER + "1e-5,-1e-6,50,10\n1e-4,-1e-8,50,10\n1e-4,-1e-9,50,10\n")
    raises_input_error(read_tem, path, r"gate times time_s not strictly increasing in 1 row\(s\) \(data rows 3\)")


def test_tem_non_positive_time(tmp_path):
    path = text_file(tmp_path, "tem.csv", TEM_HEADER + "0,-1e-6,50,10\n1e-4,-1e-8,50,10\n")
    raises_input_error(read_tem, path, "non-positive gate time")


def test_tem_current_changes_within_a_sounding(tmp_path):
    path = text_file(tmp_path, "tem.csv", TEM_HEADER + "1e-5,-1e-6,50,10\n1e-4,-1e-8,50,12\n")
    raises_input_error(read_tem, path, "current changes within a sounding")


def test_tem_nan_in_data(tmp_path):
    path = text_file(tmp_path, "tem.csv", TEM_HEADER + "1e-5,NaN,50,10\n1e-4,-1e-8,50,10\n")
    raises_input_error(read_tem, path, r"missing values \(NaN\) in 'dbzdt_t_per_s'")


# ------------------------------------------------------------------------------ SP and point surveys


def test_sp_repeated_station(tmp_path):
    path = text_file(tmp_path, "sp.csv", "station_m,sp_mv\n0,-10\n10,-12\n10,-15\n")
    raises_input_error(read_sp_profile, path, "station distances station_m not strictly increasing")


def test_sp_empty_file(tmp_path):
    path = text_file(tmp_path, "sp.csv", "")
    raises_input_error(read_sp_profile, path, "the file is empty")


def test_sp_binary_file(tmp_path):
    path = tmp_path / "sp.csv"
    path.write_bytes(bytes(range(256)) * 4)
    raises_input_error(read_sp_profile, path, "binary file")


def test_point_survey_crs_mismatch(tmp_path):
    path = tmp_path / "geochem.gpkg"
    gpd.GeoDataFrame({"cu_ppm": [12.0]}, geometry=[Point(500_100, 3_600_100)], crs=UTM).to_file(path)
    raises_input_error(read_point_survey, path, "differs from crs=", crs="EPSG:32613")


def test_point_survey_projected_coordinates_without_crs(tmp_path):
    path = text_file(tmp_path, "geochem.csv", "easting,northing,cu_ppm\n500100,3600100,12\n")
    raises_input_error(read_point_survey, path, "but no CRS")


# ------------------------------------------------------------------------------ deposits and vectors


def test_deposit_layer_outside_the_grid(tmp_path):
    path = tmp_path / "deposits.gpkg"
    gpd.GeoDataFrame(geometry=[Point(700_000, 3_900_000), Point(700_500, 3_900_500)], crs=UTM).to_file(path)
    deposits, _ = read_deposits(DepositSource(path=path))
    grid = TargetGrid(UTM, 500_000.0, 3_603_000.0, 30.0, 100, 100)
    with pytest.raises(InputError, match="no feature lies inside the target grid") as info:
        to_grid_crs(deposits, grid, path, clip=True)
    assert info.value.source == str(path)


def test_deposit_layer_with_no_features(tmp_path):
    path = tmp_path / "deposits.gpkg"
    gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=UTM)).to_file(path, layer="deposits")
    raises_input_error(lambda p: read_deposits(DepositSource(path=p)), path, "the layer has no features")


def test_duplicate_deposits_are_skipped_and_reported(tmp_path):
    """Not an error: exact duplicates are dropped and listed with their reason."""
    path = text_file(tmp_path, "deposits.csv", "name,x,y\nA,500100,3600100\nB,500100,3600100\nC,500300,3600300\n")
    deposits, skipped = read_deposits(DepositSource(path=path, x_column="x", y_column="y", crs=UTM))
    assert len(deposits) == 2 and skipped.to_dict("records") == [{"row": 1, "reason": "duplicate coordinates"}]


def test_deposit_table_with_unparseable_coordinates(tmp_path):
    path = text_file(tmp_path, "deposits.csv", "Name,LongitudeDecimal,LatitudeDecimal\nA,12°E,40N\nB,,\n")
    raises_input_error(read_deposit_table, path, "no row has valid coordinates", age_column=None, age_text_column=None)


def test_deposit_table_missing_coordinate_columns(tmp_path):
    path = text_file(tmp_path, "deposits.csv", "Name,lon,lat\nA,12,40\n")
    raises_input_error(read_deposit_table, path, r"missing coordinate column\(s\)", age_column=None, age_text_column=None)


@pytest.mark.filterwarnings("ignore:.crs. was not provided")
def test_vector_without_crs(tmp_path):
    path = tmp_path / "faults.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]}))
    # GeoJSON defaults to WGS 84; a shapefile without .prj is the real "no CRS" case
    shp = tmp_path / "faults.shp"
    gpd.read_file(path).set_crs(None, allow_override=True).to_file(shp)
    raises_input_error(read_vector, shp, "the layer has no CRS", "line")


def test_vector_with_the_wrong_geometry(tmp_path):
    path = tmp_path / "geology.gpkg"
    gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=UTM).to_file(path)
    raises_input_error(read_vector, path, "expected polygon geometries, found Point", "polygon")


# ------------------------------------------------------------------------------ plate model


ROT = "101 0.0 90.0 0.0 0.0 000 ! North America\n101 100.0 60.0 -20.0 30.0 000 !\n"


def test_rotation_file_with_a_broken_line(tmp_path):
    path = text_file(tmp_path, "model.rot", ROT + "101 150.0 60.0 -20.0 000 ! missing the angle\n")
    error = raises_input_error(read_rotation_model, path, "line 3: expected 6 fields before the comment, found 5")
    assert "101 150.0 60.0" in str(error)


def test_rotation_file_with_latitude_out_of_range(tmp_path):
    path = text_file(tmp_path, "model.rot", ROT + "101 150.0 95.0 -20.0 40.0 000 !\n")
    raises_input_error(read_rotation_model, path, r"line 3: pole latitude 95.0 is outside \[-90, 90\]")


def test_rotation_file_that_is_empty(tmp_path):
    path = text_file(tmp_path, "model.rot", "\n\n")
    raises_input_error(read_rotation_model, path, "holds no rotation line")


def test_plate_id_with_no_rotation(tmp_path):
    rotations = read_rotation_model(text_file(tmp_path, "model.rot", ROT))
    path = tmp_path / "plates.gpml"
    feature = pygplates.Feature.create_reconstructable_feature(
        pygplates.FeatureType.gpml_closed_continental_boundary, pygplates.PolygonOnSphere([(10, 10), (10, 20), (20, 15)]), reconstruction_plate_id=999)
    pygplates.FeatureCollection([feature]).write(str(path))
    raises_input_error(read_features, path, r"plate id\(s\) 999 \(at 0 Ma\) have no rotation", "static polygon", rotations)


def test_gpml_truncated(tmp_path):
    path = tmp_path / "topologies.gpml"
    feature = pygplates.Feature.create_reconstructable_feature(
        pygplates.FeatureType.gpml_closed_continental_boundary, pygplates.PolygonOnSphere([(10, 10), (10, 20), (20, 15)]), reconstruction_plate_id=101)
    pygplates.FeatureCollection([feature]).write(str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    raises_input_error(read_features, path, "this topology file is truncated or not well-formed XML", "topology")


# ------------------------------------------------------------------------------ waveforms and event tables


def test_text_file_named_mseed(tmp_path):
    path = text_file(tmp_path, "station.mseed", "time,counts\n0,1\n")
    raises_input_error(read_waveforms, path, "cannot be read as a waveform file")


def test_truncated_mseed(tmp_path):
    import obspy

    path = tmp_path / "rjob.mseed"
    stream = obspy.read()
    for trace in stream:
        trace.data = trace.data.astype("float32")
    stream.write(str(path), format="MSEED")
    path.write_bytes(path.read_bytes()[:3000])
    raises_input_error(read_waveforms, path, "cannot be read as a waveform file|truncated")


def test_event_catalog_with_an_unparseable_time(tmp_path):
    path = text_file(tmp_path, "events.csv", "event_id,origin_time,station,p_arrival_time,s_arrival_time,snr_db,magnitude,distance_km\n"
                                        "e1,yesterday noon,RJOB,2009-08-24T00:20:07,2009-08-24T00:20:09,12,2.1,30\n")
    raises_input_error(read_event_catalog, path, "column origin_time holds a time that is not ISO 8601")


# ------------------------------------------------------------------------------ model files


@pytest.fixture
def saved_model(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), np.repeat([0, 1], 20)
    return save_model(LogisticRegression().fit(x, y), tmp_path / "rf.skops", {"features": ["a", "b", "c"]})


def test_model_file_with_a_changed_hash(saved_model):
    data = bytearray(saved_model.read_bytes())
    data[-1] ^= 0xFF  # one bit pattern changed, the manifest kept
    saved_model.write_bytes(bytes(data))
    raises_input_error(load_model, saved_model, "model file changed since it was saved")


def test_model_file_of_the_wrong_type(saved_model):
    """A pickle in place of the skops file: the hash check refuses it before anything is deserialised."""
    import pickle

    saved_model.write_bytes(pickle.dumps({"not": "a model"}))
    raises_input_error(load_model, saved_model, "model file changed since it was saved")


def test_model_file_without_its_manifest(saved_model):
    manifest_path(saved_model).unlink()
    raises_input_error(load_model, saved_model, "no manifest rf.manifest.json beside the model file")


def test_expected_hash_of_the_caller_differs(saved_model):
    raises_input_error(load_model, saved_model, "model file changed since it was saved", expected_sha256="0" * 64)


def test_skops_file_holding_an_untrusted_type_is_refused(saved_model):
    """A skops file whose hash matches a rewritten manifest but holds a type nobody trusted."""
    from sklearn.preprocessing import FunctionTransformer

    data = sio.dumps(FunctionTransformer(func=os.system))  # loading it would hand os.system to the caller
    saved_model.write_bytes(data)
    manifest = json.loads(manifest_path(saved_model).read_text())
    manifest["files"][saved_model.name]["sha256"] = hashlib.sha256(data).hexdigest()
    manifest_path(saved_model).write_text(json.dumps(manifest))
    raises_input_error(load_model, saved_model, "holds types its manifest does not trust")


def test_manifest_that_trusts_a_dangerous_type_is_refused(saved_model):
    manifest = json.loads(manifest_path(saved_model).read_text())
    manifest["trusted_types"].append("builtins.eval")
    manifest_path(saved_model).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"trusts types outside the allow-list: \['builtins.eval'\]") as info:
        load_model(saved_model)
    assert info.value.source == str(manifest_path(saved_model))


# ------------------------------------------------------------------------------ catalogs (reader)


def test_catalog_with_invalid_yaml(tmp_path):
    path = text_file(tmp_path, "area.yaml", "study_area: x\ngrid: {crs: EPSG:32612\n")
    raises_input_error(read_catalog, path, "not valid YAML")


def test_catalog_with_a_geographic_grid(tmp_path):
    path = text_file(tmp_path, "area.yaml", 'study_area: x\ngrid: {crs: "EPSG:4326", bounds: [0, 0, 1, 1], resolution_m: 0.1}\n')
    raises_input_error(read_catalog, path, "key 'grid.crs': EPSG:4326 is geographic")


@pytest.mark.parametrize("name", ["..", "."])
def test_catalog_study_area_that_leaves_the_outputs_folder(tmp_path, name):
    path = text_file(tmp_path, "area.yaml", f"study_area: '{name}'\n" + GRID_YAML)
    raises_input_error(read_catalog, path, "key 'study_area'")


# ------------------------------------------------------------------------------ through the CLI


def _cli(catalog: Path, outputs: Path, cwd: Path, timeout_s: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(cwd / "prefect"), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return subprocess.run([sys.executable, "-m", "flows.ingest", "--catalog", str(catalog), "--outputs", str(outputs)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)


@pytest.fixture
def previous_output(tmp_path) -> Path:
    """An earlier run's published map that a failed run must leave byte for byte."""
    path = tmp_path / "outputs" / "area" / "ingest" / "layers" / "magnetics.tif"
    path.parent.mkdir(parents=True)
    path.write_bytes(os.urandom(4096))
    return path


def _check_one_line(result: subprocess.CompletedProcess, file_name: str, fix: str) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr[-2000:]
    assert file_name in lines[0] and f"Fix: {fix}" in lines[0]
    return lines[0].removeprefix("error: ")


CLI_CASES = {
    "unknown_key": ("study_area: area\n" + GRID_YAML + "rasterz: {}\n", "unknown key 'rasterz'", "remove it"),
    "missing_raster": ("study_area: area\n" + GRID_YAML + "rasters: {magnetics: {path: absent.tif}}\n",
                       "file not found", "correct the path"),
    "study_area_with_a_slash": ("study_area: ../x\n" + GRID_YAML, "key 'study_area'", "correct this value"),
    "study_area_dot_dot": ("study_area: '..'\n" + GRID_YAML, "is not a folder name", "use letters"),
}


# each CLI call starts Python and imports Prefect (~5-10 s on a loaded box): one case runs by default
@pytest.mark.parametrize("case", [case if case == "study_area_dot_dot" else pytest.param(case, marks=pytest.mark.slow)
                                  for case in sorted(CLI_CASES)])
def test_cli_refuses_a_bad_catalog(tmp_path, previous_output, cli_message, case):
    text, problem, fix = CLI_CASES[case]
    catalog = text_file(tmp_path, "bad.yaml", text)
    before = previous_output.read_bytes()
    result = _cli(catalog, tmp_path / "outputs", tmp_path, timeout_s=60)
    message = _check_one_line(result, "bad.yaml", fix)
    assert problem in message and "Traceback" not in result.stderr
    cli_message(message)
    assert previous_output.read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == ["area"]  # nothing written beside it
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_cli_refuses_a_bad_survey_file_inside_the_flow(tmp_path, previous_output, cli_message):
    """The error comes from a task inside the flow: still one line, exit 2, the old output intact."""
    ves = text_file(tmp_path, "ves_001.csv", VES_HEADER + "1.5,0.5,100\n3,0.5,90\n2,0.5,80\n")
    catalog = text_file(tmp_path, "bad.yaml", "study_area: area\n" + GRID_YAML + f"surveys: {{ves: [{ves}]}}\n")
    before = previous_output.read_bytes()
    result = _cli(catalog, tmp_path / "outputs", tmp_path)
    message = _check_one_line(result, "ves_001.csv", "list each MN/2 segment")
    cli_message(message)
    assert previous_output.read_bytes() == before
    assert not (tmp_path / "outputs" / "area" / "ingest" / "report.html").exists()
    assert "Traceback" not in result.stderr  # Prefect's own log of the failed task is one line too


def test_catalog_without_a_grid_says_what_to_add(tmp_path):
    # A VES-only catalog as a new user writes it: the fix shows the grid section to add.
    path = tmp_path / "ves_only.yaml"
    path.write_text("study_area: myanmar\nsurveys: {ves: []}\n")
    with pytest.raises(InputError, match="ves_only.yaml: key '\\(top level\\)': a catalog needs a 'grid' section") as info:
        read_catalog(path)
    assert info.value.fix.startswith("add grid: {crs: 'EPSG:<a projected CRS in metres>'")
