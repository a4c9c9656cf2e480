"""Seismic detection orchestration: station hold-out defaults and refusals, detectors saved as a state_dict."""

import numpy as np
import pytest

from geoprospect.catalog import SeismicSpec
from geoprospect.errors import InputError
from geoprospect.seismic.detectors import CNNDetector, STALTADetector
from geoprospect.pipelines.seismic import holdout_stations, load_detectors, save_detectors

STATIONS = ["ST03", "ST01", "ST04", "ST02", "ST01"]


def test_default_holdout_is_last_station_for_test_second_to_last_for_validation():
    assert holdout_stations(STATIONS, SeismicSpec()) == (["ST04"], ["ST03"])
    spec = SeismicSpec(test_stations=["ST01"], validation_stations=["ST02"])
    assert holdout_stations(STATIONS, spec) == (["ST01"], ["ST02"])
    assert holdout_stations(STATIONS, SeismicSpec(test_stations=["ST04"])) == (["ST04"], ["ST03"])


@pytest.mark.parametrize("spec, stations, match", [
    (SeismicSpec(test_stations=["ST09"]), STATIONS, r"seismic\.test_stations.*ST09"),
    (SeismicSpec(test_stations=["ST01"], validation_stations=["ST01"]), STATIONS, "also test stations"),
    (SeismicSpec(), ["ST01", "ST02"], "three stations"),
    (SeismicSpec(test_stations=["ST01", "ST02"], validation_stations=["ST03", "ST04"]), STATIONS, "three stations"),
])
def test_holdout_refusals_name_the_catalog_key(spec, stations, match):
    with pytest.raises(InputError, match=match):
        holdout_stations(stations, spec)


def test_detectors_round_trip_through_a_state_dict(tmp_path):
    rng = np.random.default_rng(0)
    windows = rng.standard_normal((24, 3, 400)).astype(np.float32)
    labels = np.arange(24) % 2
    windows[labels == 1, :, 200:260] *= 8.0
    cnn = CNNDetector(channels=(4, 8), epochs=2, random_state=0).fit(windows, labels)
    stalta = STALTADetector(sta_s=0.2, lta_s=2.0, sampling_rate_hz=50.0).fit(windows)
    save_detectors({"cnn": cnn, "stalta": stalta}, {"cnn": 0.25, "stalta": 3.5}, tmp_path)
    assert not (tmp_path / "cnn.pt").read_bytes().startswith(b"\x80"), "a zip of tensors, not a bare pickle"
    loaded = load_detectors(tmp_path)
    assert loaded["cnn"][1] == 0.25 and loaded["stalta"][1] == 3.5
    assert np.allclose(loaded["cnn"][0].decision_function(windows), cnn.decision_function(windows))
    assert np.allclose(loaded["stalta"][0].decision_function(windows), stalta.decision_function(windows))
    assert loaded["cnn"][0].get_params() == cnn.get_params()


def test_a_split_without_events_is_refused_with_the_windows_file(tmp_path):
    import pandas as pd

    from geoprospect.demo.seismic import write_waveforms
    from geoprospect.pipelines.seismic import cut_dataset

    files = write_waveforms(tmp_path / "demo", np.random.default_rng(3), n_stations=3, duration_s=300.0)
    windows = pd.read_csv(files["windows"])
    bad = tmp_path / "no_test_events.csv"
    windows[~((windows["station"] == "ST03") & (windows["label"] == "event"))].to_csv(bad, index=False)
    spec = SeismicSpec(sampling_rate_hz=50.0)
    with pytest.raises(InputError, match=r"no_test_events\.csv.*test stations have 0 event"):
        cut_dataset(files["waveforms"], bad, spec, tmp_path / "out")
    summary = cut_dataset(files["waveforms"], files["windows"], spec, tmp_path / "out")
    assert summary["test_stations"] == ["ST03"] and summary["windows"]["test"]["event"] == 2
