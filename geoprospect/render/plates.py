"""Quicklook map of a plate model at one time: plate boundaries (trenches marked), coastlines, dated deposits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pygplates
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

_STYLES = {  # feature type -> (label, colour, line width)
    "gpml:SubductionZone": ("subduction zone", "crimson", 2.4),
    "gpml:MidOceanRidge": ("mid-ocean ridge", "royalblue", 1.6),
}
_OTHER_BOUNDARY = ("other plate boundary", "0.45", 1.0)


def plot_plate_model(
    boundaries: Sequence,
    time_ma: float,
    deposit_lon_deg: np.ndarray | None = None,
    deposit_lat_deg: np.ndarray | None = None,
    deposit_age_ma: np.ndarray | None = None,
    coastlines: Sequence = (),
    title: str | None = None,
) -> Figure:
    """Map (longitude/latitude) of a plate model's boundaries and deposits at ``time_ma``.

    Parameters
    ----------
    boundaries : sequence
        Plate boundaries at ``time_ma``: ``pygplates.ResolvedTopologicalSection`` (from
        ``TopologicalSnapshot.get_resolved_topological_sections()``; only the parts used by plates
        are drawn) or ``pygplates.ReconstructedFeatureGeometry`` (from ``pygplates.reconstruct``,
        for models without topologies). Subduction zones and ridges are told apart by feature type.
    time_ma : float
        Reconstruction time (Ma), for the title.
    deposit_lon_deg, deposit_lat_deg, deposit_age_ma : array of shape (n,), optional
        Deposit positions at ``time_ma`` (degrees) and their ages (Ma; NaN drawn grey).
    coastlines : sequence of pygplates.ReconstructedFeatureGeometry, optional
        Coastlines at ``time_ma``.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(8, 7))
    ax = fig.add_subplot()
    shown = draw_plate_boundaries(ax, boundaries, coastlines)

    if deposit_lon_deg is not None:
        lon, lat = np.asarray(deposit_lon_deg, dtype=float), np.asarray(deposit_lat_deg, dtype=float)
        age = np.full(lon.shape, np.nan) if deposit_age_ma is None else np.asarray(deposit_age_ma, dtype=float)
        dated = np.isfinite(age)
        if (~dated).any():
            ax.scatter(lon[~dated], lat[~dated], s=18, c="0.6", edgecolors="k", linewidths=0.4, zorder=3)
            shown["deposit, no age"] = Line2D([], [], ls="", marker="o", color="0.6", markeredgecolor="k")
        if dated.any():
            points = ax.scatter(lon[dated], lat[dated], s=22, c=age[dated], cmap="viridis_r",
                                edgecolors="k", linewidths=0.4, zorder=4)
            fig.colorbar(points, ax=ax, shrink=0.8, label="Deposit age (Ma)")
            shown["deposit (colour: age)"] = Line2D(
                [], [], ls="", marker="o", color="mediumseagreen", markeredgecolor="k"
            )

    ax.set_xlabel("Longitude (° E)")
    ax.set_ylabel("Latitude (° N)")
    limit_to_globe(ax)
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.set_title(title or f"Plate model at {time_ma:g} Ma")
    if shown:
        ax.legend(shown.values(), shown.keys(), loc="lower left", fontsize=8)
    return fig


def draw_plate_boundaries(ax, boundaries: Sequence, coastlines: Sequence = ()) -> dict[str, Line2D]:
    """Draw coastlines, then plate boundaries (subduction zones and ridges styled apart) on ``ax``
    in longitude/latitude degrees, one ``LineCollection`` per style (fast for global models).

    Lines are cut at the dateline by ``pygplates.DateLineWrapper`` and polygons drawn as closed
    lines, so that no stray line joins the two sides of the map or runs along a pole (Antarctica).
    The outlines are sorted (by feature id, then by coordinates) before drawing: pygplates returns
    resolved sections in an order that varies between runs, and overlapping lines of different
    colours would otherwise give a different picture each time.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    boundaries, coastlines : sequence
        As for :func:`plot_plate_model`.

    Returns
    -------
    dict
        Legend label -> legend handle, for the kinds drawn.
    """
    shown = {}
    lines = _wrapped_lines(_feature_geometries(coastlines))
    if lines:
        ax.add_collection(LineCollection([part for _, part in lines], colors="darkgoldenrod", linewidths=0.8))
        shown["coastline"] = Line2D([], [], color="darkgoldenrod", lw=0.8)
    by_style: dict[tuple, list[np.ndarray]] = {}
    for feature, part in _wrapped_lines(_feature_geometries(boundaries)):
        style = _STYLES.get(feature.get_feature_type().to_qualified_string(), _OTHER_BOUNDARY)
        by_style.setdefault(style, []).append(part)
    for (label, colour, width), parts in sorted(by_style.items(), key=lambda item: item[0][2]):  # thin lines first
        ax.add_collection(LineCollection(parts, colors=colour, linewidths=width, zorder=2))
        shown[label] = Line2D([], [], color=colour, lw=width)
    if lines or by_style:
        ax.autoscale_view()
    return shown


def _feature_geometries(items: Sequence) -> list[tuple[pygplates.Feature, pygplates.GeometryOnSphere]]:
    """(feature, geometry) pairs from resolved sections, resolved topologies or reconstructed geometries."""
    pairs = []
    for item in items:
        if isinstance(item, pygplates.ResolvedTopologicalSection):
            feature = item.get_topological_section_feature()
            pairs += [(feature, sub.get_resolved_geometry()) for sub in item.get_shared_sub_segments()]
        elif isinstance(item, pygplates.ReconstructedFeatureGeometry):
            pairs.append((item.get_feature(), item.get_reconstructed_geometry()))
        elif isinstance(item, pygplates.ResolvedTopologicalBoundary):
            pairs.append((item.get_feature(), item.get_resolved_boundary()))
        else:
            raise TypeError(f"cannot draw a {type(item).__name__}: pass resolved or reconstructed pygplates objects")
    return pairs


def _wrapped_lines(pairs) -> list[tuple[pygplates.Feature, np.ndarray]]:
    """(feature, (n, 2) lon/lat array) per dateline-wrapped piece, in a deterministic order."""
    out = []
    for feature, geometry in pairs:
        if isinstance(geometry, pygplates.PolygonOnSphere):  # closed line: no edge along the dateline or a pole
            points = list(geometry.get_exterior_ring_points() if hasattr(geometry, "get_exterior_ring_points")
                          else geometry.get_points())
            geometry = pygplates.PolylineOnSphere(points + points[:1])
        elif not isinstance(geometry, pygplates.PolylineOnSphere):
            continue
        for piece in _WRAPPER.wrap(geometry, 1.0):
            part = np.array([(p.get_longitude(), p.get_latitude()) for p in piece.get_points()])
            if len(part) > 1:
                out.append((feature, part))
    out.sort(key=lambda item: (item[0].get_feature_id().get_string(), item[1].shape[0], tuple(item[1][0]), tuple(item[1][-1])))
    return out


_WRAPPER = pygplates.DateLineWrapper()


def limit_to_globe(ax) -> None:
    """Keep the map within longitude [-180, 180] and latitude [-90, 90] (equal degrees on both axes)."""
    ax.set_aspect("equal", adjustable="box")
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    ax.set_xlim(max(x0, -180.0), min(x1, 180.0))
    ax.set_ylim(max(y0, -90.0), min(y1, 90.0))
