"""Cutting labelled 3-component windows out of continuous records, ready for a detector.

Each window goes through the same steps, so that records at different rates and gains give
comparable inputs:

1. take the continuous trace of each component that covers the whole window, plus up to ``PAD_S`` on
   each side (so the filter's edge effects fall outside the window);
2. remove the linear trend of that padded piece;
3. if asked (``bandpass_hz``), band-pass it with a zero-phase Butterworth (order 4); if the target rate
   is lower, low-pass it with a zero-phase Butterworth (order 8) at 0.4 times the target rate, i.e. 80 %
   of the new Nyquist frequency (anti-aliasing);
4. resample onto the target grid that starts exactly at the window start with Lanczos interpolation
   (``a = LANCZOS_A``; obspy's ``lanczos_interpolation``), which also absorbs sub-sample offsets;
5. remove the linear trend of each component over the window;
6. normalise: divide the three components by the window's largest absolute sample over all three.
   One common scale keeps the amplitude ratios between components (S is larger on the horizontals,
   P on the vertical), which a detector can use; the scale is kept in the metadata (``peak_abs``,
   in the stream's units) so absolute amplitudes can be recovered. A window that is flat after
   detrending stays all zeros.

Components are ordered Z, N, E. Channel codes ending in 1 and 2 are taken as N and E without rotation
(their azimuths are unknown here; rotate beforehand when they matter).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from obspy import Stream, Trace, UTCDateTime
from obspy.signal.interpolation import lanczos_interpolation
from scipy.signal import butter, detrend, sosfiltfilt

from geoprospect.errors import InputError

COMPONENT_INDEX = {"Z": 0, "N": 1, "1": 1, "E": 2, "2": 2}
COMPONENT_NAMES = ("Z", "N", "E")
PAD_S = 2.0
LANCZOS_A = 12
TIME_TOLERANCE_S = 1e-6


class WindowCoverageWarning(UserWarning):
    """Some windows were skipped: a component has no continuous data over the whole window."""


def component_index(channel: str) -> int | None:
    """Row of a channel in the (Z, N, E) order from its last letter; None for other channels."""
    return COMPONENT_INDEX.get(channel[-1:].upper())


def to_utcdatetime(value) -> UTCDateTime:
    """An exact UTC time from a UTCDateTime, pandas/datetime time (naive = UTC) or ISO 8601 text."""
    if isinstance(value, UTCDateTime):
        return value
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return UTCDateTime(ns=int(stamp.value))


def cut_windows(stream: Stream, windows_df: pd.DataFrame, window_s: float, sampling_rate_hz: float,
                bandpass_hz: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Cut, resample, detrend and normalise labelled 3-component windows.

    Parameters
    ----------
    stream : obspy.Stream
        Continuous records (e.g. from :func:`geoprospect.io.waveforms.read_waveforms`); channel codes
        ending in Z/N/E or Z/1/2; any sampling rate; gaps as separate traces.
    windows_df : pandas.DataFrame
        One row per window with ``station``, ``start_time`` (UTC) and ``label``; a ``network`` column,
        if present, is matched too. Other columns are carried into the metadata.
    window_s : float
        Window length, s; each window runs from ``start_time`` for ``window_s``.
    sampling_rate_hz : float
        Target sampling rate, Hz.
    bandpass_hz : (float, float), optional
        Corner frequencies (Hz) of a band-pass applied before resampling, e.g. ``(1.0, 20.0)`` to take
        out the microseism that dominates raw broadband windows; None keeps the full band.

    Returns
    -------
    windows : numpy.ndarray, float32, shape (n, 3, n_samples)
        ``n_samples = round(window_s * sampling_rate_hz)``; components Z, N, E; normalised (see the
        module notes), so values lie in [-1, 1].
    labels : numpy.ndarray of str, shape (n,)
    metadata : pandas.DataFrame, n rows
        The kept rows of ``windows_df`` plus ``window_index`` (its index there), ``channels`` (the
        channel ids used, Z,N,E), ``source_sampling_rate_hz`` and ``peak_abs`` (the normalisation scale).

    Raises
    ------
    InputError
        A window's station has no traces in the stream, lacks a component, is ambiguous (in two
        networks), or has two channels for one component (e.g. HHZ and BHZ).

    Warns
    -----
    WindowCoverageWarning
        When windows are skipped because a component has a gap in them or the records do not cover
        them; the kept windows' ``window_index`` shows which.
    """
    if window_s <= 0 or sampling_rate_hz <= 0:
        raise ValueError("window_s and sampling_rate_hz must be > 0")
    if bandpass_hz is not None and not 0 < bandpass_hz[0] < bandpass_hz[1] < sampling_rate_hz / 2:
        raise ValueError("bandpass_hz must be (low, high) with 0 < low < high < sampling_rate_hz / 2")
    missing = [c for c in ("station", "start_time", "label") if c not in windows_df.columns]
    if missing:
        raise ValueError(f"windows_df lacks column(s) {', '.join(missing)}")
    n_samples = int(round(window_s * sampling_rate_hz))
    by_station = group_components(stream)
    use_network = "network" in windows_df.columns
    cut, kept, extra = [], [], []  # kept: positions in windows_df
    for position, (index, row) in enumerate(windows_df.iterrows()):
        network = row["network"] if use_network and pd.notna(row["network"]) else None
        components = station_components(by_station, network, str(row["station"]))
        start = to_utcdatetime(row["start_time"])
        pieces = [_resample(_covering(traces, start, n_samples, sampling_rate_hz), start, n_samples, sampling_rate_hz,
                            bandpass_hz) for traces in components]
        if any(piece is None for piece in pieces):
            continue
        window = detrend(np.stack(pieces), type="linear", axis=-1)
        peak = float(np.abs(window).max())
        cut.append(window / peak if peak > 0 else window)
        kept.append(position)
        first = [traces[0] for traces in components]
        extra.append(dict(window_index=index, channels=",".join(tr.id for tr in first),
                          source_sampling_rate_hz=first[0].stats.sampling_rate, peak_abs=peak))
    if len(kept) < len(windows_df):
        warnings.warn(WindowCoverageWarning(
            f"{len(windows_df) - len(kept)} of {len(windows_df)} windows skipped: a component has no continuous "
            "data over the whole window (a gap or the end of the records)"), stacklevel=2)
    metadata = pd.concat([windows_df.iloc[kept].reset_index(drop=True), pd.DataFrame(extra, index=range(len(kept)))],
                         axis=1)
    windows = np.asarray(cut, dtype=np.float32).reshape(len(kept), 3, n_samples)
    return windows, metadata["label"].to_numpy(dtype=str), metadata


