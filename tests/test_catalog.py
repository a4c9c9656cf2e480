"""The study-area catalog: the demo catalog reads, paths resolve, every bad catalog is one InputError."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from geoprospect.catalog import Catalog, GridSpec
from geoprospect.errors import InputError
from geoprospect.io.catalog import read_catalog, write_catalog


@pytest.fixture(scope="module")
def demo_raw(demo_catalog) -> dict:
    return yaml.safe_load(demo_catalog.read_text())


def _write_beside(demo_catalog: Path, raw, name: str) -> Path:
    """A catalog variant in the demo folder, so that its relative paths still resolve."""
    path = demo_catalog.parent / f"variant_{name}.yaml"
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False))
    return path


def test_demo_catalog_reads_with_absolute_existing_paths(demo_catalog):
    catalog = read_catalog(demo_catalog)
    folder = demo_catalog.parent.resolve()
    assert catalog.study_area == "demo"
    assert catalog.grid.crs == "EPSG:32612" and catalog.grid.resolution_m == 60
    assert catalog.rasters["dem"].path == folder / "rasters" / "dem.tif"
    assert catalog.rasters["magnetics_tmi"].units == "nT"
    assert catalog.scenes["sentinel2"].sensor == "sentinel2"
    assert catalog.vectors["geology"].class_column == "unit"
    files = catalog.files()
    assert files["rasters.dem.path"] == folder / "rasters" / "dem.tif"
    assert files["deposits.path"] == folder / "vectors" / "deposits.gpkg"
    assert files["surveys.ves[0]"].name.startswith("ves_S01")
    assert all(p.is_absolute() and p.exists() for p in files.values())


def test_missing_inputs_name_the_pipelines_regenerate_skips(demo_catalog, demo_raw):
    assert read_catalog(demo_catalog).missing_inputs() == {}  # the demo feeds every pipeline
    rasters_only = {k: demo_raw[k] for k in ("study_area", "grid", "rasters", "vectors")}
    missing = read_catalog(_write_beside(demo_catalog, rasters_only, "rasters_only")).missing_inputs()
    assert set(missing) == {"prospectivity", "inversion", "seismic", "lithology", "tectonics"}
    assert missing["seismic"] == "the catalog has no 'waveforms' section"


def test_relative_paths_resolve_against_the_catalog_folder_not_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "area" / "grids").mkdir(parents=True)
    (tmp_path / "area" / "grids" / "tmi.tif").write_bytes(b"")
    path = tmp_path / "area" / "catalog.yaml"
    path.write_text(yaml.safe_dump({
        "study_area": "a1", "grid": {"crs": "EPSG:32611", "bounds": [0, 0, 1000, 1000], "resolution_m": 100},
        "rasters": {"tmi": {"path": "grids/tmi.tif", "units": "nT"}},
        "plate_model": {"rotations": ["../rot.rot"], "topologies": ["grids/tmi.tif"]},
    }))
    monkeypatch.chdir(tmp_path)
    catalog = read_catalog(path, check_files=False)
    assert catalog.rasters["tmi"].path == (tmp_path / "area" / "grids" / "tmi.tif").resolve()
    assert catalog.plate_model.rotations[0] == (tmp_path / "rot.rot").resolve()
    with pytest.raises(InputError, match=r"plate_model\.rotations\[0\]"):
        read_catalog(path)


def test_the_catalog_model_needs_a_grid_or_a_demo_section():
    with pytest.raises(ValueError, match="grid"):
        Catalog.model_validate({"study_area": "x"})
    assert Catalog.model_validate({"study_area": "x", "demo": {"seed": 3}}).demo.seed == 3


def _rename_rasters(d):
    d["rastres"] = d.pop("rasters")


def _drop_study_area(d):
    d.pop("study_area")


def _unknown_sensor(d):
    d["scenes"]["landsat8"]["sensor"] = "landsat5"


def _unknown_crs(d):
    d["grid"]["crs"] = "EPSG:999999"


def _geographic_crs(d):
    d["grid"]["crs"] = "EPSG:4326"


def _inverted_bounds(d):
    xmin, ymin, xmax, ymax = d["grid"]["bounds"]
    d["grid"]["bounds"] = [xmax, ymin, xmin, ymax]


def _missing_file(d):
    d["rasters"]["dem"]["path"] = "rasters/no_such_dem.tif"


def _age_grid_without_time(d):
    d["plate_model"]["age_grid"] = "agegrids/agegrid.nc"


def _unknown_nested_key(d):
    d["vectors"]["faults"]["colour"] = "red"


@pytest.mark.parametrize(("mutate", "key", "words"), [
    (_rename_rasters, "rastres", "unknown key"),
    (_drop_study_area, "study_area", "missing key"),
    (_unknown_sensor, "scenes.landsat8.sensor", "unknown sensor 'landsat5'"),
    (_unknown_crs, "grid.crs", "unknown CRS"),
    (_geographic_crs, "grid.crs", "geographic"),
    (_inverted_bounds, "grid.bounds", "xmax > xmin"),
    (_missing_file, "rasters.dem.path", "file not found"),
    (_age_grid_without_time, "plate_model.age_grid", "{time}"),
    (_unknown_nested_key, "vectors.faults.colour", "unknown key"),
])
def test_each_catalog_error_is_one_input_error_naming_file_and_key(demo_catalog, demo_raw, mutate, key, words):
    raw = copy.deepcopy(demo_raw)
    mutate(raw)
    path = _write_beside(demo_catalog, raw, mutate.__name__)
    with pytest.raises(InputError) as info:
        read_catalog(path)
    error = info.value
    assert error.source == str(path)
    assert f"'{key}'" in error.problem and words in error.problem
    assert str(path) in str(error) and error.fix


@pytest.mark.parametrize(("text", "words"), [
    ("study_area: demo\ngrid: {crs: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "YAML mapping"),
    ("", "YAML mapping"),
])
def test_invalid_or_non_mapping_yaml(demo_catalog, text, words):
    path = _write_beside(demo_catalog, text, f"text{len(text)}")
    with pytest.raises(InputError, match=words) as info:
        read_catalog(path)
    assert info.value.source == str(path)


def test_missing_catalog_file(tmp_path):
    with pytest.raises(InputError, match="catalog file not found") as info:
        read_catalog(tmp_path / "nowhere.yaml")
    assert info.value.source.endswith("nowhere.yaml")


@pytest.mark.parametrize(("bounds", "resolution", "words"), [
    ((0, 0, 100, 100), 60, "two cells"),
    ((0, 100, 100, 0), 10, "xmax > xmin"),
])
def test_grid_spec_rejects_degenerate_extents(bounds, resolution, words):
    with pytest.raises(ValueError, match=words):
        GridSpec(crs="EPSG:32611", bounds=bounds, resolution_m=resolution)


def test_grid_crs_is_normalised():
    assert GridSpec(crs="epsg:32611", bounds=(0, 0, 100, 100), resolution_m=10).crs == "EPSG:32611"


def test_write_catalog_round_trips_and_refuses_an_invalid_mapping(tmp_path):
    raw = {"study_area": "rt", "grid": {"crs": "EPSG:32611", "bounds": [0, 0, 1000, 1000], "resolution_m": 50}}
    path = write_catalog(raw, tmp_path / "c.yaml", header="made by a test")
    assert path.read_text().startswith("# made by a test\n")
    assert read_catalog(path).grid.bounds == (0, 0, 1000, 1000)
    with pytest.raises(ValueError):
        write_catalog({"study_area": "rt"}, tmp_path / "bad.yaml")
    assert not (tmp_path / "bad.yaml").exists()


def test_lithology_lacks_a_label_layer_or_a_named_scene(demo_catalog, demo_raw):
    no_geology = {**demo_raw, "vectors": {k: v for k, v in demo_raw["vectors"].items() if k != "geology"}}
    catalog = read_catalog(_write_beside(demo_catalog, no_geology, "no_geology"))
    assert "no class layer 'geology' for lithology.labels" in catalog.missing_inputs()["lithology"]
    with pytest.raises(InputError, match=r"the lithology pipeline cannot run.*or to null to cluster"):
        catalog.require("lithology")
    clustering = read_catalog(_write_beside(demo_catalog, {**no_geology, "lithology": {"labels": None}}, "clustering"))
    assert "lithology" not in clustering.missing_inputs()
    typo = read_catalog(_write_beside(demo_catalog, {**demo_raw, "lithology": {"scenes": ["landsat"]}}, "typo"))
    assert "no scene(s) ['landsat'] (lithology.scenes)" in typo.missing_inputs()["lithology"]


def test_the_lithology_command_refuses_a_catalog_without_its_label_layer_before_prefect(demo_catalog, demo_raw, tmp_path):
    import os
    import subprocess
    import sys

    no_geology = {**demo_raw, "vectors": {k: v for k, v in demo_raw["vectors"].items() if k != "geology"}}
    path = _write_beside(demo_catalog, no_geology, "no_geology_cli")
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    done = subprocess.run([sys.executable, "-m", "flows.lithology", "--catalog", str(path), "--outputs", str(tmp_path / "out")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "no class layer 'geology'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "prefect").exists() and not (tmp_path / "out").exists()  # refused before Prefect started
