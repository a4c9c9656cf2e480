"""Square image chips around pixels, for the chip-based lithology models.

A chip is the ``size x size`` window of every band centred on one pixel (``size`` odd), as a CNN
sees it (Shirmard et al. 2022, *Remote Sensing* 14(4):819: patches of a scene around each labelled
pixel). Chips are built on the fly, one batch at a time, from the (bands, H, W) image: memory holds
one batch, never a chip per pixel of the scene (which would be ``size**2`` times the scene).

Conventions, shared by every function here:

- **Edges**: windows reaching past the image are filled by reflection about the edge pixel, without
  repeating it (numpy ``np.pad(mode="reflect")``, scipy ``mode="mirror"``: ``d c b | a b c d | c b a``).
  An edge pixel thus gets a chip of real, nearby reflectances rather than zeros. It needs an image of
  more than ``size // 2`` rows and columns.
- **Missing values**: NaN stays NaN in a chip. The models' :class:`~geoprospect.lithology.cnn.ChannelScaler`
  replaces it after scaling by 0, the training mean of its band. :func:`valid_centres` marks the
  pixels whose whole chip is complete, from which training and test pixels are drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Integral

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import minimum_filter

from geoprospect.errors import InputError

SOURCE = "lithology.image"


def check_image(image) -> np.ndarray:
    """``image`` as a (bands, H, W) float32 array; anything else is an :class:`InputError`."""
    image = np.asarray(image)
    if image.ndim != 3 or 0 in image.shape:
        raise InputError(SOURCE, f"the image has shape {image.shape}, not (bands, rows, columns)",
                         "stack the scene's bands into one (bands, rows, columns) array")
    if not np.issubdtype(image.dtype, np.floating):
        raise InputError(SOURCE, f"the image is of type {image.dtype}, not floating point reflectance",
                         "convert it to float32 with NaN where there is no data")
    return image.astype(np.float32, copy=False)


def check_chip_size(size, image_shape: tuple[int, ...] | None = None) -> int:
    """A positive odd chip side, smaller than twice the image (reflection needs ``size // 2 < H, W``)."""
    if not isinstance(size, Integral) or isinstance(size, bool) or size < 1 or size % 2 == 0:
        raise InputError("lithology.chip_size", f"the chip size is {size!r}, not a positive odd integer",
                         "use an odd number of pixels, e.g. 5 or 7, so that chips have a centre pixel")
    if image_shape is not None and size // 2 >= min(image_shape[-2:]):
        raise InputError(SOURCE, f"the image of {image_shape[-2]} x {image_shape[-1]} pixels is too small "
                         f"for {size} x {size} chips", "use a larger image or smaller chips")
    return int(size)


def _reflect(index: np.ndarray, length: int) -> np.ndarray:
    """Indices past ``[0, length)`` mirrored about the edge pixel (valid up to ``length - 1`` beyond it)."""
    index = np.abs(index)
    return np.where(index >= length, 2 * (length - 1) - index, index)


def _check_pixels(rows, cols, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.asarray(rows), np.asarray(cols)
    if rows.ndim != 1 or rows.shape != cols.shape or not (np.issubdtype(rows.dtype, np.integer)
                                                         and np.issubdtype(cols.dtype, np.integer)):
        raise InputError("lithology.pixels", "rows and columns are not two integer vectors of one length",
                         "pass the pixel indices as two equal-length integer arrays")
    if rows.size and (rows.min() < 0 or cols.min() < 0 or rows.max() >= shape[0] or cols.max() >= shape[1]):
        raise InputError("lithology.pixels", f"a pixel lies outside the {shape[0]} x {shape[1]} image",
                         "pass row and column indices inside the image")
    return rows.astype(np.intp), cols.astype(np.intp)


def chip_batches(image, rows, cols, size: int, batch_size: int = 4096) -> Iterator[np.ndarray]:
    """Chips around the given pixels, built one batch at a time.

    Parameters
    ----------
    image : ndarray of shape (bands, H, W)
        Reflectance (or any float channel), NaN where missing.
    rows, cols : ndarray of int, shape (n,)
        Chip centres, in pixel indices.
    size : int
        Chip side in pixels, odd.
    batch_size : int, default=4096
        Chips per batch: memory is ``batch_size * bands * size**2 * 4`` bytes per batch.

    Yields
    ------
    ndarray of shape (m, bands, size, size), float32
        The chips of the next ``m <= batch_size`` pixels, in the order given; edges reflected and NaN
        kept (see the module's conventions).
    """
    image = check_image(image)
    size = check_chip_size(size, image.shape)
    if not isinstance(batch_size, Integral) or batch_size < 1:
        raise InputError("lithology.batch_size", f"the batch size is {batch_size!r}", "use a positive integer")
    rows, cols = _check_pixels(rows, cols, image.shape[1:])
    half = size // 2
    height, width = image.shape[1:]
    windows = sliding_window_view(image, (size, size), axis=(1, 2))  # (bands, H - 2 half, W - 2 half, size, size), a view
    offsets = np.arange(size) - half
    for start in range(0, rows.size, batch_size):
        r, c = rows[start:start + batch_size], cols[start:start + batch_size]
        inside = (r >= half) & (r < height - half) & (c >= half) & (c < width - half)
        # Interior chips are windows of the image itself (a strided copy, the fast path); only chips
        # that cross an edge gather reflected indices.
        if inside.all():
            yield np.ascontiguousarray(windows[:, r - half, c - half].transpose(1, 0, 2, 3))
            continue
        chips = np.empty((r.size, image.shape[0], size, size), dtype=np.float32)
        chips[inside] = windows[:, r[inside] - half, c[inside] - half].transpose(1, 0, 2, 3)
        er = _reflect(r[~inside, None] + offsets, height)
        ec = _reflect(c[~inside, None] + offsets, width)
        chips[~inside] = image[:, er[:, :, None], ec[:, None, :]].transpose(1, 0, 2, 3)
        yield chips


def row_block(image: np.ndarray, top: int, bottom: int, half: int) -> np.ndarray:
    """Rows ``top:bottom`` of a (bands, H, W) image with ``half`` pixels of context on every side,
    reflected at the image's edges as :func:`chip_batches` reflects them.

    Pixel ``(r, c)`` of the image is pixel ``(r - top + half, c + half)`` of the block, and its chip
    lies wholly inside the block: chips of a block of rows are plain windows (no edge cases).
    """
    height, width = image.shape[1:]
    rows = _reflect(np.arange(top - half, bottom + half), height)
    cols = _reflect(np.arange(-half, width + half), width)
    return image[:, rows][:, :, cols]


def materialise_chips(image, rows, cols, size: int) -> np.ndarray:
    """All chips at once, shape (n, bands, size, size) float32: the simple way, memory ``n * bands * size**2 * 4`` bytes.

    Pads the whole image by reflection and cuts windows from it: an implementation independent of
    :func:`chip_batches`, which gives the same chips. The reference of ``benchmarks/cnn_chips.py``.
    """
    image = check_image(image)
    size = check_chip_size(size, image.shape)
    rows, cols = _check_pixels(rows, cols, image.shape[1:])
    half = size // 2
    padded = np.pad(image, ((0, 0), (half, half), (half, half)), mode="reflect")
    windows = sliding_window_view(padded, (size, size), axis=(1, 2))  # (bands, H, W, size, size), a view
    return np.ascontiguousarray(windows[:, rows, cols].transpose(1, 0, 2, 3))


def valid_centres(image, size: int) -> np.ndarray:
    """Pixels whose whole chip (every band, reflected edges included) is free of NaN: (H, W) bool."""
    image = check_image(image)
    size = check_chip_size(size, image.shape)
    complete = np.isfinite(image).all(axis=0)
    return minimum_filter(complete, size=size, mode="mirror")
