"""Model registry, PU bagging, oversamplers, autoencoder, pipeline and safe model files."""

from __future__ import annotations

import copy
import json
import pickle
import time

import numpy as np
import pytest
from scipy.spatial import cKDTree
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from geoprospect.errors import InputError
from geoprospect.io.models import load_model, manifest_path, save_model
from geoprospect.models import MODELS, RAW_INPUT_MODELS, make_model
from geoprospect.models.autoencoder import AutoencoderEmbedding
from geoprospect.nn import MLP, torch_seed
from geoprospect.models.gan import CappedSMOTE, SMOTifiedGAN
from geoprospect.models.pipeline import build_pipeline
from geoprospect.models.pu import PUBaggingClassifier

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)

# Small settings so that every registry model fits in well under a second.
FAST = {"rf": {"n_estimators": 20}, "mlp": {"max_iter": 200}, "gp": {"max_samples": 100},
        "pu_rf": {"n_estimators": 5}, "pu_svm": {"n_estimators": 5},
        "pu_mlp": {"n_estimators": 5, "base": {"max_iter": 100}}, "pu_gp": {"n_estimators": 5},
        "lgbm": {"n_estimators": 50}, "pu_lgbm": {"n_estimators": 5}}


@pytest.fixture(scope="module")
def imbalanced():
    """400 rows, 6 features, about 5% positives."""
    return make_classification(400, 6, n_informative=4, n_redundant=0, weights=[0.95], flip_y=0, random_state=0)


