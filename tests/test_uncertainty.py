"""Spread maps (PU rounds, CV fold models) and the probability-vs-spread target ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from geoprospect.models.pipeline import build_pipeline
from geoprospect.predict import predict_map
from geoprospect.uncertainty import SPREAD, FoldEnsemble, SpreadModel, rank_targets, spread_source

BANDS = ["a", "b", "c"]


def _cube_and_table(rng):
    values = rng.normal(size=(3, 20, 25)).astype("float32")
    values[:, 2, 3] = np.nan
    cube = xr.DataArray(values, dims=("band", "y", "x"),
                        coords={"band": BANDS, "x": 15.0 + 30 * np.arange(25), "y": 600.0 - 30 * np.arange(20)})
    X = pd.DataFrame(values.reshape(3, -1).T, columns=BANDS).dropna()
    y = (X["a"] + 0.5 * X["b"] > 1.2).astype(int).to_numpy()
    return cube.rio.write_crs("EPSG:32611"), X, y


def test_pu_spread_is_the_sd_of_the_rounds_and_folds_spread_the_sd_of_the_fold_models():
    cube, X, y = _cube_and_table(np.random.default_rng(0))
    pu = build_pipeline("pu_rf", {"n_estimators": 6, "base": {"n_estimators": 5}}).fit(X, y)
    assert spread_source(pu) == "rounds"
    spread = predict_map(SpreadModel(pu), cube, positive_class=SPREAD).values
    Xt = pu[:-1].transform(X)
    rounds = np.stack([e.predict_proba(Xt)[:, 1] for e in pu.steps[-1][1].estimators_])
    valid = np.isfinite(cube.values).all(axis=0)
    assert np.allclose(spread[valid], rounds.std(axis=0), atol=1e-6) and np.isnan(spread[2, 3])

    rf = build_pipeline("rf", {"n_estimators": 10})
    assert spread_source(rf.fit(X, y)) is None
    folds = np.arange(len(y)) % 3
    members = FoldEnsemble([build_pipeline("rf", {"n_estimators": 10}).fit(X[folds != k], y[folds != k]) for k in range(3)])
    spread = predict_map(SpreadModel(members), cube, positive_class=SPREAD).values
    expected = np.stack([m.predict_proba(X)[:, 1] for m in members.models]).std(axis=0)
    assert np.allclose(spread[valid], expected, atol=1e-6) and spread[valid].max() > 0


def test_targets_put_high_score_low_spread_first():
    probability = np.array([[0.9, 0.9, 0.1], [0.8, np.nan, 0.2]])
    spread = np.array([[0.30, 0.05, 0.0], [0.01, 0.0, 0.0]])
    table = rank_targets(probability, spread, x=np.array([0.0, 1.0, 2.0]), y=np.array([10.0, 9.0]), top_share=0.6)
    assert table[["x", "y"]].values.tolist() == [[1.0, 10.0], [0.0, 9.0], [0.0, 10.0]]
    assert table["rank"].tolist() == [1, 2, 3] and table["agreement"].iloc[0] == "high score, low spread"
    assert table["agreement"].iloc[2] == "high score, high spread"


def test_spread_of_a_pipeline_with_an_oversampler_skips_it_as_prediction_does():
    # the Lapland run failed here: SMOTE has no transform, so the pipeline's head cannot be applied whole
    cube, X, y = _cube_and_table(np.random.default_rng(1))
    pu = build_pipeline("pu_rf", {"n_estimators": 4, "base": {"n_estimators": 5}}, imbalance="smote").fit(X, y)
    assert spread_source(pu) == "rounds"
    spread = predict_map(SpreadModel(pu), cube, positive_class=SPREAD).values
    valid = np.isfinite(cube.values).all(axis=0)
    assert np.isfinite(spread[valid]).all() and (spread[valid] >= 0).all()


def test_mlp_spread_is_the_sd_over_mc_dropout_passes_and_is_reproducible(tmp_path):
    from geoprospect.io.models import load_model, save_model

    cube, X, y = _cube_and_table(np.random.default_rng(2))
    mlp = build_pipeline("mlp", {"max_iter": 30, "mc_passes": 8}).fit(X, y)
    assert spread_source(mlp) == "dropout"
    final, Xt = mlp.steps[-1][1], mlp[:-1].transform(X)
    spread = predict_map(SpreadModel(mlp), cube, positive_class=SPREAD).values
    valid = np.isfinite(cube.values).all(axis=0)
    assert np.allclose(spread[valid], final.predict_sd(Xt), atol=1e-6) and spread[valid].min() > 0  # passes differ
    # dropout off at prediction: one deterministic probability; the passes are seeded at fit
    assert np.array_equal(final.predict_proba(Xt), final.predict_proba(Xt))
    loaded, _ = load_model(save_model(mlp, tmp_path / "mlp.skops", {"model": "mlp", "features": BANDS}))
    assert np.allclose(loaded.steps[-1][1].predict_sd(Xt), final.predict_sd(Xt))
    no_dropout = build_pipeline("mlp", {"max_iter": 30, "mc_passes": 8, "dropout": 0.0}).fit(X, y)
    assert np.allclose(no_dropout.steps[-1][1].predict_sd(Xt), 0.0)
