"""The ingest flow under Prefect: outputs, artifacts, caching by content, clear failures."""

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geoprospect.errors import InputError
from geoprospect.io.cube import open_cube

ROOT = Path(__file__).resolve().parents[2]


def _run(catalog, outputs):
    from flows.ingest import ingest
    from tasks.runs import task_run_states

    state = ingest(catalog=str(catalog), outputs=str(outputs), return_state=True)
    return state, task_run_states(state.state_details.flow_run_id)


def _computed(runs):
    return sorted(name for name, state in runs if state != "Cached")


@pytest.fixture(scope="module")
def first_run(harness, small_demo_catalog, tmp_path_factory):
    outputs = tmp_path_factory.mktemp("outputs")
    state, runs = _run(small_demo_catalog, outputs)
    return Path(state.result()), outputs, runs


def test_ingest_writes_an_aligned_cube(first_run):
    report, _, _ = first_run
    cube = open_cube(report.parent / "cube.zarr")
    bands = set(cube.band.values)
    assert {"geology", "magnetics_tmi", "gravity_bouguer", "dem", "landsat8_B4", "landsat8_B10", "aster_B3N", "aster_B14",
            "sentinel2_B8A"} <= bands
    assert "true_probability" not in bands  # the truth scores models, it is never a feature
    assert cube.rio.crs.to_string() == "EPSG:32612"
    assert cube.sizes["x"] == cube.sizes["y"] == 4000 // 60 + 1
    assert dict(zip(cube.band.values, cube.kind.values))["geology"] == "categorical"
    assert len(cube.attrs["classes"]["geology"]) >= 8
    with rasterio.open(report.parent / "layers" / "geology.tif") as src:  # published with its .aux.xml: QGIS shows the classes
        assert len(src.colormap(1)) >= 8 and src.dtypes[0] == "uint8"
    values = cube.sel(band="sentinel2_B04").values
    assert 0.0 < np.nanmean(values) < 0.6  # reflectance, not digital numbers


def test_ingest_writes_a_quicklook_of_every_layer_and_a_report_linking_them(first_run):
    report, _, _ = first_run
    cube = open_cube(report.parent / "cube.zarr")
    html = report.read_text()
    for band in [*cube.band.values, "true_probability", "survey_ves", "plate_model_0ma", "waveforms"]:
        assert (report.parent / "quicklooks" / f"{band}.png").stat().st_size > 5000, band
        assert f"quicklooks/{band}.png" in html, band
    for table in ("layers.csv", "sources.csv", "surveys/ves.csv", "plates/dated_deposits.csv", "waveforms/windows.csv"):
        assert (report.parent / table).is_file(), table


def test_ingest_publishes_a_markdown_preview_and_a_table_artifact(first_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read(key):
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))

    markdown = asyncio.run(read("flowtest-ingest-report"))
    table = asyncio.run(read("flowtest-ingest-table"))
    assert markdown and "data:image/png;base64," in markdown[0].data
    assert table and "valid_fraction" in str(table[0].data)


def test_rerun_is_cached_and_an_edited_raster_reruns_only_its_dependents(first_run, small_demo_catalog):
    _, outputs, runs = first_run
    assert "align_raster" in _computed(runs)
    _, again = _run(small_demo_catalog, outputs)
    assert _computed(again) == ["fingerprint", "load_catalog", "publish", "publish_artifacts"]

    dem = small_demo_catalog.parent / "demo" / "rasters" / "dem.tif"
    with rasterio.open(dem, "r+") as src:
        window = rasterio.windows.Window(0, 0, 1, 1)
        src.write(src.read(1, window=window) + np.float32(5), 1, window=window)
    _, edited = _run(small_demo_catalog, outputs)
    assert _computed(edited) == ["align_raster", "build_cube", "fingerprint", "load_catalog", "publish", "publish_artifacts", "render_quicklooks"]


def test_bad_input_fails_at_once_with_the_file_named_and_publishes_nothing(harness, small_demo_catalog, tmp_path):
    from flows.ingest import ingest

    demo = small_demo_catalog.parent / "demo"
    broken = tmp_path / "dem.tif"
    broken.write_bytes((demo / "rasters" / "dem.tif").read_bytes()[:2000])  # truncated download
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(f"study_area: broken\ngrid: {{crs: 'EPSG:32612', bounds: [520000, 3600000, 524000, 3604000], resolution_m: 60}}\n"
                       f"rasters:\n  dem: {{path: {broken}}}\n")
    state = ingest(catalog=str(catalog), outputs=str(tmp_path / "out"), return_state=True)
    assert state.is_failed()
    with pytest.raises(InputError, match="dem.tif"):
        state.result()
    assert not (tmp_path / "out" / "broken" / "ingest").exists()


def test_cli_prints_one_line_for_a_bad_catalog(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("study_area: x\ngrid: {crs: 'EPSG:32612', bounds: [0, 0, 1000, 1000], resolution_m: 30}\nrastres: {}\n")
    done = subprocess.run([sys.executable, "-m", "flows.ingest", "--catalog", str(catalog)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "unknown key 'rastres'" in done.stderr and "catalog.yaml" in done.stderr


def test_a_catalog_without_rasters_ingests_without_a_cube_and_prospectivity_says_what_it_lacks(first_run, small_demo_catalog,
                                                                                               tmp_path):
    from flows.ingest import ingest
    from flows.prospectivity import prospectivity

    vectors = small_demo_catalog.parent / "demo" / "vectors"
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(f"study_area: lines_only\ngrid: {{crs: 'EPSG:32612', bounds: [520000, 3600000, 524000, 3604000], "
                       f"resolution_m: 60}}\nvectors:\n  faults: {{path: {vectors / 'faults.gpkg'}, geometry: line}}\n"
                       f"deposits: {{path: {vectors / 'deposits.gpkg'}}}\n")
    state = ingest(catalog=str(catalog), outputs=str(tmp_path / "out"), return_state=True)
    assert state.is_completed(), state  # build_cube used to raise IndexError on no layers
    ingested = tmp_path / "out" / "lines_only" / "ingest"
    assert (ingested / "report.html").is_file() and not list(ingested.rglob("cube.zarr"))
    state = prospectivity(catalog=str(catalog), outputs=str(tmp_path / "out"), return_state=True)
    assert state.is_failed()
    with pytest.raises(InputError, match="catalog lines_only: the prospectivity pipeline cannot run: the catalog has no raster, scene"):
        state.result()