@pytest.fixture(scope="module")
def two_clusters():
    """A majority around the origin and a 20-sample minority around (4, 4, 4, 4), in 4 dimensions."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(300, 4)), rng.normal(4.0, 0.5, size=(20, 4))])
    return X, np.r_[np.zeros(300, int), np.ones(20, int)]


@pytest.mark.parametrize("name", sorted(set(MODELS) - RAW_INPUT_MODELS))  # those: test_wofe_fuzzy.py, test_ensemble.py
def test_every_registry_model_fits_and_ranks_the_positives(name, imbalanced):
    X, y = imbalanced
    model = make_model(name, FAST.get(name, {}), random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 2)
    assert np.all((proba >= 0) & (proba <= 1)) and np.allclose(proba.sum(axis=1), 1)
    # the positives sit in several clusters: a linear or additive model ranks them to about 0.78 in-sample at best
    assert roc_auc_score(y, proba[:, 1]) > (0.72 if name.endswith(("logreg", "gam")) else 0.8)
    assert set(model.predict(X)) <= {0, 1}


def test_gp_is_fitted_on_at_most_max_samples_rows(imbalanced):
    X, y = imbalanced
    model = make_model("gp", {"max_samples": 60}, random_state=0).fit(X, y)
    assert model.n_train_ == 60
    assert make_model("gp", {"max_samples": 1000}, random_state=0).fit(X[:50], y[:50]).n_train_ == 50


def test_pu_bagging_ranks_hidden_positives_above_the_unlabelled():
    rng = np.random.default_rng(2)
    positives = rng.normal(2.0, 0.7, size=(30, 2))
    hidden = rng.normal(2.0, 0.7, size=(30, 2))  # deposits not yet found: labelled 0
    negatives = rng.normal(-2.0, 0.7, size=(300, 2))
    X = np.vstack([positives, hidden, negatives])
    y = np.r_[np.ones(30, int), np.zeros(330, int)]
    truth = np.r_[np.ones(60, int), np.zeros(300, int)]
    model = PUBaggingClassifier(n_estimators=30, random_state=0).fit(X, y)

    assert roc_auc_score(truth, model.predict_proba(X)[:, 1]) > 0.9
    oob = model.oob_decision_
    assert np.all(np.isnan(oob[:30]))
    unlabelled = slice(30, None)
    assert np.isfinite(oob[unlabelled]).all()
    assert roc_auc_score(truth[unlabelled], oob[unlabelled]) > 0.9
    assert np.array_equal(model.classes_, [0, 1]) and len(model.estimators_) == 30


def test_pu_bagging_needs_both_classes():
    with pytest.raises(InputError, match="positive and unlabelled"):
        PUBaggingClassifier().fit(np.zeros((5, 2)), np.zeros(5))


def test_smote_caps_its_neighbours_and_balances(two_clusters):
    X, y = two_clusters
    keep = np.r_[np.arange(300), 300, 301, 302]  # a fold with only 3 positives: plain SMOTE(k=5) fails
    _, y_res = (sampler := CappedSMOTE(k_neighbors=5, random_state=0)).fit_resample(X[keep], y[keep])
    assert sampler.k_neighbors_ == 2
    assert np.bincount(y_res).tolist() == [300, 300]
    with pytest.raises(InputError, match="at least 2"):
        CappedSMOTE().fit_resample(X[:301], y[:301])


def test_gan_balances_is_deterministic_and_refines_smote_near_the_minority(two_clusters):
    X, y = two_clusters
    gan = SMOTifiedGAN(epochs=10, random_state=3)
    X_res, y_res = gan.fit_resample(X, y)
    again, _ = SMOTifiedGAN(epochs=10, random_state=3).fit_resample(X, y)
    other, _ = SMOTifiedGAN(epochs=10, random_state=4).fit_resample(X, y)

    assert np.bincount(y_res).tolist() == [300, 300]
    assert np.array_equal(X_res[: len(X)], X)
    assert np.array_equal(X_res, again)
    assert not np.allclose(X_res, other)
    synthetic = X_res[len(X):]
    to_minority = cKDTree(X[y == 1]).query(synthetic)[0].mean()
    to_majority = cKDTree(X[y == 0]).query(synthetic)[0].mean()
    assert to_minority < 0.2 * to_majority
    # The generator moved its SMOTE input (drawn with the same seed), by a fraction of the class spread.
    smote_only = CappedSMOTE(random_state=torch_seed(3)).fit_resample(X, y)[0][len(X):]
    assert 0 < np.linalg.norm(synthetic - smote_only, axis=1).mean() < 1.0
    assert gan.generator_loss_.shape == (1, 10) and np.isfinite(gan.discriminator_loss_).all()


def test_autoencoder_compresses_and_reconstructs_a_low_rank_table():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 10)) + 0.01 * rng.normal(size=(400, 10))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    ae = AutoencoderEmbedding(n_components=3, epochs=60, learning_rate=1e-2, random_state=0).fit(X)
    codes = ae.transform(X)
    assert codes.shape == (400, 3)
    explained = 1 - np.sum((ae.inverse_transform(codes) - X) ** 2) / np.sum(X ** 2)
    assert explained > 0.9
    assert ae.loss_curve_[-1] < 0.2 * ae.loss_curve_[0]

    again = AutoencoderEmbedding(n_components=3, epochs=60, learning_rate=1e-2, random_state=0).fit(X)
    assert np.array_equal(again.transform(X), codes)
    appended = AutoencoderEmbedding(n_components=3, epochs=2, mode="append", random_state=0).fit(X)
    assert appended.transform(X).shape == (400, 13)
    assert np.array_equal(appended.transform(X)[:, :10], X)
    assert list(appended.get_feature_names_out())[-3:] == ["autoencoder0", "autoencoder1", "autoencoder2"]
    restored = pickle.loads(pickle.dumps(ae))  # Dask and Prefect move estimators by pickle
    assert np.array_equal(restored.transform(X), codes)


@pytest.mark.parametrize("imbalance", ["none", "smote", "gan"])
def test_pipeline_with_each_imbalance_option(imbalance, imbalanced):
    X, y = imbalanced
    X = np.c_[X, 2 * X[:, 0] + 1]  # a copy of feature 0: the Spearman step must drop it
    X[::17, 1] = np.nan  # gaps are imputed inside the pipeline
    pipeline = build_pipeline("rf", {"n_estimators": 20}, imbalance=imbalance,
                              imbalance_params={"epochs": 5} if imbalance == "gan" else None, random_state=0)
    pipeline.fit(X, y)
    proba = pipeline.predict_proba(X)
    assert proba.shape == (len(y), 2)
    assert roc_auc_score(y, proba[:, 1]) > 0.8
    assert pipeline.named_steps["spearman"].dropped_.tolist() == [6]
    assert ("oversample" in pipeline.named_steps) == (imbalance != "none")


def test_pipeline_with_pca_and_autoencoder(imbalanced):
    X, y = imbalanced
    pipeline = build_pipeline("svm", {}, spearman_threshold=None, pca_components=5,
                              autoencoder={"n_components": 2, "epochs": 3, "mode": "append"}, random_state=0)
    pipeline.fit(X, y)
    assert [name for name, _ in pipeline.steps] == ["impute", "scale", "pca", "autoencoder", "scale_codes", "model"]
    assert pipeline.named_steps["model"].n_features_in_ == 7
    assert pipeline.predict_proba(X).shape == (len(y), 2)


@pytest.mark.parametrize("kwargs", [
    {"model": "xgboost"}, {"model": "rf", "params": {"n_trees": 10}}, {"model": "pu_rf", "params": {"C": 1.0}},
    {"model": "pu_svm", "params": {"base": {"n_estimators": 3}}}, {"model": "rf", "imbalance": "adasyn"},
    {"model": "rf", "imbalance": "gan", "imbalance_params": {"noise_dim": 8}},
    {"model": "rf", "autoencoder": {"layers": 3}},
])
def test_unknown_names_and_parameters_are_input_errors(kwargs):
    with pytest.raises(InputError, match="prospectivity"):
        build_pipeline(spearman_threshold=None, **kwargs)


def test_make_model_error_names_the_registry():
    with pytest.raises(InputError, match=r"prospectivity.models: unknown model 'boosted'.*use one of"):
        make_model("boosted", {}, 0)


@pytest.fixture(scope="module")
def fitted_pipelines(imbalanced):
    X, y = imbalanced
    rf = build_pipeline("pu_rf", {"n_estimators": 3}, imbalance="smote", spearman_threshold=0.95).fit(X, y)
    torch_parts = build_pipeline("mlp", {"max_iter": 100}, imbalance="gan", imbalance_params={"epochs": 3},
                                 spearman_threshold=None, autoencoder={"n_components": 3, "epochs": 3}).fit(X, y)
    return {"pu_rf": rf, "autoencoder_gan": torch_parts}


@pytest.mark.parametrize("name", ["pu_rf", "autoencoder_gan"])
def test_save_load_round_trip_gives_identical_probabilities(name, fitted_pipelines, imbalanced, tmp_path):
    X, _ = imbalanced
    pipeline = fitted_pipelines[name]
    path = save_model(pipeline, tmp_path / f"{name}.skops", {"model": name, "features": ["a", "b"]})
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["files"][path.name]["sha256"] and manifest["versions"]["torch"]
    assert not any(t.startswith("torch") for t in manifest["trusted_types"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, manifest_path(path).name])

    loaded, metadata = load_model(path, expected_sha256=manifest["files"][path.name]["sha256"])
    assert metadata == {"model": name, "features": ["a", "b"]}
    assert np.array_equal(loaded.predict_proba(X), pipeline.predict_proba(X))
    if name == "autoencoder_gan":
        assert isinstance(loaded.named_steps["autoencoder"].encoder_, MLP)
        assert isinstance(loaded.named_steps["oversample"].generators_[0], MLP)


@pytest.mark.parametrize("name", ["pu_rf", "autoencoder_gan"])
def test_the_same_model_saved_later_from_a_copy_has_the_same_bytes(name, fitted_pipelines, tmp_path, monkeypatch):
    # a resumed run refits (new objects at new addresses) and saves later: its file must equal the first
    first = save_model(fitted_pipelines[name], tmp_path / "first.skops", {}).read_bytes()
    later = time.time() + 3 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    again = save_model(copy.deepcopy(fitted_pipelines[name]), tmp_path / "again.skops", {}).read_bytes()
    assert first == again


def test_a_changed_model_file_is_refused(fitted_pipelines, tmp_path):
    path = save_model(fitted_pipelines["pu_rf"], tmp_path / "model.skops", {})
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="model.skops: model file changed since it was saved"):
        load_model(path)


def test_an_unexpected_hash_is_refused(fitted_pipelines, tmp_path):
    path = save_model(fitted_pipelines["pu_rf"], tmp_path / "model.skops", {})
    with pytest.raises(InputError, match="model file changed since it was saved"):
        load_model(path, expected_sha256="0" * 64)


def test_a_manifest_trusting_foreign_types_is_refused(fitted_pipelines, tmp_path):
    path = save_model(fitted_pipelines["pu_rf"], tmp_path / "model.skops", {})
    manifest = json.loads(manifest_path(path).read_text())
    manifest["trusted_types"].append("builtins.eval")
    manifest_path(path).write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=r"model.manifest.json: .*outside the allow-list.*builtins.eval"):
        load_model(path)


def test_a_model_without_manifest_or_file_is_refused(fitted_pipelines, tmp_path):
    path = save_model(fitted_pipelines["pu_rf"], tmp_path / "model.skops", {})
    manifest_path(path).unlink()
    with pytest.raises(InputError, match="no manifest"):
        load_model(path)
    with pytest.raises(InputError, match="missing.skops: model file not found"):
        load_model(tmp_path / "missing.skops")


def test_metadata_must_be_json(fitted_pipelines, tmp_path):
    with pytest.raises(InputError, match="not JSON-serialisable"):
        save_model(fitted_pipelines["pu_rf"], tmp_path / "model.skops", {"when": object()})
    assert not list(tmp_path.iterdir())


def test_svm_with_a_single_sample_of_a_class_says_what_to_add():
    X = np.random.default_rng(0).random((20, 3))
    y = np.r_[np.zeros(19), 1]
    with pytest.raises(InputError, match=r"SVM training set: a class has 1 sample\(s\).*Fix: add samples of that class"):
        make_model("svm", {}, 0).fit(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_svm_calibration_that_falls_with_the_decision_value_is_refitted_to_keep_the_ranking(n_classes):
    X, y = make_classification(300, 5, n_informative=3, n_redundant=0, n_classes=n_classes, n_clusters_per_class=1, random_state=1)
    svm = make_model("svm", {}, 0).fit(X, y)
    (calibrated,) = svm.calibrated_.calibrated_classifiers_
    assert all(sigmoid.a_ < 0 for sigmoid in calibrated.calibrators)  # held-out calibration rises on ample data
    sigmoid = calibrated.calibrators[0]
    sigmoid.a_ = -sigmoid.a_  # as on Lapland's 13 deposits: the map would rank the cells backwards
    decision = calibrated.estimator.decision_function(X)
    first = decision if n_classes == 2 else decision[:, 0]
    positive = 1 if n_classes == 2 else 0
    assert roc_auc_score(y == positive, svm.predict_proba(X)[:, positive]) < 0.5
    with pytest.warns(UserWarning, match="refitted on the training rows"):
        svm._keep_ranking(X, y)
    assert sigmoid.a_ < 0
    probability = svm.predict_proba(X)[:, positive]
    assert roc_auc_score(y == positive, probability) > 0.9
    if n_classes == 2:  # one sigmoid of the decision value: the same ranking (with 3 classes the rows are normalised)
        assert roc_auc_score(y, probability) == pytest.approx(roc_auc_score(y, first))


def test_svm_weights_the_classes_by_default():
    assert make_model("svm").class_weight == "balanced"


@pytest.mark.parametrize("name", ["lgbm", "pu_lgbm"])
def test_gradient_boosting_is_deterministic_and_round_trips_safely(name, imbalanced, tmp_path):
    X, y = imbalanced
    first = build_pipeline(name, FAST[name]).fit(X, y)
    again = build_pipeline(name, FAST[name]).fit(X, y)
    assert np.array_equal(first.predict_proba(X), again.predict_proba(X))
    loaded, _ = load_model(save_model(first, tmp_path / f"{name}.skops", {}))
    assert np.array_equal(loaded.predict_proba(X), first.predict_proba(X))


def test_gam_bends_where_logistic_regression_is_straight_and_never_extrapolates():
    """A deposit likelihood peaking near a contact (a bump in one feature, noise in two): the spline GAM recovers
    it, logistic regression on the raw feature cannot; beyond the training range the GAM's curves stay flat."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 3))
    truth = 1 / (1 + np.exp(-(-5 + 4 * np.exp(-np.abs(X[:, 0]) / 0.4))))
    y = (rng.random(3000) < truth).astype(int)
    gam, logreg = make_model("gam", random_state=0).fit(X, y), make_model("logreg", random_state=0).fit(X, y)
    assert spearmanr(gam.predict_proba(X)[:, 1], truth).statistic > 0.8
    assert abs(spearmanr(logreg.predict_proba(X)[:, 1], truth).statistic) < 0.3
    edge = X[np.argmax(X[:, 0])].copy()
    far = edge.copy()
    far[0] = 100.0
    assert gam.predict_proba(far[None])[0, 1] == pytest.approx(gam.predict_proba(edge[None])[0, 1])
    assert np.array_equal(make_model("gam", random_state=0).fit(X, y).predict_proba(X), gam.predict_proba(X))  # deterministic


