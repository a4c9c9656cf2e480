"""Map quicklooks: one layer with a colour bar (or legend), title, units, scale bar and north arrow."""

from __future__ import annotations

import numpy as np
from matplotlib import patheffects
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

CATEGORY_COLOURS = ("#e6c86e", "#c9a66b", "#8c8c8c", "#9ecae1", "#fbb4ae", "#7fbf7b", "#2d6a4f", "#b39ddb",
                    "#f28e2b", "#d62728", "#17becf", "#bcbd22", "#8c564b", "#e377c2", "#7f7f7f", "#1f77b4")

HALO = [patheffects.withStroke(linewidth=5, foreground="white")]


def plot_layer(values: np.ndarray, bounds: tuple[float, float, float, float], title: str, units: str = "",
               categories: dict[int, str] | None = None, points: tuple[np.ndarray, np.ndarray] | None = None,
               cmap: str = "viridis", crs_label: str = "", metric: bool = True, points_label: str = "deposits") -> Figure:
    """A quicklook of one (y, x) layer.

    Parameters
    ----------
    values : ndarray (y, x)
        NaN is drawn transparent.
    bounds : (xmin, ymin, xmax, ymax)
        Map extent in CRS units.
    categories : dict, optional
        Class code -> name, for categorical layers (drawn with a legend instead of a colour bar).
    points : (x, y), optional
        Points to overlay (e.g. deposits, survey samples), named ``points_label`` in the legend.
    metric : bool
        Whether map units are metres (draws a scale bar).
    """
    fig = Figure(figsize=(7, 6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    extent = (bounds[0], bounds[2], bounds[1], bounds[3])
    finite = values[np.isfinite(values)]
    if categories:
        codes = sorted(categories)
        colours = ListedColormap([CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(codes))])
        index = np.full(values.shape, np.nan)
        for i, code in enumerate(codes):
            index[values == code] = i
        ax.imshow(index, extent=extent, cmap=colours, norm=BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes)), interpolation="nearest")
        handles = [Patch(color=colours(i), label=f"{code}: {categories[code]}") for i, code in enumerate(codes)]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    else:
        lo, hi = np.percentile(finite, [2, 98]) if finite.size else (0, 1)
        image = ax.imshow(values, extent=extent, cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.8, label=units or "value")
    if points is not None and len(points[0]):
        size = 18 if len(points[0]) < 200 else 4  # hundreds of samples: small dots that leave the layer visible
        ax.scatter(points[0], points[1], s=size, c="white", edgecolors="black", linewidths=0.8 if size > 4 else 0.3,
                   label=f"{points_label} ({len(points[0])})", zorder=3)
        if points_label != "deposits":
            ax.legend(loc="lower right", fontsize=7, framealpha=0.8)
    map_furniture(ax, bounds, f"{title}" + (f" ({units})" if units and not categories else ""), crs_label, metric)
    ax.text(0.01, 0.01, f"valid cells: {finite.size / max(values.size, 1):.0%}", transform=ax.transAxes, fontsize=7)
    return fig


def map_furniture(ax, bounds: tuple[float, float, float, float], title: str, crs_label: str = "", metric: bool = True) -> None:
    """Title, axis labels, plain tick labels, a scale bar (when map units are metres) and a north arrow."""
    ax.set_title(title)
    ax.set_xlabel(f"easting ({crs_label})" if crs_label else "easting")
    ax.set_ylabel(f"northing ({crs_label})" if crs_label else "northing")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)
    # national grids have 7-digit coordinates: few ticks so the labels never overlap
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    if metric:
        _scale_bar(ax, bounds)
    # black on a white halo (and a white box behind the N): readable on dark and light cells alike
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.84), xycoords="axes fraction", ha="center", fontsize=11, fontweight="bold",
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8),
                arrowprops=dict(arrowstyle="-|>", color="black", path_effects=HALO), zorder=5)


def _scale_bar(ax, bounds) -> None:
    width = bounds[2] - bounds[0]
    length = 10 ** np.floor(np.log10(width / 4))
    length *= 5 if width / 4 >= 5 * length else (2 if width / 4 >= 2 * length else 1)
    x0, y0 = bounds[0] + 0.05 * width, bounds[1] + 0.06 * (bounds[3] - bounds[1])
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=3, path_effects=HALO, zorder=5)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0 + 0.015 * (bounds[3] - bounds[1]), label, ha="center", va="bottom", fontsize=8, zorder=5,
            path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])


def plot_features(gdf, bounds: tuple[float, float, float, float], title: str, crs_label: str = "") -> Figure:
    """A quicklook of a vector layer (lines, points or polygon outlines) over the grid's extent."""
    fig = Figure(figsize=(7, 6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    gdf.plot(ax=ax, color="black" if gdf.geom_type.iloc[0].endswith("Point") else "crimson", linewidth=1.2, markersize=12,
             facecolor="none" if gdf.geom_type.iloc[0].endswith("Polygon") else None)
    ax.set_xlim(bounds[0], bounds[2])
    ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal")
    map_furniture(ax, bounds, f"{title} ({len(gdf)} features)", crs_label)
    return fig
