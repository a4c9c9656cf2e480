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
from matplotlib.colors import Normalize
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
        Increasing thresholds; a cell with ``breaks[k - 1] <= p < breaks[k]`` is in class ``k``
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
    """Class index (0 = very low ... 4 = very high) per cell; -1 where the probability is NaN."""
    probability = np.asarray(probability)
    classes = np.digitize(probability, breaks).astype("int8")
    classes[~np.isfinite(probability)] = -1
    return classes


def plot_prospectivity(values: np.ndarray, bounds: tuple[float, float, float, float], breaks: np.ndarray,
                       deposits_xy: tuple[np.ndarray, np.ndarray] | None, title: str,
                       area_shares: tuple[float, ...] = AREA_SHARES, crs_label: str = "", cmap: str = "inferno",
                       metric: bool = True) -> Figure:
    """A prospectivity map: continuous probability, class boundaries, deposits, scale and north arrow.

    Parameters
    ----------
    values : ndarray (y, x)
        Probability (a decimated read of the map is enough); NaN drawn transparent.
    bounds : (xmin, ymin, xmax, ymax)
        Map extent in CRS units.
    breaks : ndarray (n_classes - 1,)
        From :func:`class_breaks`; drawn as lines across the colour bar and listed in the legend.
    deposits_xy : (x, y) arrays, optional
        Known deposits in the map's CRS.
    area_shares : tuple of float
        The shares ``breaks`` were computed with (for the legend).
    metric : bool
        Whether map units are metres (draws a scale bar).
    """
    fig = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    norm = Normalize(lo, hi if hi > lo else lo + 1e-6)
    image = ax.imshow(values, extent=(bounds[0], bounds[2], bounds[1], bounds[3]), cmap=cmap, norm=norm, interpolation="nearest")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.8, label="probability of a deposit")
    for b in breaks:
        colorbar.ax.axhline(b, color="white", linewidth=2.5)
        colorbar.ax.axhline(b, color="black", linewidth=1)
    colorbar.ax.set_yticks(sorted({lo, hi, *map(float, breaks)}))
    colorbar.ax.tick_params(labelsize=7)

    edges = [lo, *map(float, breaks), hi]
    colours = image.get_cmap()
    names = CLASS_NAMES if len(area_shares) == len(CLASS_NAMES) else [f"class {i + 1}" for i in range(len(area_shares))]
    handles = [Patch(color=colours(norm((edges[k] + edges[k + 1]) / 2)),
                     label=f"{names[k]}: {area_shares[k]:.0%} of area, p \u2265 {edges[k]:.3g}" if k else f"{names[k]}: {area_shares[k]:.0%} of area")
               for k in reversed(range(len(area_shares)))]
    if deposits_xy is not None and len(deposits_xy[0]):
        handles.append(ax.scatter(deposits_xy[0], deposits_xy[1], s=18, c="white", edgecolors="black", linewidths=0.8,
                                  zorder=3, label=f"known deposits ({len(deposits_xy[0])})"))
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=7, frameon=False,
               title="classes by share of the valid area", title_fontsize=7)
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    map_furniture(ax, bounds, title, crs_label, metric)
    return fig
