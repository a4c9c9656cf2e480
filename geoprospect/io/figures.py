"""Save figures and animations atomically (a killed run never leaves a half-written PNG, GIF or video)."""

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
    images = [Image.fromarray(f) for f in _checked_frames(frames, path, fps)]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=round(1000.0 / fps), loop=0)
    return path


class VideoUnavailable(RuntimeError):
    """No usable ffmpeg here (imageio-ffmpeg absent, or its binary does not run): no video is written."""


def write_video(frames: Sequence[np.ndarray], path: str | Path, fps: float = 2.0) -> Path:
    """Write RGB frames (as for :func:`write_gif`) as an H.264 MP4 (yuv420p, plays in browsers).

    Encoded by the ffmpeg binary that the imageio-ffmpeg wheel ships (no system ffmpeg needed). Frames
    are padded with white to even sizes (yuv420p halves the colour resolution) rather than rescaled;
    bit-exact flags and one encoder thread make the same frames give the same bytes.

    Raises
    ------
    InputError
        As :func:`write_gif`.
    VideoUnavailable
        imageio-ffmpeg is not installed or its ffmpeg binary fails here (the message says which).
    """
    path = Path(path)
    images = _checked_frames(frames, path, fps)
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # noqa: BLE001 - ImportError, or RuntimeError when no binary is found
        raise VideoUnavailable(f"no ffmpeg: {exc}") from exc
    height, width = images[0].shape[:2]
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    bitexact = ["-threads", "1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1"]
    with atomic_path(path) as tmp:
        try:
            writer = imageio_ffmpeg.write_frames(str(tmp), (width + width % 2, height + height % 2), fps=fps, codec="libx264",
                                                 macro_block_size=1, ffmpeg_log_level="error", output_params=bitexact)
            writer.send(None)
            for image in images:
                writer.send(np.ascontiguousarray(np.pad(image, pad, constant_values=255)))
            writer.close()
        except (OSError, RuntimeError) as exc:  # a binary that does not run on this system, a codec missing
            raise VideoUnavailable(f"ffmpeg ({exe}) failed: {exc}") from exc
    return path


def _checked_frames(frames: Sequence[np.ndarray], path: Path, fps: float) -> list[np.ndarray]:
    if not frames:
        raise InputError(path, "no frame to write", "pass at least one frame (geoprospect.render.tectonics.figure_rgb)")
    shapes = {np.shape(f) for f in frames}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 3:
        raise InputError(path, f"frames must share one (height, width, 3) shape, got {sorted(shapes)[:3]}",
                         "render every frame from figures of the same size and dpi")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(path, f"fps = {fps}", "use a positive number of frames per second")
    return [np.asarray(f, dtype=np.uint8) for f in frames]
