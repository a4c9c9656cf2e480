"""Scanning co-located channel layouts once, the scan's fast paths, and per-record detection plots (issues 22.3, 23)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
import torch
from obspy import Stream, Trace, UTCDateTime

from geoprospect.render.detections import plot_detections
from geoprospect.seismic.detectors import CNNDetector, STALTADetector
from geoprospect.seismic.scan import merge_triggers, score_windows
from geoprospect.seismic.windows import continuous_segments, window_views

FS = 100.0
T0 = UTCDateTime("2021-04-01T00:00:00")


def _station(rng, station, band, start, duration_s, event_s=None):
    """Three components of ``band`` (HH, HN...) at ``station``: noise plus, optionally, a burst at ``event_s``."""
    n = int(duration_s * FS)
    data = rng.standard_normal((3, n)) * 100.0
    if event_s is not None:
        i = int(event_s * FS)
        data[:, i:i + 300] += rng.standard_normal((3, 300)) * 3000.0 * np.exp(-np.arange(300) / 80.0)
    return Stream([Trace(data[c].astype(np.float32), header=dict(network="XX", station=station, channel=f"{band}{comp}",
                                                               sampling_rate=FS, starttime=start))
                   for c, comp in enumerate("ZNE")])


def test_co_located_layouts_are_scanned_once_broadband_first():
    """HH and HN record together for 120 s, then HN alone for 60 s: the overlap is scanned from HH only."""
    rng = np.random.default_rng(0)
    stream = _station(rng, "COL", "HH", T0, 120.0, event_s=50.0) + _station(rng, "COL", "HN", T0, 180.0, event_s=50.0)
    segments = list(continuous_segments(stream, FS, (1.0, 20.0), min_samples=2000))
    assert [s["channels"].split(",")[0] for s in segments] == ["XX.COL..HHZ", "XX.COL..HNZ"]
    assert segments[1]["start"] >= segments[0]["start"] + 120.0  # HN only after HH stops
    scores = score_windows(stream, STALTADetector(sampling_rate_hz=FS), 20.0, 5.0, FS, (1.0, 20.0))
    assert not scores.duplicated(["network", "station", "start_time"]).any()
    assert len(merge_triggers(scores, 5.0)) == 1


def test_stalta_scores_in_place_match_the_cut_windows():
    rng = np.random.default_rng(1)
    stream = _station(rng, "AAA", "HH", T0, 200.0, event_s=90.0)
    segment = next(continuous_segments(stream, FS, (1.0, 20.0)))
    starts = np.arange(0, segment["data"].shape[1] - 2000 + 1, 500)
    detector = STALTADetector(sampling_rate_hz=FS).fit(np.zeros((1, 3, 2000), np.float32))
    cut = detector.decision_function(window_views(segment["data"], 2000, starts))
    np.testing.assert_allclose(detector.score_views(segment["data"], 2000, starts), cut, rtol=0.02)


def test_window_views_detrend_and_normalise_like_numpy():
    rng = np.random.default_rng(2)
    data = (rng.standard_normal((3, 5000)) + np.linspace(0, 50, 5000)).astype(np.float32)
    data[2] = 0.0  # an absent component stays zero
    starts = np.array([0, 700, 3000])
    windows = window_views(data, 2000, starts)
    for k, start in enumerate(starts):
        expected = np.zeros((3, 2000))
        t = np.arange(2000)
        for row in range(2):
            piece = data[row, start:start + 2000].astype(np.float64)
            expected[row] = piece - np.polyval(np.polyfit(t, piece, 1), t)
        expected /= np.abs(expected).max()
        np.testing.assert_allclose(windows[k], expected, atol=1e-4)


def test_fused_network_scores_like_the_trained_one():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 3, 512)).astype(np.float32)
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    X[y == 1, :, 200:260] *= 8.0
    cnn = CNNDetector(channels=(4, 8), epochs=2, random_state=0).fit(X, y)
    with torch.no_grad():
        plain = cnn.model_(torch.from_numpy(X)).numpy()
    # scoring folds batch norm into the convolutions and pools before the ReLU: the same logits
    np.testing.assert_allclose(cnn.decision_function(X), plain, rtol=1e-4, atol=1e-4)



def _random_cnn(rng, **params):
    """A CNN with random weights and batch-norm statistics (what is tested is scoring, not training)."""
    X = rng.standard_normal((8, 3, 256)).astype(np.float32)
    fitted = CNNDetector(epochs=1, random_state=0, **params).fit(X, np.r_[np.zeros(4), np.ones(4)].astype(int))
    state = {}
    for key, value in fitted.model_.state_dict().items():
        if key.endswith("running_var"):
            value = torch.from_numpy(rng.uniform(0.5, 2.0, tuple(value.shape)).astype(np.float32))
        elif value.is_floating_point():
            value = torch.from_numpy((0.5 * rng.standard_normal(tuple(value.shape))).astype(np.float32))
        state[key] = value
    return CNNDetector.from_state_dict(fitted.get_params(), state, 256)


def test_cnn_scores_in_place_equal_the_cut_windows():
    """The first convolution run once over the segment, each window's detrend and scale applied to it afterwards,
    gives the logits of the cut windows: band-passed or raw (with offset and trend), an absent component,
    windows at both ends of the segment, uneven starts, window lengths not a multiple of the pooling, other
    kernels and pooling (an even kernel falls back to cutting the windows)."""
    rng = np.random.default_rng(5)
    stream = _station(rng, "AAA", "HH", T0, 120.0, event_s=60.0)
    band = next(continuous_segments(stream, FS, (1.0, 20.0)))["data"]
    raw = next(continuous_segments(stream, FS, None))["data"] + np.linspace(-300, 900, band.shape[1], dtype=np.float32)
    raw[1] = 0.0
    cases = [(dict(), band, 3000), (dict(), raw, 3000), (dict(), band, 2001),
             (dict(channels=(4, 8), kernel_size=5, pool=2), raw, 1003), (dict(kernel_size=3, pool=3), band, 2000),
             (dict(kernel_size=6), band, 2000)]  # an even kernel: cut windows
    for params, data, n in cases:
        cnn = _random_cnn(rng, **params)
        last = data.shape[1] - n
        for starts in (np.arange(0, last + 1, 1000), np.array([0, 17, 400, 401, last])):
            expected = cnn.decision_function(window_views(data, n, starts))
            got = cnn.score_views(data, n, starts)
            assert np.ptp(expected) > 0.01
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=str(params))
    assert cnn.score_views(band, 2000, np.array([], dtype=int)).shape == (0,)
    band[0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cnn.score_views(band, 2000, np.array([0]))


def test_cnn_scan_without_band_pass_scores_in_place():
    """score_windows hands the CNN its segments (exact on any segment); STA/LTA gets cut windows without a band-pass."""
    rng = np.random.default_rng(6)
    stream = _station(rng, "AAA", "HH", T0, 90.0, event_s=40.0)
    cnn = _random_cnn(rng)
    scores = score_windows(stream, cnn, 30.0, 10.0, FS)
    data = next(continuous_segments(stream, FS, None, min_samples=3000))["data"]
    starts = np.arange(0, data.shape[1] - 3000 + 1, 1000)
    np.testing.assert_allclose(scores["score"], cnn.decision_function(window_views(data, 3000, starts)), rtol=1e-4, atol=1e-4)


def test_plot_detections_draws_one_panel_per_record():
    """An event archive: station AAA has records 9 years apart, BBB one record: three panels, each on its own axis."""
    rng = np.random.default_rng(4)
    stream = (_station(rng, "AAA", "HH", T0, 90.0, event_s=40.0)
              + _station(rng, "AAA", "HH", T0 + 9 * 365.25 * 86400, 90.0, event_s=30.0)
              + _station(rng, "BBB", "EH", T0 + 3600.0, 90.0))
    detector = STALTADetector(sampling_rate_hz=FS)
    scores = score_windows(stream, detector, 20.0, 5.0, FS, (1.0, 20.0))
    detections = merge_triggers(scores, 5.0)
    fig = plot_detections(stream, detections, scores, threshold=5.0)
    panels = [ax for ax in fig.axes if ax.get_label() == "record"]
    assert len(panels) == 3
    assert all(ax.get_xlim()[1] < 100.0 for ax in panels), "each record on its own time axis, not years wide"
    assert "3 record(s)" in fig.get_suptitle()
    fig.savefig(io.BytesIO(), format="png")  # draws without error
    assert isinstance(detections, pd.DataFrame) and len(detections) >= 2
