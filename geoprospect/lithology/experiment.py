"""The supervised lithology experiment: SVM, MLP and CNN on chips, over chip sizes, seeds and splits.

After Shirmard et al. (2022), "A comparative study of convolutional neural networks and conventional
machine learning models for lithological mapping using remote sensing data", *Remote Sensing*
14(4):819: pixel classifiers (SVM with an RBF kernel, MLP) against a CNN on image chips, with PCA of
the bands as an option. Here every model is cross-validated twice, by k-fold spatial blocks with a
buffer (honest) and by k-fold random pixels (optimistic, :mod:`geoprospect.lithology.split`), so that
the gap between them is measured, not assumed; every labelled pixel is tested once per run. This module returns raw test predictions; metrics are computed from them
elsewhere.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import xarray as xr
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

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
    block_folds,
    block_ids,
    check_labels,
    fold_masks,
    missing_from_training,
    random_folds,
    sample_per_class,
)
from geoprospect.models.svm import CalibratedSVC

log = logging.getLogger(__name__)

MODEL_NAMES = ("svm", "mlp", "cnn")
PIXEL_MODELS = ("svm", "mlp")  # they see the centre pixel only: one chip size (1) is enough
SPLITS = ("block", "random")
MIN_TRAIN_PER_CLASS = 5  # fewer training pixels than this: the class is left out of training
# Defaults of each model's parameters (the catalog's lithology.model_params overrides them). The SVM's
# C and gamma are tuned in each training fold (SVM_GRID); the networks stop early on a validation share
# of their training fold, so max_iter/epochs are ceilings, not the training length.
DEFAULT_PARAMS = {
    "svm": {},
    "mlp": {"hidden_layer_sizes": (64, 32), "alpha": 1e-4, "max_iter": 500, "early_stopping": True,
            "validation_fraction": 0.15, "n_iter_no_change": 50},
    "cnn": {"validation_fraction": 0.15, "n_iter_no_change": 10},
}
SVM_GRID = {"C": (1.0, 10.0, 100.0), "gamma": ("scale", 1.0)}


class TunedSVC(ClassifierMixin, BaseEstimator):
    """:class:`~geoprospect.models.svm.CalibratedSVC` whose ``C`` and ``gamma`` are chosen by an inner k-fold CV.

    A grid search (scikit-learn's :class:`~sklearn.model_selection.GridSearchCV`, plain
    :class:`~sklearn.svm.SVC`, accuracy) over ``n_splits`` inner folds of the training rows, made of
    whole ``groups`` (spatial blocks, :class:`~sklearn.model_selection.StratifiedGroupKFold`) when
    given, so that the choice is not tuned to near-duplicates; then the calibrated SVM is refitted on
    every row with the best pair. A k-fold rather than one holdout: on a few thousand pixels in tens of
    blocks, one split's accuracy varies more between blocks than between grid points.

    Parameters
    ----------
    param_grid : dict
        ``{"C": [...], "gamma": [...]}``.
    n_splits : int, default=3
        Inner folds.
    random_state : int or None

    Attributes
    ----------
    best_params_ : dict
    estimator_ : CalibratedSVC
    classes_ : ndarray
    """

    def __init__(self, param_grid=None, n_splits=3, random_state=None):
        self.param_grid = param_grid
        self.n_splits = n_splits
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        grid = dict(SVM_GRID if self.param_grid is None else self.param_grid)
        if not isinstance(self.n_splits, Integral) or self.n_splits < 2:
            raise InputError("lithology.model_params.svm.n_splits", f"n_splits is {self.n_splits!r}", "use an integer >= 2")
        X, y = np.asarray(X), np.asarray(y)
        if groups is not None and np.unique(groups).size >= self.n_splits:
            splitter = StratifiedGroupKFold(self.n_splits, shuffle=True, random_state=self.random_state)
        else:
            splitter, groups = StratifiedKFold(self.n_splits, shuffle=True, random_state=self.random_state), None
        with warnings.catch_warnings():  # a class rarer than the folds: it is missing from some inner folds
            warnings.simplefilter("ignore", UserWarning)
            inner = [(train, test) for train, test in splitter.split(X, y, groups) if np.unique(y[train]).size >= 2]
        if all(len(v) == 1 for v in grid.values()) or not inner:
            self.best_params_ = {k: v[0] for k, v in grid.items()}
        else:
            search = GridSearchCV(SVC(kernel="rbf"), grid, cv=inner, refit=False, error_score=0.0).fit(X, y)
            self.best_params_ = search.best_params_
        self.estimator_ = CalibratedSVC(kernel="rbf", random_state=self.random_state, **self.best_params_).fit(X, y)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        return self.estimator_.predict(X)


def model_params(name: str, overrides: dict | None = None) -> dict:
    """The parameters of one model: :data:`DEFAULT_PARAMS` with the catalog's overrides."""
    return {**DEFAULT_PARAMS[name], **((overrides or {}).get(name) or {})}


