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
from geoprospect.models import RAW_INPUT_MODELS
from tasks.artifacts import publish_artifacts
from tasks.ingest import load_catalog
from tasks.prospectivity import (cross_validate_model, engineer_features, ensemble_model, explain_model, fit_final_model,
                                 explained_model, ingested_products, make_training_data, map_and_score, map_uncertainty,
                                 model_failure, publish, explain_settings, shared_settings, spread_models)


@flow(name="prospectivity", task_runner=task_runner(threads=2))
def prospectivity(catalog: str = DEMO_CATALOG, outputs: str = "outputs", run_ingest: bool = True) -> str:
    """Map prospectivity with every configured model; returns the path of the report page."""
    cat = load_catalog(catalog)
    cat.require("prospectivity")  # deposits and a layer to map them from, before any ingestion
    if run_ingest:
        ingest(catalog=catalog, outputs=outputs)
    spec = cat.prospectivity
    area = Path(outputs) / cat.study_area
    work = str(area / "work")
    products = ingested_products(str(area / "ingest"), spec.distance_to)
    lines = {name: (ref, cat.vectors[name].geometry) for name, ref in products["vectors"].items()}
    scenes = {name: scene.sensor for name, scene in cat.scenes.items()}
    features = engineer_features(products["cube"], lines, scenes, TargetGrid.from_spec(cat.grid), spec.window_cells, work,
                                  products["mask"])
    settings = shared_settings(spec)
    training = make_training_data(features["features"], products["deposits"], settings, work)

    runs = [(label, model, imbalance) for label, model in spec.models.items() for imbalance in spec.imbalance
            if imbalance == "none" or model.model not in RAW_INPUT_MODELS]  # no oversampling for evidence models
    cvs = [cross_validate_model.submit(training["table"], training["sample"], label, model, imbalance, settings, work)
           for label, model, imbalance in runs]
    fits = [fit_final_model.submit(training["table"], label, model, imbalance, settings, work) for label, model, imbalance in runs]
    # one model that cannot be fitted is reported with its reason; the others go on (model_failure)
    maps = [None if model_failure(fit) else
            map_and_score.submit(fit.result()["model"], features["features"], training["table"], training["sample"],
                                 products["deposits"], products["truth"], f"{label}-{imbalance}", work)
            for fit, (label, _, imbalance) in zip(fits, runs)]
    specs = {(label, imbalance): model for label, model, imbalance in runs}
    results, failures = [], []
    for (label, _, imbalance), cv, fit, mapped in zip(runs, cvs, fits, maps):
        if reason := model_failure(cv, fit, mapped):
            failures.append({"label": label, "imbalance": imbalance, "reason": reason})
        else:
            results.append({"label": label, "imbalance": imbalance, "cv": cv.result(), "fit": fit.result(), "map": mapped.result()})
    if not results:  # every model failed: the first one's error is the run's
        for future in (f for steps in zip(cvs, fits, maps) for f in steps if f is not None):
            future.result()
    ensemble = ensemble_model([(r["label"], specs[r["label"], r["imbalance"]], r["imbalance"], r["cv"]["summary"]) for r in results],
                              spec.ensemble_top, settings)
    if ensemble is not None:
        specs["ensemble", "none"] = ensemble
        cv = cross_validate_model.submit(training["table"], training["sample"], "ensemble", ensemble, "none", settings, work)
        fit = fit_final_model(training["table"], "ensemble", ensemble, "none", settings, work)
        mapped = map_and_score(fit["model"], features["features"], training["table"], training["sample"], products["deposits"],
                               products["truth"], "ensemble-none", work)
        results.append({"label": "ensemble", "imbalance": "none", "cv": cv.result(), "fit": fit, "map": mapped})
    if spec.uncertainty:
        spread_keys = spread_models(results, spec.save_model, spec.uncertainty_models)
        spread_runs = [r for r in results if f"{r['label']}-{r['imbalance']}" in spread_keys]
        spreads = [map_uncertainty.submit(r["fit"]["model"], r["map"]["files"]["probability.tif"], features["features"],
                                          training["table"], products["deposits"], f"{r['label']}-{r['imbalance']}",
                                          specs[r["label"], r["imbalance"]], r["imbalance"], settings, work) for r in spread_runs]
    if spec.explain_features:  # (here, while the spread maps run on the task runner)
        explained = explained_model(results, spec.save_model)
        result = next(r for r in results if f"{r['label']}-{r['imbalance']}" == explained)
        result["explain"] = explain_model(result["fit"]["model"], features["features"], training["sample"], explained,
                                          explain_settings(spec), work)
    if spec.uncertainty:
        for result, spread in zip(spread_runs, spreads):
            result["uncertainty"] = spread.result()
    report = publish(training, results, spec.save_model, cat.study_area, str(area / "prospectivity"), failures)
    folder = area / "prospectivity"
    best = (folder / "metrics.json")
    publish_artifacts(cat.study_area, "prospectivity", report, str(folder / "comparison.csv"), _best_map(best))
    return report


def _best_map(metrics: Path) -> str | None:
    import json

    chosen = json.loads(metrics.read_text())["chosen_model"]
    return str(metrics.parent / "models" / chosen / "map.png")

