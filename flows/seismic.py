"""Seismic detection flow: a CNN event detector against STA/LTA, on held-out stations, and a scan.

    python -m flows.seismic --catalog data/catalogs/demo.yaml

Writes ``outputs/<study_area>/seismic/``: ``metrics.csv`` (both detectors on the test stations: AUC,
average precision, F1, MCC, low-SNR AUC, the real obspy event, false alarms per hour), ``ablation.csv``,
``recall_by_snr.csv``, ``roc_pr.png``, the scan's detections (``detections_<detector>.csv``, QuakeML
``.xml`` and ``.png``), the CNN's weights (``cnn.pt``, a torch state_dict) with ``detectors.json``,
``metrics.json`` and ``report.html``. Settings: the catalog's ``seismic:`` section.
"""

from __future__ import annotations

if __name__ == "__main__":  # the command line: the catalog is checked before Prefect is imported
    from flows.cli import main

    main("flows.seismic:seismic", __doc__)

from pathlib import Path

from prefect import flow

from flows.cli import DEMO_CATALOG
from flows.runners import task_runner
from tasks.artifacts import publish_artifacts
from tasks.ingest import fingerprint, load_catalog
from tasks.seismic import cut_dataset, publish, run_ablation, scan_held_out, train_detectors, waveform_inputs
from tasks.caching import clean_leftovers


@flow(name="seismic", task_runner=task_runner(threads=2))
def seismic(catalog: str = DEMO_CATALOG, outputs: str = "outputs") -> str:
    """Train, compare and scan with the event detectors; returns the path of the report page."""
    cat = load_catalog(catalog)
    spec = cat.seismic
    inputs = waveform_inputs(fingerprint(cat))
    area = Path(outputs) / cat.study_area
    work = str(area / "work")
    clean_leftovers(str(area))  # temporaries of killed runs

    dataset = cut_dataset(inputs["files"], inputs["windows"], inputs["events"], spec, work)
    ablated = run_ablation.submit(dataset["dataset"], spec, work)
    trained = train_detectors(dataset["dataset"], spec, work)
    scanned = scan_held_out(dataset["dataset"], trained["detectors"], inputs["files"], inputs["events"], spec, work)
    folder = area / "seismic"
    report = publish(dataset, trained, ablated.result(), scanned, cat.study_area, str(folder))
    publish_artifacts(cat.study_area, "seismic", report, str(folder / "metrics.csv"), str(folder / "detections_cnn.png"))
    return report

