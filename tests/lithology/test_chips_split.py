"""Chips around pixels (direct slices, reflected edges, validity) and the k-fold block and random-pixel folds."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.spatial import cKDTree

from geoprospect.errors import InputError
from geoprospect.lithology.chips import chip_batches, materialise_chips, valid_centres
from geoprospect.lithology.split import block_folds, fold_masks, missing_from_training, random_folds, sample_per_class


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).standard_normal((3, 23, 17)).astype(np.float32)


def batched(image, rows, cols, size, batch_size):
    return np.concatenate(list(chip_batches(image, rows, cols, size, batch_size)))


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_interior_chips_equal_direct_slices(image, size):
    half = size // 2
    rng = np.random.default_rng(size)
    rows = rng.integers(half, image.shape[1] - half, 40)
    cols = rng.integers(half, image.shape[2] - half, 40)
    expected = np.stack([image[:, r - half:r + half + 1, c - half:c + half + 1] for r, c in zip(rows, cols)])
    assert np.array_equal(batched(image, rows, cols, size, 7), expected)  # 7 does not divide 40: a short last batch
    assert np.array_equal(materialise_chips(image, rows, cols, size), expected)


def test_edge_chips_are_reflected_without_repeating_the_edge(image):
    height, width = image.shape[1:]
    # the corner pixel (0, width - 1): rows 2 1 [0] 1 2, columns w-3 w-2 [w-1] w-2 w-3, written out by hand
    rows, cols = [2, 1, 0, 1, 2], [width - 3, width - 2, width - 1, width - 2, width - 3]
    expected = image[:, rows][:, :, cols]
    assert np.array_equal(batched(image, np.array([0]), np.array([width - 1]), 5, 1)[0], expected)
    assert np.array_equal(materialise_chips(image, np.array([0]), np.array([width - 1]), 5)[0], expected)
    # every pixel, batched on the fly, against numpy's reflect padding
    padded = np.pad(image, ((0, 0), (3, 3), (3, 3)), mode="reflect")
    rows, cols = np.divmod(np.arange(height * width), width)
    reference = np.stack([padded[:, r:r + 7, c:c + 7] for r, c in zip(rows, cols)])
    assert np.array_equal(batched(image, rows, cols, 7, 50), reference)


def test_chips_keep_nan_and_valid_centres_marks_complete_chips(image):
    holed = image.copy()
    holed[1, 4, 6] = np.nan
    holed[0, 22, 0] = np.nan
    size = 5
    valid = valid_centres(holed, size)
    rows, cols = np.divmod(np.arange(holed[0].size), holed.shape[2])
    chips = materialise_chips(holed, rows, cols, size)
    assert np.array_equal(valid.ravel(), np.isfinite(chips).all(axis=(1, 2, 3)))
    assert not valid[4, 6] and not valid[2, 8] and valid[4, 9] and not valid[20, 2]
    assert np.isnan(batched(holed, np.array([4]), np.array([6]), size, 4)[0, 1, 2, 2])


@pytest.mark.parametrize("call", [
    lambda im: list(chip_batches(im[0], [1], [1], 3)),                      # not (bands, rows, columns)
    lambda im: list(chip_batches(im.astype(int), [1], [1], 3)),             # not floating point
    lambda im: list(chip_batches(im, [1], [1], 4)),                         # even size
    lambda im: list(chip_batches(im, [1], [1], 0)),                         # not positive
    lambda im: list(chip_batches(im, [1], [1], 35)),                        # larger than the image allows
    lambda im: list(chip_batches(im, [1], [1], 3, batch_size=0)),           # batch size
    lambda im: list(chip_batches(im, [1, 2], [1], 3)),                      # rows and columns differ in length
    lambda im: list(chip_batches(im, [1.5], [1.0], 3)),                     # not integer indices
    lambda im: materialise_chips(im, [23], [0], 3),                         # outside the image
    lambda im: valid_centres(im, 2),
], ids=["2d", "int", "even", "zero", "too-large", "batch", "lengths", "float-index", "outside", "valid-even"])
def test_bad_chip_inputs(image, call):
    with pytest.raises(InputError):
        call(image)


@pytest.fixture(scope="module")
def labels():
    """90 x 100 pixels: four units in bands of 25 columns, a rare unit 5 over two blocks, unlabelled margins."""
    labels = np.repeat((1 + np.arange(100) // 25)[None, :], 90, axis=0).astype(float)
    labels[40:50, 12:28] = 5
    labels[:, :3] = np.nan
    labels[85:] = np.nan
    return labels


def chebyshev_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest Chebyshev distance in pixels between two masks' pixels."""
    return cKDTree(np.argwhere(b)).query(np.argwhere(a), p=np.inf)[0].min()


