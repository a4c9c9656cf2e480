"""Reading and validating seismic waveforms, event catalogues and labelled-window tables.

Gap policy: gaps are never filled. Fabricated samples (zeros, interpolation) would leak into training
windows as false signal, so after the files are read, only pieces of one channel that touch or overlap
are merged (where they overlap the later piece wins, obspy ``merge(method=1)``) and each stretch of
continuous data stays its own :class:`obspy.Trace`. Pieces separated by a gap are never handed to
``merge`` together: it would allocate the gap (an event archive with records years apart asks for
tens of GB), so memory stays bounded by the longest continuous record. Every gap and overlap is
reported with a :class:`WaveformGapWarning`; :func:`geoprospect.seismic.windows.cut_windows` then skips
windows that cross a gap.
"""

from __future__ import annotations

import warnings
from fnmatch import fnmatch
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import obspy
import pandas as pd

from geoprospect.errors import InputError
from geoprospect.io.tables import read_csv

EVENT_COLUMNS = ("event_id", "origin_time", "station", "p_arrival_time", "s_arrival_time", "snr_db", "magnitude",
                 "distance_km")
EVENT_TIME_COLUMNS = ("origin_time", "p_arrival_time", "s_arrival_time")
WINDOW_COLUMNS = ("station", "start_time", "end_time", "window_s", "label", "snr_db")
WINDOW_LABELS = ("event", "noise", "transient")
_TEXT_COLUMNS = {"station": str, "network": str, "event_id": str}  # codes like "007" stay text
WINDOW_TOLERANCE_S = 1e-3  # end_time - start_time may differ from window_s by this (rounding of written times)


class WaveformGapWarning(UserWarning):
    """A channel has gaps or overlaps; the stream keeps each continuous stretch as its own trace."""


def read_waveforms(paths: str | Path | Iterable[str | Path], absent_channels: Iterable[str] = ()) -> obspy.Stream:
    """Read waveform files (any format ``obspy.read`` detects: MiniSEED, SAC, GSE2...) into one Stream.

    Parameters
    ----------
    paths : path or iterable of paths
        The files; several files of one channel (e.g. day files) are joined.
    absent_channels : iterable of str
        Trace ids (``fnmatch`` patterns, e.g. ``"NC.*..EH[NE]"``) of channels that the station does not
        have but the files carry (typically zero-filled horizontals of a single-component station):
        they are dropped instead of refused as dead, and the windows treat them as absent.

    Returns
    -------
    obspy.Stream
        Sorted traces in the files' units (counts for raw data); one trace per continuous stretch of
        each channel (see the module's gap policy).

    Raises
    ------
    InputError
        A missing, unreadable, corrupt or truncated file; a file with no samples; a trace with a sampling rate
        <= 0, with NaN or infinite samples, or with only zeros (unless in ``absent_channels``); pieces of one
        channel that touch or overlap at two sampling rates.

    Warns
    -----
    WaveformGapWarning
        For each channel with gaps or overlaps, with their times and lengths.
    """
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not paths:
        raise InputError("read_waveforms", "no waveform files were given", "pass at least one MiniSEED or SAC file")
    stream = obspy.Stream()
    origin: dict[int, Path] = {}  # id(trace) -> its file, to name the files of a rate clash
    for path in paths:
        part = _read_one(path, tuple(absent_channels))
        origin.update((id(trace), path) for trace in part)
        stream += part
    _report_gaps(stream)
    joined = obspy.Stream()
    for run in _touching_runs(stream):
        rates = {trace.stats.sampling_rate: origin[id(trace)] for trace in run}
        if len(rates) > 1:
            listed = ", ".join(f"{rate:g} Hz in {path}" for rate, path in rates.items())
            raise InputError(", ".join(str(p) for p in rates.values()),
                             f"channel {run[0].id} comes at several sampling rates ({listed})",
                             "resample the files to one rate or give the channels distinct codes")
        if len(run) == 1:
            joined += run[0]
        else:  # touching or overlapping pieces only: no gap to allocate; sub-sample slips become masks, split
            joined += obspy.Stream(run).merge(method=1, fill_value=None).split()
    joined.sort()
    return joined


