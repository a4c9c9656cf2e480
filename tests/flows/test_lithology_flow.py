"""The lithology flow under Prefect: every sensor x model cell filled, class maps on the input's grid, clusters,
the report; and on a real Landsat 7 scene, clusters then a classifier trained on them."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from geoprospect.errors import InputError
from geoprospect.io.maps import read_class_map

SETTINGS = ("lithology: {models: [svm, mlp, cnn], chip_sizes: [3, 5], seeds: [0, 1], epochs: 4, samples_per_class: 60, "
            "block_size_m: 600, n_folds: 2, clusters: 4, model_params: {svm: {param_grid: {C: [1, 10], gamma: [scale]}}}}\n")
SCENE = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "landsat7_bahamas" / "RGB.byte.tif"


def _run(catalog, outputs):
    from flows.lithology import lithology

    return lithology(catalog=str(catalog), outputs=str(outputs), return_state=True)


@pytest.fixture(scope="module")
def first_run(harness, small_demo_catalog, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lithology")
    catalog = folder / "lithology.yaml"
    catalog.write_text(small_demo_catalog.read_text() + SETTINGS)
    state = _run(catalog, folder / "outputs")
    return Path(state.result()).parent


def test_every_sensor_and_model_is_scored_on_both_splits(first_run):
    summary = pd.read_csv(first_run / "summary.csv")
    cells = {(s, m) for s, m in zip(summary["sensor"], summary["model"])}
    assert cells == {(s, m) for s in ("landsat8", "aster", "sentinel2") for m in ("svm", "mlp", "cnn")}
    assert set(summary["split"]) == {"block", "random"} and (summary["n_seeds"] == 2).all()
    assert summary["overall_accuracy_mean"].between(0, 1).all() and summary["kappa_sd"].notna().all()
    assert set(summary.loc[summary["model"] == "cnn", "chip_size"]) == {3, 5}
    table = pd.read_csv(first_run / "paper_table.csv")
    assert {"overall accuracy", "kappa"} <= set(table["class"]) and "landsat8 cnn" in table.columns
    assert "±" in table.loc[table["class"] == "kappa", "aster svm"].iloc[0]
    runs = pd.read_csv(first_run / "runs.csv")
    with rasterio.open(first_run.parent / "ingest" / "layers" / "geology.tif") as src:
        labelled = int((~np.ma.getmaskarray(src.read(1, masked=True))).sum())  # class codes (uint8) with a nodata value
    for _, scene in runs.groupby("sensor"):  # every labelled pixel with a complete chip tested once per run
        assert scene["n_test"].nunique() == 1 and 0.8 * labelled <= scene["n_test"].iloc[0] <= labelled
    folds = pd.read_csv(first_run / "landsat8" / "folds.csv")
    assert set(folds["fold"]) == {0, 1} and folds.groupby(["model", "chip_size", "split", "seed"])["n_test"].sum().nunique() == 1
    verdict = json.loads((first_run / "metrics.json").read_text())["verdict"]
    assert "corrected paired t-test" in verdict and verdict.count("CNN") == 3


def test_class_maps_are_cogs_on_the_grid_with_names_and_colours(first_run):
    cube_grid = rasterio.open(first_run.parent / "ingest" / "layers" / "geology.tif")
    for scene in ("landsat8", "aster", "sentinel2"):
        for model in ("svm", "mlp", "cnn"):
            codes, names, colours = read_class_map(first_run / scene / model / "map.tif")
            with rasterio.open(first_run / scene / model / "map.tif") as src:
                assert src.crs == cube_grid.crs and src.transform.almost_equals(cube_grid.transform)
                assert src.overviews(1) or min(src.shape) < 512 and src.is_tiled
            present = set(np.unique(codes.values)) - {0}
            assert present and present <= set(names) and set(names) <= set(colours)
            assert (first_run / scene / model / "map.png").stat().st_size > 0
            assert "GDALRasterAttributeTable" in (first_run / scene / model / "map.tif.aux.xml").read_text()
            with rasterio.open(first_run / scene / model / "confidence.tif") as src:
                confidence = src.read(1)
            assert np.nanmin(confidence) > 0 and np.nanmax(confidence) <= 1 + 1e-6
    metrics = json.loads((first_run / "metrics.json").read_text())
    assert set(metrics["best_chip"]) >= {"landsat8/cnn", "aster/svm"}
    html = (first_run / "report.html").read_text()
    assert "optimistic" in html and "landsat8/cnn/map.png" in html and "clusters.png" in html


def test_clusters_are_written_and_compared_with_the_units(first_run):
    clusters = pd.read_csv(first_run / "clusters.csv")
    assert set(clusters["scene"]) == {"landsat8", "aster", "sentinel2"} and clusters["adjusted_rand"].between(-1, 1).all()
    codes, names, _ = read_class_map(first_run / "aster" / "clusters.tif")
    assert len(names) == 4 and set(np.unique(codes.values)) - {0} <= set(names)


def test_a_rerun_takes_the_report_from_the_cache_and_restores_deleted_outputs(first_run):
    from tasks.runs import task_run_states

    (first_run / "report.html").unlink()
    (first_run / "landsat8" / "svm" / "map.tif").unlink()
    state = _run(first_run.parent.parent.parent / "lithology.yaml", first_run.parent.parent)
    assert Path(state.result()) == first_run / "report.html" and (first_run / "report.html").is_file()
    assert (first_run / "landsat8" / "svm" / "map.tif").is_file()
    states = task_run_states(state.state_details.flow_run_id)
    cached = {task for task, s in states if s == "Cached"}
    assert {"report", "compare_models", "map_scene", "cluster_scene"} <= cached
    assert {s for task, s in states if task in ("report", "compare_models", "map_scene")} == {"Cached"}


def test_an_unknown_band_is_refused_with_the_scene_named(first_run, small_demo_catalog, tmp_path):
    catalog = tmp_path / "bad.yaml"
    catalog.write_text(small_demo_catalog.read_text() + "lithology: {bands: {landsat8: [B2, B3, B99]}}\n")
    state = _run(catalog, first_run.parent.parent)
    with pytest.raises(InputError, match=r"lithology.bands.landsat8.*unknown band 'B99'"):
        state.result()


@pytest.mark.skipif(not SCENE.is_file(), reason="../shared/realdata is not beside the project")
def test_real_landsat7_scene_clusters_then_classifies_on_its_own_grid(harness, tmp_path):
    with rasterio.open(SCENE) as src:
        crs, left, top = src.crs, src.bounds.left, src.bounds.top
    bounds = [left + 30_000, top - 90_000, left + 90_000, top - 30_000]  # 60 km x 60 km inside the scene
    grid = f"grid: {{crs: '{crs.to_string()}', bounds: {bounds}, resolution_m: 300}}\n"
    scenes = f"scenes: {{etm: {{sensor: generic, path: {SCENE}, bands: [red, green, blue]}}}}\n"
    first = tmp_path / "clusters.yaml"
    first.write_text("study_area: bahamas\n" + grid + scenes + "lithology: {labels: null, clusters: 4, seeds: [0]}\n")
    report = Path(_run(first, tmp_path / "outputs").result())
    clusters = report.parent / "etm" / "clusters.tif"
    with rasterio.open(clusters) as src:
        assert src.crs == crs and src.res == (300, 300)
        assert (src.bounds.left, src.bounds.top) == (bounds[0], bounds[3])
        codes = src.read(1)
    assert len(set(np.unique(codes)) - {0}) >= 3
    page = report.read_text()
    assert "the scenes are clustered (4 clusters)" in page and "CNN chips" not in page  # no model settings to list

    # the clusters as a label raster: a supervised run on real data
    second = tmp_path / "supervised.yaml"
    second.write_text("study_area: bahamas2\n" + grid + scenes +
                      f"rasters: {{units: {{path: {clusters}, kind: categorical, nodata: 0}}}}\n"
                      "lithology: {labels: units, models: [svm, cnn], chip_sizes: [3], seeds: [0], epochs: 40, "
                      "samples_per_class: 80, block_size_m: 3000, n_folds: 3, unsupervised: false}\n")
    report = Path(_run(second, tmp_path / "outputs").result())
    summary = pd.read_csv(report.parent / "summary.csv")
    assert set(summary["model"]) == {"svm", "cnn"} and (summary["overall_accuracy_mean"] > 0.7).all()
    with rasterio.open(report.parent / "etm" / "cnn" / "map.tif") as src:
        assert src.crs == crs and (src.bounds.left, src.bounds.top) == (bounds[0], bounds[3])
