"""Detection quicklook: each station's vertical trace with its detections, and the window scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from obspy import Stream
from scipy.signal import butter, sosfiltfilt

from geoprospect.render.waveforms import envelope
from geoprospect.seismic.windows import component_index, to_utcdatetime


RECORD_GAP_S = 600.0  # Z traces of one station less than this apart are drawn in one panel (one record)
MAX_PANELS = 24  # records drawn at most: records with detections first, then the earliest


def records(stream: Stream) -> list[tuple[str, str, list]]:
    """The records of a stream: per station, its Z traces grouped where less than ``RECORD_GAP_S`` apart.

    Returns (network, station, traces) tuples in station then time order.
    """
    verticals = sorted((tr for tr in stream if component_index(tr.stats.channel) == 0),
                       key=lambda tr: (tr.stats.network, tr.stats.station, tr.stats.starttime))
    out = []
    for trace in verticals:
        key = (trace.stats.network, trace.stats.station)
        if out and out[-1][:2] == key and trace.stats.starttime - max(t.stats.endtime for t in out[-1][2]) < RECORD_GAP_S:
            out[-1][2].append(trace)
        else:
            out.append((*key, [trace]))
    return out


def plot_detections(stream: Stream, detections: pd.DataFrame, scores: pd.DataFrame | None = None,
                    threshold: float | None = None, bandpass_hz: tuple[float, float] | None = (1.0, 20.0)) -> Figure:
    """Plot each record's Z trace with its detections shaded, their peaks marked and the window scores.

    One panel per record (see :func:`records`), each on its own time axis, so that event records years
    apart (an event-based archive) or stations that recorded at different times are each readable; at
    most ``MAX_PANELS`` panels (records with detections first), the title says how many were left out.

    Parameters
    ----------
    stream : obspy.Stream
        The scanned records; the Z (vertical) traces are drawn.
    detections : pandas.DataFrame
        From :func:`geoprospect.seismic.scan.scan_stream` (station, start_time, end_time, peak_time,
        peak_score).
    scores : pandas.DataFrame, optional
        From :func:`geoprospect.seismic.scan.score_windows`: each panel adds its record's window scores
        against window centre time on a right-hand axis.
    threshold : float, optional
        Drawn with the scores.
    bandpass_hz : (float, float) or None
        Zero-phase Butterworth band-pass (order 4) of the drawn traces, Hz; None draws them demeaned.

    Returns
    -------
    matplotlib.figure.Figure
        Per panel (axes labelled ``"record"``), time in seconds since the record's first sample; each
        trace scaled by its largest absolute sample (relative amplitude, unitless).
    """
    found = records(stream)
    if not found:
        raise ValueError("the stream has no vertical (Z) traces to plot")
    spans = [(min(t.stats.starttime for t in traces), max(t.stats.endtime for t in traces)) for _, _, traces in found]

    def within(table, station, t0, t1):
        mine = table[table["station"].astype(str) == station]
        if mine.empty:
            return mine
        start = np.array([to_utcdatetime(v) - t0 for v in mine["start_time"]])
        end = np.array([to_utcdatetime(v) - t0 for v in mine["end_time"]])
        return mine[(end >= 0) & (start <= t1 - t0)]

    with_detections = [i for i, ((_, station, _), (t0, t1)) in enumerate(zip(found, spans))
                       if len(within(detections, station, t0, t1))]
    order = with_detections + [i for i in range(len(found)) if i not in with_detections]
    drawn = sorted(order[:MAX_PANELS])
    n_cols = 1 if len(drawn) <= 8 else 2
    n_rows = -(-len(drawn) // n_cols)
    fig = Figure(figsize=(11 if n_cols == 1 else 16, 1.2 + 1.7 * n_rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    for ax in axes[len(drawn):]:
        ax.set_visible(False)
    for ax, i in zip(axes, drawn):
        (network, station, traces), (t0, t1) = found[i], spans[i]
        ax.set_label("record")
        for trace in traces:
            values = trace.data.astype(np.float64) - trace.data.mean()
            fs = trace.stats.sampling_rate
            if bandpass_hz is not None and trace.stats.npts > 30 and bandpass_hz[1] < fs / 2:
                values = sosfiltfilt(butter(4, bandpass_hz, btype="bandpass", fs=fs, output="sos"), values)
            time_s = trace.stats.starttime - t0 + np.arange(trace.stats.npts) / fs
            peak = np.abs(values).max() or 1.0
            ax.plot(*envelope(time_s, values / peak), color="0.2", linewidth=0.5)
        for row in within(detections, station, t0, t1).itertuples(index=False):
            ax.axvspan(to_utcdatetime(row.start_time) - t0, to_utcdatetime(row.end_time) - t0, color="tab:orange", alpha=0.3)
            ax.plot(to_utcdatetime(row.peak_time) - t0, 0.9, marker="v", color="tab:red", markersize=7)
        if scores is not None:
            mine = within(scores, station, t0, t1)
            if len(mine):
                right = ax.twinx()
                centre_s = [to_utcdatetime(a) - t0 + (to_utcdatetime(b) - to_utcdatetime(a)) / 2
                            for a, b in zip(mine["start_time"], mine["end_time"])]
                right.plot(centre_s, mine["score"], marker=".", linewidth=0.8, color="tab:blue", alpha=0.8)
                if threshold is not None:
                    right.axhline(threshold, color="tab:red", linestyle="--", linewidth=0.8)
                right.set_ylabel("score", color="tab:blue", fontsize="small")
        ax.set_xlim(0.0, t1 - t0)
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel(f"{network}.{station}\nZ (relative)", fontsize="small")
        ax.set_title(f"{network}.{station} from {t0.strftime('%Y-%m-%d %H:%M:%S')} UTC", fontsize="small", loc="left")
        ax.set_xlabel("s since record start", fontsize="small")
    handles = [Line2D([], [], color="0.2", linewidth=0.8, label="vertical velocity"
                      + (f", {bandpass_hz[0]:g}-{bandpass_hz[1]:g} Hz" if bandpass_hz else "")),
               Patch(color="tab:orange", alpha=0.3, label="detection"),
               Line2D([], [], marker="v", color="tab:red", linestyle="", label="peak score window centre")]
    if scores is not None:
        handles.append(Line2D([], [], marker=".", color="tab:blue", label="window score (right axis)"))
        if threshold is not None:
            handles.append(Line2D([], [], color="tab:red", linestyle="--", label=f"threshold {threshold:.3g}"))
    axes[0].legend(handles=handles, loc="upper right", fontsize="x-small")
    n_stations = len({(n, s) for n, s, _ in found})
    left_out = f"; {len(found) - len(drawn)} record(s) not drawn" if len(found) > len(drawn) else ""
    fig.suptitle(f"{len(detections)} detection(s) at {n_stations} station(s), {len(found)} record(s){left_out}")
    return fig
