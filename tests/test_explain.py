"""SHAP explanation maps: Tree SHAP adds up to the model's output, PU rounds are averaged, sampled
explanations run on a coarser grid, and maps are NaN where features are missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from geoprospect.explain import Explainer, shap_maps, top_features
from geoprospect.models.pipeline import build_pipeline

BANDS = ["a", "b", "c", "d"]


def _data():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 16, 20)).astype("float32")
    values[:, 0, 0] = np.nan
    cube = xr.DataArray(values, dims=("band", "y", "x"),
                        coords={"band": BANDS, "x": 15.0 + 30 * np.arange(20), "y": 600.0 - 30 * np.arange(16)})
    X = pd.DataFrame(values.reshape(4, -1).T, columns=BANDS).dropna()
    y = (X["a"] - X["c"] > 1.0).astype(int).to_numpy()
    return cube.rio.write_crs("EPSG:32611"), X, y


def test_tree_shap_of_a_forest_adds_up_and_maps_the_top_features():
    cube, X, y = _data()
    model = build_pipeline("rf", {"n_estimators": 20}, spearman_threshold=None).fit(X, y)
    explainer = Explainer(model, BANDS, X)
    assert explainer.kind == "tree" and explainer.units == "probability"
    values = explainer.shap_values(X)
    base = explainer.explainers[0].expected_value[1]
    assert np.allclose(values.sum(axis=1) + base, model.predict_proba(X)[:, 1], atol=1e-6)
    top, _ = top_features(explainer, X, 2)
    assert sorted(explainer.names[i] for i in top) == ["a", "c"]
    maps = shap_maps(explainer, cube, top, chunk=8).values
    assert maps.shape == (2, 16, 20) and np.isnan(maps[:, 0, 0]).all() and np.isfinite(maps[:, 1:, :]).all()
    assert np.allclose(maps[0].ravel()[1:], values[:, top[0]], atol=1e-6)


def test_pu_rounds_are_averaged_and_other_models_get_a_sampled_explainer_on_a_coarser_grid():
    cube, X, y = _data()
    pu = build_pipeline("pu_lgbm", {"n_estimators": 3}).fit(X, y)
    explainer = Explainer(pu, BANDS, X)
    assert explainer.kind == "tree" and len(explainer.explainers) == 3 and explainer.units == "log-odds"
    svm = build_pipeline("svm").fit(X, y)
    sampled = Explainer(svm, BANDS, X, n_background=20)
    assert sampled.kind == "sampled"
    values = sampled.shap_values(X.iloc[:5])
    base = svm.predict_proba(X.sample(20, random_state=0))[:, 1].mean()
    assert np.allclose(values.sum(axis=1) + base, svm.predict_proba(X.iloc[:5])[:, 1], atol=1e-6)
    maps = shap_maps(sampled, cube, [0, 2], max_cells=80)
    assert maps.shape == (2, 8, 10) and maps.rio.crs is not None


def test_a_pipeline_with_a_resampler_is_explained_through_its_prediction_steps():
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.preprocessing import StandardScaler

    from geoprospect.models.pipeline import prediction_steps

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = (X["a"] > 0.8).astype(int)
    model = Pipeline([("scale", StandardScaler()), ("smote", SMOTE(random_state=0)),
                      ("rf", RandomForestClassifier(n_estimators=5, random_state=0))]).fit(X, y)
    steps = prediction_steps(model)
    assert [name for name, _ in steps.steps] == ["scale"]
    np.testing.assert_allclose(steps.transform(X), model.named_steps["scale"].transform(X))
