"""The seismic detection flow under Prefect: products of both detectors, the scan's files, clear refusals."""

import json
from pathlib import Path

import obspy
import pandas as pd
import pytest
import yaml

from geoprospect.errors import InputError


def _run(catalog, outputs):
    from flows.seismic import seismic

    return seismic(catalog=str(catalog), outputs=str(outputs), return_state=True)


@pytest.fixture(scope="module")
def first_run(harness, small_demo_catalog, tmp_path_factory):
    folder = tmp_path_factory.mktemp("seismic")
    catalog = folder / "seismic.yaml"
    catalog.write_text(small_demo_catalog.read_text() + "seismic: {epochs: 3, sampling_rate_hz: 50, scan_step_s: 15}\n")
    state = _run(catalog, folder / "outputs")
    return Path(state.result()).parent


def test_metrics_table_has_both_detectors_on_held_out_stations(first_run):
    metrics = pd.read_csv(first_run / "metrics.csv")
    assert metrics["detector"].tolist() == ["cnn", "stalta"]
    assert metrics["roc_auc"].between(0, 1).all() and (metrics["n_events"] > 0).all()
    for column in ("average_precision", "f1", "mcc", "threshold", "roc_auc_low_snr", "false_alarms_per_hour",
                   "real_event_score", "real_event_detected"):
        assert column in metrics.columns, column
    summary = json.loads((first_run / "metrics.json").read_text())
    assert summary["split"] == {"test_stations": ["ST04"], "validation_stations": ["ST03"]}
    ablation = pd.read_csv(first_run / "ablation.csv")
    assert ablation["augmentation"].iloc[0] == "none" and ablation["augmentation"].iloc[-1] == "all"
    assert {"amplitude_scaling", "real_noise", "hard_negatives"} <= set(ablation["augmentation"])
    assert {"roc_auc_sd", "verdict"} <= set(ablation.columns) and (ablation["n_seeds"] == 3).all()


def test_scan_writes_detections_csv_quakeml_png_and_a_report(first_run):
    for name in ("cnn", "stalta"):
        table = pd.read_csv(first_run / f"detections_{name}.csv")
        assert (table["station"] == "ST04").all()
        assert len(obspy.read_events(str(first_run / f"detections_{name}.xml"))) == len(table)
        assert (first_run / f"detections_{name}.png").stat().st_size > 0
    assert {"cnn.pt", "detectors.json", "recall_by_snr.csv", "roc_pr.png", "windows.csv"} <= {p.name for p in first_run.iterdir()}
    html = (first_run / "report.html").read_text()
    assert "detections_cnn.png" in html and "Augmentation ablation" in html


def test_windows_table_without_a_label_column_is_refused_with_its_name(first_run, small_demo_catalog, tmp_path):
    demo = small_demo_catalog.parent / "demo"
    windows = pd.read_csv(demo / "seismic" / "windows.csv").drop(columns="label")
    bad = tmp_path / "bad_windows.csv"
    windows.to_csv(bad, index=False)
    spec = yaml.safe_load((demo / "catalog.yaml").read_text())
    spec["study_area"] = "seismicbad"
    spec["waveforms"]["windows"] = str(bad)
    spec["seismic"] = {"epochs": 1}
    catalog = demo / "seismic_bad.yaml"  # beside the demo's files, so its relative paths resolve
    catalog.write_text(yaml.safe_dump(spec))
    state = _run(catalog, tmp_path / "outputs")
    assert state.is_failed()
    with pytest.raises(InputError, match=r"bad_windows\.csv.*label"):
        state.result()
