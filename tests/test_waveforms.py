"""Demo seismic waveforms, the waveform/catalogue/window readers, window cutting and the quicklook."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import obspy
import pandas as pd
import pytest
from matplotlib.figure import Figure
from obspy import Stream, Trace, UTCDateTime
from scipy.signal import butter, detrend, resample_poly, sosfiltfilt, welch

from geoprospect.demo.seismic import CHANNELS, GAIN_COUNTS_PER_M_S, NETWORK, VP_KM_S, VS_KM_S, write_waveforms
from geoprospect.errors import InputError
from geoprospect.io.files import content_hash
from geoprospect.io.waveforms import WaveformGapWarning, read_event_catalog, read_waveforms, read_windows
from geoprospect.render.waveforms import plot_waveforms
from geoprospect.seismic.windows import WindowCoverageWarning, cut_windows


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The default demo (4 stations, 30 min, 100 Hz), written once for the module."""
    return write_waveforms(tmp_path_factory.mktemp("seismic"), np.random.default_rng(7))


@pytest.fixture(scope="module")
def stream(demo):
    return read_waveforms(demo["waveforms"])


@pytest.fixture(scope="module")
def events(demo):
    return read_event_catalog(demo["events"])


@pytest.fixture(scope="module")
def windows(demo):
    return read_windows(demo["windows"])


def _band(trace: Trace, low_hz=1.0, high_hz=20.0) -> np.ndarray:
    sos = butter(4, (low_hz, high_hz), btype="bandpass", fs=trace.stats.sampling_rate, output="sos")
    return sosfiltfilt(sos, trace.data.astype(float))


def _rms(trace_band: np.ndarray, trace: Trace, start: UTCDateTime, end: UTCDateTime) -> float:
    i0 = int(round((start - trace.stats.starttime) * trace.stats.sampling_rate))
    i1 = int(round((end - trace.stats.starttime) * trace.stats.sampling_rate))
    return float(np.sqrt(np.mean(trace_band[i0:i1] ** 2)))


# ---------------------------------------------------------------- demo writer

def test_demo_is_deterministic(tmp_path):
    kwargs = dict(n_stations=2, duration_s=300.0)
    first = write_waveforms(tmp_path / "a", np.random.default_rng(3), **kwargs)
    second = write_waveforms(tmp_path / "b", np.random.default_rng(3), **kwargs)
    other = write_waveforms(tmp_path / "c", np.random.default_rng(4), **kwargs)
    for key in ("events", "windows"):
        assert content_hash(first[key]) == content_hash(second[key])
    assert [content_hash(p) for p in first["waveforms"]] == [content_hash(p) for p in second["waveforms"]]
    assert [content_hash(p) for p in first["waveforms"]] != [content_hash(p) for p in other["waveforms"]]
    assert not list((tmp_path / "a").glob(".*.tmp*")), "atomic writes leave no temporary files"


def test_demo_files_read_back(demo, stream):
    assert len(demo["waveforms"]) == 4
    assert sum(p.stat().st_size for p in demo["waveforms"]) < 6e6, "the default demo stays a few MB"
    assert len(stream) == 12
    for trace in stream:
        assert trace.stats.network == NETWORK and trace.stats.channel in CHANNELS
        assert trace.stats.sampling_rate == 100.0 and trace.stats.npts == 180_000
        assert trace.data.dtype == np.int32
    # counts are nm/s: the microseism makes raw velocities of the order of a micrometre per second
    z = stream.select(station="ST01", channel="HHZ")[0]
    assert 1e-7 < z.data.std() / GAIN_COUNTS_PER_M_S < 1e-5


def test_noise_has_a_microseism_peak(stream):
    z = stream.select(station="ST02", channel="HHZ")[0]
    freq_hz, psd = welch(z.data.astype(float), fs=100.0, nperseg=8192)
    assert 0.1 < freq_hz[np.argmax(psd)] < 0.35


def test_event_catalogue_is_physical(events):
    assert set(events["station"]) == {"ST01", "ST02", "ST03", "ST04"}
    assert (events.groupby("event_id")["station"].nunique() == 4).all(), "every event reaches every station"
    s_minus_p = (events["s_arrival_time"] - events["p_arrival_time"]).dt.total_seconds()
    expected = events["distance_km"] * (1 / VS_KM_S - 1 / VP_KM_S)
    np.testing.assert_allclose(s_minus_p, expected, atol=0.02)
    moveout = events.groupby("event_id")["p_arrival_time"].agg(lambda t: (t.max() - t.min()).total_seconds())
    assert (moveout > 0.1).all()
    low, high = np.percentile(events["snr_db"], [10, 95])
    assert events["snr_db"].min() < 0 and low < 5 and high > 15, "SNRs span weak to strong arrivals"
    assert events["snr_db"].between(-20, 45).all()


