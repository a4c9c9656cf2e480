"""k-fold cross-validation of a labelled class raster: spatial blocks with a buffer, and random pixels.

Neighbouring pixels of one geological unit look alike, so a random-pixel split puts near-copies of
the test pixels in the training set, and chips make it worse: a training chip can contain its test
neighbour outright. Its accuracy is optimistic (Roberts et al. 2017, "Cross-validation strategies
for data with temporal, spatial, hierarchical, or phylogenetic structure", *Ecography* 40; Karasiak
et al. 2022, "Spatial dependence between training and test sets: another pitfall of classification
accuracy assessment in remote sensing", *Machine Learning* 111).

:func:`block_folds` deals whole square blocks into ``k`` folds with scikit-learn's
:class:`~sklearn.model_selection.StratifiedGroupKFold` (groups = blocks), which balances every
class across the folds so that a class spread over two blocks or more is in every training fold
where the blocks allow; :func:`fold_masks` then drops the training pixels within a buffer of the
fold's test pixels. Every labelled pixel is tested exactly once; predictions are pooled over the
folds. :func:`random_folds` is the random-pixel k-fold (scikit-learn's
:class:`~sklearn.model_selection.StratifiedKFold`), kept to show how optimistic it is.

Labels are a (H, W) float raster of class codes (whole numbers), NaN where unlabelled. Fold rasters
are (H, W) int, -1 where unlabelled. A ``rng`` is a :class:`numpy.random.Generator` or a seed for one.
"""

from __future__ import annotations

import logging
import warnings
from numbers import Integral

import numpy as np
from scipy.ndimage import maximum_filter
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from geoprospect.errors import InputError

log = logging.getLogger(__name__)

SOURCE = "lithology.labels"


