"""The SVM / MLP / CNN k-fold experiment over splits and seeds, tuned models, whole-scene classification, and spectral indices."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from geoprospect.errors import InputError
from geoprospect.lithology.chips import materialise_chips, valid_centres
from geoprospect.lithology.classify import classify_image
from geoprospect.lithology.experiment import make_model, run_experiment, with_indices

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


@pytest.fixture(scope="module")
def scene():
    """120 x 120 pixels, 3 bands, 3 units in irregular bands with distinct noisy spectra; a corner of no data."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:120, :120]
    labels = (1 + ((cols + 12 * np.sin(rows / 9)) // 40).clip(0, 2)).astype(float)
    spectra = np.array([[0.10, 0.25, 0.30], [0.20, 0.20, 0.10], [0.30, 0.12, 0.22]])
    image = (spectra[labels.astype(int) - 1].transpose(2, 0, 1) + rng.normal(0, 0.04, (3, 120, 120))).astype(np.float32)
    image[:, :8, :8] = np.nan
    labels[100:, 100:] = np.nan
    return image, labels


def test_run_experiment_tests_every_usable_labelled_pixel_once(scene):
    image, labels = scene
    records = run_experiment(image, labels, chip_sizes=(3, 5), seeds=(0, 1), block_cells=20, n_folds=3,
                             samples_per_class=40, chip_stride=2, epochs=2)
    keys = [(r.seed, r.split, r.model, r.chip_size) for r in records]
    assert keys == [(seed, split, model, size) for seed in (0, 1) for split in ("block", "random")
                    for model, size in (("svm", 1), ("mlp", 1), ("cnn", 3), ("cnn", 5))]
    usable = np.isfinite(labels) & valid_centres(image, 5)
    for r in records:
        assert r.classes.tolist() == [1, 2, 3] and r.n_train == 120
        n = int(usable.sum())
        assert r.y_true.shape == r.y_pred.shape == (n,) and r.proba.shape == (n, 3)
        tested = np.zeros(labels.shape, int)
        np.add.at(tested, (r.rows, r.cols), 1)
        assert np.array_equal(tested, usable.astype(int))  # every usable labelled pixel once, chip_stride or not
        assert set(np.unique(r.fold)) == {0, 1, 2}
        assert np.allclose(r.proba.sum(axis=1), 1) and np.array_equal(r.y_pred, r.classes[np.argmax(r.proba, axis=1)])
        assert np.array_equal(r.y_true, labels[r.rows, r.cols]) and r.missing == {}
    by_key = {(r.seed, r.split, r.model, r.chip_size): r for r in records}
    for seed in (0, 1):
        for split in ("block", "random"):  # one assignment of folds per seed and split, whatever the model
            assert np.array_equal(by_key[seed, split, "svm", 1].fold, by_key[seed, split, "cnn", 5].fold)
    assert not np.array_equal(by_key[0, "block", "svm", 1].fold, by_key[1, "block", "svm", 1].fold)
    assert np.mean(by_key[0, "block", "svm", 1].y_pred == by_key[0, "block", "svm", 1].y_true) > 0.8
    assert by_key[0, "block", "svm", 1].model == "svm"


def test_the_block_buffer_defaults_to_the_chip_half_width(scene):
    image, labels = scene
    n_train = {}
    for split, buffer in (("block", None), ("block", 6), ("random", None)):
        (record,) = run_experiment(image[:, :40], labels[:40], models=["cnn"], chip_sizes=(7,), block_cells=10, n_folds=3,
                                   samples_per_class=None, splits=[split], epochs=1, buffer_cells=buffer)
        n_train[split, buffer] = record.n_train
    # a wider buffer (6 pixels: no training chip shares a pixel with a test chip) costs more training
    # pixels than the default half-width (3: no training chip holds a test pixel); random costs none
    assert n_train["block", 6] < n_train["block", None] < n_train["random", None]


def test_models_take_catalog_parameters_and_tune_in_fold(scene):
    image, labels = scene
    rows, cols = np.nonzero(np.isfinite(labels[:60]) & valid_centres(image, 1)[:60])
    chips, y = materialise_chips(image, rows[::7], cols[::7], 1), labels[rows[::7], cols[::7]].astype(int)
    svm = make_model("svm", params={"svm": {"param_grid": {"C": [0.1, 100.0], "gamma": ["scale"]}}})
    svm.fit(chips, y, model__groups=(rows[::7] // 10) * 12 + cols[::7] // 10)
    assert svm[-1].best_params_["C"] in (0.1, 100.0) and svm[-1].estimator_.C == svm[-1].best_params_["C"]
    with pytest.raises(InputError, match="lithology.model_params.svm.n_splits"):
        make_model("svm", params={"svm": {"n_splits": 1}}).fit(chips, y)
    mlp = make_model("mlp", params={"mlp": {"alpha": 0.01}}).fit(chips, y)
    assert mlp[-1].alpha == 0.01 and mlp[-1].early_stopping and mlp[-1].n_iter_ < mlp[-1].max_iter
    with pytest.raises(InputError, match="lithology.model_params.mlp: unknown parameter"):
        make_model("mlp", params={"mlp": {"hidden": 3}})


def test_classify_image_equals_predict_on_materialised_chips(scene):
    image, labels = scene
    image = image[:, :40, :30].copy()
    image[1, 20, 10] = np.nan
    rows, cols = np.nonzero(np.isfinite(labels[:40, :30]))
    model = make_model("cnn", pca_components=2, seed=0, epochs=2).fit(materialise_chips(image, rows, cols, 5),
                                                                         labels[rows, cols])
    codes, confidence = classify_image(model, image, 5, batch_rows=7, batch_size=50)
    present = np.isfinite(image).all(axis=0)
    assert np.array_equal(np.isnan(codes), ~present) and np.array_equal(np.isnan(confidence), ~present)
    rows, cols = np.nonzero(present)
    proba = model.predict_proba(materialise_chips(image, rows, cols, 5))
    assert np.array_equal(codes[rows, cols], model.classes_[np.argmax(proba, axis=1)])
    assert np.allclose(confidence[rows, cols], proba.max(axis=1), atol=1e-6)
    assert codes.dtype == confidence.dtype == np.float32


def test_with_indices_appends_band_ratios():
    rng = np.random.default_rng(0)
    image = rng.uniform(0.05, 0.5, (7, 6, 5)).astype(np.float32)
    names = [f"landsat8_B{i}" for i in range(1, 8)]
    stacked, out_names = with_indices(image, names, "landsat8")
    assert out_names[:7] == names and stacked.shape == (7 + len(out_names) - 7, 6, 5)
    assert np.array_equal(stacked[:7], image)
    nir, red = image[4].astype(float), image[3].astype(float)  # B5 and B4
    assert np.allclose(stacked[out_names.index("landsat8_ndvi")], (nir - red) / (nir + red), rtol=1e-6)
    assert np.allclose(stacked[out_names.index("landsat8_clay_oh_ratio")], image[5] / image[6], rtol=1e-6)  # B6 / B7


@pytest.mark.parametrize("call", [
    lambda im, lab: run_experiment(im, lab[:50]),                                          # grids differ
    lambda im, lab: run_experiment(im, lab, models=["rf"]),
    lambda im, lab: run_experiment(im, lab, splits=["kfold"]),
    lambda im, lab: run_experiment(im, lab, chip_stride=0),
    lambda im, lab: run_experiment(im, lab, chip_sizes=()),
    lambda im, lab: run_experiment(im, lab, chip_sizes=(7,), buffer_cells=2),              # narrower than the half-width
    lambda im, lab: run_experiment(im, np.where(np.isnan(im[0]), 1.0, np.nan)),             # labels only where no data
    lambda im, lab: run_experiment(im, np.where(np.isnan(lab), np.nan, 1.0)),              # one class
    lambda im, lab: make_model("cnn", pca_components=-1),
    lambda im, lab: classify_image(make_model("svm"), im, 1),                              # not fitted
    lambda im, lab: classify_image(None, im, 3, batch_rows=0),
    lambda im, lab: with_indices(im, ["landsat8_B1", "landsat8_B2"], "landsat8"),          # name count
    lambda im, lab: with_indices(im, ["landsat8_B1", "aster_B2", "aster_B3"], "landsat8"),  # two scenes
], ids=["shape", "model", "split", "stride", "no-size", "buffer", "no-usable-label", "one-class", "pca", "unfitted", "batch-rows",
        "band-count", "two-scenes"])
def test_bad_experiment_inputs(scene, call):
    image, labels = scene
    with pytest.raises(InputError):
        call(image, labels)
