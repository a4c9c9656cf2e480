"""Tectonics flow: subduction kinematics through time, dated deposits co-registered, block CV, maps through time.

    python -m flows.tectonics --catalog data/catalogs/demo.yaml

Any plate model in the GPlates layout works (a global one such as Müller et al. 2019, given by path in
the catalog's ``plate_model`` section). Writes ``outputs/<study_area>/tectonics/``:
``kinematics.parquet`` (every trench point and time step), ``samples.csv``, ``cv_metrics.csv`` (every
sampling design x CV scheme x model, with time-only and location-only controls and a status),
``cv_controls.csv``, importances, ``scores.csv``, ``windows.gpkg``, window maps, ``animation.gif`` and
its ``frame_*.png``, ``metrics.json`` and ``report.html``. Only the ``plate_model`` section is needed
(no ``grid``); deposit columns are mapped in ``plate_model.deposit_columns``, the region in
``plate_model.region_box`` or ``region_polygon``. Kinematics are cached on the content of the rotation
and topology files (and age grids) and the time steps only, and kept in ``outputs/plate_models/``: a
new deposit table, region or study area with the same plate model reuses them.
"""

from __future__ import annotations

if __name__ == "__main__":  # the command line: the catalog is checked before Prefect is imported
    from flows.cli import main

    main("flows.tectonics:tectonics", __doc__)

from pathlib import Path

from prefect import flow

from flows.cli import DEMO_CATALOG
from flows.runners import task_runner
from tasks.artifacts import publish_artifacts
from tasks.ingest import fingerprint, load_catalog
from tasks.tectonics import (collect_kinematics, cross_validate, kinematics_folder, kinematics_steps, make_samples,
                             plate_model_inputs, publish, through_time)
from tasks.caching import clean_leftovers


@flow(name="tectonics", task_runner=task_runner(threads=2))
def tectonics(catalog: str = DEMO_CATALOG, outputs: str = "outputs") -> str:
    """Map porphyry prospectivity through time from a plate model; returns the path of the report page."""
    cat = load_catalog(catalog)
    spec, plates = cat.tectonics, cat.plate_model
    inputs = plate_model_inputs(plates, fingerprint(cat), spec)
    area = Path(outputs) / cat.study_area
    work = str(area / "work")
    shared = kinematics_folder(outputs)  # kinematics tables, shared by the study areas
    for folder in (area, shared):
        clean_leftovers(str(folder))  # temporaries of killed runs

    files = inputs["files"]
    chunks = [kinematics_steps.submit(inputs["model_files"], inputs["kinematics_files"], times, spec.spacing_deg,
                                      {t: inputs["age_grids"][t] for t in times}, shared)
              for times in inputs["chunks"]]
    kinematics = collect_kinematics([ref for chunk in chunks for ref in chunk.result()], work)
    samples = make_samples(files, plates, kinematics["table"], spec, work)
    cv = cross_validate(samples["table"], spec, work)
    scored = through_time(files, plates, kinematics["table"], samples["table"], spec.map_model or cv["best_model"],
                          cv["design"], spec, work)
    folder = area / "tectonics"
    report = publish(kinematics, samples, cv, scored, spec, cat.study_area, str(folder))
    first = f"window_{spec.windows[0][0]:g}-{spec.windows[0][1]:g}ma.png"
    publish_artifacts(cat.study_area, "tectonics", report, str(folder / "cv_metrics.csv"), str(folder / first))
    return report

