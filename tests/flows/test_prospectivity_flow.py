"""The prospectivity flow under Prefect: every model's outputs, per-model caching, clear refusals."""

import json

import pytest
import rasterio

from geoprospect.errors import InputError

MODELS = "{rf: {model: rf, params: {n_estimators: 40}}, pu_rf: {model: pu_rf, params: {n_estimators: 8}}}"


def _catalog(small_demo_catalog, folder, name, models=MODELS, extra=""):
    demo = small_demo_catalog.parent / "demo"
    path = folder / f"{name}.yaml"
    path.write_text(f"study_area: flowtest\ndemo: {{seed: 5, folder: {demo}, size_m: 4000, resolution_m: 60}}\n"
                    f"prospectivity:\n  models: {models}\n  imbalance: [none]\n  n_folds: 3\n  background_samples: 400\n"
                    f"  map_sample: 2000\n  save_model: pu_rf\n{extra}")  # kept: a tree model, explained quickly
    return path


def _run(catalog, outputs):
    from flows.prospectivity import prospectivity
    from tasks.runs import task_run_states

    state = prospectivity(catalog=str(catalog), outputs=str(outputs), return_state=True)
    return state, task_run_states(state.state_details.flow_run_id)


@pytest.fixture(scope="module")
def first_run(harness, small_demo_catalog, tmp_path_factory):
    folder = tmp_path_factory.mktemp("prospectivity")
    catalog = _catalog(small_demo_catalog, folder, "first")
    state, runs = _run(catalog, folder / "outputs")
    return state.result(), folder, runs


def test_every_model_gets_a_cog_map_curves_metrics_and_a_safe_model_file(first_run):
    from pathlib import Path

    report, _, _ = first_run
    folder = Path(report).parent
    html = Path(report).read_text()
    for key in ("rf-none", "pu_rf-none"):
        model = folder / "models" / key
        with rasterio.open(model / "probability.tif") as src:
            assert src.crs.to_string() == "EPSG:32612"  # (a map this small needs no overviews)
            assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        for name in ("map.png", "success_rate.png", "prediction_rate.png", "roc_pr.png", "cv_metrics.json",
                     "feature_importance.csv", "model.skops", "model.manifest.json", "uncertainty.tif", "uncertainty.png",
                     "targets.csv"):
            assert (model / name).is_file(), (key, name)
        assert f"models/{key}/map.png" in html
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["training"]["block_size_m"] > 0 and len(metrics["models"]) == 3  # and the ensemble of the two
    for row in metrics["models"]:
        assert 0.5 < row["roc_auc_mean"] <= 1 and row["truth_spearman"] > 0.2  # better than chance, tracks the truth
        assert row["spread_source"] == {"rf": "folds", "pu_rf": "rounds", "ensemble": "members"}[row["model"]] and row["spread_mean"] > 0
        # each map labelled by what it holds; the truth's own soft ROC-AUC bounds every map's
        assert row["output"] == {"rf": "probability", "pu_rf": "score", "ensemble": "rank"}[row["model"]]
        assert row["truth_roc_auc"] <= row["truth_roc_auc_ceiling"] < 1
    with rasterio.open(folder / "models" / "ensemble-none" / "probability.tif") as src:
        assert "percentile rank" in src.tags()["QUANTITY"] and src.units == ("rank",)
    with rasterio.open(folder / "models" / "ensemble-none" / "uncertainty.tif") as src:
        assert src.units == ("percentile rank SD",)  # the members' ranks disagree, not probabilities
    kept = folder / "models" / metrics["chosen_model"]  # explained: SHAP maps of its top features
    with rasterio.open(kept / "shap.tif") as src:
        assert src.count == 4 and all(d.startswith("SHAP of ") for d in src.descriptions)
    assert (kept / "shap_panel.png").is_file() and (kept / "shap_dependence_1.png").is_file()
    assert f"models/{metrics['chosen_model']}/shap_panel.png" in html


def test_changing_one_models_parameters_retrains_only_that_model(first_run, small_demo_catalog):
    _, folder, _ = first_run
    models = MODELS.replace("n_estimators: 40", "n_estimators: 41")
    _, runs = _run(_catalog(small_demo_catalog, folder, "second", models=models), folder / "outputs")
    computed = sorted(name for name, state in runs if state != "Cached")
    # rf and the ensemble that holds it
    assert [n for n in computed if n in ("cross_validate_model", "fit_final_model", "map_and_score")] == \
        ["cross_validate_model"] * 2 + ["fit_final_model"] * 2 + ["map_and_score"] * 2
    assert "engineer_features" not in computed and "make_training_data" not in computed


def test_fewer_positives_than_folds_is_refused_clearly(first_run, small_demo_catalog):
    _, folder, _ = first_run
    catalog = _catalog(small_demo_catalog, folder, "folds")
    catalog.write_text(catalog.read_text().replace("n_folds: 3", "n_folds: 200"))
    state, _ = _run(catalog, folder / "outputs")
    assert state.is_failed()
    with pytest.raises(InputError, match="n_folds"):
        state.result()
