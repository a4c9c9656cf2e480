"""The run page is built from plain tables: pipelines, tasks, inputs."""

import pandas as pd

from geoprospect.pipelines.regenerate import PipelineOutcome, run_report


def test_run_page_shows_maps_failures_timings_and_inputs():
    tasks = pd.DataFrame([
        {"flow": "ingest", "task": "align_raster", "state": "Completed", "started": "t0", "duration_s": 2.5, "error": ""},
        {"flow": "prospectivity", "task": "map_and_score", "state": "Failed", "started": "t1", "duration_s": 1.0,
         "error": "InputError: <features> all nodata"}])
    inputs = pd.DataFrame([{"key": "rasters.dem.path", "file": "/data/dem.tif", "sha256": "abcd"}])
    pipelines = [PipelineOutcome("ingest", "Completed", "ingest/report.html", products=("ingest/quicklooks/dem.png", "ingest/layers.csv"),
                                 wall_s=95.2),
                 PipelineOutcome("prospectivity", "Failed", error="map_and_score failed: all nodata", wall_s=359.6)]
    page = run_report("area", "2026-11-22T00:00:00+00:00", "v1 (core abc)", "study_area: area\n", inputs, pipelines, tasks)
    assert "<img src='ingest/quicklooks/dem.png'" in page and "ingest/layers.csv" in page
    assert "prospectivity: Failed" in page and "map_and_score failed: all nodata" in page
    assert "Failed tasks" in page and "InputError: &lt;features&gt; all nodata" in page  # escaped
    assert "3.5 s in all" in page and "/data/dem.tif" in page and "<pre>study_area: area\n</pre>" in page
    assert "1 of 2 completed" in page
    assert "1 min 35 s" in page and "6 min 0 s" in page and "Stage wall times add up to 7 min 35 s" in page  # the stage times


def test_a_skipped_pipeline_is_named_with_its_reason_and_not_counted():
    pipelines = [PipelineOutcome("ingest", "Completed", "ingest/report.html"),
                 PipelineOutcome("seismic", "Skipped", note="the catalog has no 'waveforms' section")]
    page = run_report("area", "t", "v1", "", pd.DataFrame(), pipelines, pd.DataFrame())
    assert "1 of 1 completed. Skipped: seismic (the catalog has no &#x27;waveforms&#x27; section)." in page
    assert "seismic: Skipped" not in page


def test_key_maps_come_first_with_captions_and_quicklooks_are_folded_away():
    products = ("prospectivity/models/rf-none/map.png", "prospectivity/models/rf-none/roc_pr.png")
    pipelines = [PipelineOutcome("ingest", "Completed", "ingest/report.html", products=("ingest/quicklooks/dem/elevation.png",)),
                 PipelineOutcome("prospectivity", "Completed", "prospectivity/report.html", products=products)]
    tasks = pd.DataFrame([{"flow": "ingest", "task": "align_raster", "state": "Completed", "started": "t0", "duration_s": 2.5,
                           "error": float("nan")}])
    page = run_report("area", "t", "v1", "", pd.DataFrame(), pipelines, tasks, stac="stac/catalog.json",
                      qgis="area.qgs")
    key = page.index("<h2>Key maps</h2>")
    assert key < page.index("prospectivity/models/rf-none/map.png") < page.index("<h2>ingest: Completed</h2>")
    assert "Prospectivity, model rf-none: probability of a deposit" in page and "roc pr" in page
    assert page.index("<details><summary>quicklook of every ingested band (1)") < page.index("ingest/quicklooks/dem/elevation.png")
    assert "duration (s)" in page and "NaN" not in page and "<div class='table'>" in page
    assert "stac/catalog.json" in page and "area.qgs" in page
