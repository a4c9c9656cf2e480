"""Quicklooks of ground-geophysics surveys: SP profiles, VES and TEM sounding curves.

Each takes the DataFrame returned by the matching reader in :mod:`geoprospect.io.surveys`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def plot_sp_profile(df: pd.DataFrame) -> Figure:
    """SP (mV) against distance along the profile (m), one line per ``profile_id``.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``station_m``, ``sp_mv`` and optionally ``profile_id``.
    """
    fig = Figure(figsize=(7, 4), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for profile_id, profile in _groups(df, "profile_id"):
        ax.plot(profile["station_m"], profile["sp_mv"], ".-", linewidth=0.8, label=str(profile_id))
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_title("Self-potential profile")
    ax.set_xlabel("distance along profile (m)")
    ax.set_ylabel("SP (mV)")
    ax.grid(alpha=0.3)
    ax.legend(title="profile", fontsize=8)
    return fig


def plot_ves(df: pd.DataFrame) -> Figure:
    """Log-log apparent resistivity against AB/2, one colour per sounding.

    Each MN/2 segment is drawn as its own line, so the offsets where the potential electrodes
    were moved stay visible.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``ab2_m``, ``rhoa_ohm_m``, and optionally ``mn2_m``, ``sounding_id``.
    """
    fig = Figure(figsize=(7, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for index, (sounding_id, sounding) in enumerate(_groups(df, "sounding_id")):
        colour = f"C{index % 10}"
        mn2 = sounding["mn2_m"] if "mn2_m" in sounding else pd.Series(0.0, index=sounding.index)
        segments = (mn2 != mn2.shift()).cumsum()
        for number, (_, segment) in enumerate(sounding.groupby(segments, sort=False)):
            ax.loglog(segment["ab2_m"], segment["rhoa_ohm_m"], "o-", color=colour, markersize=3, linewidth=1,
                      label=str(sounding_id) if number == 0 else None)
    ax.set_title("Schlumberger soundings")
    ax.set_xlabel("AB/2 (m)")
    ax.set_ylabel("apparent resistivity (ohm m)")
    ax.grid(which="both", alpha=0.3)
    ax.legend(title="sounding", fontsize=8)
    return fig


def plot_tem(df: pd.DataFrame) -> Figure:
    """Log-log |dB_z/dt| (T/s) against time after switch-off (s), one curve per sounding.

    Positive values (sign reversals, e.g. from induced polarisation or noise) are drawn as open
    markers.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``time_s``, ``dbzdt_t_per_s`` and optionally ``sounding_id``.
    """
    fig = Figure(figsize=(7, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    for index, (sounding_id, sounding) in enumerate(_groups(df, "sounding_id")):
        colour = f"C{index % 10}"
        magnitude = np.abs(sounding["dbzdt_t_per_s"])
        ax.loglog(sounding["time_s"], magnitude, "-", color=colour, linewidth=1, label=str(sounding_id))
        positive = sounding["dbzdt_t_per_s"] > 0
        ax.loglog(sounding["time_s"][~positive], magnitude[~positive], "o", color=colour, markersize=3)
        ax.loglog(sounding["time_s"][positive], magnitude[positive], "o", markerfacecolor="none", color=colour, markersize=4)
    ax.set_title("Central-loop TEM soundings (step-off)")
    ax.set_xlabel("time after switch-off (s)")
    ax.set_ylabel("|dBz/dt| (T/s)")
    ax.grid(which="both", alpha=0.3)
    ax.legend(title="sounding (open: positive)", fontsize=8)
    return fig


def _groups(df: pd.DataFrame, column: str):
    """(id, rows) pairs in file order; the whole table as one group when the id column is absent."""
    if column not in df.columns:
        return [("survey", df)]
    return list(df.groupby(column, sort=False))