def _touching_runs(stream: obspy.Stream) -> list[list[obspy.Trace]]:
    """Pieces of each channel grouped into runs that touch or overlap (at most 1.5 samples apart)."""
    by_id: dict[str, list[obspy.Trace]] = {}
    for trace in stream:
        by_id.setdefault(trace.id, []).append(trace)
    runs = []
    for traces in by_id.values():
        traces.sort(key=lambda tr: tr.stats.starttime)
        run, run_end = [traces[0]], traces[0].stats.endtime
        for trace in traces[1:]:
            slack = 1.5 * max(trace.stats.delta, run[-1].stats.delta)
            if trace.stats.starttime <= run_end + slack:
                run.append(trace)
                run_end = max(run_end, trace.stats.endtime)
            else:
                runs.append(run)
                run, run_end = [trace], trace.stats.endtime
        runs.append(run)
    return runs


def _read_one(path: Path, absent_channels: tuple[str, ...] = ()) -> obspy.Stream:
    if not path.is_file():
        raise InputError(path, "file not found", "check the path (and the catalog entry that names it)")
    fix = "check the file is complete MiniSEED, SAC or another obspy format; export or download it again"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stream = obspy.read(str(path))
    except Exception as exc:  # obspy raises bare Exception/TypeError for corrupt or unknown files
        raise InputError(path, f"cannot be read as a waveform file ({exc})", fix) from None
    for warning in caught:
        # a truncated MiniSEED file reads "successfully" up to its last whole record: refuse it
        if "unexpected end of file" in str(warning.message).lower():
            raise InputError(path, f"cannot be read as a waveform file: it is truncated ({warning.message})", fix)
        warnings.warn(warning.message, stacklevel=3)
    if absent_channels:
        stream = obspy.Stream([tr for tr in stream if not any(fnmatch(tr.id, p) for p in absent_channels)])
        if not stream:
            return stream
    if sum(trace.stats.npts for trace in stream) == 0:
        raise InputError(path, "the file holds no waveform samples", "export the waveforms again; the file is empty")
    for trace in stream:
        rate = trace.stats.sampling_rate
        if not np.isfinite(rate) or rate <= 0:
            raise InputError(path, f"trace {trace.id} has sampling rate {rate} Hz",
                             "fix the sampling rate in the file header (it must be > 0)")
        if trace.stats.npts == 0:
            continue
        if trace.data.dtype.kind not in "iuf":
            raise InputError(path, f"trace {trace.id} holds non-numeric data ({trace.data.dtype})",
                             "remove log/ASCII channels from the file")
        n_bad = int(np.count_nonzero(~np.isfinite(trace.data)))
        if n_bad:
            raise InputError(path, f"trace {trace.id} has {n_bad} NaN or infinite samples",
                             "cut out or repair the bad samples (a gap is better than NaN)")
        if not np.any(trace.data):
            raise InputError(path, f"trace {trace.id} is all zeros (a dead channel)",
                             "drop the channel's file or replace it with a working channel")
    return stream


def _report_gaps(stream: obspy.Stream) -> None:
    gaps = stream.get_gaps()  # [net, sta, loc, cha, t_end_before, t_start_after, duration_s, n_samples]
    by_channel: dict[str, list[str]] = {}
    for net, sta, loc, cha, before, after, duration_s, _ in gaps:
        what = "gap" if duration_s > 0 else "overlap"
        by_channel.setdefault(f"{net}.{sta}.{loc}.{cha}", []).append(f"{what} of {abs(duration_s):.3f} s at {before}")
    for trace_id, items in by_channel.items():
        more = f"; and {len(items) - 3} more" if len(items) > 3 else ""  # event archives have one gap per record
        warnings.warn(WaveformGapWarning(f"{trace_id}: {'; '.join(items[:3])}{more} (gaps not filled; overlaps keep "
                                         "the later data)"), stacklevel=3)


