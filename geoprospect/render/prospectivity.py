"""Prospectivity classes by area and the prospectivity map quicklook.

Classes follow the area-based reading of a prospectivity map used with success-rate and
prediction-rate curves (Chung and Fabbri 2003; Agterberg and Bonham-Carter 2005): cells are ranked
by decreasing probability and the classes hold fixed shares of the (valid) area, here the top 5 %
("very high"), the next 10 % ("high"), 20 % ("moderate"), 25 % ("low") and the remaining 40 %
("very low"). Fixed area shares make classes comparable between models whose probabilities are
calibrated differently (a PU-bagging score and an SVM's Platt probability), keep the follow-up
targets small (the two top classes are 15 % of the area, between the issue's top-10 % and top-20 %
capture statistics), and let the share of deposits in each class be read off the
prediction-rate curve.
"""

from __future__ import annotations

import numpy as np
import matplotlib
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geoprospect.errors import InputError
from geoprospect.render.maps import map_furniture

CLASS_NAMES = ("very low", "low", "moderate", "high", "very high")
AREA_SHARES = (0.40, 0.25, 0.20, 0.10, 0.05)  # per class, from very low to very high


def class_breaks(probability: np.ndarray, area_shares: tuple[float, ...] = AREA_SHARES) -> np.ndarray:
    """Probability thresholds that split the valid area into classes of the given shares.

    Parameters
    ----------
    probability : ndarray, any shape
        Probabilities of the map, or a sample of them (e.g. a decimated read or an overview); NaN
        cells are ignored.
    area_shares : tuple of float
        Share of the valid area in each class, from the lowest class to the highest; sums to 1.

    Returns
    -------
    ndarray (n_classes - 1,)
        Increasing thresholds; a cell with ``breaks[k - 1] < p <= breaks[k]`` is in class ``k``
        (see :func:`classify`).
    """
    shares = np.asarray(area_shares, dtype=float)
    if shares.ndim != 1 or shares.size < 2 or np.any(shares <= 0) or not np.isclose(shares.sum(), 1.0):
        raise InputError("area_shares", f"{tuple(area_shares)} are not positive shares summing to 1", "give one positive share per class, summing to 1")
    values = np.asarray(probability, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise InputError("probability map", "holds no valid cell", "check that the feature cube has valid data over the area")
    return np.quantile(values, np.cumsum(shares)[:-1])


def classify(probability: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Class index (0 = very low ... 4 = very high) per cell; -1 where the probability is NaN.

    A cell with ``breaks[k - 1] < p <= breaks[k]`` is in class ``k``: cells tied at a break go to the
    lower class, so a value shared by most of the map (a PU score of 0) is "very low", never "high".
    """
    probability = np.asarray(probability, dtype=float)
    classes = np.searchsorted(np.asarray(breaks, dtype=float), probability, side="left").astype("int8")
    classes[~np.isfinite(probability)] = -1
    return classes


CLASS_COLOURS = ("#2b83ba", "#abdda4", "#ffffbf", "#fdae61", "#d7191c")  # very low (blue) ... very high (red)
NODATA_COLOUR = "#d9d9d9"


def _class_colours(n: int) -> list[str]:
    if n == len(CLASS_COLOURS):
        return list(CLASS_COLOURS)
    cmap = matplotlib.colormaps["Spectral_r"]
    return [matplotlib.colors.to_hex(cmap(i / max(n - 1, 1))) for i in range(n)]


def _draw_classes(ax, values: np.ndarray, bounds, breaks: np.ndarray, n_classes: int) -> np.ndarray:
    """Draw the cells by class (not a stretch of skewed values); returns the share of the drawn valid
    cells in each class, which can differ from the intended shares where many cells tie."""
    classes = classify(values, breaks)
    colours = _class_colours(n_classes)
    ax.set_facecolor(NODATA_COLOUR)
    index = np.where(classes >= 0, classes, np.nan)
    ax.imshow(index, extent=(bounds[0], bounds[2], bounds[1], bounds[3]), cmap=ListedColormap(colours),
              norm=BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes), interpolation="nearest")
    valid = classes >= 0
    counts = np.bincount(classes[valid].astype(int), minlength=n_classes)[:n_classes]
    return counts / max(valid.sum(), 1)


def plot_prospectivity(values: np.ndarray, bounds: tuple[float, float, float, float], breaks: np.ndarray,
                       deposits_xy: tuple[np.ndarray, np.ndarray] | None, title: str,
                       area_shares: tuple[float, ...] = AREA_SHARES, crs_label: str = "", metric: bool = True,
                       value_label: str = "probability") -> Figure:
    """A prospectivity map drawn by area classes, with deposits, scale and north arrow.

    Classes, not a linear colour stretch: probabilities are skewed (most cells near zero), and a
    stretch over them paints most of the map one dark colour. The legend lists only the classes
    actually drawn, with the share of the area each holds on this map (ties can make a class
    larger or empty) and its lower threshold.

    Parameters
    ----------
    values : ndarray (y, x)
        Probability or score (a decimated read of the map is enough); NaN is drawn grey (nodata).
    bounds : (xmin, ymin, xmax, ymax)
        Map extent in CRS units.
    breaks : ndarray (n_classes - 1,)
        From :func:`class_breaks`.
    deposits_xy : (x, y) arrays, optional
        Known deposits in the map's CRS.
    area_shares : tuple of float
        The shares ``breaks`` were computed with.
    metric : bool
        Whether map units are metres (draws a scale bar).
    value_label : str
        What the values are: ``probability``, or ``score`` for a model whose output is a ranking
        (positive-unlabelled learning), not a calibrated probability.
    """
    fig = Figure(figsize=(8, 6.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    drawn = _draw_classes(ax, values, bounds, breaks, len(area_shares))
    handles = _legend_handles(drawn, breaks, area_shares, value_label)
    if deposits_xy is not None and len(deposits_xy[0]):
        handles.append(ax.scatter(deposits_xy[0], deposits_xy[1], s=22, c="white", edgecolors="black", linewidths=0.9,
                                  zorder=4, label=f"known deposits ({len(deposits_xy[0])})"))
    handles.append(Patch(color=NODATA_COLOUR, label="nodata (outside the study area or the layers)"))
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=7, frameon=False,
               title=f"classes by share of the mapped area ({value_label})", title_fontsize=7)
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    map_furniture(ax, bounds, title, crs_label, metric)
    return fig


def _legend_handles(drawn: np.ndarray, breaks: np.ndarray, area_shares, value_label: str) -> list:
    names = CLASS_NAMES if len(area_shares) == len(CLASS_NAMES) else [f"class {i + 1}" for i in range(len(area_shares))]
    colours = _class_colours(len(area_shares))
    handles = []
    for k in reversed(range(len(area_shares))):
        if drawn[k] == 0:  # a class emptied by ties is not claimed in the legend
            continue
        threshold = f", {value_label} \u2265 {float(breaks[k - 1]):.3g}" if k else ""
        handles.append(Patch(color=colours[k], label=f"{names[k]}: {drawn[k]:.1%} of area{threshold}"))
    return handles


def plot_prospectivity_panels(maps: list[tuple[np.ndarray, np.ndarray, str]], bounds: tuple[float, float, float, float],
                              deposits_xy: tuple[np.ndarray, np.ndarray] | None, title: str,
                              area_shares: tuple[float, ...] = AREA_SHARES) -> Figure:
    """Every model's map side by side on one page, each drawn by its own area classes.

    ``maps`` holds (values, breaks, panel title) per model. Class colours mean the same area shares
    in every panel, so models calibrated differently compare by where they rank cells highest.
    """
    n = len(maps)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(4.2 * cols, 4.6 * rows + 0.8), dpi=100, layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (values, breaks, name) in zip(axes, maps):
        _draw_classes(ax, values, bounds, breaks, len(area_shares))
        if deposits_xy is not None and len(deposits_xy[0]):
            ax.scatter(deposits_xy[0], deposits_xy[1], s=12, c="white", edgecolors="black", linewidths=0.7, zorder=4)
        ax.set_xlim(bounds[0], bounds[2])
        ax.set_ylim(bounds[1], bounds[3])
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[n:]:
        ax.set_axis_off()
    names = CLASS_NAMES if len(area_shares) == len(CLASS_NAMES) else [f"class {i + 1}" for i in range(len(area_shares))]
    colours = _class_colours(len(area_shares))
    handles = [Patch(color=colours[k], label=f"{names[k]} ({area_shares[k]:.0%})") for k in reversed(range(len(area_shares)))]
    handles.append(Patch(color=NODATA_COLOUR, label="nodata"))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle(title)
    return fig
