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


def plot_detections(stream: Stream, detections: pd.DataFrame, scores: pd.DataFrame | None = None,
                    threshold: float | None = None, bandpass_hz: tuple[float, float] | None = (1.0, 20.0)) -> Figure:
    """Plot each station's Z trace with its detections shaded and their peaks marked.

    Parameters
    ----------
    stream : obspy.Stream
        The scanned records; the Z (vertical) traces are drawn, one row per station.
    detections : pandas.DataFrame
        From :func:`geoprospect.seismic.scan.scan_stream` (station, start_time, end_time, peak_time,
        peak_score).
    scores : pandas.DataFrame, optional
        From :func:`geoprospect.seismic.scan.score_windows`: adds a panel of window scores against
        window centre time, one line per station.
    threshold : float, optional
        Drawn on the score panel.
    bandpass_hz : (float, float) or None
        Zero-phase Butterworth band-pass (order 4) of the drawn traces, Hz; None draws them demeaned.

    Returns
    -------
    matplotlib.figure.Figure
        Time in seconds since the stream's first sample; each trace scaled by its largest absolute
        sample (relative amplitude, unitless).
    """
    verticals = [tr for tr in stream if component_index(tr.stats.channel) == 0]
    if not verticals:
        raise ValueError("the stream has no vertical (Z) traces to plot")
    stations = sorted({(tr.stats.network, tr.stats.station) for tr in verticals})
    t0 = min(tr.stats.starttime for tr in verticals)
    t1 = max(tr.stats.endtime for tr in verticals)
    n_rows = len(stations) + (scores is not None)
    fig = Figure(figsize=(11, 1.6 + 1.5 * n_rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(n_rows, 1, sharex=True))
    for ax, (network, station) in zip(axes, stations):
        for trace in (tr for tr in verticals if (tr.stats.network, tr.stats.station) == (network, station)):
            values = trace.data.astype(np.float64) - trace.data.mean()
            fs = trace.stats.sampling_rate
            if bandpass_hz is not None and trace.stats.npts > 30 and bandpass_hz[1] < fs / 2:
                values = sosfiltfilt(butter(4, bandpass_hz, btype="bandpass", fs=fs, output="sos"), values)
            time_s = trace.stats.starttime - t0 + np.arange(trace.stats.npts) / fs
            peak = np.abs(values).max() or 1.0
            ax.plot(*envelope(time_s, values / peak), color="0.2", linewidth=0.5)
        mine = detections[detections["station"].astype(str) == station]
        for row in mine.itertuples(index=False):
            ax.axvspan(to_utcdatetime(row.start_time) - t0, to_utcdatetime(row.end_time) - t0, color="tab:orange", alpha=0.3)
            ax.plot(to_utcdatetime(row.peak_time) - t0, 0.9, marker="v", color="tab:red", markersize=7)
        ax.set_ylim(-1.05, 1.05)
        ax.set_ylabel(f"{network}.{station}\nZ (relative)")
    axes[0].legend(handles=[Line2D([], [], color="0.2", linewidth=0.8, label="vertical velocity"
                                   + (f", {bandpass_hz[0]:g}-{bandpass_hz[1]:g} Hz" if bandpass_hz else "")),
                            Patch(color="tab:orange", alpha=0.3, label="detection"),
                            Line2D([], [], marker="v", color="tab:red", linestyle="", label="peak score window centre")],
                   loc="upper right", fontsize="small")
    if scores is not None:
        ax = axes[-1]
        for (network, station), group in scores.groupby(["network", "station"]):
            centre_s = [to_utcdatetime(a) - t0 + (to_utcdatetime(b) - to_utcdatetime(a)) / 2
                        for a, b in zip(group["start_time"], group["end_time"])]
            ax.plot(centre_s, group["score"], marker=".", linewidth=1, label=f"{network}.{station}")
        if threshold is not None:
            ax.axhline(threshold, color="tab:red", linestyle="--", linewidth=1, label=f"threshold {threshold:.3g}")
        ax.set_ylabel("window score")
        ax.legend(loc="upper right", fontsize="small", ncol=2)
    axes[-1].set_xlim(0.0, t1 - t0)
    axes[-1].set_xlabel(f"time since {t0.strftime('%Y-%m-%d %H:%M:%S')} UTC (s)")
    fig.suptitle(f"{len(detections)} detection(s) at {len(stations)} station(s)")
    return fig
