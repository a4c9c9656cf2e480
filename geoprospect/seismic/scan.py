"""Scanning continuous records with a trained window detector, and merging triggers into detections.

Windows of ``window_s`` are laid every ``step_s`` over each continuous stretch of a station's channel
layout, prepared as the training windows were (same detrending, band-pass, resampling and
normalisation; the filters run once over the stretch, not once per window), and scored. Windows scoring at or above the
threshold are triggers; triggers of one station whose windows overlap or touch are merged into one
detection, as with the sliding-window detectors of Perol et al. (2018, Sci. Adv. 4).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from obspy import Stream, UTCDateTime

from geoprospect.seismic.windows import continuous_segments, window_views

DETECTION_COLUMNS = ("network", "station", "start_time", "end_time", "peak_time", "peak_score", "n_windows")
SCORE_COLUMNS = ("network", "station", "start_time", "end_time", "components", "score")
CHUNK_WINDOWS = 512  # windows scored at once: bounds memory on day-long records


def _timestamp(t: UTCDateTime) -> pd.Timestamp:
    return pd.Timestamp(t.ns, unit="ns", tz="UTC")


def score_windows(stream: Stream, detector, window_s: float, step_s: float, sampling_rate_hz: float,
                  bandpass_hz: tuple[float, float] | None = None) -> pd.DataFrame:
    """Score sliding windows of continuous (or event) records with a fitted detector.

    Each continuous stretch is filtered and resampled once
    (:func:`~geoprospect.seismic.windows.continuous_segments`); windows are strided views into it,
    detrended and normalised as the training windows were, and given to ``decision_function`` in chunks
    of ``CHUNK_WINDOWS``; a detector with ``score_views`` scores the segment's windows in place instead:
    STA/LTA (whose ratio ignores scale) on band-passed segments, the CNN (its first convolution run once
    over the segment) on any. Every detector scores each window on its own, as on the validation windows
    its threshold came from: an STA/LTA run once over the whole stretch would be cheaper, but its LTA,
    carried over from earlier data, gives lower ratios than the one restarted in each window (7.0
    against 8.6 on obspy's example event), so the validation threshold would miss events.

    Parameters
    ----------
    stream : obspy.Stream
        Records with channel codes ending in Z/N/E or Z/1/2 (single-component stations too), any rate.
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
        network, station, start_time, end_time (UTC), components, score: one row per window.
    """
    if window_s <= 0 or step_s <= 0 or sampling_rate_hz <= 0:
        raise ValueError("window_s, step_s and sampling_rate_hz must be > 0")
    n_samples = int(round(window_s * sampling_rate_hz))
    step = max(1, int(round(step_s * sampling_rate_hz)))
    parts = []
    for segment in continuous_segments(stream, sampling_rate_hz, bandpass_hz, min_samples=n_samples):
        starts = np.arange(0, segment["data"].shape[1] - n_samples + 1, step)
        if hasattr(detector, "score_views") and (bandpass_hz is not None or not getattr(detector, "score_views_needs_bandpass", True)):
            scores = detector.score_views(segment["data"], n_samples, starts)
        else:
            scores = np.concatenate([detector.decision_function(window_views(segment["data"], n_samples, chunk))
                                     for chunk in np.array_split(starts, -(-len(starts) // CHUNK_WINDOWS))])
        begin = _timestamp(segment["start"]) + pd.to_timedelta(starts / sampling_rate_hz, unit="s")
        parts.append(pd.DataFrame(dict(network=segment["network"], station=segment["station"], start_time=begin,
                                       end_time=begin + pd.Timedelta(seconds=window_s),
                                       components=segment["components"], score=scores)))
    if not parts:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    return pd.concat(parts, ignore_index=True)


def merge_triggers(scores: pd.DataFrame, threshold: float | Mapping[str, float]) -> pd.DataFrame:
    """Merge windows scoring at or above ``threshold`` into detections, per station.

    ``threshold`` may map channel layouts (the scores' ``components``: "ZNE", "Z"...) to thresholds;
    a layout it lacks takes the "ZNE" one.

    Trigger windows of one station that overlap or touch form one detection from the first window's
    start to the last window's end; its peak is the highest-scoring window, ``peak_time`` that window's
    centre.

    Returns
    -------
    pandas.DataFrame
        network, station, start_time, end_time, peak_time (UTC), peak_score, n_windows; sorted by
        start time.
    """
    if isinstance(threshold, Mapping):  # per channel layout: the scores' components column picks it
        limit = scores["components"].map(threshold).fillna(threshold["ZNE"]).to_numpy(dtype=float)
    else:
        limit = threshold
    triggers = scores[scores["score"] >= limit].sort_values(["network", "station", "start_time"])
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