def test_gam_bases_are_scikit_learns_splines_and_the_model_file_is_safe(tmp_path):
    """The bases are SplineTransformer's on the quantiles; the logistic regression on them gives the same probabilities
    as the GAM's feature-by-feature sum; the fitted GAM saves and loads with skops."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import SplineTransformer

    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 3))
    y = (X[:, 0] ** 2 + rng.normal(0, 0.5, 500) > 1.5).astype(int)
    gam = make_model("gam", random_state=0).fit(X, y)
    q = gam.quantiles_.transform(X)
    bases = SplineTransformer(n_knots=5, degree=3).fit(np.r_[q, np.zeros((1, 3)), np.ones((1, 3))]).transform(q)
    assert np.allclose(bases, np.hstack(list(gam._bases(X))))
    reference = LogisticRegression(C=0.01, class_weight="balanced", max_iter=2000).fit(bases, y)
    assert np.allclose(reference.predict_proba(bases), gam.predict_proba(X))
    save_model(build_pipeline("gam").fit(X, y), tmp_path / "gam.skops")
    loaded, _ = load_model(tmp_path / "gam.skops")
    assert np.allclose(loaded.predict_proba(X), build_pipeline("gam").fit(X, y).predict_proba(X))


@pytest.mark.parametrize("gamma", ["scale", 0.05])
def test_svm_probabilities_from_the_kernel_matrix_equal_scikit_learns(gamma, monkeypatch):
    from geoprospect.models.svm import CalibratedSVC

    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] + X[:, 1] ** 2 + rng.normal(size=400) > 1.5).astype(int)
    model = CalibratedSVC(gamma=gamma, random_state=0).fit(X, y)
    monkeypatch.setattr(CalibratedSVC, "BATCH", 64)  # several kernel blocks and a partial last one
    cells = rng.normal(size=(1000, 6))
    np.testing.assert_allclose(model.predict_proba(cells), model.calibrated_.predict_proba(cells), rtol=0, atol=1e-10)