def test_arrivals_show_in_the_records(stream, events):
    strong = events[events["snr_db"] > 15]
    assert len(strong) >= 5
    for _, arrival in strong.iterrows():
        p = UTCDateTime(arrival["p_arrival_time"].isoformat())
        s = UTCDateTime(arrival["s_arrival_time"].isoformat())
        traces = {tr.stats.channel: tr for tr in stream.select(station=arrival["station"])}
        band = {cha: _band(tr) for cha, tr in traces.items()}
        z = traces["HHZ"]
        if arrival["distance_km"] < 40:  # farther onsets are emergent (scattering): the P builds up over seconds
            assert _rms(band["HHZ"], z, p, p + 0.5) > 3 * _rms(band["HHZ"], z, p - 3.0, p - 0.5), "P onset on Z"
        assert _rms(band["HHZ"], z, p, p + 2.0) > 1.5 * _rms(band["HHZ"], z, p - 3.0, p - 0.5), "P shows on Z"
        horizontal = np.hypot(_rms(band["HHN"], z, s, s + 2.0), _rms(band["HHE"], z, s, s + 2.0))
        assert horizontal > _rms(band["HHZ"], z, s, s + 2.0), "S is larger on the horizontals"


def test_windows_are_labelled_and_disjoint(windows, events):
    assert set(windows["label"]) == {"event", "noise", "transient"}
    assert set(windows.loc[windows["label"] == "transient", "transient_kind"]) == {"spike", "step", "tremor"}
    assert (windows["window_s"] == 30.0).all()
    assert windows.loc[windows["label"] == "noise", "snr_db"].isna().all()
    for _, group in windows.groupby("station"):
        group = group.sort_values("start_time")
        assert (group["start_time"].iloc[1:].to_numpy() >= group["end_time"].iloc[:-1].to_numpy()).all()
    event_windows = windows[windows["label"] == "event"].merge(events, on=["event_id", "station"])
    assert len(event_windows) == len(events)
    assert (event_windows["p_arrival_time"] > event_windows["start_time"]).all()
    assert (event_windows["s_arrival_time"] < event_windows["end_time"]).all()


# ---------------------------------------------------------------- window cutting

def test_cut_windows_shapes_and_labels(stream, windows):
    subset = windows.groupby("label").head(5)
    x, labels, metadata = cut_windows(stream, subset, 30.0, 50.0)
    assert x.shape == (15, 3, 1500) and x.dtype == np.float32
    np.testing.assert_array_equal(labels, subset["label"].to_numpy())
    np.testing.assert_array_equal(metadata["window_index"], subset.index)
    np.testing.assert_allclose(np.abs(x).max(axis=(1, 2)), 1.0, rtol=1e-6)
    assert metadata["channels"].str.endswith("HHZ,GP.ST01..HHN,GP.ST01..HHE").any()
    assert (metadata["source_sampling_rate_hz"] == 100.0).all() and (metadata["peak_abs"] > 0).all()


def test_cut_windows_band_pass_separates_events_from_noise(stream, windows):
    subset = pd.concat([windows[(windows["label"] == "event") & (windows["snr_db"] > 15)].head(6),
                        windows[windows["label"] == "noise"].head(6)])
    x, labels, _ = cut_windows(stream, subset, 30.0, 50.0, bandpass_hz=(1.0, 20.0))
    rms = np.sqrt((x**2).mean(axis=(1, 2)))
    # a strong event is a short burst over quiet noise: its normalised rms is below that of noise, which is
    # mostly stationary (the demo's passing-vehicle bursts and glitches make some noise windows bursty too)
    assert np.median(rms[labels == "event"]) < 0.6 * np.median(rms[labels == "noise"])


def _sines(channels: list[str], freqs_hz: list[float], sampling_rate_hz=100.0, duration_s=60.0) -> Stream:
    time_s = np.arange(int(duration_s * sampling_rate_hz)) / sampling_rate_hz
    start = UTCDateTime("2024-01-01T00:00:00")
    return Stream([Trace(1000 * np.sin(2 * np.pi * f * time_s), header=dict(
        network="XX", station="AAA", channel=cha, sampling_rate=sampling_rate_hz, starttime=start))
        for cha, f in zip(channels, freqs_hz)])


