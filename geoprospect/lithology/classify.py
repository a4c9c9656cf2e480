"""A lithology map of a whole scene from a fitted chip model, in bounded memory.

The scene is classified one block of rows at a time, its chips built on the fly in batches
(:func:`~geoprospect.lithology.chips.chip_batches`): chips for every pixel at once would take
``size**2`` times the scene (10.6 GB for 3,000 x 3,000 pixels, 6 bands and 7 x 7 chips).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from geoprospect.errors import InputError
from geoprospect.lithology.chips import check_chip_size, check_image, chip_batches, row_block


def classify_image(model, image, chip_size: int, batch_rows: int = 64, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Class and confidence of every pixel whose bands are all present.

    Parameters
    ----------
    model : fitted classifier
        Takes chips (n, bands, chip_size, chip_size) in ``predict_proba``, has ``classes_`` (numeric
        codes), e.g. a pipeline of :func:`geoprospect.lithology.experiment.make_model`.
    image : ndarray of shape (bands, H, W)
        Reflectance (and indices) as at training, NaN where missing.
    chip_size : int
        The chip side the model was trained with (1 for the pixel models).
    batch_rows : int, default=64
        Rows per block: the pixel indices of one block are held at a time.
    batch_size : int, default=4096
        Chips per ``predict_proba`` call.

    Returns
    -------
    codes : ndarray of shape (H, W), float32
        The most probable class code; NaN where a band of the pixel itself is NaN. Missing
        neighbours inside a chip are filled by the model's scaler (the training mean).
    confidence : ndarray of shape (H, W), float32
        The largest class probability, in [1 / n_classes, 1]; NaN where ``codes`` is.

    Notes
    -----
    Memory beyond the image: the two (H, W) float32 outputs, plus for one block its copy with
    margins (``bands * (batch_rows + chip_size) * W`` float32), ``batch_rows * W`` pixel indices
    (16 bytes each) and one batch of ``batch_size * bands *
    chip_size**2`` float32 chips with the model's intermediate arrays (for :class:`ChipCNN`:
    ``batch_size * chip_size**2 * max(channels) * 4`` bytes per layer). With the defaults, 6 bands,
    7 x 7 chips and 16 channels: about 5 MB of chips and 13 MB per activation, whatever the scene size.
    """
    image = check_image(image)
    chip_size = check_chip_size(chip_size, image.shape)
    for name, value in (("batch_rows", batch_rows), ("batch_size", batch_size)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise InputError(f"lithology.{name}", f"{name} is {value!r}", "use a positive integer")
    classes = getattr(model, "classes_", None)
    if classes is None or not hasattr(model, "predict_proba"):
        raise InputError("lithology.model", "the model is not a fitted classifier with predict_proba",
                         "fit a model of geoprospect.lithology.experiment.make_model first")
    classes = np.asarray(classes, dtype=np.float32)
    height, width = image.shape[1:]
    codes = np.full((height, width), np.nan, dtype=np.float32)
    confidence = np.full((height, width), np.nan, dtype=np.float32)
    half = chip_size // 2
    for top in range(0, height, batch_rows):
        bottom = min(top + batch_rows, height)
        rows, cols = np.nonzero(np.isfinite(image[:, top:bottom]).all(axis=0))
        # the block with its reflected margins: every chip is a plain window of it (no edge gathers)
        block = row_block(image, top, bottom, half)
        batches = chip_batches(block, rows + half, cols + half, chip_size, batch_size)
        for start, chips in zip(range(0, rows.size, batch_size), batches):
            proba = model.predict_proba(chips)
            r, c = rows[start:start + batch_size] + top, cols[start:start + batch_size]
            codes[r, c] = classes[np.argmax(proba, axis=1)]
            confidence[r, c] = proba.max(axis=1)
    return codes, confidence