def check_labels(labels, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Labels as a (H, W) float64 array of whole class codes and NaN, with at least one labelled pixel.

    ``shape``, if given, is the (H, W) the labels must have (the image's).
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or not np.issubdtype(labels.dtype, np.number):
        raise InputError(SOURCE, f"the labels have shape {labels.shape} and type {labels.dtype}, not a (rows, columns) "
                         "raster of class codes", "rasterize the geology onto the image's grid as one band of codes")
    if shape is not None and labels.shape != tuple(shape):
        raise InputError(SOURCE, f"the labels are {labels.shape[0]} x {labels.shape[1]} pixels and the image "
                         f"{shape[0]} x {shape[1]}", "align the geology raster onto the image's grid")
    labels = labels.astype(np.float64)
    known = labels[np.isfinite(labels)]
    if known.size == 0:
        raise InputError(SOURCE, "no pixel is labelled (all NaN)", "check that the geology polygons overlap the scene")
    if not np.array_equal(known, np.round(known)):
        raise InputError(SOURCE, "class codes are not whole numbers", "rasterize the units as integer class codes")
    return labels


def _generator(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _check_count(value, name: str, minimum: int) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        raise InputError(f"lithology.{name}", f"{name} is {value!r}", f"use an integer >= {minimum}")
    return int(value)


def _seed(rng) -> int:
    return int(_generator(rng).integers(2**31 - 1))


def block_ids(shape: tuple[int, int], block_cells: int) -> np.ndarray:
    """The (H, W) index of the ``block_cells x block_cells`` block of every pixel, row-major."""
    height, width = shape
    blocks_x = -(-width // block_cells)
    return (np.arange(height) // block_cells)[:, None] * blocks_x + (np.arange(width) // block_cells)[None, :]


def block_folds(labels, block_cells: int, n_folds: int, rng=None) -> np.ndarray:
    """Whole blocks dealt into ``n_folds`` folds, stratified by class: the (H, W) fold of every pixel.

    Parameters
    ----------
    labels : ndarray of shape (H, W)
        Class codes, NaN where unlabelled.
    block_cells : int
        Block side in pixels (larger than the spatial correlation of the units, ideally).
    n_folds : int
        At least 2, and at most the number of blocks holding labels.
    rng : Generator or int, optional
        Shuffles blocks of equal class mix.

    Returns
    -------
    folds : ndarray of shape (H, W), int64
        0 .. n_folds - 1 on labelled pixels, -1 elsewhere.
    """
    labels = check_labels(labels)
    block_cells = _check_count(block_cells, "block_cells", 1)
    n_folds = _check_count(n_folds, "n_folds", 2)
    labelled = np.isfinite(labels)
    groups = block_ids(labels.shape, block_cells)[labelled]
    n_blocks = np.unique(groups).size
    if n_blocks < n_folds:
        raise InputError("lithology.block_size_m", f"only {n_blocks} blocks of {block_cells} cells hold labels, fewer than "
                         f"the {n_folds} folds", "use smaller blocks (block_size_m) or fewer folds (n_folds)")
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=_seed(rng))
    folds = np.full(labels.shape, -1, dtype=np.int64)
    fold_of = np.empty(groups.size, dtype=np.int64)
    with warnings.catch_warnings():  # a class with fewer blocks than folds: reported by missing_from_training
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, test) in enumerate(splitter.split(np.zeros(groups.size), labels[labelled], groups)):
            fold_of[test] = k
    folds[labelled] = fold_of
    return folds


def random_folds(labels, n_folds: int, rng=None) -> np.ndarray:
    """Random pixels dealt into ``n_folds`` folds, stratified by class (optimistic, see the module)."""
    labels = check_labels(labels)
    n_folds = _check_count(n_folds, "n_folds", 2)
    labelled = np.isfinite(labels)
    folds = np.full(labels.shape, -1, dtype=np.int64)
    fold_of = np.empty(int(labelled.sum()), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=_seed(rng))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k, (_, test) in enumerate(splitter.split(np.zeros(fold_of.size), labels[labelled])):
            fold_of[test] = k
    folds[labelled] = fold_of
    return folds


def fold_masks(folds: np.ndarray, fold: int, buffer_cells: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training and test masks of one fold: test is the fold, training the other folds' pixels farther
    than ``buffer_cells`` (Chebyshev distance) from any test pixel.

    With ``buffer_cells >= size // 2`` no training chip of side ``size`` holds a test pixel; with
    ``buffer_cells >= size - 1`` no training chip shares a pixel with a test chip.
    """
    buffer_cells = _check_count(buffer_cells, "buffer_cells", 0)
    test = folds == fold
    near_test = maximum_filter(test, size=2 * buffer_cells + 1, mode="constant", cval=False) if buffer_cells else test
    return (folds >= 0) & ~test & ~near_test, test


def missing_from_training(folds: np.ndarray, labels, buffer_cells: int = 0) -> dict[int, list[int]]:
    """Class -> the folds whose training set lacks it (a class in too few blocks, or eaten by the buffer).

    Logged as a warning; an empty dict when every class is in every training fold.
    """
    labels = check_labels(labels)
    missing: dict[int, list[int]] = {}
    for k in range(int(folds.max()) + 1):
        train, _ = fold_masks(folds, k, buffer_cells)
        for code in np.setdiff1d(np.unique(labels[folds >= 0]), labels[train]):
            missing.setdefault(int(code), []).append(k)
    if missing:
        log.warning("classes absent from some training folds (fold numbers): %s: too few blocks hold them", missing)
    return missing


def sample_per_class(mask, labels, n_per_class: int | None, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n_per_class`` pixels of each class inside ``mask``, drawn without replacement.

    Parameters
    ----------
    mask : ndarray of shape (H, W), bool
        Where to draw from (a fold's train or test mask).
    labels : ndarray of shape (H, W)
        Class codes, NaN where unlabelled (never drawn).
    n_per_class : int or None
        The cap; ``None`` keeps every pixel.
    rng : Generator or int, optional

    Returns
    -------
    rows, cols : ndarray of int64, shape (n,)
        The drawn pixels in raster order.
    """
    labels = check_labels(labels)
    mask = np.asarray(mask)
    if mask.shape != labels.shape or mask.dtype != bool:
        raise InputError("lithology.mask", f"the mask is {mask.dtype} of shape {mask.shape}, not bool of the labels' "
                         f"shape {labels.shape}", "pass a boolean mask from fold_masks")
    if n_per_class is not None:
        n_per_class = _check_count(n_per_class, "samples_per_class", 1)
    rng = _generator(rng)
    flat = np.where(mask, labels, np.nan).ravel()
    chosen = []
    for value in np.unique(flat[np.isfinite(flat)]):
        pixels = np.flatnonzero(flat == value)
        if n_per_class is not None and pixels.size > n_per_class:
            pixels = rng.choice(pixels, n_per_class, replace=False)
        chosen.append(pixels)
    index = np.sort(np.concatenate(chosen)) if chosen else np.empty(0, dtype=np.int64)
    rows, cols = np.divmod(index, labels.shape[1])
    return rows.astype(np.int64), cols.astype(np.int64)