def _dominant_hz(x: np.ndarray, sampling_rate_hz: float) -> float:
    return float(np.fft.rfftfreq(x.size, 1 / sampling_rate_hz)[np.argmax(np.abs(np.fft.rfft(x)))])


@pytest.mark.parametrize("channels", [["HHE", "HHZ", "HHN"], ["BH2", "BH1", "BHZ"]])
def test_cut_windows_orders_components_z_n_e(channels):
    freq = {"Z": 2.0, "N": 4.0, "1": 4.0, "E": 8.0, "2": 8.0}
    stream = _sines(channels, [freq[c[-1]] for c in channels])
    table = pd.DataFrame(dict(station=["AAA"], start_time=["2024-01-01T00:00:10Z"], label=["noise"]))
    x, _, _ = cut_windows(stream, table, 20.0, 40.0)
    assert [_dominant_hz(row, 40.0) for row in x[0]] == [2.0, 4.0, 8.0]


def test_cut_windows_resamples_exactly_at_a_sub_sample_start():
    stream = _sines(["HHZ", "HHN", "HHE"], [3.0, 3.0, 3.0])
    start = UTCDateTime("2024-01-01T00:00:10.0137")
    table = pd.DataFrame(dict(station=["AAA"], start_time=[start.datetime], label=["noise"]))
    x, _, _ = cut_windows(stream, table, 10.0, 40.0)
    time_s = 10.0137 + np.arange(400) / 40.0
    expected = detrend(np.sin(2 * np.pi * 3.0 * time_s))
    np.testing.assert_allclose(x[0, 0], expected / np.abs(expected).max(), atol=5e-3)


def test_cut_windows_rejects_unknown_stations_and_takes_the_fullest_layout():
    table = pd.DataFrame(dict(station=["AAA"], start_time=["2024-01-01T00:00:10Z"], label=["noise"]))
    with pytest.raises(InputError, match="no Z/N/E"):
        cut_windows(_sines(["HHZ", "HHN", "HHE"], [1, 2, 3]), table.assign(station="BBB"), 10.0, 50.0)
    x, _, metadata = cut_windows(_sines(["HHZ", "HHN"], [1, 2]), table, 10.0, 50.0)  # two components: E stays zeros
    assert metadata["components"].iloc[0] == "ZN" and not x[0, 2].any() and x[0, 1].any()
    # co-located BH (Z only) and HH (3 components): the window takes the fuller layout
    _, _, metadata = cut_windows(_sines(["HHZ", "BHZ", "HHN", "HHE"], [1, 1, 2, 3]), table, 10.0, 50.0)
    assert metadata["channels"].iloc[0] == "XX.AAA..HHZ,XX.AAA..HHN,XX.AAA..HHE"


def test_gaps_are_reported_kept_apart_and_skipped(tmp_path):
    stream = _sines(["HHZ", "HHN", "HHE"], [1.0, 2.0, 3.0])
    start = stream[0].stats.starttime
    paths = []
    for i, (a, b) in enumerate([(0, 25), (30, 60)]):  # a 5 s gap on every channel
        path = tmp_path / f"part{i}.mseed"
        stream.slice(start + a, start + b - 0.01).write(str(path), format="MSEED")
        paths.append(path)
    with pytest.warns(WaveformGapWarning, match="gap of 5.0"):
        read = read_waveforms(paths)
    assert len(read) == 6, "each continuous stretch stays its own trace"
    table = pd.DataFrame(dict(station="AAA", label="noise",
                              start_time=[(start + t).datetime for t in (2.0, 20.0, 35.0)]))
    with pytest.warns(WindowCoverageWarning, match="1 of 3"):
        x, _, metadata = cut_windows(read, table, 10.0, 50.0)
    assert x.shape == (2, 3, 500) and list(metadata["window_index"]) == [0, 2]


# ---------------------------------------------------------------- real data

@pytest.fixture(scope="module")
def rjob():
    try:
        return obspy.read()  # obspy's bundled local earthquake, BW.RJOB, 3 x 100 Hz x 30 s
    except Exception as exc:  # an obspy build without its example data
        pytest.skip(f"obspy's example waveform is not available: {exc}")


