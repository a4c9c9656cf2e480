"""Figures of spatio-temporal porphyry prospectivity: time slices, window maps, the CV comparison.

Pure functions returning ``matplotlib.figure.Figure`` (no pyplot state); :func:`figure_rgb` turns a
figure into an RGB frame for animations (:func:`geoprospect.io.figures.write_gif`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geoprospect.render.plates import draw_plate_boundaries, limit_to_globe

PROBABILITY_LABEL = "Probability of porphyry formation"
_SCHEME_STYLE = {  # scheme -> (colour, hatch, legend label)
    "shuffled_10fold": ("0.7", "//", "shuffled 10-fold (optimistic)"),
    "leave_region_out": ("tab:blue", "", "leave region out"),
    "leave_age_bin_out": ("tab:orange", "", "leave age bin out"),
}


def plot_time_slice(
    scores: pd.DataFrame,
    sections: Sequence = (),
    coastlines: Sequence = (),
    deposits: pd.DataFrame | None = None,
    time_ma: float = 0.0,
    title: str | None = None,
) -> Figure:
    """Map of the candidates' probability at one time, on that time's plate boundaries.

    Parameters
    ----------
    scores : pandas.DataFrame
        Rows of :func:`geoprospect.tectonics.through_time.score_through_time` at ``time_ma``:
        ``reconstructed_lon``, ``reconstructed_lat`` (degrees), ``probability`` (NaN drawn grey).
    sections : sequence
        Resolved plate-boundary sections at ``time_ma`` (subduction zones and ridges styled apart).
    coastlines : sequence
        Coastlines reconstructed to ``time_ma``.
    deposits : pandas.DataFrame, optional
        Deposits formed near ``time_ma``: ``lon``, ``lat`` (reconstructed, degrees), ``age_ma``.
    time_ma : float
        The time (Ma).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(7, 7))
    ax = fig.add_subplot()
    shown = draw_plate_boundaries(ax, sections, coastlines)
    _probability_points(fig, ax, scores["reconstructed_lon"], scores["reconstructed_lat"], scores["probability"], shown)
    if deposits is not None and len(deposits):
        ax.scatter(deposits["lon"], deposits["lat"], marker="*", s=110, c="gold", edgecolors="k", linewidths=0.6, zorder=5)
        shown["deposit formed near this time"] = Line2D([], [], ls="", marker="*", ms=11, color="gold",
                                                        markeredgecolor="k")
    _finish(ax, shown, title or f"Porphyry prospectivity at {time_ma:g} Ma")
    return fig