def read_event_catalog(path: str | Path) -> pd.DataFrame:
    """Read an event-arrival catalogue or a pick table (CSV).

    Two layouts are accepted:

    * arrivals, one row per event and station: ``station`` and ``p_arrival_time`` required;
      ``event_id``, ``origin_time``, ``s_arrival_time``, ``snr_db``, ``magnitude``, ``distance_km``
      optional (columns may be absent or have empty cells);
    * picks, one row per pick: ``station``, ``phase`` (P, S, or a phase name starting with P or S: Pg,
      Sn...; others are dropped with a warning) and ``time``; optional ``event_id`` (picks sharing one
      pair P and S; without it each P pick is an event and takes the first S pick at its station before
      the next P pick) and ``network``.

    Times are ISO 8601 and parsed as UTC (text without a zone is taken as UTC).

    Returns
    -------
    pandas.DataFrame
        One row per event and station with every column of ``EVENT_COLUMNS`` (missing ones empty: NaN,
        NaT; ``event_id`` numbered ``pick0001``... when not given), times as ``datetime64[..., UTC]``.

    Raises
    ------
    InputError
        Missing or unreadable file, no rows, neither layout's columns, an empty station or P time, an
        unparseable time, a P arrival not after the origin time, an S arrival not after the P arrival, a
        negative distance, a non-numeric SNR, magnitude or distance.
    """
    path = Path(path)
    table = read_csv(path, ("station",), dtype=_TEXT_COLUMNS)
    if "p_arrival_time" not in table.columns:
        if not {"phase", "time"} <= set(table.columns):
            raise InputError(path, "missing column(s) p_arrival_time (an arrival table) or phase and time (a pick table)",
                             "give station and p_arrival_time per event and station, or station, phase and time per pick")
        table = _arrivals_from_picks(path, table)
    for column in EVENT_COLUMNS:
        if column not in table.columns:
            table[column] = np.nan
    if table["event_id"].isna().all():
        table["event_id"] = [f"pick{i + 1:04d}" for i in range(len(table))]
    _require_values(path, table, ["station", "p_arrival_time", "event_id"])
    for column in EVENT_TIME_COLUMNS:
        table[column] = _parse_times(path, table, column)
    for column in ("snr_db", "magnitude", "distance_km"):
        if table[column].isna().all():
            table[column] = table[column].astype(float)
    _require_numeric(path, table, ("snr_db", "magnitude", "distance_km"))
    _reject_rows(path, table, table["p_arrival_time"] <= table["origin_time"], "a P arrival time is not after its origin time",
                 "fix the origin or the pick; arrivals come after the origin")
    _reject_rows(path, table, table["s_arrival_time"] <= table["p_arrival_time"], "an S arrival time is not after its P arrival",
                 "fix the picks (S comes after P) or leave s_arrival_time empty")
    _reject_rows(path, table, table["distance_km"] < 0, "distance_km is negative", "give distances as positive km")
    return table


def _arrivals_from_picks(path: Path, picks: pd.DataFrame) -> pd.DataFrame:
    """One row per P pick (event and station) with its S pick, from a table of picks."""
    _require_values(path, picks, ["station", "phase", "time"])
    picks = picks.assign(time=_parse_times(path, picks, "time"), kind=picks["phase"].astype(str).str.strip().str[:1].str.upper())
    other = ~picks["kind"].isin(["P", "S"])
    if other.any():
        warnings.warn(f"{path}: {int(other.sum())} pick(s) of phases other than P and S dropped "
                      f"({', '.join(sorted(picks.loc[other, 'phase'].astype(str).unique())[:5])})", stacklevel=3)
        picks = picks[~other]
    keys = [c for c in ("network", "station") if c in picks.columns]
    rows = []
    for _, group in picks.sort_values("time").groupby(keys, sort=False):
        p_picks, s_picks = group[group["kind"] == "P"], group[group["kind"] == "S"]
        p_times = p_picks["time"].tolist() + [pd.Timestamp.max.tz_localize("UTC")]
        for i, (_, pick) in enumerate(p_picks.iterrows()):
            if "event_id" in group.columns and pd.notna(pick.get("event_id")):
                s = s_picks[s_picks["event_id"] == pick["event_id"]]
            else:
                s = s_picks[(s_picks["time"] > pick["time"]) & (s_picks["time"] < p_times[i + 1])]
            rows.append({**{k: pick[k] for k in keys}, "event_id": pick.get("event_id", np.nan),
                         "p_arrival_time": pick["time"], "s_arrival_time": s["time"].iloc[0] if len(s) else pd.NaT})
    if not rows:
        raise InputError(path, "the pick table has no P pick", "the windows are laid around P picks: add them")
    arrivals = pd.DataFrame(rows)
    if arrivals["event_id"].isna().all():
        arrivals = arrivals.sort_values("p_arrival_time", ignore_index=True)
        arrivals["event_id"] = [f"pick{i + 1:04d}" for i in range(len(arrivals))]
    return arrivals