@pytest.mark.parametrize("rename", [False, True])
def test_cut_windows_on_a_real_earthquake(rjob, rename):
    stream = rjob.copy()
    stream.traces = stream.traces[::-1]  # E, N, Z: the order of traces must not matter
    if rename:
        for trace in stream:
            trace.stats.channel = trace.stats.channel.replace("N", "1").replace("EHE", "EH2")
    start = rjob[0].stats.starttime + 5.0
    table = pd.DataFrame(dict(network=["BW"], station=["RJOB"], start_time=[start.datetime], label=["event"]))
    x, labels, metadata = cut_windows(stream, table, 20.0, 50.0)
    assert x.shape == (1, 3, 1000) and list(labels) == ["event"]
    assert metadata["source_sampling_rate_hz"].iloc[0] == 100.0
    for row, channel in enumerate(("EHZ", "EHN", "EHE")):
        # independent path: polyphase decimation by 2 (scipy's own anti-alias FIR) of the same samples
        trace = rjob.select(channel=channel)[0]
        i0 = int(round((start - trace.stats.starttime) * 100))
        reference = detrend(resample_poly(detrend(trace.data[i0 - 200:i0 + 2200]), 1, 2))[100:1100]
        reference = detrend(reference)
        assert np.corrcoef(x[0, row], reference)[0, 1] > 0.99
    assert np.corrcoef(x[0, 0], x[0, 1])[0, 1] < 0.9, "Z and N rows hold different components"


# ---------------------------------------------------------------- readers: validation

def _write_stream(path: Path, data: np.ndarray, sampling_rate_hz=100.0, **write_kwargs) -> Path:
    Stream([Trace(data, header=dict(station="BAD", channel="HHZ", sampling_rate=sampling_rate_hz))]).write(
        str(path), **write_kwargs)
    return path


def _bad_waveforms(tmp_path: Path, case: str) -> Path:
    ones = np.ones(500, dtype=np.float32) + np.arange(500, dtype=np.float32)
    if case == "missing":
        return tmp_path / "nothing_here.mseed"
    if case == "corrupt":
        path = tmp_path / "corrupt.mseed"
        path.write_bytes(b"not a seismogram " * 64)
        return path
    if case == "truncated":
        good = _write_stream(tmp_path / "good.mseed", np.arange(5000, dtype=np.int32), format="MSEED",
                             encoding="STEIM2", reclen=512)
        path = tmp_path / "truncated.mseed"
        path.write_bytes(good.read_bytes()[:700])
        return path
    if case == "empty":
        return _write_stream(tmp_path / "empty.sac", np.array([], dtype=np.float32), format="SAC")
    if case == "nan":
        ones[10] = np.nan
        return _write_stream(tmp_path / "nan.mseed", ones, format="MSEED", encoding="FLOAT32")
    if case == "rate":
        return _write_stream(tmp_path / "rate0.mseed", ones, sampling_rate_hz=0.0, format="MSEED")
    if case == "zeros":
        return _write_stream(tmp_path / "zeros.mseed", np.zeros(500, dtype=np.int32), format="MSEED")
    if case == "text":
        return _write_stream(tmp_path / "log.mseed", np.frombuffer(b"station log line", dtype="|S1").copy(),
                             sampling_rate_hz=1.0, format="MSEED", encoding="ASCII")
    raise ValueError(case)


@pytest.mark.parametrize("case, message", [
    ("missing", "file not found"), ("corrupt", "cannot be read"), ("truncated", "cannot be read"),
    ("empty", "no waveform samples"), ("nan", "NaN"), ("rate", "sampling rate 0"), ("zeros", "all zeros"),
    ("text", "non-numeric")])
def test_read_waveforms_rejects(tmp_path, case, message):
    path = _bad_waveforms(tmp_path, case)
    with pytest.raises(InputError, match=message) as error:
        read_waveforms(path)
    assert path.name in str(error.value)


def test_read_waveforms_rejects_one_channel_at_two_rates(tmp_path):
    a = _write_stream(tmp_path / "a.mseed", np.arange(1, 500, dtype=np.int32), sampling_rate_hz=100.0, format="MSEED")
    b = _write_stream(tmp_path / "b.mseed", np.arange(1, 500, dtype=np.int32), sampling_rate_hz=50.0, format="MSEED")
    with pytest.raises(InputError, match="several sampling rates") as error:
        read_waveforms([a, b])
    assert "a.mseed" in str(error.value) and "b.mseed" in str(error.value)


def _modified_csv(tmp_path: Path, source: Path, name: str, change) -> Path:
    table = change(pd.read_csv(source, dtype=str, keep_default_na=False))
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


def _set(column, value, row=0):
    def change(table):
        table.loc[row, column] = value
        return table
    return change


