"""Weights of evidence, fuzzy overlay and explanations: bad settings are one InputError naming the catalog key."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoprospect.errors import InputError
from geoprospect.models.fuzzy import FuzzyOverlay
from geoprospect.models.wofe import WeightsOfEvidence

X = pd.DataFrame({"dist_faults_m": np.linspace(0, 5000, 40), "k_pct": np.linspace(0, 4, 40)})
Y = np.r_[np.ones(5, int), np.zeros(35, int)]


def test_a_fuzzy_membership_for_a_missing_layer_names_the_key():
    with pytest.raises(InputError, match="no evidence layer called 'dist_fault'") as info:
        FuzzyOverlay(memberships={"dist_fault": {"function": "small", "midpoint": 1000}}).fit(X, Y)
    assert info.value.source.endswith("memberships.dist_fault") and "dist_faults_m" in info.value.fix


def test_a_fuzzy_membership_without_its_parameters_names_the_key():
    with pytest.raises(InputError, match="needs") as info:
        FuzzyOverlay(memberships={"k_pct": {"function": "large"}}).fit(X, Y)
    assert info.value.source.endswith("memberships.k_pct") and "midpoint" in info.value.fix


def test_wofe_on_a_continuous_layer_without_thresholds_names_the_key():
    with pytest.raises(InputError, match="continuous layer needs thresholds") as info:
        WeightsOfEvidence(evidence={"k_pct": {"kind": "continuous"}}).fit(X, Y)
    assert info.value.source.endswith("evidence.k_pct") and "contrast" in info.value.fix


def test_tree_shap_on_a_model_it_cannot_explain_names_the_key():
    from geoprospect.explain import Explainer
    from geoprospect.models.pipeline import build_pipeline

    model = build_pipeline("wofe", {"evidence": {"k_pct": {"kind": "continuous", "thresholds": [1.0]}}}).fit(X, Y)
    with pytest.raises(InputError, match="TreeExplainer cannot explain a WeightsOfEvidence") as info:
        Explainer(model, list(X.columns), X, method="tree")
    assert info.value.source == "prospectivity.explain_method" and "sampled" in info.value.fix
