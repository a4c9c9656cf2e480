"""Figures of inverted survey lines: the resistivity section and the data fit per station."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from geoprospect.geophysics.sections import LineInversion

_AXES = {
    "ves": ("AB/2 (m)", "apparent resistivity (ohm m)"),
    "tem": ("time after switch-off (s)", "|dB$_z$/dt| (T/s)"),
}


def plot_section(section: xr.DataArray, title: str | None = None) -> Figure:
    """Resistivity section: distance along the line against depth (downwards), stations on top.

    Parameters
    ----------
    section : xarray.DataArray
        log10 resistivity, dims ``(depth_m, distance_m)``, with the station attributes of
        :func:`geoprospect.geophysics.sections.resistivity_section`.
    title : str, optional
        Default names the method and the number of layers.

    Returns
    -------
    matplotlib.figure.Figure
        Resistivity in ohm m on a logarithmic colour scale, conductive (low) blue to resistive
        (high) red as sections are read; inverted stations as black triangles, stations that failed
        or whose model does not fit as red crosses; NaN columns (failed stations) and cells below
        the depth of investigation (dashed line) left blank.
    """
    resistivity = 10.0 ** section.to_numpy()
    distance, depth = section["distance_m"].to_numpy(), section["depth_m"].to_numpy()
    dx = float(section.attrs.get("dx_m", 1.0))
    dz = float(section.attrs.get("dz_m", 1.0))
    finite = resistivity[np.isfinite(resistivity)]
    low, high = (finite.min(), finite.max()) if finite.size else (1.0, 10.0)
    if high <= low * 1.01:  # a uniform section still needs a colour range
        low, high = low / 2, high * 2

    fig = Figure(figsize=(9, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(np.r_[distance - dx / 2, distance[-1] + dx / 2], np.r_[depth - dz / 2, depth[-1] + dz / 2],
                         np.ma.masked_invalid(resistivity), cmap="Spectral_r", norm=LogNorm(low, high), shading="flat")
    ax.set_ylim(depth[-1] + dz / 2, depth[0] - dz / 2)  # depth grows downwards
    fig.colorbar(mesh, ax=ax, label="resistivity (ohm m)", pad=0.01)

    station_m = np.asarray(section.attrs.get("station_distance_m", []), dtype=float)
    inverted = np.asarray(section.attrs.get("station_inverted", []), dtype=bool)
    doi_m = np.asarray(section.attrs.get("station_doi_m", []), dtype=float)
    if doi_m.size and np.isfinite(doi_m[inverted]).any():
        ax.plot(station_m[inverted], np.minimum(doi_m[inverted], depth[-1] + dz / 2), "--", color="0.2", linewidth=1,
                label="depth of investigation")
    surface = depth[0] - dz / 2
    ax.plot(station_m[inverted], np.full(inverted.sum(), surface), "v", color="black", markersize=7, clip_on=False,
            label="station")
    if (~inverted).any():
        ax.plot(station_m[~inverted], np.full((~inverted).sum(), surface), "x", color="red", markersize=8,
                markeredgewidth=2, clip_on=False, label="station not inverted")
    for name, x in zip(section.attrs.get("station_ids", []), station_m):
        ax.annotate(str(name), (x, surface), xytext=(0, 8), textcoords="offset points", ha="center", fontsize=7,
                    annotation_clip=False)
    method = str(section.attrs.get("method", "")).upper()
    ax.set_title(title or f"{method} resistivity section ({section.attrs.get('n_layers', '?')}-layer 1-D models)", pad=18)
    ax.set_xlabel("distance along the line (m)")
    ax.set_ylabel("depth (m)")
    ax.legend(loc="lower right", fontsize=8, framealpha=0.8)
    return fig


def plot_data_fit(line: LineInversion, stations: Sequence[str] | None = None, n_columns: int = 3) -> Figure:
    """Observed against predicted sounding curves, one log-log panel per station.

    Parameters
    ----------
    line : LineInversion
    stations : sequence of str, optional
        Stations to draw (default every inverted station, in line order).
    n_columns : int, default 3
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        Observed data as dots (one colour per VES MN/2 segment, so shifts between segments show;
        one curve where MN/2 changes with every reading), predicted data as lines, with the
        station's RMS % and chi-square in its title, and the parameters at a bound and "NOT
        FITTED" (in red) where they apply.
    """
    names = [s for s in line.stations["station"] if s in line.soundings] if stations is None else list(stations)
    if not names:
        raise ValueError("no inverted station to draw")
    missing = [s for s in names if s not in line.soundings]
    if missing:
        raise ValueError(f"stations not inverted: {', '.join(map(str, missing))}")
    n_rows = -(-len(names) // n_columns)
    fig = Figure(figsize=(3.3 * min(n_columns, len(names)), 3.0 * n_rows), dpi=100, layout="constrained")
    xlabel, ylabel = _AXES[line.method]
    for index, name in enumerate(names):
        sounding = line.soundings[name]
        ax = fig.add_subplot(n_rows, min(n_columns, len(names)), index + 1)
        segments = sounding.segment
        if np.all(np.bincount(segments) == 1):  # MN/2 moves with every reading (e.g. Wenner): one curve
            segments = np.zeros_like(segments)
        for segment in np.unique(segments):
            rows = segments == segment
            colour = f"C{segment % 10}"
            ax.loglog(sounding.abscissa[rows], sounding.observed[rows], "o", color=colour, markersize=3.5,
                      label="observed" if segment == 0 else None)
            ax.loglog(sounding.abscissa[rows], sounding.predicted[rows], "-", color=colour, linewidth=1.2,
                      label="predicted" if segment == 0 else None)
        notes = ([] if sounding.fitted else ["NOT FITTED"]) + ([f"at bound: {', '.join(sounding.at_bound)}"] if sounding.at_bound else [])
        ax.set_title(f"{name}\nRMS {sounding.rms_percent:.1f} %, chi2 {sounding.chi2:.2g}" + "".join(f"\n{n}" for n in notes),
                     fontsize=8, color="black" if sounding.fitted else "red")
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(which="both", alpha=0.3)
        if index == 0:
            ax.legend(fontsize=7)
    fig.suptitle(f"{line.method.upper()} data fit per station ({line.n_layers}-layer models)")
    return fig
