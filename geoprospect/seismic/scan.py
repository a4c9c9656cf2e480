"""Scanning continuous records with a trained window detector, and merging triggers into detections.

Windows of ``window_s`` are laid every ``step_s`` over each stretch where a station records all three
components, cut exactly as the training windows were (:func:`geoprospect.seismic.windows.cut_windows`:
same detrending, band-pass, resampling and normalisation), and scored. Windows scoring at or above the
threshold are triggers; triggers of one station whose windows overlap or touch are merged into one
detection, as with the sliding-window detectors of Perol et al. (2018, Sci. Adv. 4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from obspy import Stream, UTCDateTime

from geoprospect.seismic.windows import (
    TIME_TOLERANCE_S,
    group_components,
    station_components,
    cut_windows,
)

DETECTION_COLUMNS = ("network", "station", "start_time", "end_time", "peak_time", "peak_score", "n_windows")


def _timestamp(t: UTCDateTime) -> pd.Timestamp:
    return pd.Timestamp(t.ns, unit="ns", tz="UTC")


def _common_spans(components) -> list[tuple[UTCDateTime, UTCDateTime]]:
    """Stretches (first sample, last sample) covered by a trace of every component."""
    spans = [(tr.stats.starttime, tr.stats.endtime) for tr in components[0]]
    for traces in components[1:]:
        spans = [(max(a, tr.stats.starttime), min(b, tr.stats.endtime)) for a, b in spans for tr in traces
                 if max(a, tr.stats.starttime) < min(b, tr.stats.endtime)]
    return sorted(spans)


def window_starts(stream: Stream, window_s: float, step_s: float, sampling_rate_hz: float) -> pd.DataFrame:
    """Every window of ``window_s``, ``step_s`` apart, inside stretches where a station records Z, N and E.

    Returns
    -------
    pandas.DataFrame
        network, station, start_time, end_time (UTC), label ("unknown"): the table ``cut_windows`` takes.
    """
    if window_s <= 0 or step_s <= 0 or sampling_rate_hz <= 0:
        raise ValueError("window_s, step_s and sampling_rate_hz must be > 0")
    last_sample_s = (round(window_s * sampling_rate_hz) - 1) / sampling_rate_hz
    rows = []
    grouped = group_components(stream)
    for network, station in sorted(grouped):
        components = station_components(grouped, network, station)
        for first, last in _common_spans(components):
            n = int(np.floor((last - first - last_sample_s + TIME_TOLERANCE_S) / step_s)) + 1
            for k in range(max(n, 0)):
                start = first + k * step_s
                rows.append(dict(network=network, station=station, start_time=_timestamp(start),
                                 end_time=_timestamp(start + window_s), label="unknown"))
    return pd.DataFrame(rows, columns=["network", "station", "start_time", "end_time", "label"])


def score_windows(stream: Stream, detector, window_s: float, step_s: float, sampling_rate_hz: float,
                  bandpass_hz: tuple[float, float] | None = None) -> pd.DataFrame:
    """Score sliding windows of a continuous stream with a fitted detector.

    Parameters
    ----------
    stream : obspy.Stream
        Continuous 3-component records (channel codes ending in Z/N/E or Z/1/2), any sampling rate.
    detector : object
        A fitted detector with ``decision_function(windows)`` (windows (n, 3, n_samples)), e.g.
        :class:`~geoprospect.seismic.detectors.CNNDetector`.
    window_s, step_s : float
        Window length and spacing, s (use the training window length).
    sampling_rate_hz : float
        Rate the windows are resampled to, Hz (as for training).
    bandpass_hz : (float, float), optional
        Band-pass applied before resampling, Hz (as for training).

    Returns
    -------
    pandas.DataFrame
        network, station, start_time, end_time (UTC), score: one row per window.
    """
    table = window_starts(stream, window_s, step_s, sampling_rate_hz)
    columns = ["network", "station", "start_time", "end_time", "score"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    windows, _, metadata = cut_windows(stream, table, window_s, sampling_rate_hz, bandpass_hz)
    metadata["score"] = detector.decision_function(windows)
    return metadata[columns]


def merge_triggers(scores: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Merge windows scoring at or above ``threshold`` into detections, per station.

    Trigger windows of one station that overlap or touch form one detection from the first window's
    start to the last window's end; its peak is the highest-scoring window, ``peak_time`` that window's
    centre.

    Returns
    -------
    pandas.DataFrame
        network, station, start_time, end_time, peak_time (UTC), peak_score, n_windows; sorted by
        start time.
    """
    triggers = scores[scores["score"] >= threshold].sort_values(["network", "station", "start_time"])
    rows = []
    for (network, station), group in triggers.groupby(["network", "station"], sort=False):
        current = None
        for start, end, score in zip(group["start_time"], group["end_time"], group["score"]):
            if current is not None and start <= current["end_time"]:
                current["end_time"] = max(current["end_time"], end)
                current["n_windows"] += 1
                if score > current["peak_score"]:
                    current.update(peak_score=score, peak_time=start + (end - start) / 2)
                continue
            if current is not None:
                rows.append(current)
            current = dict(network=network, station=station, start_time=start, end_time=end,
                           peak_time=start + (end - start) / 2, peak_score=float(score), n_windows=1)
        rows.append(current)
    detections = pd.DataFrame(rows, columns=list(DETECTION_COLUMNS))
    return detections.sort_values(["start_time", "station"], ignore_index=True)


def scan_stream(stream: Stream, detector, threshold: float, window_s: float, step_s: float, sampling_rate_hz: float,
                bandpass_hz: tuple[float, float] | None = None) -> pd.DataFrame:
    """Slide a fitted detector over a continuous stream and return its detections.

    :func:`score_windows` then :func:`merge_triggers`; see them for the parameters and the columns.
    """
    return merge_triggers(score_windows(stream, detector, window_s, step_s, sampling_rate_hz, bandpass_hz), threshold)
