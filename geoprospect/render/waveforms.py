"""Waveform quicklook: one panel per component (Z, N, E), stations stacked, arrivals marked."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from obspy import Stream
from scipy.signal import butter, sosfiltfilt

from geoprospect.seismic.windows import COMPONENT_NAMES, component_index, to_utcdatetime

MAX_POINTS = 4000  # per trace: longer traces are drawn as min/max envelopes of this many bins / 2
PHASE_STYLE = {"p_arrival_time": ("P arrival", "tab:red"), "s_arrival_time": ("S arrival", "tab:blue")}


def plot_waveforms(stream: Stream, events_df: pd.DataFrame | None = None, start=None, end=None,
                   bandpass_hz: tuple[float, float] | None = (1.0, 20.0)) -> Figure:
    """Plot 3-component records of several stations with their P and S arrivals.

    Parameters
    ----------
    stream : obspy.Stream
        Records with channel codes ending in Z/N/E or Z/1/2 (1 and 2 drawn as N and E).
    events_df : pandas.DataFrame, optional
        Arrivals, e.g. from :func:`geoprospect.io.waveforms.read_event_catalog`: ``station`` and
        ``p_arrival_time`` and/or ``s_arrival_time`` (UTC); arrivals in the time range are marked.
    start, end : UTCDateTime, pandas Timestamp or ISO text, optional
        Time range; the records' extent by default.
    bandpass_hz : (float, float) or None
        Zero-phase Butterworth band-pass (order 4) applied before plotting, Hz; the default 1-20 Hz
        shows local events above the microseism. None plots the records as they are (demeaned).

    Returns
    -------
    matplotlib.figure.Figure
        Three panels sharing a time axis in seconds since ``start``; each station's traces are scaled
        by that station's largest absolute sample in the range (over all components), so amplitude
        ratios between components stay visible.
    """
    if len(stream) == 0:
        raise ValueError("the stream has no traces to plot")
    t0 = to_utcdatetime(start) if start is not None else min(tr.stats.starttime for tr in stream)
    t1 = to_utcdatetime(end) if end is not None else max(tr.stats.endtime for tr in stream)
    if t1 <= t0:
        raise ValueError("end must be after start")
    pieces = []  # (station row, component, time_s, values)
    stations = sorted({(tr.stats.network, tr.stats.station) for tr in stream if component_index(tr.stats.channel) is not None})
    for trace in stream:
        column = component_index(trace.stats.channel)
        if column is None:
            continue
        piece = trace.slice(t0, t1)
        if piece.stats.npts < 2:
            continue
        values = np.ma.filled(np.ma.asarray(piece.data, dtype=np.float64), np.nan)
        values = values - np.nanmean(values)
        if bandpass_hz is not None and piece.stats.npts > 30 and bandpass_hz[1] < piece.stats.sampling_rate / 2:
            sos = butter(4, bandpass_hz, btype="bandpass", fs=piece.stats.sampling_rate, output="sos")
            values = sosfiltfilt(sos, np.nan_to_num(values))
        time_s = piece.stats.starttime - t0 + np.arange(piece.stats.npts) / piece.stats.sampling_rate
        row = stations.index((piece.stats.network, piece.stats.station))
        pieces.append((row, column, *envelope(time_s, values)))
    if not pieces:
        raise ValueError("no Z/N/E (or Z/1/2) samples in the requested time range")
    scale = np.zeros(len(stations))
    for row, _, _, values in pieces:
        scale[row] = max(scale[row], np.nanmax(np.abs(values)))
    scale[scale == 0] = 1.0

    fig = Figure(figsize=(11, 2.2 + 2.0 * len(stations)), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    for row, column, time_s, values in pieces:
        axes[column].plot(time_s, row + 0.45 * values / scale[row], color="0.15", linewidth=0.5)
    handles = [Line2D([], [], color="0.15", linewidth=0.8,
                      label="velocity, " + (f"{bandpass_hz[0]:g}-{bandpass_hz[1]:g} Hz" if bandpass_hz else "raw")
                      + ", scaled per station")]
    if events_df is not None:
        handles += _mark_arrivals(axes, events_df, stations, t0, t1)
    for column, ax in enumerate(axes):
        ax.set_yticks(range(len(stations)), [f"{net}.{sta}" for net, sta in stations])
        ax.set_ylim(-0.7, len(stations) - 0.3)
        ax.set_ylabel(f"{COMPONENT_NAMES[column]} component\nstation")
    axes[-1].set_xlim(0.0, t1 - t0)
    axes[-1].set_xlabel(f"time since {t0.strftime('%Y-%m-%d %H:%M:%S')} UTC (s)")
    axes[0].legend(handles=handles, loc="upper right", fontsize="small")
    fig.suptitle(f"Waveforms of {len(stations)} station(s), {t0.strftime('%Y-%m-%d %H:%M:%S')} to "
                 f"{t1.strftime('%H:%M:%S')} UTC")
    return fig


def _mark_arrivals(axes, events_df, stations, t0, t1) -> list[Line2D]:
    """Draw a tick for each arrival on each component of its station; return legend handles."""
    with_network = "network" in events_df.columns
    rows = {(net if with_network else None, sta): row for row, (net, sta) in enumerate(stations)}
    keys = list(zip(events_df["network"] if with_network else [None] * len(events_df), events_df["station"]))
    handles = []
    for column, (label, colour) in PHASE_STYLE.items():
        if column not in events_df.columns:
            continue
        drawn = False
        for key, arrival in zip(keys, events_df[column]):
            if key not in rows or pd.isna(arrival):
                continue
            time_s = to_utcdatetime(arrival) - t0
            if 0.0 <= time_s <= t1 - t0:
                for ax in axes:
                    ax.vlines(time_s, rows[key] - 0.45, rows[key] + 0.45, color=colour, linewidth=1.2)
                drawn = True
        if drawn:
            handles.append(Line2D([], [], color=colour, linewidth=1.2, label=label))
    return handles


def envelope(time_s: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of a long trace (every spike stays visible), the trace itself if short."""
    if values.size <= MAX_POINTS:
        return time_s, values
    block = -(-values.size // (MAX_POINTS // 2))  # ceil: the last block may be short (NaN-padded)
    padded = np.full(block * -(-values.size // block), np.nan)
    padded[: values.size] = values
    blocks = padded.reshape(-1, block)
    centre_s = time_s[::block] + (block - 1) / 2 * (time_s[1] - time_s[0])
    return np.repeat(centre_s, 2), np.column_stack([np.nanmin(blocks, axis=1), np.nanmax(blocks, axis=1)]).ravel()
