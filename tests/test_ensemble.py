"""The rank-averaging ensemble and the choice of its members."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

from geoprospect.catalog import ModelSpec, ProspectivitySpec
from geoprospect.models.pipeline import build_pipeline
from geoprospect.pipelines.prospectivity_extras import ensemble_model
from geoprospect.uncertainty import SpreadModel, spread_source

MEMBERS = [{"model": "rf", "params": {"n_estimators": 20}}, {"model": "lgbm", "params": {"n_estimators": 30}}]


def test_the_ensemble_is_the_mean_percentile_of_its_members_over_the_background():
    X, y = make_classification(300, 5, n_informative=3, n_redundant=0, weights=[0.9], random_state=0)
    X = pd.DataFrame(X, columns=list("abcde"))
    model = build_pipeline("ensemble", {"members": MEMBERS}).fit(X, y)
    ensemble = model.steps[-1][1]
    ranks = []
    for member in ensemble.estimators_:
        background = np.sort(member.predict_proba(X[y == 0])[:, 1])
        ranks.append(np.searchsorted(background, member.predict_proba(X)[:, 1], side="right") / background.size)
    assert np.allclose(model.predict_proba(X)[:, 1], np.mean(ranks, axis=0))
    assert spread_source(model) == "members" and np.allclose(ensemble.predict_sd(X), np.std(ranks, axis=0))
    # the spread map is the members' rank disagreement, not the SD of their raw probabilities
    assert np.allclose(SpreadModel(model).predict_proba(X)[:, 1], np.std(ranks, axis=0))


def test_the_ensemble_takes_the_best_models_by_the_lower_bound_that_keeps_a_model():
    def summary(mean, sd, pr_auc=0.5):
        return {"prediction_rate_auc": {"mean": mean, "sd": sd}, "pr_auc": {"mean": pr_auc}}

    # bounds with 5 folds (one run per model): rf 0.80 - 0.30/sqrt(5) = 0.666, svm 0.85 - 0.05/sqrt(5) = 0.828, gp 0.75; rf has the best PR-AUC
    runs = [("rf", ModelSpec(model="rf"), "none", summary(0.80, 0.30, pr_auc=0.9)),
            ("svm", ModelSpec(model="svm"), "none", summary(0.85, 0.05)),
            ("svm", ModelSpec(model="svm"), "smote", summary(0.84, 0.05)),  # second-best, but svm is in already
            ("gp", ModelSpec(model="gp"), "smote", summary(0.75, 0.0)),
            ("mlp", ModelSpec(model="mlp"), "none", summary(float("nan"), 0.0))]
    spec = ensemble_model(runs, 2, ProspectivitySpec())
    assert spec.model == "ensemble" and [(m["model"], m["imbalance"]) for m in spec.params["members"]] == [("svm", "none"), ("gp", "smote")]
    assert ensemble_model(runs, 1, ProspectivitySpec()) is None


def test_shap_maps_of_a_kept_ensemble_are_drawn_for_its_best_single_run():
    from geoprospect.pipelines.prospectivity_extras import explained_model, kept_model

    def result(label, mean, sd):
        return {"label": label, "imbalance": "none", "map": {"scores": {}},
                "cv": {"n_folds": 4, "summary": {"prediction_rate_auc": {"mean": mean, "sd": sd}}}}

    # rf's bound 0.80 - 0.04 / 2 = 0.78 is the best; the ensemble's 0.79 is within one SE (0.02): it is kept
    results = [result("rf", 0.80, 0.04), result("svm", 0.70, 0.02), result("ensemble", 0.79, 0.10)]
    assert kept_model(results, None) == "ensemble-none" and explained_model(results, None) == "rf-none"
    assert explained_model(results, "svm") == "svm-none"
    assert explained_model([result("rf", 0.80, 0.04), result("ensemble", 0.60, 0.1)], None) == "rf-none"


def test_spread_maps_go_to_the_kept_run_then_the_next_best():
    from geoprospect.pipelines.prospectivity_extras import spread_models

    def result(label, mean, sd):
        return {"label": label, "imbalance": "none", "map": {"scores": {}},
                "cv": {"n_folds": 4, "summary": {"prediction_rate_auc": {"mean": mean, "sd": sd}}}}

    # bounds: rf 0.78, gp 0.74, svm 0.69, ensemble 0.74 (kept: within one SE of rf)
    results = [result("svm", 0.70, 0.02), result("rf", 0.80, 0.04), result("ensemble", 0.79, 0.10), result("gp", 0.75, 0.02)]
    assert spread_models(results, None, 1) == ["ensemble-none"]
    assert spread_models(results, None, 2) == ["ensemble-none", "rf-none"]
    assert spread_models(results, "svm", 2) == ["svm-none", "rf-none"]  # the kept one named in the catalog first
    assert spread_models(results, None, 0) == ["svm-none", "rf-none", "ensemble-none", "gp-none"]  # 0: every run
    assert len(spread_models(results, None, 9)) == 4
