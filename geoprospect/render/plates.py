"""Quicklook map of a plate model at one time: plate boundaries (trenches marked), coastlines, dated deposits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pygplates
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
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, lw=0.3, alpha=0.5)
    ax.set_title(title or f"Plate model at {time_ma:g} Ma")
    if shown:
        ax.legend(shown.values(), shown.keys(), loc="lower left", fontsize=8)
    return fig


def draw_plate_boundaries(ax, boundaries: Sequence, coastlines: Sequence = ()) -> dict[str, Line2D]:
    """Draw coastlines, then plate boundaries (subduction zones and ridges styled apart) on ``ax``
    in longitude/latitude degrees.

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
    for feature, geometry in _feature_geometries(coastlines):
        lon, lat = _lon_lat(geometry)
        ax.plot(lon, lat, color="darkgoldenrod", lw=0.8)
        shown["coastline"] = Line2D([], [], color="darkgoldenrod", lw=0.8)
    for feature, geometry in _feature_geometries(boundaries):
        label, colour, width = _STYLES.get(feature.get_feature_type().to_qualified_string(), _OTHER_BOUNDARY)
        lon, lat = _lon_lat(geometry)
        ax.plot(lon, lat, color=colour, lw=width, zorder=2)
        shown[label] = Line2D([], [], color=colour, lw=width)
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


def _lon_lat(geometry: pygplates.GeometryOnSphere) -> tuple[np.ndarray, np.ndarray]:
    """Vertices in degrees, polygons closed, with a break where a line jumps across the dateline."""
    if isinstance(geometry, pygplates.PolygonOnSphere):
        lat_lon = geometry.to_lat_lon_array()
        lat_lon = np.vstack([lat_lon, lat_lon[:1]])
    else:
        lat_lon = geometry.to_lat_lon_array()
    lat, lon = lat_lon[:, 0], lat_lon[:, 1]
    jumps = np.flatnonzero(np.abs(np.diff(lon)) > 180.0) + 1
    return np.insert(lon, jumps, np.nan), np.insert(lat, jumps, np.nan)