def read_windows(path: str | Path) -> pd.DataFrame:
    """Read a table of labelled waveform windows (CSV, one row per window).

    Required columns: station, start_time, end_time (ISO 8601, parsed as UTC), window_s (s), label
    (one of ``event``, ``noise``, ``transient``), snr_db (dB; may be empty for noise windows, and for event
    windows with a ``p_arrival_time``: the SNR is then measured on the window). Other columns (network,
    event_id, p_arrival_time...) are kept.

    Raises
    ------
    InputError
        Missing or unreadable file, no rows, a missing required column or value, an unparseable time,
        an unknown label, ``end_time`` not after ``start_time``, a length that differs from window_s,
        or two windows of different labels that overlap at one station.
    """
    path = Path(path)
    table = read_csv(path, WINDOW_COLUMNS, dtype=_TEXT_COLUMNS)
    _require_values(path, table, [c for c in WINDOW_COLUMNS if c != "snr_db"])
    for column in ("start_time", "end_time"):
        table[column] = _parse_times(path, table, column)
    _require_numeric(path, table, ("window_s", "snr_db"))
    table["label"] = table["label"].astype(str)
    table["station"] = table["station"].astype(str)
    _reject_rows(path, table, ~table["label"].isin(WINDOW_LABELS), "unknown window label",
                 f"use one of {', '.join(WINDOW_LABELS)}")
    p_known = pd.Series(False, index=table.index)
    if "p_arrival_time" in table.columns:
        table["p_arrival_time"] = _parse_times(path, table, "p_arrival_time")
        p_known = table["p_arrival_time"].notna()
    _reject_rows(path, table, table["snr_db"].isna() & (table["label"] != "noise") & ~p_known,
                 "snr_db is empty for a signal window", "give snr_db, or p_arrival_time to measure it, for every event and "
                 "transient window (it may be empty for noise only)")
    _reject_rows(path, table, table["end_time"] <= table["start_time"], "end_time is not after start_time",
                 "swap or fix the window times")
    length_s = (table["end_time"] - table["start_time"]).dt.total_seconds()
    _reject_rows(path, table, (length_s - table["window_s"]).abs() > WINDOW_TOLERANCE_S,
                 "end_time - start_time differs from window_s", "make window_s the window length in seconds")
    _check_label_overlaps(path, table)
    return table


def _require_values(path: Path, table: pd.DataFrame, columns: list[str]) -> None:
    for column in columns:
        rows = np.flatnonzero(table[column].isna().to_numpy())
        if rows.size:
            raise InputError(path, f"column {column} is empty in {rows.size} row(s) (first: data row {rows[0] + 1})",
                             f"fill in {column} for every row")


def _parse_times(path: Path, table: pd.DataFrame, column: str) -> pd.Series:
    try:
        return pd.to_datetime(table[column], utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise InputError(path, f"column {column} holds a time that is not ISO 8601 ({exc})",
                         "write times like 2024-03-01T00:01:06.77Z") from None


def _require_numeric(path: Path, table: pd.DataFrame, columns: tuple[str, ...]) -> None:
    for column in columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            raise InputError(path, f"column {column} holds non-numeric values", f"write {column} as plain numbers")


def _reject_rows(path: Path, table: pd.DataFrame, bad: pd.Series, problem: str, fix: str) -> None:
    rows = np.flatnonzero(bad.to_numpy(dtype=bool, na_value=False))
    if rows.size:
        raise InputError(path, f"{problem} in {rows.size} row(s) (first: data row {rows[0] + 1})", fix)


def _check_label_overlaps(path: Path, table: pd.DataFrame) -> None:
    keys = ["network", "station"] if "network" in table.columns else ["station"]
    for key, group in table.groupby(keys, sort=False):
        group = group.sort_values("start_time")
        starts = group["start_time"].to_numpy()
        ends = group["end_time"].to_numpy()
        labels = group["label"].to_numpy()
        # the running end of all earlier windows: any window starting before it overlaps one of them
        running_end = np.maximum.accumulate(ends)
        for i in range(1, len(group)):
            if starts[i] < running_end[i - 1]:
                earlier = np.flatnonzero(ends[:i] > starts[i])
                clash = [j for j in earlier if labels[j] != labels[i]]
                if clash:
                    j = clash[0]
                    raise InputError(path, f"at station {'.'.join(map(str, key))}, a {labels[j]} window ({group['start_time'].iloc[j]}) "
                                     f"overlaps a {labels[i]} window ({group['start_time'].iloc[i]})",
                                     "windows of different labels must not overlap: move or drop one")
