"""Prospectivity flow: evidence features, spatial block CV of every model and imbalance option, maps.

    python -m flows.prospectivity --catalog data/catalogs/demo.yaml

Writes ``outputs/<study_area>/prospectivity/``: per model and imbalance option a Cloud-Optimized
GeoTIFF map with its PNG (class breaks, deposits), curves, importances, metrics and the saved model;
``comparison.csv``, ``metrics.json`` and ``report.html``.
"""

from __future__ import annotations

if __name__ == "__main__":  # the command line: the catalog is checked before Prefect is imported
    from flows.cli import main

    main("flows.prospectivity:prospectivity", __doc__)

from pathlib import Path

from prefect import flow

from flows.cli import DEMO_CATALOG
from flows.runners import task_runner
from flows.ingest import ingest
from geoprospect.grid import TargetGrid
from tasks.artifacts import publish_artifacts
from tasks.ingest import load_catalog
from tasks.prospectivity import (cross_validate_model, engineer_features, fit_final_model, ingested_products,
                                 make_training_data, map_and_score, publish, shared_settings)


@flow(name="prospectivity", task_runner=task_runner(threads=2))
def prospectivity(catalog: str = DEMO_CATALOG, outputs: str = "outputs", run_ingest: bool = True) -> str:
    """Map prospectivity with every configured model; returns the path of the report page."""
    if run_ingest:
        ingest(catalog=catalog, outputs=outputs)
    cat = load_catalog(catalog)
    spec = cat.prospectivity
    area = Path(outputs) / cat.study_area
    work = str(area / "work")
    products = ingested_products(str(area / "ingest"), spec.distance_to)
    lines = {name: (ref, cat.vectors[name].geometry) for name, ref in products["vectors"].items()}
    scenes = {name: scene.sensor for name, scene in cat.scenes.items()}
    features = engineer_features(products["cube"], lines, scenes, TargetGrid.from_spec(cat.grid), spec.window_cells, work)
    settings = shared_settings(spec)
    training = make_training_data(features["features"], products["deposits"], settings, work)

    runs = [(label, model, imbalance) for label, model in spec.models.items() for imbalance in spec.imbalance]
    cvs = [cross_validate_model.submit(training["table"], training["sample"], label, model, imbalance, settings, work)
           for label, model, imbalance in runs]
    fits = [fit_final_model.submit(training["table"], label, model, imbalance, settings, work) for label, model, imbalance in runs]
    maps = [map_and_score.submit(fit.result()["model"], features["features"], training["table"], training["sample"],
                                 products["deposits"], products["truth"], f"{label}-{imbalance}", work)
            for fit, (label, _, imbalance) in zip(fits, runs)]
    results = [{"label": label, "imbalance": imbalance, "cv": cv.result(), "fit": fit.result(), "map": mapped.result()}
               for (label, _, imbalance), cv, fit, mapped in zip(runs, cvs, fits, maps)]
    report = publish(training, results, spec.save_model, cat.study_area, str(area / "prospectivity"))
    folder = area / "prospectivity"
    best = (folder / "metrics.json")
    publish_artifacts(cat.study_area, "prospectivity", report, str(folder / "comparison.csv"), _best_map(best))
    return report


def _best_map(metrics: Path) -> str | None:
    import json

    chosen = json.loads(metrics.read_text())["chosen_model"]
    return str(metrics.parent / "models" / chosen / "map.png")