def group_components(stream: Stream) -> dict[tuple[str, str], list[list[Trace]]]:
    """Traces of each (network, station) by component (Z, N, E); one channel id per component."""
    grouped: dict[tuple[str, str], list[list[Trace]]] = {}
    for trace in stream:
        row = component_index(trace.stats.channel)
        if row is None:
            continue
        grouped.setdefault((trace.stats.network, trace.stats.station), [[], [], []])[row].append(trace)
    for (network, station), components in grouped.items():
        for name, traces in zip(COMPONENT_NAMES, components):
            ids = sorted({tr.id for tr in traces})
            if len(ids) > 1:
                raise InputError(f"station {network}.{station}", f"several channels give component {name} ({', '.join(ids)})",
                                 "keep one band and location code, e.g. stream.select(channel='HH?', location='00')")
    return grouped


def station_components(by_station, network: str | None, station: str) -> list[list[Trace]]:
    keys = [key for key in by_station if key[1] == station and network in (None, key[0])]
    name = f"{network}.{station}" if network else station
    if not keys:
        raise InputError(f"station {name}", "the windows name a station with no Z/N/E (or Z/1/2) traces in the stream",
                         "read that station's waveform files too, or drop its windows")
    if len(keys) > 1:
        raise InputError(f"station {name}", f"the station code is in several networks ({', '.join(k[0] for k in keys)})",
                         "add a network column to the windows table")
    components = by_station[keys[0]]
    absent = [n for n, traces in zip(COMPONENT_NAMES, components) if not traces]
    if absent:
        raise InputError(f"station {name}", f"no trace for component(s) {', '.join(absent)}",
                         "provide all three components (Z/N/E or Z/1/2)")
    return components


def _covering(traces: list[Trace], start: UTCDateTime, n_samples: int, sampling_rate_hz: float) -> Trace | None:
    """The trace whose unmasked data span the whole window, or None."""
    end = start + (n_samples - 1) / sampling_rate_hz
    for trace in traces:
        if trace.stats.starttime - TIME_TOLERANCE_S <= start and trace.stats.endtime + TIME_TOLERANCE_S >= end:
            if np.ma.isMaskedArray(trace.data):
                first = int(np.floor((start - trace.stats.starttime) * trace.stats.sampling_rate))
                last = int(np.ceil((end - trace.stats.starttime) * trace.stats.sampling_rate)) + 1
                if np.ma.getmaskarray(trace.data)[max(first, 0):last].any():
                    continue
            return trace
    return None


def _resample(trace: Trace | None, start: UTCDateTime, n_samples: int, sampling_rate_hz: float,
              bandpass_hz: tuple[float, float] | None) -> np.ndarray | None:
    """Steps 1-4 of the module notes for one component; float64, shape (n_samples,)."""
    if trace is None:
        return None
    source_hz = trace.stats.sampling_rate
    offset_s = start - trace.stats.starttime
    first = max(0, int(np.floor((offset_s - PAD_S) * source_hz)))
    last = min(trace.stats.npts, int(np.ceil((offset_s + n_samples / sampling_rate_hz + PAD_S) * source_hz)) + 1)
    piece = detrend(np.asarray(trace.data[first:last], dtype=np.float64), type="linear")
    if bandpass_hz is not None:
        piece = _filter(piece, _sos(4, tuple(bandpass_hz), "bandpass", source_hz))
    if sampling_rate_hz < source_hz:
        piece = _filter(piece, _sos(8, 0.4 * sampling_rate_hz, "lowpass", source_hz))
    piece_start_s = min(0.0, first / source_hz - offset_s)  # <= 0: the window starts inside the piece
    return lanczos_interpolation(np.ascontiguousarray(piece), piece_start_s, 1.0 / source_hz, 0.0, 1.0 / sampling_rate_hz, n_samples,
                                 a=LANCZOS_A)


@lru_cache(maxsize=64)
def _sos(order: int, corners_hz, btype: str, fs: float) -> np.ndarray:
    """Butterworth second-order sections, cached: windows of one stream share a few designs."""
    return butter(order, corners_hz, btype=btype, fs=fs, output="sos")


def _filter(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    return sosfiltfilt(sos, x, padlen=min(x.size - 1, 3 * (2 * len(sos) + 1)))
