"""Real-shaped event archives: records years apart, an instrument change, single-component stations, picks only.

Every record is obspy's bundled real local earthquake (BW.RJOB, 3 x 100 Hz x 30 s, P about 4.7 s in)
after 25 s of Gaussian noise at its pre-event level, renamed and shifted in time, one MiniSEED file per
record as event archives ship them.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from obspy import Stream, UTCDateTime

from geoprospect.catalog import SeismicSpec
from geoprospect.errors import InputError
from geoprospect.io.waveforms import WaveformGapWarning, read_event_catalog, read_waveforms
from geoprospect.pipelines.seismic import cut_dataset, load_dataset, training_set
from geoprospect.seismic.windows import cut_windows, windows_from_picks

LEAD_S = 25.0
P_IN_RECORD_S = 4.7


@pytest.fixture(scope="module")
def rjob():
    import obspy

    try:
        return obspy.read()
    except Exception as exc:  # an obspy build without its example data
        pytest.skip(f"obspy's example waveform is not available: {exc}")


def _record(rjob, folder, station: str, p_time: UTCDateTime, band="EH", components="ZNE", seed=0, zero=""):
    """One event record of ``station`` with its P at ``p_time``; components in ``zero`` are written zero-filled."""
    rng = np.random.default_rng(seed)
    stream = Stream()
    for trace in rjob:
        component = trace.stats.channel[-1]
        if component not in components + zero:
            continue
        trace = trace.copy()
        noise = rng.standard_normal(int(LEAD_S * 100)) * np.std(trace.data[:300])
        trace.data = np.concatenate([noise, trace.data - np.mean(trace.data[:300])]).astype(np.float32)
        if component in zero:
            trace.data[:] = 0.0
        trace.stats.update(dict(network="NC", station=station, channel=band + component,
                                starttime=p_time - P_IN_RECORD_S - LEAD_S))
        stream += trace
    path = folder / f"NC.{station}.{band}.{p_time.year}.mseed"
    stream.write(str(path), format="MSEED")
    return path


P_TIMES = {2005: UTCDateTime("2005-06-01T12:00:00"), 2012: UTCDateTime("2012-02-10T03:30:00"),
           2019: UTCDateTime("2019-11-20T22:15:00")}


@pytest.fixture(scope="module")
def archive(rjob, tmp_path_factory):
    """Station AAA: HH records in 2005 and 2019, an HN (strong-motion) record in 2012."""
    folder = tmp_path_factory.mktemp("archive")
    return [_record(rjob, folder, "AAA", t, band="HN" if year == 2012 else "HH", seed=year)
            for year, t in P_TIMES.items()]


def test_records_years_apart_are_read_in_bounded_memory(archive):
    tracemalloc.start()
    with pytest.warns(WaveformGapWarning, match="gap of"):
        stream = read_waveforms(archive)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # merging the 14 years would allocate ~4e10 samples; each record is 5,470 samples
    assert len(stream) == 9 and {tr.stats.npts for tr in stream} == {int((LEAD_S + 30) * 100)}
    assert peak < 50e6, f"peak {peak / 1e6:.0f} MB"


def test_each_record_takes_its_own_band(archive):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WaveformGapWarning)
        stream = read_waveforms(archive)
    table = pd.DataFrame(dict(station="AAA", label="event", start_time=[(t - 5).datetime for t in P_TIMES.values()]))
    x, _, metadata = cut_windows(stream, table, 20.0, 100.0, (1.0, 20.0))
    assert len(x) == 3 and (metadata["components"] == "ZNE").all()
    assert [c.split(",")[0] for c in metadata["channels"]] == ["NC.AAA..HHZ", "NC.AAA..HNZ", "NC.AAA..HHZ"]
    assert np.abs(x).max() == pytest.approx(1.0)


def test_single_component_stations(rjob, tmp_path):
    z_only = _record(rjob, tmp_path, "ZZZ", P_TIMES[2005], components="Z")
    zero_filled = _record(rjob, tmp_path, "ZFL", P_TIMES[2012], components="Z", zero="NE")
    with pytest.raises(InputError, match="all zeros"):
        read_waveforms([z_only, zero_filled])
    stream = read_waveforms([z_only, zero_filled], absent_channels=["NC.ZFL..EH[NE]"])
    assert len(stream) == 2
    table = pd.DataFrame(dict(station=["ZZZ", "ZFL"], label="event", start_time=[(P_TIMES[y] - 5).datetime for y in (2005, 2012)]))
    x, _, metadata = cut_windows(stream, table, 20.0, 100.0, (1.0, 20.0))
    assert list(metadata["components"]) == ["Z", "Z"] and not x[:, 1:].any() and x[:, 0].any()


def _picks(stations_years, path):
    rows = []
    for station, year in stations_years:
        p = P_TIMES[year]
        rows += [dict(station=station, phase="P", time=str(p)), dict(station=station, phase="S", time=str(p + 3.0)),
                 dict(station=station, phase="Pn", time=str(p + 0.1)) if station == "AAA" and year == 2005 else None]
    rows = [r for r in rows if r is not None][::-1]  # any order
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_pick_table_reads_as_arrivals(tmp_path):
    path = _picks([("AAA", 2005), ("AAA", 2019), ("BBB", 2012)], tmp_path / "picks.csv")
    table = read_event_catalog(path)
    assert len(table) == 4  # Pn is a P phase: its own arrival
    first = table.sort_values("p_arrival_time").iloc[0]
    assert first["station"] == "AAA" and first["p_arrival_time"] == pd.Timestamp(P_TIMES[2005].datetime, tz="UTC")
    assert pd.isna(first["s_arrival_time"])  # the S comes after the Pn pick, so it pairs with the Pn
    assert table["origin_time"].isna().all() and table["snr_db"].isna().all() and table["event_id"].is_unique
    bad = tmp_path / "no_time.csv"
    pd.DataFrame(dict(station=["AAA"], phase=["P"])).to_csv(bad, index=False)
    with pytest.raises(InputError, match="p_arrival_time.*phase and time"):
        read_event_catalog(bad)


def test_windows_from_picks_keep_noise_before_p():
    arrivals = pd.DataFrame(dict(station="AAA", event_id=["a", "b"], snr_db=np.nan,
                                 p_arrival_time=pd.to_datetime(["2020-01-01T00:00:40Z", "2020-01-01T00:01:00Z"]),
                                 s_arrival_time=pd.NaT))
    table = windows_from_picks(arrivals, 30.0, 5.0, 2.0)
    noise = table[table["label"] == "noise"]
    # the second pick's noise window would hold the first P: left out
    assert len(noise) == 1 and noise["end_time"].iloc[0] == pd.Timestamp("2020-01-01T00:00:38Z")
    events = table[table["label"] == "event"]
    assert (events["p_arrival_time"] - events["start_time"] == pd.Timedelta(seconds=5)).all()


def test_flow_dataset_from_picks_only(rjob, tmp_path):
    """Five stations, one Z-only, one with an instrument change; no windows table, no SNR, no origins."""
    files, stations_years = [], []
    for i, station in enumerate(["AAA", "BBB", "CCC", "DDD", "ZZZ"]):
        for year in (2005, 2019):
            band = "HN" if station == "BBB" and year == 2019 else "HH"
            files.append(_record(rjob, tmp_path, station, P_TIMES[year], band=band, seed=10 * i + year % 7,
                                 components="Z" if station == "ZZZ" else "ZNE"))
            stations_years.append((station, year))
    picks = _picks(stations_years, tmp_path / "picks.csv")
    spec = SeismicSpec(window_s=20.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WaveformGapWarning)
        warnings.simplefilter("ignore", UserWarning)
        summary = cut_dataset(files, None, spec, tmp_path / "out", events_path=picks)
    assert summary["test_stations"] == ["ZZZ"] and summary["validation_stations"] == ["DDD"]
    assert summary["skipped_windows"] == 0 and summary["components"]["test"] == {"Z": 4, "ZNE": 0}
    metadata = pd.read_csv(tmp_path / "out" / "windows.csv")
    snr = metadata.loc[metadata["label"] == "event", "snr_db"]
    assert snr.notna().all() and (snr > 10).all(), "the SNR is measured at P when not given"
    sets = load_dataset(tmp_path / "out")
    X, y = training_set(sets["train"], metadata, spec)
    n = len(sets["train"].labels)
    assert len(y) == 8 * n, "four gain copies, then each doubled with a Z-only copy"
    assert not X[4 * n:, 1:].any()


def test_thresholds_per_channel_layout():
    from geoprospect.seismic.scan import merge_triggers

    start = pd.Timestamp("2020-01-01", tz="UTC")
    scores = pd.DataFrame(dict(network="NC", station=["ZZZ", "AAA"], start_time=[start, start],
                               end_time=[start + pd.Timedelta(seconds=20)] * 2, components=["Z", "ZNE"], score=[0.5, 0.5]))
    assert merge_triggers(scores, 0.6).empty
    detections = merge_triggers(scores, {"ZNE": 0.6, "Z": 0.4})
    assert detections["station"].tolist() == ["ZZZ"]