@pytest.mark.parametrize("name, change, message", [
    ("no_p.csv", lambda t: t.drop(columns="p_arrival_time"), "missing column.*p_arrival_time.*phase and time"),
    ("no_rows.csv", lambda t: t.iloc[:0], "no data rows"),
    ("bad_time.csv", _set("origin_time", "yesterday noon"), "not ISO 8601"),
    ("empty_p.csv", _set("p_arrival_time", ""), "p_arrival_time is empty"),
    ("p_before_origin.csv", _set("p_arrival_time", "2024-03-01T00:00:00Z"), "P arrival time is not after"),
    ("s_before_p.csv", _set("s_arrival_time", "2024-03-01T00:00:00.5Z", row=1), "S arrival time is not after"),
    ("negative.csv", _set("distance_km", "-3"), "negative"),
    ("text_snr.csv", _set("snr_db", "loud"), "non-numeric"),
])
def test_read_event_catalog_rejects(tmp_path, demo, name, change, message):
    path = _modified_csv(tmp_path, demo["events"], name, change)
    with pytest.raises(InputError, match=message) as error:
        read_event_catalog(path)
    assert name in str(error.value)


def test_read_event_catalog_parses_utc_and_allows_p_only_picks(tmp_path, demo):
    path = _modified_csv(tmp_path, demo["events"], "p_only.csv", _set("s_arrival_time", ""))
    table = read_event_catalog(path)
    assert str(table["origin_time"].dt.tz) == "UTC"
    assert table["s_arrival_time"].isna().sum() == 1


@pytest.mark.parametrize("reader", [read_event_catalog, read_windows])
def test_csv_readers_reject_missing_and_binary_files(tmp_path, reader):
    with pytest.raises(InputError, match="file not found"):
        reader(tmp_path / "absent.csv")
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\x00" * 50)
    with pytest.raises(InputError, match="cannot be parsed as CSV") as error:
        reader(path)
    assert "binary.csv" in str(error.value)


def _first(label):
    def pick(table):
        return table.index[table["label"] == label][0]
    return pick


def _set_label_row(column, value, label):
    def change(table):
        table.loc[_first(label)(table), column] = value
        return table
    return change


def _overlap_noise_with_event(table):
    event = _first("event")(table)
    noise = table.index[(table["label"] == "noise") & (table["station"] == table.loc[event, "station"])][0]
    for column in ("start_time", "end_time"):
        shifted = pd.Timestamp(table.loc[event, column]) + pd.Timedelta(seconds=5)
        table.loc[noise, column] = shifted.isoformat()
    return table


@pytest.mark.parametrize("name, change, message", [
    ("no_label.csv", lambda t: t.drop(columns="label"), "missing column"),
    ("bad_label.csv", _set("label", "earthquake"), "unknown window label"),
    ("no_snr.csv", _set_label_row("snr_db", "", "event"), "snr_db is empty"),
    ("reversed.csv", _set("end_time", "2024-03-01T00:00:00Z", row=3), "not after start_time"),
    ("length.csv", _set("window_s", "20"), "differs from window_s"),
    ("overlap.csv", _overlap_noise_with_event, "overlaps"),
    ("no_start.csv", _set("start_time", ""), "start_time is empty"),
])
def test_read_windows_rejects(tmp_path, demo, name, change, message):
    path = _modified_csv(tmp_path, demo["windows"], name, change)
    with pytest.raises(InputError, match=message) as error:
        read_windows(path)
    assert name in str(error.value)


# ---------------------------------------------------------------- quicklook

def test_plot_waveforms_marks_arrivals(stream, events):
    origin = events["origin_time"].iloc[0]
    fig = plot_waveforms(stream, events, start=origin - pd.Timedelta(seconds=5), end=origin + pd.Timedelta(seconds=40))
    assert isinstance(fig, Figure)
    axes = fig.axes
    assert len(axes) == 3
    assert "(s)" in axes[-1].get_xlabel() and fig.get_suptitle()
    assert [t.get_text() for t in axes[0].get_legend().get_texts()][1:] == ["P arrival", "S arrival"]
    assert len(axes[0].collections) == 2 * 4, "one P and one S tick per station"
    assert axes[0].get_xlim() == (0.0, 45.0)
    fig.savefig(io.BytesIO(), format="png", dpi=50)


def test_plot_waveforms_whole_record_without_events(stream):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_waveforms(stream.select(station="ST01"), bandpass_hz=None)
    line = fig.axes[0].lines[0]
    assert line.get_xdata().max() > 1790.0, "the envelope reaches the end of the record"
    assert len(line.get_xdata()) <= 4000
