"""Cache keys follow what a step reads: the spread, ensemble and SHAP settings stay out of the models' keys."""

from geoprospect.catalog import ModelSpec, ProspectivitySpec
from tasks.prospectivity import explain_settings, shared_settings


def test_later_step_settings_leave_the_models_settings_unchanged():
    base = ProspectivitySpec(models={"rf": ModelSpec(model="rf")}, n_folds=3)
    edited = base.model_copy(update={"uncertainty": False, "ensemble_top": 0, "explain_features": 2,
                                     "explain_method": "sampled", "explain_max_cells": 500})
    assert shared_settings(edited) == shared_settings(base)
    assert shared_settings(base.model_copy(update={"n_folds": 4})) != shared_settings(base)  # a model setting does change it


def test_only_the_shap_settings_change_the_shap_steps_settings():
    base = ProspectivitySpec()
    assert explain_settings(base.model_copy(update={"uncertainty": False, "ensemble_top": 5})) == explain_settings(base)
    changed = explain_settings(base.model_copy(update={"explain_features": 2}))
    assert changed != explain_settings(base) and changed.explain_features == 2
