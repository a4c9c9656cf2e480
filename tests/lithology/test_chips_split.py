"""Chips around pixels (direct slices, reflected edges, validity) and the train/test splits."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.spatial import cKDTree

from geoprospect.errors import InputError
from geoprospect.lithology.chips import chip_batches, materialise_chips, valid_centres
from geoprospect.lithology.split import block_split, random_split, sample_per_class


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
def test_block_split_keeps_training_chips_clear_of_test_pixels(labels, size):
    half = size // 2
    train, test = block_split(labels, block_cells=10, test_fraction=0.3, buffer_cells=half, rng=1)
    assert not (train & test).any() and not (train & np.isnan(labels)).any() and not (test & np.isnan(labels)).any()
    assert chebyshev_gap(train, test) > half
    rows, cols = np.nonzero(train)
    chips = materialise_chips(test[None].astype(np.float32), rows, cols, size)
    assert not chips.any()  # no training chip holds a test pixel
    # with buffer size - 1, training chips and test chips share no pixel at all
    train, test = block_split(labels, block_cells=10, test_fraction=0.3, buffer_cells=size - 1, rng=1)
    assert chebyshev_gap(train, test) > 2 * half
    for code in range(1, 6):
        assert (labels[train] == code).any() and (labels[test] == code).any()


def test_block_split_fraction_blocks_and_seed(labels):
    train, test = block_split(labels, block_cells=10, test_fraction=0.3, buffer_cells=0, rng=3)
    assert (train | test).sum() == np.isfinite(labels).sum()  # no buffer: every labelled pixel is used
    for code in range(1, 6):
        share = (labels[test] == code).sum() / (labels == code).sum()
        assert 0.2 < share < 0.6
    blocks = test[:80, :100].reshape(8, 10, 10, 10).transpose(0, 2, 1, 3).reshape(80, -1)
    labelled = np.isfinite(labels[:80, :100]).reshape(8, 10, 10, 10).transpose(0, 2, 1, 3).reshape(80, -1)
    assert all(b[m].all() or not b[m].any() for b, m in zip(blocks, labelled))  # whole blocks
    again = block_split(labels, 10, 0.3, 0, np.random.default_rng(3))
    assert np.array_equal(test, again[1])
    assert not np.array_equal(test, block_split(labels, 10, 0.3, 0, 4)[1])


def test_block_split_keeps_a_single_block_class_in_training(labels, caplog):
    lonely = labels.copy()
    lonely[40:50, 12:28] = 2
    lonely[61:68, 61:68] = 9  # inside one 10 x 10 block
    with caplog.at_level(logging.WARNING, logger="geoprospect.lithology.split"):
        train, test = block_split(lonely, 10, 0.3, 0, rng=0)
    assert (lonely[train] == 9).sum() == 49 and not (lonely[test] == 9).any()
    assert "[9] have no test pixel" in caplog.text


def test_random_split_fractions(labels):
    train, test = random_split(labels, 0.25, rng=0)
    assert not (train & test).any() and np.array_equal(train | test, np.isfinite(labels))
    for code in range(1, 6):
        n = (labels == code).sum()
        assert (labels[test] == code).sum() == round(0.25 * n)
    assert np.array_equal(test, random_split(labels, 0.25, rng=0)[1])


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
    lambda lab: block_split(lab[0], 10, 0.3, 2),                             # not 2-D
    lambda lab: block_split(np.full_like(lab, np.nan), 10, 0.3, 2),          # nothing labelled
    lambda lab: block_split(lab + 0.5, 10, 0.3, 2),                          # codes not whole
    lambda lab: block_split(lab, 0, 0.3, 2),                                 # block size
    lambda lab: block_split(lab, 10, 0.3, -1),                               # buffer
    lambda lab: block_split(lab, 10, 1.0, 2),                                # fraction
    lambda lab: random_split(lab, 0, 2),
    lambda lab: sample_per_class(np.ones((3, 3), bool), lab, 5),             # mask shape
    lambda lab: sample_per_class(np.isfinite(lab), lab, 0),                  # cap
], ids=["1d", "unlabelled", "fractional-codes", "block", "buffer", "fraction", "random-fraction", "mask", "cap"])
def test_bad_split_inputs(labels, call):
    with pytest.raises(InputError):
        call(labels)