def make_model(name: str, pca_components: int = 0, seed: int = 0, epochs: int = 100, params: dict | None = None) -> Pipeline:
    """An unfitted pipeline over chips (n, bands, size, size) for one model of the comparison.

    ``ChannelScaler -> [ChannelPCA] -> CentrePixel -> TunedSVC`` (RBF kernel, C and gamma tuned by an
    inner block CV, Platt-scaled probabilities) or ``MLPClassifier`` (early stopping); or
    ``ChannelScaler -> [ChannelPCA] -> ChipCNN`` (early stopping). The pipelines take chips of any odd
    size; the CNN remembers the size it was trained on and refuses others. The final step is named
    ``model``: ``fit(chips, y, model__groups=blocks)`` gives the SVM's inner CV and the CNN's validation set their blocks.

    Parameters
    ----------
    name : {"svm", "mlp", "cnn"}
    pca_components : int, default=0
        Principal components appended as channels (0: none).
    seed : int, default=0
        ``random_state`` of the model.
    epochs : int, default=100
        Most passes over the training chips of the CNN (early stopping usually ends sooner).
    params : dict, optional
        Per model name, parameters of the final estimator (``{"mlp": {"alpha": 1e-3}, "svm": {"param_grid":
        {"C": [1, 10]}}}``) over :data:`DEFAULT_PARAMS`. An unknown parameter is an :class:`InputError`.
    """
    if name not in MODEL_NAMES:
        raise InputError("lithology.models", f"unknown model {name!r}", f"use some of {', '.join(MODEL_NAMES)}")
    if not isinstance(pca_components, Integral) or pca_components < 0:
        raise InputError("lithology.pca_components", f"pca_components is {pca_components!r}", "use 0 (no PCA) or a positive integer")
    steps = [("scale", ChannelScaler())]
    if pca_components:
        steps.append(("pca", ChannelPCA(pca_components)))
    if name == "cnn":
        estimator = ChipCNN(epochs=epochs, random_state=seed)
    elif name == "svm":
        steps.append(("centre", CentrePixel()))
        estimator = TunedSVC(random_state=seed)
    else:
        steps.append(("centre", CentrePixel()))
        estimator = MLPClassifier(random_state=seed)
    chosen = model_params(name, params)
    unknown = sorted(set(chosen) - set(estimator.get_params(deep=False)))
    if unknown:
        raise InputError(f"lithology.model_params.{name}", f"unknown parameter(s) {unknown} of {type(estimator).__name__}",
                         f"use some of {sorted(estimator.get_params(deep=False))}"
                         + (" (fix C and gamma with param_grid: {C: [10], gamma: [scale]})" if name == "svm" else ""))
    estimator.set_params(**chosen)
    return Pipeline([*steps, ("model", estimator)])


