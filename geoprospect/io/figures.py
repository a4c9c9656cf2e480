"""Save figures atomically (a killed run never leaves a half-written PNG)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from geoprospect.io.files import atomic_path


def save_png(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    """Write ``fig`` as a PNG at ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path
