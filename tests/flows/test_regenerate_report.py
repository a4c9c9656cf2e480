"""The run page of a regenerate run: written even when a pipeline fails, with the error and timings."""

import pytest


@pytest.mark.slow
def test_a_failed_pipeline_still_gets_a_run_page_with_its_error(harness, small_demo_catalog, tmp_path):
    from flows.regenerate import regenerate

    demo = small_demo_catalog.parent / "demo"
    catalog = tmp_path / "failing.yaml"
    # 200 folds with a handful of deposits: the prospectivity pipeline refuses, ingestion completes.
    catalog.write_text(f"study_area: runpage\ndemo: {{seed: 5, folder: {demo}, size_m: 4000, resolution_m: 60}}\n"
                       "prospectivity:\n  models: {rf: {model: rf, params: {n_estimators: 10}}}\n  imbalance: [none]\n"
                       "  n_folds: 200\ninversion: {studies: [sp], study_size: tiny}\n"
                       "lithology: {models: [svm], chip_sizes: [3], seeds: [0], samples_per_class: 40, "
                       "test_samples_per_class: 40, block_size_m: 600, unsupervised: false}\n"
                       "tectonics: {stop_ma: 20, step_myr: 5, models: [rf], n_splits: 3, windows: [[0, 10], [10, 20]], "
                       "animation: false}\n")
    state = regenerate(catalog=str(catalog), outputs=str(tmp_path / "out"), return_state=True)
    assert state.is_failed()
    page = (tmp_path / "out" / "runpage" / "index.html").read_text()
    assert "prospectivity: Failed" in page and "n_folds" in page  # the pipeline's error, readable
    assert "ingest: Completed" in page and "ingest/report.html" in page
    assert "inversion: Completed" in page and "inversion/sections/ves/section.png" in page  # independent of prospectivity
    assert "lithology: Completed" in page and "lithology/landsat8/svm/map.png" in page
    assert "tectonics: Completed" in page and "tectonics/window_0-10ma.png" in page
    assert "ingest/quicklooks/" in page and ".png" in page  # the maps of the run
    assert "Timings per task" in page and "align_raster" in page and "build_cube" in page
    assert "magnetics" in page and "sha256" in page  # input hashes
    assert "study_area: runpage" in page  # the catalog used


@pytest.mark.slow
def test_cli_prints_one_line_when_a_pipeline_fails_and_skips_what_the_catalog_lacks(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from geoprospect.demo import ensure_demo
    from tests.reliability.support import rasters_and_deposits_catalog

    root = Path(__file__).resolve().parents[2]
    ensure_demo(tmp_path / "demo", seed=5, size_m=4000, resolution_m=60)
    catalog = rasters_and_deposits_catalog(tmp_path / "demo", "cli", prospectivity={"n_folds": 200})  # more folds than deposits: fails
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    done = subprocess.run([sys.executable, "-m", "flows.regenerate", "--catalog", str(catalog), "--outputs", str(tmp_path / "out")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    page = tmp_path / "out" / "cli" / "index.html"
    assert done.returncode == 1, done.stderr[-3000:]
    assert f"error: prospectivity failed: see {page}" in done.stderr.splitlines()
    assert "Traceback" not in done.stderr
    text = page.read_text()
    assert "ingest: Completed" in text and "prospectivity: Failed" in text
    assert "Skipped: inversion" in text and "Skipped: seismic (the catalog has no &#x27;waveforms&#x27; section)" in text


@pytest.mark.slow
def test_a_plate_model_only_catalog_skips_ingest_and_runs_tectonics(harness, tmp_path):
    """No grid, only a plate model: regenerate has nothing to ingest onto, so it runs the tectonics flow alone."""
    import yaml

    from flows.regenerate import regenerate
    from geoprospect.demo import ensure_demo
    from geoprospect.io.catalog import read_catalog

    demo = ensure_demo(tmp_path / "demo", seed=5, size_m=4000, resolution_m=60).parent
    plates = yaml.safe_load((demo / "catalog.yaml").read_text())["plate_model"]
    plates = {k: ([str(demo / p) for p in v] if isinstance(v, list) else str(demo / v)) for k, v in plates.items()}
    catalog = tmp_path / "plates_only.yaml"
    catalog.write_text(yaml.safe_dump({"study_area": "platesonly", "plate_model": plates, "tectonics": {
        "stop_ma": 20, "step_myr": 5, "models": ["rf"], "n_splits": 3, "windows": [[0, 10], [10, 20]], "designs": ["time_matched"],
        "animation": False}}))
    assert "ingest" in read_catalog(catalog).missing_inputs()
    state = regenerate(catalog=str(catalog), outputs=str(tmp_path / "out"), return_state=True)
    assert state.is_completed(), state.message
    page = (tmp_path / "out" / "platesonly" / "index.html").read_text()
    assert "tectonics: Completed" in page and "Skipped: ingest (the catalog has no &#x27;grid&#x27; section)" in page
    assert not (tmp_path / "out" / "platesonly" / "ingest").exists()
