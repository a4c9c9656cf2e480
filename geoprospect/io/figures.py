"""Save figures and animations atomically (a killed run never leaves a half-written PNG or GIF)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path


def save_png(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG at ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path


def write_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float = 2.0) -> Path:
    """Write RGB frames (uint8 arrays of shape (height, width, 3), all the same shape) as a looping GIF.

    Raises
    ------
    InputError
        No frame, frames of different shapes or not RGB uint8, or ``fps`` not positive.
    """
    path = Path(path)
    if not frames:
        raise InputError(path, "no frame to write", "pass at least one frame (geoprospect.render.tectonics.figure_rgb)")
    shapes = {np.shape(f) for f in frames}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 3:
        raise InputError(path, f"frames must share one (height, width, 3) shape, got {sorted(shapes)[:3]}",
                         "render every frame from figures of the same size and dpi")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(path, f"fps = {fps}", "use a positive number of frames per second")
    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000.0 / fps), loop=0)
    return path