@pytest.mark.parametrize("size", [5, 7])
def test_block_folds_keep_training_chips_clear_of_test_pixels(labels, size):
    half = size // 2
    folds = block_folds(labels, block_cells=10, n_folds=5, rng=1)
    for k in range(5):
        train, test = fold_masks(folds, k, buffer_cells=half)
        assert not (train & test).any() and not (train & np.isnan(labels)).any() and not (test & np.isnan(labels)).any()
        assert chebyshev_gap(train, test) > half
        rows, cols = np.nonzero(train)
        assert not materialise_chips(test[None].astype(np.float32), rows, cols, size).any()  # no training chip holds a test pixel
        for code in range(1, 6):  # stratified: every class (unit 5 lies in two blocks) in every training fold
            assert (labels[train] == code).any()


def test_block_folds_test_every_labelled_pixel_once_in_whole_blocks(labels):
    folds = block_folds(labels, block_cells=10, n_folds=5, rng=3)
    assert np.array_equal(folds >= 0, np.isfinite(labels)) and set(np.unique(folds)) == {-1, 0, 1, 2, 3, 4}
    tested = sum(fold_masks(folds, k)[1].astype(int) for k in range(5))
    assert np.array_equal(tested, np.isfinite(labels).astype(int))  # each labelled pixel tested exactly once
    blocks = folds[:80, :100].reshape(8, 10, 10, 10).transpose(0, 2, 1, 3).reshape(80, -1)
    assert all(np.unique(b[b >= 0]).size <= 1 for b in blocks)  # whole blocks
    for code in range(1, 5):  # every common class spread over the folds
        assert np.unique(folds[labels == code]).size >= 4
    assert np.array_equal(folds, block_folds(labels, 10, 5, np.random.default_rng(3)))
    assert not np.array_equal(folds, block_folds(labels, 10, 5, 4))


def test_a_single_block_class_is_reported_missing_from_one_training_fold(labels, caplog):
    lonely = labels.copy()
    lonely[61:68, 61:68] = 9  # inside one 10 x 10 block
    folds = block_folds(lonely, 10, 5, rng=0)
    with caplog.at_level(logging.WARNING, logger="geoprospect.lithology.split"):
        missing = missing_from_training(folds, lonely, buffer_cells=2)
    assert missing == {9: [int(folds[63, 63])]}
    assert "classes absent from some training folds" in caplog.text


def test_random_folds_are_stratified_pixels(labels):
    folds = random_folds(labels, 4, rng=0)
    assert np.array_equal(folds >= 0, np.isfinite(labels))
    for code in range(1, 6):
        counts = np.bincount(folds[labels == code], minlength=4)
        assert counts.max() - counts.min() <= 1
    assert np.array_equal(folds, random_folds(labels, 4, rng=0))


def test_sample_per_class_caps_and_stays_in_mask(labels):
    mask = np.isfinite(labels) & (np.arange(100)[None, :] % 2 == 0)
    rows, cols = sample_per_class(mask, labels, 30, rng=0)
    assert mask[rows, cols].all()
    codes, counts = np.unique(labels[rows, cols], return_counts=True)
    assert codes.tolist() == [1, 2, 3, 4, 5] and counts.tolist() == [30] * 5
    assert np.all(np.diff(rows * 100 + cols) > 0)  # raster order, no repeats
    again = sample_per_class(mask, labels, 30, rng=0)
    assert np.array_equal(rows, again[0]) and np.array_equal(cols, again[1])
    rows, _ = sample_per_class(mask, labels, None, rng=0)
    assert rows.size == mask.sum()


@pytest.mark.parametrize("call", [
    lambda lab: block_folds(lab[0], 10, 5),                                  # not 2-D
    lambda lab: block_folds(np.full_like(lab, np.nan), 10, 5),               # nothing labelled
    lambda lab: block_folds(lab + 0.5, 10, 5),                               # codes not whole
    lambda lab: block_folds(lab, 0, 5),                                      # block size
    lambda lab: block_folds(lab, 10, 1),                                     # folds
    lambda lab: block_folds(lab, 60, 5),                                     # fewer blocks than folds
    lambda lab: fold_masks(block_folds(lab, 10, 5), 0, -1),                  # buffer
    lambda lab: random_folds(lab, 1),
    lambda lab: sample_per_class(np.ones((3, 3), bool), lab, 5),             # mask shape
    lambda lab: sample_per_class(np.isfinite(lab), lab, 0),                  # cap
], ids=["1d", "unlabelled", "fractional-codes", "block", "folds", "few-blocks", "buffer", "random-folds", "mask", "cap"])
def test_bad_split_inputs(labels, call):
    with pytest.raises(InputError):
        call(labels)
