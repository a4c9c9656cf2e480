"""Quicklooks of SHAP explanations: a panel of contribution maps and one dependence plot per feature."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from geoprospect.render.maps import map_furniture


def plot_shap_panel(maps: np.ndarray, names: list[str], bounds: tuple[float, float, float, float], units: str,
                    title: str) -> Figure:
    """(band, y, x) SHAP maps side by side, each on a diverging scale centred on 0 (red raises the score)."""
    n = len(names)
    columns = min(n, 2)
    rows = int(np.ceil(n / columns))
    fig = Figure(figsize=(6 * columns, 5 * rows), dpi=90, layout="constrained")
    extent = (bounds[0], bounds[2], bounds[1], bounds[3])
    for i, (values, name) in enumerate(zip(maps, names)):
        ax = fig.add_subplot(rows, columns, i + 1)
        finite = values[np.isfinite(values)]
        limit = float(np.percentile(np.abs(finite), 98)) if finite.size else 1.0
        image = ax.imshow(values, extent=extent, cmap="RdBu_r", vmin=-limit or -1, vmax=limit or 1, interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.8, label=f"SHAP ({units})")
        map_furniture(ax, bounds, name)
    fig.suptitle(title)
    return fig


def plot_dependence(values: np.ndarray, contributions: np.ndarray, name: str, units: str, title: str) -> Figure:
    """SHAP contribution against the feature's value over the sampled cells."""
    fig = Figure(figsize=(6, 4.5), dpi=90, layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(values, contributions, s=6, alpha=0.5, color="#1f77b4")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel(name)
    ax.set_ylabel(f"SHAP ({units})")
    ax.set_title(title)
    return fig