def plot_window_map(
    summary: pd.DataFrame,
    window: tuple[float, float],
    statistic: str = "max_probability",
    sections: Sequence = (),
    coastlines: Sequence = (),
    deposits: pd.DataFrame | None = None,
    title: str | None = None,
) -> Figure:
    """Present-day map of the candidates' maximum (or mean) probability within one time window.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`geoprospect.tectonics.through_time.window_summary`.
    window : (start_ma, end_ma)
        The window drawn (a row pair of ``window_start_ma``, ``window_end_ma``).
    statistic : {"max_probability", "mean_probability"}
    sections, coastlines : sequence
        Present-day plate boundaries and coastlines.
    deposits : pandas.DataFrame, optional
        Present-day ``lon``, ``lat`` (degrees) and ``age_ma``; those with ages in the window are drawn.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    start, end = window
    rows = summary[(summary["window_start_ma"] == start) & (summary["window_end_ma"] == end)]
    fig = Figure(figsize=(7, 7))
    ax = fig.add_subplot()
    shown = draw_plate_boundaries(ax, sections, coastlines)
    label = f"{'Maximum' if statistic == 'max_probability' else 'Mean'} probability, {start:g}-{end:g} Ma"
    _probability_points(fig, ax, rows["present_lon"], rows["present_lat"], rows[statistic], shown, label)
    if deposits is not None:
        inside = deposits[(deposits["age_ma"] >= start) & (deposits["age_ma"] < end)]
        ax.scatter(inside["lon"], inside["lat"], marker="*", s=110, c="gold", edgecolors="k", linewidths=0.6, zorder=5)
        shown[f"deposit aged {start:g}-{end:g} Ma"] = Line2D([], [], ls="", marker="*", ms=11, color="gold",
                                                          markeredgecolor="k")
    _finish(ax, shown, title or f"Porphyry prospectivity {start:g}-{end:g} Ma (present-day positions)")
    return fig


def plot_cv_comparison(metrics: pd.DataFrame, metric_names: Sequence[str] = ("accuracy", "roc_auc", "f1"),
                       title: str | None = None) -> Figure:
    """Bars of the mean CV score (error bars: SD over folds) per scheme, one panel per model.

    Parameters
    ----------
    metrics : pandas.DataFrame
        ``CVComparison.metrics`` (:func:`geoprospect.tectonics.validation.evaluate`).
    metric_names : sequence of str
        Metrics drawn (each with ``{name}_mean`` and ``{name}_sd`` columns).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    models = list(dict.fromkeys(metrics["model"]))
    schemes = list(dict.fromkeys(metrics["scheme"]))
    fig = Figure(figsize=(4.5 * len(models), 4.5), layout="constrained")
    axes = fig.subplots(1, len(models), squeeze=False, sharey=True)[0]
    width = 0.8 / len(schemes)
    x = np.arange(len(metric_names))
    for ax, model in zip(axes, models):
        for k, scheme in enumerate(schemes):
            row = metrics[(metrics["model"] == model) & (metrics["scheme"] == scheme)].iloc[0]
            colour, hatch, _ = _style(scheme)
            ax.bar(x + (k - (len(schemes) - 1) / 2) * width, [row[f"{m}_mean"] for m in metric_names], width,
                   yerr=[row[f"{m}_sd"] for m in metric_names], color=colour, hatch=hatch, edgecolor="k",
                   capsize=3)
        ax.axhline(0.5, color="k", lw=0.6, ls=":")
        ax.set_xticks(x, [m.replace("_", "-").upper() if m == "roc_auc" else m for m in metric_names])
        ax.set_xlabel("Metric")
        ax.set_title(f"Model: {model}")
        ax.set_ylim(0.0, 1.05)
    axes[0].set_ylabel("Score (mean over folds, SD bars; dimensionless)")
    handles = [Patch(facecolor=_style(s)[0], hatch=_style(s)[1], edgecolor="k", label=_style(s)[2]) for s in schemes]
    axes[-1].legend(handles=handles, loc="lower right", fontsize=8)
    fig.suptitle(title or "Cross-validation: block schemes against shuffled folds")
    return fig


def figure_rgb(fig: Figure) -> np.ndarray:
    """The rendered figure as an RGB image, uint8 array of shape (height_px, width_px, 3)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _style(scheme: str) -> tuple[str, str, str]:
    """(colour, hatch, legend label) of a CV scheme; unknown schemes grey, labelled by name."""
    return _SCHEME_STYLE.get(scheme, ("0.4", "", scheme))


def _probability_points(fig, ax, lon, lat, probability, shown, label: str = PROBABILITY_LABEL) -> None:
    lon, lat, probability = (np.asarray(v, dtype=float) for v in (lon, lat, probability))
    missing = ~np.isfinite(probability)
    if missing.any():
        ax.scatter(lon[missing], lat[missing], s=10, c="0.75", zorder=3)
        shown["not scored (no trench match)"] = Line2D([], [], ls="", marker="o", ms=4, color="0.75")
    points = ax.scatter(lon[~missing], lat[~missing], s=16, c=probability[~missing], cmap="magma_r",
                        vmin=0.0, vmax=1.0, edgecolors="none", zorder=4)
    fig.colorbar(points, ax=ax, shrink=0.8, label=label)


def _finish(ax, shown: dict, title: str) -> None:
    ax.set_xlabel("Longitude (° E)")
    ax.set_ylabel("Latitude (° N)")
    limit_to_globe(ax)
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.set_title(title)
    if shown:
        ax.legend(shown.values(), shown.keys(), loc="lower left", fontsize=8)