@dataclass(eq=False)
class ExperimentRecord:
    """The pooled k-fold test predictions of one model x chip size x seed x split.

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
        Class codes of the test pixels (every usable labelled pixel, each tested once).
    proba : ndarray of shape (n, n_classes), float64
        Class probabilities, columns ordered as ``classes``; 0 for a class absent from training.
    classes : ndarray of shape (n_classes,), int64
        Every class of the usable labelled pixels, sorted.
    rows, cols : ndarray of shape (n,), int64
        The test pixels.
    fold : ndarray of shape (n,), int64
        The fold that tested each pixel.
    n_train : int
        Mean training pixels per fold.
    fit_seconds : float
        Wall time of the fits, all folds.
    missing : dict of int to list of int
        Class -> the folds whose training set lacked it.
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
    fold: np.ndarray
    n_train: int
    fit_seconds: float
    missing: dict = field(default_factory=dict)


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


def fit_model(model: Pipeline, image: np.ndarray, rows: np.ndarray, cols: np.ndarray, y: np.ndarray, size: int,
              block_cells: int | None = None) -> Pipeline:
    """Fit a :func:`make_model` pipeline on the chips around the given pixels; with ``block_cells``, the SVM's
    inner CV and the CNN's early-stopping validation set are made of whole blocks."""
    fit_params = {}
    if isinstance(model[-1], (TunedSVC, ChipCNN)) and block_cells:
        fit_params["model__groups"] = block_ids(image.shape[1:], block_cells)[rows, cols]
    return model.fit(materialise_chips(image, rows, cols, size), y, **fit_params)


def training_lattice(shape: tuple[int, int], stride: int) -> np.ndarray:
    """(H, W) bool: the training chip centres kept by ``chip_stride`` (every ``stride``-th row and column)."""
    lattice = np.zeros(shape, dtype=bool)
    lattice[::stride, ::stride] = True
    return lattice


