"""Train/test splits of a labelled class raster: spatial blocks with a buffer, and the random-pixel split.

Neighbouring pixels of one geological unit look alike, so a random-pixel split puts near-copies of
the test pixels in the training set, and chips make it worse: a training chip can contain its test
neighbour outright. Its accuracy is optimistic (Roberts et al. 2017, "Cross-validation strategies
for data with temporal, spatial, hierarchical, or phylogenetic structure", *Ecography* 40; Karasiak
et al. 2022, "Spatial dependence between training and test sets: another pitfall of classification
accuracy assessment in remote sensing", *Machine Learning* 111). :func:`block_split` assigns whole
square blocks to train or test and drops the training pixels within a buffer of any test pixel;
:func:`random_split` is kept to show how optimistic the random split is.

Labels are a (H, W) float raster of class codes (whole numbers), NaN where unlabelled. Masks are
(H, W) bool. A ``rng`` is a :class:`numpy.random.Generator` or a seed for one.
"""

from __future__ import annotations

import logging
from numbers import Integral, Real

import numpy as np
from scipy.ndimage import maximum_filter

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


def _check_fraction(test_fraction) -> float:
    if not isinstance(test_fraction, Real) or not 0 < test_fraction < 1:
        raise InputError("lithology.test_fraction", f"the test fraction is {test_fraction!r}", "use a number between 0 and 1")
    return float(test_fraction)


def _check_count(value, name: str, minimum: int) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < minimum:
        raise InputError(f"lithology.{name}", f"{name} is {value!r}", f"use an integer >= {minimum}")
    return int(value)


def block_split(labels, block_cells: int, test_fraction: float, buffer_cells: int, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Spatial block split: whole square blocks go to test, training pixels near a test pixel are dropped.

    The grid is cut into ``block_cells x block_cells`` blocks. Blocks are drawn in random order and
    put in the test set class by class, rarest class first, until each class has about
    ``test_fraction`` of its labelled pixels in test; a block is skipped if taking it would leave a
    class with no training block, so every class spread over two blocks or more appears in both sets.
    Then the training pixels within ``buffer_cells`` (Chebyshev distance, in pixels) of a test pixel
    are dropped: with ``buffer_cells >= size // 2`` no training chip of side ``size`` holds a test
    pixel, and with ``buffer_cells >= size - 1`` no training chip shares a pixel with a test chip.

    Parameters
    ----------
    labels : ndarray of shape (H, W)
        Class codes, NaN where unlabelled.
    block_cells : int
        Block side in pixels (larger than the spatial correlation of the units, ideally).
    test_fraction : float
        Target share of each class's labelled pixels in the test set, in (0, 1).
    buffer_cells : int
        Chebyshev distance in pixels, >= 0.
    rng : Generator or int, optional

    Returns
    -------
    train_mask, test_mask : ndarray of shape (H, W), bool
        Disjoint; labelled pixels only. A class that cannot be in both sets is logged.
    """
    labels = check_labels(labels)
    block_cells = _check_count(block_cells, "block_cells", 1)
    buffer_cells = _check_count(buffer_cells, "buffer_cells", 0)
    test_fraction = _check_fraction(test_fraction)
    rng = _generator(rng)

    labelled = np.isfinite(labels)
    height, width = labels.shape
    blocks_x = -(-width // block_cells)
    block_id = (np.arange(height) // block_cells)[:, None] * blocks_x + (np.arange(width) // block_cells)[None, :]
    classes, codes = np.unique(labels[labelled], return_inverse=True)
    counts = np.zeros((block_id.max() + 1, classes.size), dtype=np.int64)
    np.add.at(counts, (block_id[labelled], codes), 1)
    total = counts.sum(axis=0)

    order = rng.permutation(np.flatnonzero(counts.sum(axis=1)))
    in_test = np.zeros(len(counts), dtype=bool)
    test_count = np.zeros(classes.size, dtype=np.int64)
    # Rarest class first: its few blocks must reach the test set before common classes fill it.
    for k in np.argsort(total, kind="stable"):
        for b in order:
            if test_count[k] >= test_fraction * total[k]:
                break
            if in_test[b] or counts[b, k] == 0 or np.any((counts[b] > 0) & (test_count + counts[b] >= total)):
                continue
            in_test[b] = True
            test_count += counts[b]

    test_mask = labelled & in_test[block_id]
    near_test = maximum_filter(test_mask, size=2 * buffer_cells + 1, mode="constant", cval=False)
    train_mask = labelled & ~in_test[block_id] & ~near_test
    _log_missing(classes, labels, train_mask, test_mask)
    return train_mask, test_mask


def _log_missing(classes: np.ndarray, labels: np.ndarray, train_mask: np.ndarray, test_mask: np.ndarray) -> None:
    for name, mask in (("training", train_mask), ("test", test_mask)):
        missing = np.setdiff1d(classes, labels[mask])
        if missing.size:
            log.warning("classes %s have no %s pixel (too few blocks or pixels)", missing.astype(int).tolist(), name)


def random_split(labels, test_fraction: float, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """The random-pixel split, stratified by class: optimistic (see the module), kept for comparison.

    Each class's labelled pixels are shuffled and ``round(test_fraction * n)`` of them go to test,
    keeping at least one pixel in each set for a class of two pixels or more.

    Returns
    -------
    train_mask, test_mask : ndarray of shape (H, W), bool
    """
    labels = check_labels(labels)
    test_fraction = _check_fraction(test_fraction)
    rng = _generator(rng)
    test_mask = np.zeros(labels.shape, dtype=bool)
    flat = labels.ravel()
    for value in np.unique(flat[np.isfinite(flat)]):
        pixels = np.flatnonzero(flat == value)
        n_test = min(max(round(test_fraction * pixels.size), 1), pixels.size - 1) if pixels.size > 1 else 0
        test_mask.flat[rng.choice(pixels, n_test, replace=False)] = True
    return np.isfinite(labels) & ~test_mask, test_mask


def sample_per_class(mask, labels, n_per_class: int | None, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """At most ``n_per_class`` pixels of each class inside ``mask``, drawn without replacement.

    Parameters
    ----------
    mask : ndarray of shape (H, W), bool
        Where to draw from (a split's train or test mask).
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
                         f"shape {labels.shape}", "pass a boolean mask from block_split or random_split")
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
