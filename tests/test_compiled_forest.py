"""Compiled forests give scikit-learn's probabilities; the map path uses them where it can."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression

from geoprospect.models import make_model
from geoprospect.models.compiled import compile_for_maps
from geoprospect.predict import predict_map
from tests.test_predict import BANDS, make_cube


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 5))
    y = (X[:, 0] + X[:, 1] ** 2 + rng.normal(size=600) > 1.5).astype(int)
    # float32 grid values: many cells land exactly on (or one float32 step from) a split threshold
    queries = np.round(rng.normal(scale=1.5, size=(5000, 5)), 2).astype("float32")
    return X, y, np.vstack([queries, X[:500].astype("float32")])


@pytest.mark.parametrize("model", [
    RandomForestClassifier(n_estimators=30, random_state=0),
    ExtraTreesClassifier(n_estimators=20, max_depth=6, random_state=0),
    Pipeline([("scale", StandardScaler()), ("smote", SMOTE(random_state=0)),
              ("rf", RandomForestClassifier(n_estimators=15, min_samples_leaf=3, random_state=0))]),
], ids=["rf", "extra_trees", "pipeline_with_smote"])
def test_compiled_forest_equals_scikit_learn(data, model):
    X, y, queries = data
    model.fit(X, y)
    np.testing.assert_allclose(compile_for_maps(model)(queries), model.predict_proba(queries)[:, 1], rtol=0, atol=1e-12)


def test_compiled_pu_bagging_equals_its_predict_proba(data):
    X, y, queries = data
    model = make_model("pu_rf", {"n_estimators": 4, "base": {"n_estimators": 8}}).fit(X, y)
    np.testing.assert_allclose(compile_for_maps(model)(queries), model.predict_proba(queries)[:, 1], rtol=0, atol=1e-12)


def test_string_labels_and_the_other_class(data):
    X, y, queries = data
    labels = np.where(y == 1, "deposit", "background")
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, labels)
    for positive in ("deposit", "background"):
        column = list(model.classes_).index(positive)
        np.testing.assert_allclose(compile_for_maps(model, positive)(queries), model.predict_proba(queries)[:, column], atol=1e-12)


def test_what_is_not_a_forest_is_left_to_its_own_predict_proba(data):
    X, y, _ = data
    assert compile_for_maps(LogisticRegression().fit(X, y)) is None
    assert compile_for_maps(RandomForestClassifier(n_estimators=3).fit(X, np.arange(len(y)) % 3)) is None  # three classes


def test_map_of_a_forest_fitted_on_a_table_is_unchanged_by_compiling():
    rng = np.random.default_rng(3)
    cube = make_cube(rng)
    table = pd.DataFrame(rng.normal(size=(400, len(BANDS))), columns=BANDS[::-1])  # fitted in another band order
    y = (table["mag_nT"] + rng.normal(size=400) > 0.5).astype(int)
    model = Pipeline([("scale", StandardScaler()), ("rf", RandomForestClassifier(n_estimators=20, random_state=0))]).fit(table, y)
    compiled = predict_map(model, cube, chunk=16).values
    expected = np.full(cube.shape[1:], np.nan, dtype="float32")
    pixels = cube.sel(band=BANDS[::-1]).values.reshape(len(BANDS), -1).T
    valid = np.isfinite(pixels).all(axis=1)
    expected.reshape(-1)[valid] = model.predict_proba(pd.DataFrame(pixels[valid], columns=BANDS[::-1]))[:, 1]
    np.testing.assert_allclose(compiled, expected, atol=1e-6, equal_nan=True)


def test_cells_on_either_side_of_every_threshold_and_signed_zeros():
    """Each float32 threshold, the float32 just below and above it, and -0.0 / +0.0 go as in scikit-learn."""
    rng = np.random.default_rng(5)
    X = np.round(rng.normal(size=(400, 3)), 1)  # many exact zeros: splits at +-0.05, and at 0 when a side is all zeros
    X[:40, 0] = -0.0
    y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    thresholds = np.concatenate([e.tree_.threshold[e.tree_.children_left != -1] for e in model.estimators_]).astype("float32")
    edges = np.concatenate([thresholds, np.nextafter(thresholds, np.float32(-np.inf)), np.nextafter(thresholds, np.float32(np.inf)),
                            np.float32([0.0, -0.0, 1e-45, -1e-45])])
    queries = np.repeat(edges[:, None], 3, axis=1)
    queries[:, 1:] = rng.choice(edges, size=(len(edges), 2))
    np.testing.assert_allclose(compile_for_maps(model)(queries), model.predict_proba(queries)[:, 1], rtol=0, atol=1e-12)
