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
