"""The supervised lithology experiment: SVM, MLP and CNN on chips, over chip sizes, seeds and splits.

After Shirmard et al. (2022), "A comparative study of convolutional neural networks and conventional
machine learning models for lithological mapping using remote sensing data", *Remote Sensing*
14(4):819: pixel classifiers (SVM with an RBF kernel, MLP) against a CNN on image chips, with PCA of
the bands as an option. Here every model is run under two splits, the honest spatial block split and
the optimistic random-pixel split (:mod:`geoprospect.lithology.split`), so that the gap between them
is measured, not assumed. This module returns raw test predictions; metrics are computed from them
elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import xarray as xr
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline

from geoprospect.errors import InputError
from geoprospect.features.spectral import spectral_indices
from geoprospect.lithology.chips import (
    check_chip_size,
    check_image,
    chip_batches,
    materialise_chips,
    valid_centres,
)
from geoprospect.lithology.cnn import CentrePixel, ChannelPCA, ChannelScaler, ChipCNN
from geoprospect.lithology.split import (
    block_split,
    check_labels,
    random_split,
    sample_per_class,
)
from geoprospect.models.svm import CalibratedSVC

MODEL_NAMES = ("svm", "mlp", "cnn")
PIXEL_MODELS = ("svm", "mlp")  # they see the centre pixel only: one chip size (1) is enough
SPLITS = ("block", "random")
MIN_TRAIN_PER_CLASS = 5  # fewer training pixels than this: the class is left out of training


def make_model(name: str, pca_components: int = 0, seed: int = 0, epochs: int = 30) -> Pipeline:
    """An unfitted pipeline over chips (n, bands, size, size) for one model of the comparison.

    ``ChannelScaler -> [ChannelPCA] -> CentrePixel -> CalibratedSVC`` (RBF kernel, Platt-scaled
    probabilities) or ``MLPClassifier`` (hidden layers 64 and 32, Adam); or
    ``ChannelScaler -> [ChannelPCA] -> ChipCNN``. The pipelines take chips of any odd size; the CNN
    remembers the size it was trained on and refuses others.

    Parameters
    ----------
    name : {"svm", "mlp", "cnn"}
    pca_components : int, default=0
        Principal components appended as channels (0: none).
    seed : int, default=0
        ``random_state`` of the model.
    epochs : int, default=30
        Passes over the training pixels of the two neural networks (the MLP's ``max_iter``, the CNN's ``epochs``).
    """
    if name not in MODEL_NAMES:
        raise InputError("lithology.models", f"unknown model {name!r}", f"use some of {', '.join(MODEL_NAMES)}")
    if not isinstance(pca_components, Integral) or pca_components < 0:
        raise InputError("lithology.pca_components", f"pca_components is {pca_components!r}", "use 0 (no PCA) or a positive integer")
    steps = [("scale", ChannelScaler())]
    if pca_components:
        steps.append(("pca", ChannelPCA(pca_components)))
    if name == "cnn":
        steps.append(("cnn", ChipCNN(epochs=epochs, random_state=seed)))
    elif name == "svm":
        steps += [("centre", CentrePixel()), ("svm", CalibratedSVC(kernel="rbf", random_state=seed))]
    else:
        steps += [("centre", CentrePixel()),
                  ("mlp", MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=epochs, random_state=seed))]
    return Pipeline(steps)


@dataclass(eq=False)
class ExperimentRecord:
    """The test predictions of one model x chip size x seed x split.

    Attributes
    ----------
    model : str
        ``"svm"``, ``"mlp"`` or ``"cnn"``.
    chip_size : int
        Chip side in pixels (1 for the pixel models).
    seed : int
    split : str
        ``"block"`` (spatial blocks with a buffer) or ``"random"`` (random pixels, optimistic).
    y_true, y_pred : ndarray of shape (n,), int64
        Class codes of the test pixels.
    proba : ndarray of shape (n, n_classes), float64
        Class probabilities, columns ordered as ``classes``; 0 for a class absent from training.
    classes : ndarray of shape (n_classes,), int64
        Every class of the usable labelled pixels, sorted.
    rows, cols : ndarray of shape (n,), int64
        The test pixels.
    n_train : int
        Training pixels.
    fit_seconds : float
        Wall time of the fit.
    """

    model: str
    chip_size: int
    seed: int
    split: str
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray
    classes: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    n_train: int
    fit_seconds: float


def trainable(rows: np.ndarray, cols: np.ndarray, labels: np.ndarray,
              minimum: int = MIN_TRAIN_PER_CLASS) -> tuple[np.ndarray, np.ndarray]:
    """The training pixels of the classes with at least ``minimum`` of them.

    A unit that a split leaves with a handful of training pixels cannot be learned (and the SVM's
    calibration needs two per class): it is left out of training, and its test pixels count as errors.
    """
    codes, counts = np.unique(labels[rows, cols], return_counts=True)
    keep = np.isin(labels[rows, cols], codes[counts >= minimum])
    return rows[keep], cols[keep]


def predict_proba_chips(model, image: np.ndarray, rows, cols, size: int, batch_size: int = 4096) -> np.ndarray:
    """``model.predict_proba`` of the chips around the given pixels, built on the fly in batches: (n, n_classes)."""
    parts = [model.predict_proba(chips) for chips in chip_batches(image, rows, cols, size, batch_size)]
    return np.concatenate(parts) if parts else np.empty((0, len(model.classes_)))


def run_experiment(image, labels, models: Sequence[str] = MODEL_NAMES, chip_sizes: Sequence[int] = (3, 5, 7),
                   seeds: Sequence[int] = (0,), block_cells: int = 100, test_fraction: float = 0.3,
                   samples_per_class: int | None = 500, test_per_class: int | None = 2000,
                   splits: Sequence[str] = SPLITS, pca_components: int = 0, epochs: int = 30,
                   buffer_cells: int | None = None, batch_size: int = 4096) -> list[ExperimentRecord]:
    """Fit and test every model x chip size x seed x split; return the raw test predictions.

    For each seed and split, one split of the labelled pixels serves every model and chip size, so
    they are compared on the same test pixels: pixels are drawn only where the largest chip is
    complete (:func:`~geoprospect.lithology.chips.valid_centres`), and the block split's buffer
    defaults to ``max(chip_sizes) - 1`` pixels, so that no training chip shares a pixel with a test
    chip. The split's generator is seeded by ``(seed, split)``; the models by ``seed``.

    Parameters
    ----------
    image : ndarray of shape (bands, H, W)
        Reflectance (and indices, see :func:`with_indices`), NaN where missing.
    labels : ndarray of shape (H, W)
        Class codes (whole numbers), NaN where unlabelled.
    models : sequence of {"svm", "mlp", "cnn"}
    chip_sizes : sequence of odd int
        Chip sides of the CNN, in pixels. SVM and MLP run once, on the centre pixel (chip size 1).
    seeds : sequence of int
    block_cells : int
        Side of the split's blocks, in pixels.
    test_fraction : float
        Share of each class's labelled pixels in the test set.
    samples_per_class : int or None
        Cap on the training pixels per class (None: all). Training chips are held in memory at once:
        ``n_train * bands * size**2 * 4`` bytes; test chips are built in batches.
    test_per_class : int or None
        Cap on the test pixels per class, for speed (None: all).
    splits : sequence of {"block", "random"}
    pca_components, epochs
        As in :func:`make_model`.
    buffer_cells : int, optional
        The block split's buffer (Chebyshev, pixels); at least ``max(chip_sizes) // 2``, default ``max(chip_sizes) - 1``.
    batch_size : int
        Test chips per prediction batch.

    Returns
    -------
    list of ExperimentRecord
        In the order seed, split, model, chip size.
    """
    image = check_image(image)
    labels = check_labels(labels, image.shape[1:])
    unknown = sorted(set(models) - set(MODEL_NAMES)) + sorted(set(splits) - set(SPLITS))
    if unknown or not models or not splits:
        raise InputError("lithology.experiment", f"models {list(models)} and splits {list(splits)} (unknown: {unknown})",
                         f"choose models among {MODEL_NAMES} and splits among {SPLITS}")
    if not chip_sizes:
        raise InputError("lithology.chip_sizes", "no chip size", "give at least one odd chip size, e.g. [5, 7]")
    sizes = [check_chip_size(s, image.shape) for s in chip_sizes]
    largest = max(sizes) if "cnn" in models else 1
    if buffer_cells is None:
        buffer_cells = largest - 1
    elif not isinstance(buffer_cells, Integral) or buffer_cells < largest // 2:
        raise InputError("lithology.buffer_cells", f"a buffer of {buffer_cells!r} pixels is narrower than the half-width "
                         f"{largest // 2} of {largest}-pixel chips", f"use at least {largest // 2} (default {largest - 1})")

    usable = np.where(valid_centres(image, largest), labels, np.nan)
    if not np.isfinite(usable).any():
        raise InputError("lithology.labels", f"no labelled pixel has a complete {largest} x {largest} chip",
                         "check that the labels overlap the scene's valid data, or use smaller chips")
    classes = np.unique(usable[np.isfinite(usable)]).astype(np.int64)

    records = []
    for seed in seeds:
        for split in splits:
            rng = np.random.default_rng([int(seed), SPLITS.index(split)])
            if split == "block":
                train_mask, test_mask = block_split(usable, block_cells, test_fraction, buffer_cells, rng)
            else:
                train_mask, test_mask = random_split(usable, test_fraction, rng)
            train = trainable(*sample_per_class(train_mask, usable, samples_per_class, rng), usable)
            test = sample_per_class(test_mask, usable, test_per_class, rng)
            y_train, y_test = usable[train].astype(np.int64), usable[test].astype(np.int64)
            if np.unique(y_train).size < 2 or y_test.size == 0:
                raise InputError("lithology.labels", f"the {split} split (seed {seed}) has {np.unique(y_train).size} "
                                 f"training class(es) and {y_test.size} test pixels",
                                 "label more units, or use smaller blocks or another test fraction")
            for name in models:
                for size in (1,) if name in PIXEL_MODELS else sizes:
                    model = make_model(name, pca_components, int(seed), epochs)
                    start = time.perf_counter()
                    model.fit(materialise_chips(image, *train, size), y_train)
                    fit_seconds = time.perf_counter() - start
                    proba = np.zeros((y_test.size, classes.size))
                    proba[:, np.searchsorted(classes, model.classes_)] = predict_proba_chips(model, image, *test, size, batch_size)
                    records.append(ExperimentRecord(
                        model=name, chip_size=size, seed=int(seed), split=split, y_true=y_test,
                        y_pred=classes[np.argmax(proba, axis=1)], proba=proba, classes=classes, rows=test[0], cols=test[1],
                        n_train=y_train.size, fit_seconds=fit_seconds))
    return records


def with_indices(image, band_names: Sequence[str], sensor: str) -> tuple[np.ndarray, list[str]]:
    """The image with band-ratio indices appended as channels.

    Indices from :func:`geoprospect.features.spectral.spectral_indices` (clay/OH, ferric and ferrous
    iron, NDVI, and the ASTER mineral indices), chosen by band wavelength.

    Parameters
    ----------
    image : ndarray of shape (bands, H, W)
        Reflectance, NaN where missing.
    band_names : sequence of str
        ``<scene>_<band>`` per band, as the ingest writes them (``landsat8_B1`` ...).
    sensor : str
        The scene's sensor (``landsat8``, ``sentinel2``, ``aster``...).

    Returns
    -------
    stacked : ndarray of shape (bands + n_indices, H, W), float32
        NaN where an index is undefined (non-positive denominator or missing band).
    names : list of str
        ``band_names`` then ``<scene>_<index>``.
    """
    image = check_image(image)
    band_names = [str(b) for b in band_names]
    prefixes = {b.rsplit("_", 1)[0] for b in band_names if "_" in b}
    if len(band_names) != image.shape[0] or len(prefixes) != 1 or not all("_" in b for b in band_names):
        raise InputError("lithology.band_names", f"{len(band_names)} band names {band_names[:3]}... for {image.shape[0]} "
                         "bands, not one '<scene>_<band>' per band of one scene", "pass the band names of the scene's GeoTIFF")
    (name,) = prefixes
    scene = xr.DataArray(image, dims=("band", "y", "x"), coords={"band": band_names})
    indices = spectral_indices(scene, name, sensor)
    if not indices:
        return image, band_names
    stacked = np.concatenate([image, np.stack([index.values for index in indices]).astype(np.float32)])
    return stacked, band_names + [str(index.name) for index in indices]