def run_experiment(image, labels, models: Sequence[str] = MODEL_NAMES, chip_sizes: Sequence[int] = (3, 5, 7),
                   seeds: Sequence[int] = (0,), block_cells: int = 100, n_folds: int = 5,
                   samples_per_class: int | None = 500, test_per_class: int | None = None, chip_stride: int = 1,
                   splits: Sequence[str] = SPLITS, pca_components: int = 0, epochs: int = 100,
                   buffer_cells: int | None = None, batch_size: int = 4096,
                   params: dict | None = None) -> list[ExperimentRecord]:
    """k-fold cross-validation of every model x chip size x seed x split; return the pooled test predictions.

    For each seed and split, one assignment of the labelled pixels to folds serves every model and
    chip size, so they are compared on the same test pixels: pixels are used only where the largest
    chip is complete (:func:`~geoprospect.lithology.chips.valid_centres`). Each fold tests all its
    pixels (every usable labelled pixel is tested once per run); the training pixels of a fold are the
    other folds' pixels, on the ``chip_stride`` lattice, outside the buffer (block split only), at most
    ``samples_per_class`` per class. The folds' generator is seeded by ``(seed, split)``; the models by
    ``seed``.

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
        Side of the blocks, in pixels.
    n_folds : int
        Folds of the cross-validation (>= 2).
    samples_per_class : int or None
        Cap on the training pixels per class and fold (None: all). Training chips are held in memory at
        once: ``n_train * bands * size**2 * 4`` bytes; test chips are built in batches.
    test_per_class : int or None
        Cap on the test pixels per class and fold, for huge scenes only (default None: every pixel).
    chip_stride : int
        Spacing of the training chip centres, in pixels (thins training only).
    splits : sequence of {"block", "random"}
    pca_components, epochs, params
        As in :func:`make_model`.
    buffer_cells : int, optional
        The block split's buffer (Chebyshev, pixels); at least and by default ``max(chip_sizes) // 2``,
        the chip half-width: no training chip then holds a test pixel.
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
        buffer_cells = largest // 2
    elif not isinstance(buffer_cells, Integral) or buffer_cells < largest // 2:
        raise InputError("lithology.buffer_cells", f"a buffer of {buffer_cells!r} pixels is narrower than the half-width "
                         f"{largest // 2} of {largest}-pixel chips", f"use at least {largest // 2} (the default)")
    if not isinstance(chip_stride, Integral) or chip_stride < 1:
        raise InputError("lithology.chip_stride", f"chip_stride is {chip_stride!r}", "use a positive integer")

    complete = valid_centres(image, largest)
    usable = np.where(complete, labels, np.nan)
    if not np.isfinite(usable).any():
        raise InputError("lithology.labels", f"no labelled pixel has a complete {largest} x {largest} chip",
                         "check that the labels overlap the scene's valid data, or use smaller chips")
    dropped = int((np.isfinite(labels) & ~complete).sum())
    if dropped:
        log.warning("%d labelled pixels lack a complete %d x %d chip (missing data nearby): not tested", dropped, largest, largest)
    classes = np.unique(usable[np.isfinite(usable)]).astype(np.int64)
    lattice = training_lattice(labels.shape, int(chip_stride))

    records = []
    for seed in seeds:
        for split in splits:
            rng = np.random.default_rng([int(seed), SPLITS.index(split)])
            buffer = buffer_cells if split == "block" else 0
            folds = block_folds(usable, block_cells, n_folds, rng) if split == "block" else random_folds(usable, n_folds, rng)
            missing = missing_from_training(folds, usable, buffer)
            pooled: dict[tuple[str, int], dict] = {}
            for k in range(n_folds):
                train_mask, test_mask = fold_masks(folds, k, buffer)
                train = trainable(*sample_per_class(train_mask & lattice, usable, samples_per_class, rng), usable)
                test = sample_per_class(test_mask, usable, test_per_class, rng)
                y_train = usable[train].astype(np.int64)
                if np.unique(y_train).size < 2:
                    raise InputError("lithology.labels", f"fold {k} of the {split} split (seed {seed}) has "
                                     f"{np.unique(y_train).size} training class(es)",
                                     "label more units, or use smaller blocks (block_size_m) or fewer folds (n_folds)")
                for name in models:
                    for size in (1,) if name in PIXEL_MODELS else sizes:
                        model = make_model(name, pca_components, int(seed), epochs, params)
                        start = time.perf_counter()
                        with warnings.catch_warnings():  # a ceiling reached is reported by n_iter_, not as noise
                            warnings.simplefilter("ignore", ConvergenceWarning)
                            fit_model(model, image, *train, y_train, size, block_cells if split == "block" else None)
                        part = pooled.setdefault((name, size), {"proba": [], "rows": [], "cols": [], "fold": [],
                                                                "n_train": 0, "seconds": 0.0})
                        part["seconds"] += time.perf_counter() - start
                        proba = np.zeros((test[0].size, classes.size))
                        proba[:, np.searchsorted(classes, model.classes_)] = predict_proba_chips(model, image, *test, size, batch_size)
                        part["proba"].append(proba)
                        part["rows"].append(test[0])
                        part["cols"].append(test[1])
                        part["fold"].append(np.full(test[0].size, k, dtype=np.int64))
                        part["n_train"] += y_train.size
            for (name, size), part in pooled.items():
                rows, cols, proba = (np.concatenate(part[key]) for key in ("rows", "cols", "proba"))
                records.append(ExperimentRecord(
                    model=name, chip_size=size, seed=int(seed), split=split, y_true=usable[rows, cols].astype(np.int64),
                    y_pred=classes[np.argmax(proba, axis=1)], proba=proba, classes=classes, rows=rows, cols=cols,
                    fold=np.concatenate(part["fold"]), n_train=round(part["n_train"] / n_folds),
                    fit_seconds=part["seconds"], missing=missing))
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
