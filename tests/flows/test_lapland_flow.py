"""The prospectivity flow end to end on a real study area: Central Lapland IOCG (data/catalogs/lapland_iocg.yaml).

National-grid CRS (EPSG:3067, written differently by GDAL and pyproj), a study-area polygon, a
zero-filled AEM raster, lithology polygons, structures, till geochemistry gridded as evidence, 13
deposits. Small settings: a 1 km grid and two cheap models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from geoprospect.io.cube import open_cube
from tests import REALDATA

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "data" / "catalogs" / "lapland_iocg.yaml"

pytestmark = [pytest.mark.slow, pytest.mark.realdata,
              pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent")]


def small_catalog(folder: Path, resolution_m: float = 1000) -> Path:
    """The shipped catalog with absolute paths, a coarser grid and small model settings."""
    text = yaml.safe_load(CATALOG.read_text())

    def absolute(node):
        if isinstance(node, dict):
            return {k: (str((CATALOG.parent / v).resolve()) if k in ("path", "mask") else absolute(v)) for k, v in node.items()}
        return node

    catalog = absolute(text)
    catalog["grid"]["resolution_m"] = resolution_m
    catalog["prospectivity"].update(models={"rf": {"model": "rf", "params": {"n_estimators": 40}},
                                            "pu_rf": {"model": "pu_rf", "params": {"n_estimators": 8}}},
                                    imbalance=["none"], n_folds=3, background_samples=400, map_sample=2000)
    path = folder / "lapland_small.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def lapland_run(harness, tmp_path_factory):
    from flows.prospectivity import prospectivity

    folder = tmp_path_factory.mktemp("lapland")
    report = prospectivity(catalog=str(small_catalog(folder)), outputs=str(folder / "outputs"))
    return Path(report).parent, folder / "outputs" / "lapland_iocg"


def test_the_real_area_runs_end_to_end(lapland_run):
    folder, area = lapland_run
    metrics = json.loads((folder / "metrics.json").read_text())
    training = metrics["training"]
    assert training["positives"] >= 8  # most of the 13 deposits land on cells with every feature
    assert 0.3 < training["modelled_fraction"] < 0.85  # the mask and the AEM survey's footprint leave the rest nodata
    names = set(training["feature_valid_fraction"])
    assert {"aem", "till_log10_Cu_ppm_511", "till_log10_Fe_ppm_511", "till_log10_Co_ppm_511",
            "distance_to_structures_m", "distance_to_contacts_lithology_m"} <= names or "aem" in names
    assert metrics["chosen_model"] in {"rf-none", "pu_rf-none", "ensemble-none"} and metrics["chosen_because"]
    for row in metrics["models"]:
        assert 0 <= row["roc_auc_mean"] <= 1
    assert (folder / "models_side_by_side.png").is_file()


def test_outside_the_study_area_everything_is_nodata(lapland_run):
    folder, area = lapland_run
    with rasterio.open(area / "ingest" / "layers" / "study_area.tif") as src:
        inside = np.isfinite(src.read(1))
    assert 0.5 < inside.mean() < 0.95  # the polygon is not the bounding box
    with rasterio.open(folder / "models" / "rf-none" / "probability.tif") as src:
        scored = np.isfinite(src.read(1))
    assert scored.any() and not (scored & ~inside).any()
    cube = open_cube(next((area / "work" / "cube").glob("cube-*.zarr")))
    assert np.isnan(cube.values[:, ~inside]).all()  # every pipeline reading the ingest cube sees the mask
    table = pd.read_csv(folder / "training" / "training_table.csv")
    assert inside[table["row"], table["col"]].all()  # no background sample outside the polygon


def test_the_aem_zero_fill_and_the_till_gridding_are_reported(lapland_run):
    _, area = lapland_run
    layers = pd.read_csv(area / "ingest" / "layers.csv").set_index("band")
    assert 0.3 < layers.loc["aem", "valid_fraction"] < 0.95 and layers.loc["aem", "min"] > 0  # 0 is nodata, not a value
    assert (area / "ingest" / "quicklooks" / "till_log10_Cu_ppm_511.png").is_file()
    assert layers.loc["till_log10_Cu_ppm_511", "max"] < 4  # log10 of ppm
