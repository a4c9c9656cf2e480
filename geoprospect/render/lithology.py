"""Quicklooks of lithology results: class maps, cluster confidence, confusion matrices, accuracy bars."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geoprospect.render.maps import CATEGORY_COLOURS, map_furniture

LEGEND_WRAP = 40  # characters per legend line: long unit names wrap instead of widening the figure without end


def class_colours(codes: Iterable[int] | np.ndarray) -> dict[int, tuple[int, int, int]]:
    """A qualitative 0-255 RGB colour per class code (0 and NaN are nodata and get none).

    The colour depends on the code alone (code ``c`` takes palette entry ``(c - 1) mod 16``), so a class
    keeps its colour across maps whatever other classes they hold.

    Parameters
    ----------
    codes : iterable of int or ndarray
        Class codes, or a class map (any shape; its distinct codes are used).
    """
    values = np.unique(np.asarray(codes, dtype=np.float64))
    values = values[np.isfinite(values) & (values != 0)]
    return {int(c): tuple(round(255 * v) for v in to_rgb(CATEGORY_COLOURS[(int(c) - 1) % len(CATEGORY_COLOURS)]))
            for c in values}


def plot_class_map(codes: np.ndarray, bounds: tuple[float, float, float, float], class_names: dict[int, str],
                   colours: dict[int, tuple[int, int, int]] | None = None, title: str = "Class map",
                   crs_label: str = "", metric: bool = True) -> Figure:
    """A class map with a legend of class names and their share of the mapped area.

    Parameters
    ----------
    codes : ndarray (y, x)
        Class codes; 0, NaN and codes without a name are drawn transparent.
    bounds : (xmin, ymin, xmax, ymax)
        Map extent in CRS units.
    class_names : dict of int to str
    colours : dict of int to (r, g, b), optional
        0-255 colours; default :func:`class_colours`.
    metric : bool
        Whether map units are metres (draws a scale bar).
    """
    colours = class_colours(sorted(class_names)) if colours is None else colours
    codes = np.asarray(codes, dtype=np.float64)
    rgba = np.zeros((*codes.shape, 4))
    handles = []
    mapped = max(int(np.isin(codes, list(class_names)).sum()), 1)
    for code, name in sorted(class_names.items()):
        colour = np.asarray(colours[code], dtype=np.float64) / 255
        cells = codes == code
        rgba[cells] = (*colour, 1.0)
        handles.append(Patch(color=colour, label=f"{code}: {name} ({cells.sum() / mapped:.0%})"))
    # Margins in inches around a map sized by its aspect, the legend in its own column: a legend placed past
    # the axes of a fixed-size, constrained figure clipped the legend's title and squeezed out the northing
    # labels of tall maps.
    labels = [textwrap.fill(h.get_label(), LEGEND_WRAP) for h in handles]
    for handle, label in zip(handles, labels):
        handle.set_label(label)
    legend_width = 0.9 + 0.065 * max([len(line) for label in labels for line in label.splitlines()] + [30])
    legend_height = 0.6 + 0.2 * sum(label.count("\n") + 1 for label in labels)
    aspect = (bounds[3] - bounds[1]) / max(bounds[2] - bounds[0], 1e-9)
    map_width, map_height = (5.0, 5.0 * aspect) if aspect <= 1.2 else (6.0 / aspect, 6.0)
    left, right, bottom, top = 1.15, 0.5, 0.75, 0.55  # northing ticks and label; easting ticks and label; title
    width = left + map_width + right + legend_width
    height = max(bottom + map_height + top, legend_height + top)
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_axes((left / width, (height - top - map_height) / height, map_width / width, map_height / height))
    ax.imshow(rgba, extent=(bounds[0], bounds[2], bounds[1], bounds[3]), interpolation="nearest", aspect="auto")
    fig.legend(handles=handles, title="class (share of mapped area)", loc="upper left", fontsize=8, title_fontsize=9,
               frameon=False, bbox_to_anchor=((left + map_width + right) / width, 1 - 0.1 / height))
    map_furniture(ax, bounds, title, crs_label, metric)
    return fig


def plot_confidence(confidence: np.ndarray, bounds: tuple[float, float, float, float], title: str = "Cluster confidence",
                    crs_label: str = "", metric: bool = True) -> Figure:
    """A (y, x) confidence map in [0, 1] (NaN transparent) with a colour bar."""
    fig = Figure(figsize=(7, 6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(confidence, extent=(bounds[0], bounds[2], bounds[1], bounds[3]), cmap="magma", vmin=0, vmax=1,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label="confidence (0-1, dimensionless)")
    map_furniture(ax, bounds, title, crs_label, metric)
    return fig


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], title: str = "Confusion matrix") -> Figure:
    """A confusion matrix coloured by row share (producer's view) and annotated with counts.

    Parameters
    ----------
    matrix : ndarray (n_classes, n_classes)
        Counts, rows = true class, columns = predicted class.
    class_names : sequence of str
        Names in the matrix's order.
    """
    matrix = np.asarray(matrix)
    support = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, support, out=np.full(matrix.shape, np.nan), where=support > 0)
    size = 2.5 + 0.6 * len(class_names)
    fig = Figure(figsize=(size + 1.5, size), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class's samples (fraction)")
    for (i, j), count in np.ndenumerate(matrix):
        dark = np.isfinite(shares[i, j]) and shares[i, j] > 0.6
        ax.text(j, i, f"{count:g}", ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(ticks, class_names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (reference)")
    ax.set_title(title)
    return fig


def plot_accuracy_comparison(summary: pd.DataFrame, title: str = "Overall accuracy by sensor and model") -> Figure:
    """Bars of mean overall accuracy (error bars: SD over seeds) per sensor x model, one bar per split.

    Parameters
    ----------
    summary : DataFrame
        :func:`geoprospect.lithology.metrics.summarise`'s output: columns ``sensor``, ``model``,
        ``chip_size``, ``split``, ``overall_accuracy_mean``, ``overall_accuracy_sd``. A random split
        puts neighbouring (spatially correlated) pixels in training and test sets: its bars are
        labelled "optimistic".
    """
    table = summary.copy()
    table["group"] = table["sensor"].astype(str) + "\n" + table["model"].astype(str)
    if table.groupby(["sensor", "model"])["chip_size"].nunique(dropna=False).max() > 1:
        table["group"] += "\nchip " + table["chip_size"].astype(str)
    groups = list(dict.fromkeys(table.sort_values(["sensor", "model", "chip_size"])["group"]))
    splits = sorted(table["split"].astype(str).unique(), key=lambda s: ("random" in s, s))  # spatial first
    width = 0.8 / len(splits)
    fig = Figure(figsize=(max(6, 1.1 * len(groups) + 2), 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(groups))
    for i, split in enumerate(splits):
        rows = table[table["split"].astype(str) == split].set_index("group").reindex(groups)
        label = f"{split} k-fold CV (optimistic)" if "random" in split else f"{split} k-fold CV"
        ax.bar(x + (i - (len(splits) - 1) / 2) * width, rows["overall_accuracy_mean"], width,
               yerr=rows["overall_accuracy_sd"].fillna(0), capsize=3, label=label, hatch="//" if "random" in split else None,
               alpha=0.6 if "random" in split else 1.0)
    ax.set_xticks(x, groups, fontsize=8)
    ax.set_xlabel("sensor and model")
    ax.set_ylabel("overall accuracy (fraction), mean ± SD over seeds")
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return fig
