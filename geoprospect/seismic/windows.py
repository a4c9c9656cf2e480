"""Cutting labelled windows (1 to 3 components) out of continuous or event records, ready for a detector.

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
6. normalise: divide the components by the window's largest absolute sample over all of them.
   One common scale keeps the amplitude ratios between components (S is larger on the horizontals,
   P on the vertical), which a detector can use; the scale is kept in the metadata (``peak_abs``,
   in the stream's units) so absolute amplitudes can be recovered. A window that is flat after
   detrending stays all zeros.

Components are ordered Z, N, E; an absent component (a single-component station) is a row of zeros. Channel codes ending in 1 and 2 are taken as N and E without rotation
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
    """Cut, resample, detrend and normalise labelled windows of 1 to 3 components.

    Channel layout per record: a station's channels are grouped by location and band+instrument code
    (``00.HH``, ``.HN``, ``.EH``...); each window takes the layout whose channels cover it with the most
    components (then a seismometer before an accelerometer, then the highest sampling rate: see
    :func:`layout_rank`), so an instrument change (HN records
    then HH records at one station) keeps every record. A component with no data anywhere in the window
    is absent (a single-component station): its row stays zeros and ``components`` in the metadata
    says which rows hold data. A component whose data start or stop inside the window is a gap: the
    window is skipped.

    Parameters
    ----------
    stream : obspy.Stream
        Records (e.g. from :func:`geoprospect.io.waveforms.read_waveforms`); channel codes ending in
        Z/N/E or Z/1/2; any sampling rate; gaps and separate event records as separate traces.
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
        ``n_samples = round(window_s * sampling_rate_hz)``; rows Z, N, E (zeros for an absent
        component); normalised (see the module notes), so values lie in [-1, 1].
    labels : numpy.ndarray of str, shape (n,)
    metadata : pandas.DataFrame, n rows
        The kept rows of ``windows_df`` plus ``window_index`` (its index there), ``channels`` (the
        channel ids used), ``components`` (``"ZNE"``, ``"Z"``...), ``source_sampling_rate_hz`` and
        ``peak_abs`` (the normalisation scale).

    Raises
    ------
    InputError
        A window's station has no Z/N/E traces in the stream or is ambiguous (in two networks).

    Warns
    -----
    WindowCoverageWarning
        When windows are skipped because a component has a gap in them or the records do not cover
        them; the kept windows' ``window_index`` shows which.
    """
    if window_s <= 0 or sampling_rate_hz <= 0:
        raise ValueError("window_s and sampling_rate_hz must be > 0")
    check_band(bandpass_hz, sampling_rate_hz)
    missing = [c for c in ("station", "start_time", "label") if c not in windows_df.columns]
    if missing:
        raise ValueError(f"windows_df lacks column(s) {', '.join(missing)}")
    n_samples = int(round(window_s * sampling_rate_hz))
    by_station = group_layouts(stream)
    use_network = "network" in windows_df.columns
    cut, kept, extra = [], [], []  # kept: positions in windows_df
    for position, (index, row) in enumerate(windows_df.iterrows()):
        network = row["network"] if use_network and pd.notna(row["network"]) else None
        layouts = station_layouts(by_station, network, str(row["station"]))
        start = to_utcdatetime(row["start_time"])
        traces = _choose_layout(layouts, start, start + (n_samples - 1) / sampling_rate_hz)
        if traces is None:
            continue
        window = np.zeros((3, n_samples))
        for row_index, trace in enumerate(traces):
            if trace is not None:
                window[row_index] = _resample(trace, start, n_samples, sampling_rate_hz, bandpass_hz)
        present = [t is not None for t in traces]
        window[present] = detrend(window[present], type="linear", axis=-1)
        peak = float(np.abs(window).max())
        cut.append(window / peak if peak > 0 else window)
        kept.append(position)
        used = [t for t in traces if t is not None]
        extra.append(dict(window_index=index, channels=",".join(tr.id for tr in used),
                          components="".join(n for n, t in zip(COMPONENT_NAMES, traces) if t is not None),
                          source_sampling_rate_hz=used[0].stats.sampling_rate, peak_abs=peak))
    if len(kept) < len(windows_df):
        warnings.warn(WindowCoverageWarning(
            f"{len(windows_df) - len(kept)} of {len(windows_df)} windows skipped: a component has no continuous "
            "data over the whole window (a gap or the end of the records)"), stacklevel=2)
    metadata = pd.concat([windows_df.iloc[kept].reset_index(drop=True), pd.DataFrame(extra, index=range(len(kept)))],
                         axis=1)
    windows = np.asarray(cut, dtype=np.float32).reshape(len(kept), 3, n_samples)
    return windows, metadata["label"].to_numpy(dtype=str), metadata


def check_band(bandpass_hz, sampling_rate_hz: float) -> None:
    if bandpass_hz is not None and not 0 < bandpass_hz[0] < bandpass_hz[1] < sampling_rate_hz / 2:
        raise ValueError("bandpass_hz must be (low, high) with 0 < low < high < sampling_rate_hz / 2")


Layouts = dict[str, list[list[Trace]]]  # layout code ("00.HH") -> traces of Z, N, E


def group_layouts(stream: Stream) -> dict[tuple[str, str], Layouts]:
    """Traces of each (network, station), by channel layout (location.band+instrument) and component (Z, N, E)."""
    grouped: dict[tuple[str, str], Layouts] = {}
    for trace in stream:
        row = component_index(trace.stats.channel)
        if row is None:
            continue
        layouts = grouped.setdefault((trace.stats.network, trace.stats.station), {})
        layouts.setdefault(f"{trace.stats.location}.{trace.stats.channel[:-1]}", [[], [], []])[row].append(trace)
    return {key: dict(sorted(layouts.items())) for key, layouts in grouped.items()}


def station_layouts(by_station, network: str | None, station: str) -> Layouts:
    """The channel layouts of one station; raises when it has none or is in several networks."""
    keys = [key for key in by_station if key[1] == station and network in (None, key[0])]
    name = f"{network}.{station}" if network else station
    if not keys:
        raise InputError(f"station {name}", "the windows name a station with no Z/N/E (or Z/1/2) traces in the stream",
                         "read that station's waveform files too, or drop its windows")
    if len(keys) > 1:
        raise InputError(f"station {name}", f"the station code is in several networks ({', '.join(k[0] for k in keys)})",
                         "add a network column to the windows table")
    return by_station[keys[0]]


def _choose_layout(layouts: Layouts, start: UTCDateTime, end: UTCDateTime) -> list[Trace | None] | None:
    """Covering trace per component (None: absent) of the best layout over [start, end]; None if none fits."""
    best, best_rank = None, None
    for code, components in layouts.items():
        chosen = []
        for traces in components:
            trace = _covering(traces, start, end)
            if trace is None and any(tr.stats.starttime < end and tr.stats.endtime > start for tr in traces):
                break  # data start or stop inside the window: a gap, not an absent component
            chosen.append(trace)
        else:
            rank = layout_rank(code, chosen) if any(t is not None for t in chosen) else None
            if rank and (best_rank is None or rank > best_rank):
                best, best_rank = chosen, rank
    return best


def _covering(traces: list[Trace], start: UTCDateTime, end: UTCDateTime) -> Trace | None:
    """The trace whose unmasked data span [start, end], or None."""
    for trace in traces:
        if trace.stats.starttime - TIME_TOLERANCE_S <= start and trace.stats.endtime + TIME_TOLERANCE_S >= end:
            if np.ma.isMaskedArray(trace.data):
                first = int(np.floor((start - trace.stats.starttime) * trace.stats.sampling_rate))
                last = int(np.ceil((end - trace.stats.starttime) * trace.stats.sampling_rate)) + 1
                if np.ma.getmaskarray(trace.data)[max(first, 0):last].any():
                    continue
            return trace
    return None


def _resample(trace: Trace, start: UTCDateTime, n_samples: int, sampling_rate_hz: float,
              bandpass_hz: tuple[float, float] | None) -> np.ndarray:
    """Steps 1-4 of the module notes for one component; float64, shape (n_samples,)."""
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


def continuous_segments(stream: Stream, sampling_rate_hz: float, bandpass_hz: tuple[float, float] | None = None,
                        min_samples: int = 1):
    """Each continuous stretch of each station's channel layout, filtered and resampled once, for scanning.

    The steps of the module notes run once over the whole stretch instead of once per window: linear
    detrend, band-pass, anti-alias low-pass when the target rate is lower, then Lanczos resampling onto
    the target grid (skipped when the rates match: the samples are taken as they are, each component
    shifted by at most half a sample onto the first component's grid). Windows are then views into the
    stretch (:func:`window_views`); only their detrending and normalisation are per window.

    Where co-located layouts record at the same time (``HH`` beside ``HN``), each instant is scanned once,
    by the layout that ranks first (:func:`layout_rank`); the others keep only the time it does not cover.

    Yields
    ------
    dict
        network, station, channels (ids used), components ("ZNE", "Z"...), start (UTCDateTime of the
        first sample) and data: float32 array (3, n) at ``sampling_rate_hz`` (zeros for absent components).
        Stretches shorter than ``min_samples`` are left out.
    """
    check_band(bandpass_hz, sampling_rate_hz)
    for (network, station), layouts in sorted(group_layouts(stream).items()):
        candidates = []  # (rank, code, chosen traces, start, end) of every stretch of every layout
        for code, components in layouts.items():
            reference = next(traces for traces in components if traces)
            for anchor in sorted(reference, key=lambda tr: tr.stats.starttime):
                start, end, chosen = anchor.stats.starttime, anchor.stats.endtime, []
                for traces in components:
                    overlaps = [(min(end, tr.stats.endtime) - max(start, tr.stats.starttime), tr) for tr in traces]
                    overlaps = [(o, tr) for o, tr in overlaps if o > 0]
                    trace = max(overlaps, key=lambda item: item[0])[1] if overlaps else None
                    if trace is not None:
                        start, end = max(start, trace.stats.starttime), min(end, trace.stats.endtime)
                    chosen.append(trace)
                candidates.append((layout_rank(code, chosen), code, chosen, start, end))
        taken: list[tuple[UTCDateTime, UTCDateTime]] = []
        pieces = []
        # co-located layouts recording at once (HH beside HN): each instant is scanned once, by the best
        for _, code, chosen, start, end in sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True):
            for piece_start, piece_end in _uncovered(start, end, taken, 1.0 / sampling_rate_hz):
                pieces.append((piece_start, piece_end, chosen))
            taken.append((start, end))
        for start, end, chosen in sorted(pieces, key=lambda p: p[0]):
            n = int(np.floor((end - start) * sampling_rate_hz + TIME_TOLERANCE_S)) + 1
            if n < min_samples:
                continue
            data = np.zeros((3, n), dtype=np.float32)  # windows are float32: cast once here, not per window
            for row, trace in enumerate(chosen):
                if trace is not None:
                    data[row] = _continuous(trace, start, n, sampling_rate_hz, bandpass_hz)
            yield dict(network=network, station=station, channels=",".join(t.id for t in chosen if t is not None),
                       components="".join(c for c, t in zip(COMPONENT_NAMES, chosen) if t is not None),
                       start=start, data=data)


INSTRUMENT_PREFERENCE = {"H": 2, "L": 1}  # high-gain seismometer, then low-gain; accelerometers (N) and others last


def layout_rank(code: str, chosen: list[Trace | None]) -> tuple[int, int, float]:
    """How a channel layout ranks where several cover the same time (higher is better): components
    present, then the instrument code (``HH`` broadband before ``HN`` strong motion), then sampling rate."""
    used = [t for t in chosen if t is not None]
    return (len(used), INSTRUMENT_PREFERENCE.get(code[-1:], 0), used[0].stats.sampling_rate if used else 0.0)


def _uncovered(start: UTCDateTime, end: UTCDateTime, taken: list[tuple[UTCDateTime, UTCDateTime]], margin_s: float):
    """The parts of [start, end] outside every interval of ``taken`` (each widened by ``margin_s``)."""
    parts = [(start, end)]
    for a, b in taken:
        a, b = a - margin_s, b + margin_s
        parts = [piece for s, e in parts for piece in ((s, min(e, a)), (max(s, b), e)) if piece[1] > piece[0]]
    return parts


FLOAT32_CORNER = 0.01  # band-passes with a low corner at >= 1 % of the rate run in float32 for scanning: 1.25x
# faster, within 2e-5 (rms) of float64; lower corners put the poles nearer the unit circle (1e-3 at 0.05 %)


def _continuous(trace: Trace, start: UTCDateTime, n: int, sampling_rate_hz: float,
                bandpass_hz: tuple[float, float] | None) -> np.ndarray:
    source_hz = trace.stats.sampling_rate
    offset_s = start - trace.stats.starttime
    if source_hz == sampling_rate_hz:
        first = int(round(offset_s * source_hz))
        piece = np.asarray(trace.data[first:first + n], dtype=np.float64)
    else:
        piece = np.asarray(trace.data, dtype=np.float64)
    if bandpass_hz is not None:  # the band-pass takes out offset and trend: only the mean goes first
        piece, sos = piece - piece.mean(), _sos(4, tuple(bandpass_hz), "bandpass", source_hz)
        if source_hz == sampling_rate_hz and bandpass_hz[0] >= FLOAT32_CORNER * source_hz:
            piece, sos = piece.astype(np.float32), sos.astype(np.float32)  # the segment is float32 anyway
        piece = _filter(piece, sos)
    else:
        piece = _remove_line(piece)
    if source_hz == sampling_rate_hz:
        return piece
    if sampling_rate_hz < source_hz:
        piece = _filter(piece, _sos(8, 0.4 * sampling_rate_hz, "lowpass", source_hz))
    return lanczos_interpolation(np.ascontiguousarray(piece), -offset_s, 1.0 / source_hz, 0.0, 1.0 / sampling_rate_hz, n,
                                 a=LANCZOS_A)


def _remove_line(x: np.ndarray) -> np.ndarray:
    """Linear detrend in closed form (scipy's ``detrend`` solves a least-squares system: 3x slower on hours)."""
    t = np.arange(x.size, dtype=np.float64) - (x.size - 1) / 2.0
    return x - x.mean() - (np.dot(x, t) / max(np.dot(t, t), 1e-30)) * t


def window_views(data: np.ndarray, n_samples: int, starts: np.ndarray) -> np.ndarray:
    """Windows (len(starts), 3, n_samples) of a segment from :func:`continuous_segments`, detrended and
    peak-normalised as :func:`cut_windows` leaves them (steps 5-6); float32.

    One copy per window out of the segment (float32), then the least-squares line of every row removed
    with one matrix product and the peak scaling done in place: no float64 or strided intermediates.
    """
    data = np.asarray(data, dtype=np.float32)  # no copy for the float32 segments of continuous_segments
    views = np.lib.stride_tricks.sliding_window_view(data, n_samples, axis=-1)  # (3, N, n), no copy
    windows = np.empty((len(starts), 3, n_samples), dtype=np.float32)
    for row in range(3):
        windows[:, row] = views[row, starts]
    flat = windows.reshape(-1, n_samples)
    t = np.arange(n_samples, dtype=np.float32) - np.float32((n_samples - 1) / 2.0)
    basis = np.stack([np.full(n_samples, 1.0 / n_samples, dtype=np.float32), t / np.dot(t, t)], axis=1)
    coef = flat @ basis
    flat -= coef[:, :1]
    flat -= coef[:, 1:] * t
    peak = np.maximum(flat.max(axis=1), -flat.min(axis=1)).reshape(len(starts), 3).max(axis=1)
    windows *= (1.0 / np.where(peak > 0, peak, 1.0)).astype(np.float32)[:, None, None]
    return windows


def windows_from_picks(arrivals: pd.DataFrame, window_s: float, p_offset_s: float, noise_margin_s: float) -> pd.DataFrame:
    """Labelled windows laid around P picks: one event window and one noise window per pick.

    The event window starts ``p_offset_s`` before P; the noise window ends ``noise_margin_s`` before P
    (so it may overlap the event window's lead-in, never the arrival). A noise window that holds
    another P or S pick of its station, or starts less than ``window_s`` after one (its coda), is left
    out. Windows the records do not cover are skipped later by :func:`cut_windows`.

    Parameters
    ----------
    arrivals : pandas.DataFrame
        From :func:`geoprospect.io.waveforms.read_event_catalog`: station, p_arrival_time,
        s_arrival_time, event_id, snr_db; network if present.

    Returns
    -------
    pandas.DataFrame
        network (if given), station, start_time, end_time, window_s, label ("event"/"noise"), snr_db
        (the catalogue's, NaN where not given: measure it with :func:`snr_at_p`), event_id,
        p_arrival_time (NaT for noise).
    """
    if not 0 <= p_offset_s < window_s or noise_margin_s < 0:
        raise ValueError("need 0 <= p_offset_s < window_s and noise_margin_s >= 0")
    keys = [c for c in ("network", "station") if c in arrivals.columns]
    length = pd.Timedelta(seconds=window_s)
    events = arrivals[keys + ["event_id", "snr_db", "p_arrival_time"]].assign(
        start_time=arrivals["p_arrival_time"] - pd.Timedelta(seconds=p_offset_s), label="event")
    noise = arrivals[keys + ["event_id"]].assign(
        start_time=arrivals["p_arrival_time"] - pd.Timedelta(seconds=noise_margin_s) - length, label="noise",
        snr_db=np.nan, p_arrival_time=pd.NaT)
    picks = pd.concat([arrivals[keys + ["p_arrival_time"]].rename(columns={"p_arrival_time": "time"}),
                       arrivals[keys + ["s_arrival_time"]].rename(columns={"s_arrival_time": "time"})]).dropna()
    clear = []
    for _, row in noise.iterrows():
        same = picks
        for key in keys:
            same = same[same[key] == row[key]]
        clash = (same["time"] > row["start_time"] - length) & (same["time"] < row["start_time"] + length)
        clear.append(not clash.any())
    table = pd.concat([events, noise[np.array(clear, dtype=bool)]], ignore_index=True)
    table["p_arrival_time"] = pd.to_datetime(table["p_arrival_time"], utc=True)
    table["end_time"] = table["start_time"] + length
    table["window_s"] = float(window_s)
    return table.sort_values(keys + ["start_time"], ignore_index=True)[
        keys + ["start_time", "end_time", "window_s", "label", "snr_db", "event_id", "p_arrival_time"]]


def snr_at_p(windows: np.ndarray, p_offset_s, sampling_rate_hz: float, length_s: float = 5.0) -> np.ndarray:
    """SNR (dB) of windows with a P arrival ``p_offset_s`` (per window) after their start.

    ``10 log10`` of the mean power over ``length_s`` after P against the mean power over up to
    ``length_s`` before it, on the window as cut (band-passed), over the components present. NaN where
    less than 0.5 s precedes P or follows it.
    """
    offsets = np.broadcast_to(np.asarray(p_offset_s, dtype=float), (len(windows),))
    out = np.full(len(windows), np.nan)
    n_len, n_min = int(round(length_s * sampling_rate_hz)), int(round(0.5 * sampling_rate_hz))
    for i, (window, offset) in enumerate(zip(windows.astype(np.float64), offsets)):
        p = int(round(offset * sampling_rate_hz))
        window = window[window.any(axis=-1)]
        before, after = window[:, max(0, p - n_len):max(p, 0)], window[:, max(p, 0):p + n_len]
        if before.shape[-1] >= n_min and after.shape[-1] >= n_min:
            noise = np.mean(before ** 2)
            out[i] = 10 * np.log10(np.mean(after ** 2) / noise) if noise > 0 else np.inf
    return out
