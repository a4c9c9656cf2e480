"""Weights of evidence against a hand-computed case, threshold choice by studentised contrast, the
conditional-independence checks, and the fuzzy memberships and operators."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geoprospect.models.fuzzy import FuzzyOverlay, combine, membership
from geoprospect.models.pipeline import build_pipeline
from geoprospect.models.wofe import WeightsOfEvidence, weights


def _hand_case():
    """100 cells, 10 deposits; pattern B covers 6 deposit cells and 20 of the 90 others."""
    y = np.r_[np.ones(10, int), np.zeros(90, int)]
    b = np.r_[np.ones(6), np.zeros(4), np.ones(20), np.zeros(70)]
    return pd.DataFrame({"b": b}), y


def test_wofe_weights_match_the_hand_computed_case():
    X, y = _hand_case()
    # P(B|D) = 6/10, P(B|~D) = 20/90; P(~B|D) = 4/10, P(~B|~D) = 70/90
    w_plus, w_minus = math.log(0.6 / (20 / 90)), math.log(0.4 / (70 / 90))
    s_plus, s_minus = math.sqrt(1 / 6 + 1 / 20), math.sqrt(1 / 4 + 1 / 70)
    expected = {"w_plus": w_plus, "w_minus": w_minus, "s_w_plus": s_plus, "s_w_minus": s_minus,
                "contrast": w_plus - w_minus, "s_contrast": math.hypot(s_plus, s_minus),
                "studentized_contrast": (w_plus - w_minus) / math.hypot(s_plus, s_minus)}
    assert weights(6, 20, 10, 90) == pytest.approx(expected)
    assert w_plus == pytest.approx(0.99325, abs=1e-5) and w_minus == pytest.approx(-0.66498, abs=1e-5)

    model = WeightsOfEvidence(evidence={"b": {"kind": "binary"}}).fit(X, y)
    row = model.report_tables()["wofe_weights"].iloc[0]
    assert row["n_deposits"] == 6 and row["n_cells"] == 26 and row["w_plus"] == pytest.approx(w_plus)
    prior = math.log(10 / 90)
    posterior = model.predict_proba(pd.DataFrame({"b": [1.0, 0.0, np.nan]}))[:, 1]
    assert posterior == pytest.approx([1 / (1 + math.exp(-(prior + w_plus))), 1 / (1 + math.exp(-(prior + w_minus))), 0.1])
    sd = model.predict_sd(pd.DataFrame({"b": [1.0]}))[0]
    assert sd == pytest.approx(posterior[0] * (1 - posterior[0]) * math.sqrt(1 / 10 + s_plus ** 2))
    # one layer is conditionally independent of itself trivially: the posterior sums to the deposits
    assert model.ci_test_["predicted"] == pytest.approx(10.0) and model.ci_test_["ratio"] == pytest.approx(1.0)


def test_multiclass_evidence_gives_each_class_its_weight():
    y = np.r_[np.ones(10, int), np.zeros(90, int)]
    rock = np.r_[[1] * 7 + [2] * 2 + [3] * 1, [1] * 10 + [2] * 40 + [3] * 40].astype(float)
    model = WeightsOfEvidence(evidence={"rock": {"kind": "categorical"}}).fit(pd.DataFrame({"rock": rock}), y)
    table = model.report_tables()["wofe_weights"].set_index("class")
    assert table.loc["1", "w_plus"] == pytest.approx(weights(7, 10, 10, 90)["w_plus"])
    assert table.loc["3", "w_plus"] == pytest.approx(weights(1, 40, 10, 90)["w_plus"])
    bins = WeightsOfEvidence(evidence={"rock": {"kind": "continuous", "thresholds": [1.5, 2.5]}}).fit(pd.DataFrame({"rock": rock}), y)
    assert bins.report_tables()["wofe_weights"]["w_plus"].to_numpy() == pytest.approx(table["w_plus"].to_numpy())


def test_contrast_picks_the_threshold_where_the_deposits_are():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(30, int), np.zeros(300, int)]
    distance = np.r_[rng.uniform(0, 400, 30), rng.uniform(0, 5000, 300)]  # deposits near the faults
    noise = rng.normal(size=330)
    X = pd.DataFrame({"distance_m": distance, "noise": noise})
    model = WeightsOfEvidence(evidence={"distance_m": {"kind": "continuous", "thresholds": "contrast"},
                                        "noise": {"kind": "continuous", "thresholds": "contrast"}}).fit(X, y)
    chosen = model.report_tables()["wofe_weights"].set_index("layer")
    assert chosen.loc["distance_m", "direction"] == "below" and 200 <= chosen.loc["distance_m", "threshold"] <= 800
    assert chosen.loc["distance_m", "studentized_contrast"] > chosen.loc["noise", "studentized_contrast"]
    auto = build_pipeline("wofe").fit(X, y).steps[-1][1]  # no evidence listed: only significant layers kept
    assert "distance_m" in auto.layers_
    assert set(model.ci_test_) >= {"observed", "predicted", "ratio", "z", "p_value", "pairwise"}


def test_memberships_and_operators():
    assert membership(np.array([1000.0]), "large", midpoint=1000)[0] == pytest.approx(0.5)
    assert membership(np.array([500.0, 2000.0]), "small", midpoint=1000, spread=2) == pytest.approx([0.8, 0.2])
    assert membership(np.array([0.0, 5.0, 20.0, np.nan]), "linear", low=10, high=0)[:3] == pytest.approx([1.0, 0.5, 0.0])
    m = np.array([[0.2, 0.9], [0.5, np.nan]])
    assert combine(m, "and") == pytest.approx([0.2, 0.9]) and combine(m, "or") == pytest.approx([0.5, 0.9])
    assert combine(m, "product")[0] == pytest.approx(0.1) and combine(m, "sum")[0] == pytest.approx(0.6)
    assert combine(m, "gamma", 0.5)[0] == pytest.approx(math.sqrt(0.6 * 0.1))


def test_fuzzy_overlay_uses_the_catalogs_memberships():
    X = pd.DataFrame({"dist_m": [100.0, 3000.0], "k_pct": [3.0, 0.5]})
    model = FuzzyOverlay(memberships={"dist_m": {"function": "small", "midpoint": 1000, "spread": 3},
                                      "k_pct": {"function": "linear", "low": 0, "high": 4}}, operator="and").fit(X, [1, 0])
    expected = np.minimum(membership(X["dist_m"].to_numpy(), "small", midpoint=1000, spread=3), X["k_pct"].to_numpy() / 4)
    assert model.predict_proba(X)[:, 1] == pytest.approx(expected)
