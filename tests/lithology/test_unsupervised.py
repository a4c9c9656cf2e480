"""Autoencoder + k-means spectral units: recovery of known classes, determinism, chunked image labelling."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from geoprospect.errors import InputError
from geoprospect.lithology.unsupervised import AutoencoderClusters, cluster_image, sample_pixels

# three spectral classes over six bands (reflectance), well separated against the noise
SPECTRA = np.array([[0.10, 0.20, 0.30, 0.40, 0.50, 0.60],
                    [0.50, 0.40, 0.30, 0.20, 0.10, 0.10],
                    [0.30, 0.30, 0.60, 0.60, 0.20, 0.20]])
SETTINGS = dict(n_clusters=3, n_components=2, epochs=20, n_init=4, random_state=0)


def synthetic(n_per_class: int = 150, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(3), n_per_class)
    return SPECTRA[truth] + rng.normal(0, 0.02, (len(truth), 6)), truth


@pytest.fixture(scope="module")
def fitted():
    X, truth = synthetic()
    return AutoencoderClusters(**SETTINGS).fit(X), X, truth


def test_recovers_three_spectral_classes(fitted):
    model, X, truth = fitted
    labels = model.predict(X)
    assert adjusted_rand_score(truth, labels) > 0.9
    assert set(labels) == {1, 2, 3}  # 0 stays free for nodata
    np.testing.assert_array_equal(labels, model.labels_)
    assert np.all(np.diff(model.cluster_band_means_[:, 0]) > 0)  # numbered by the first band's mean
    # the class with the lowest first band (class 0, 0.10) is label 1, the highest (class 1, 0.50) label 3
    assert np.bincount(labels[truth == 0]).argmax() == 1 and np.bincount(labels[truth == 1]).argmax() == 3
    assert model.transform(X).shape == (len(X), 2)


def test_same_seed_gives_identical_labels_and_codes(fitted):
    model, X, _ = fitted
    again = AutoencoderClusters(**SETTINGS).fit(X)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    np.testing.assert_array_equal(again.transform(X), model.transform(X))


def test_confidence_is_low_between_units_and_high_at_their_cores(fitted):
    model, X, _ = fitted
    _, core = model.predict_confidence(SPECTRA)
    _, mixed = model.predict_confidence((SPECTRA[[0]] + SPECTRA[[2]]) / 2)
    _, training = model.predict_confidence(X)
    assert np.all((training >= 0) & (training <= 1))
    assert core.min() > 0.5 and mixed[0] < core.min()


def test_cluster_image_equals_predict_and_keeps_nan(fitted):
    model, X, _ = fitted
    image = X[:442].T.reshape(6, 17, 26).copy()
    image[2, 3, 4] = np.nan  # one band missing makes the pixel invalid
    image[:, 10, :] = np.nan
    labels, confidence = cluster_image(model, image, block_rows=5)
    assert labels.dtype == confidence.dtype == np.float32 and labels.shape == (17, 26)
    invalid = np.isnan(image).any(axis=0)
    np.testing.assert_array_equal(np.isnan(labels), invalid)
    np.testing.assert_array_equal(np.isnan(confidence), invalid)
    pixels = image.reshape(6, -1).T[~invalid.ravel()]
    expected_labels, expected_confidence = model.predict_confidence(pixels)
    np.testing.assert_array_equal(labels[~invalid], expected_labels)
    np.testing.assert_allclose(confidence[~invalid], expected_confidence, rtol=1e-6)


def test_sample_pixels_draws_valid_pixels_reproducibly():
    image = np.arange(2 * 5 * 4, dtype=float).reshape(2, 5, 4)
    image[0, 0, :] = np.nan
    sample = sample_pixels(image, max_pixels=6, random_state=3)
    assert sample.shape == (6, 2) and np.isfinite(sample).all()
    np.testing.assert_array_equal(sample, sample_pixels(image, max_pixels=6, random_state=3))
    assert len(sample_pixels(image, max_pixels=1000)) == 16  # fewer valid pixels than asked: all of them
    with pytest.raises(InputError, match="no valid pixel"):
        sample_pixels(np.full((2, 3, 3), np.nan))


def test_bad_inputs(fitted):
    model, X, _ = fitted
    with_nan = X.copy()
    with_nan[0, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        AutoencoderClusters(**SETTINGS).fit(with_nan)
    with pytest.raises(InputError, match="NaN"):
        model.predict(with_nan)
    with pytest.raises(InputError, match="pixels for 3 clusters"):
        AutoencoderClusters(**SETTINGS).fit(X[:2])
    with pytest.raises(InputError, match="expected \\(6, H, W\\)"):
        cluster_image(model, np.zeros((5, 4, 4)))
    with pytest.raises(ValueError, match="n_clusters"):
        AutoencoderClusters(n_clusters=1).fit(X)
