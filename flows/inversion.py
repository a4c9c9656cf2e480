"""Inversion flow: the SP, VES and TEM method comparisons, and the survey lines inverted into sections.

    python -m flows.inversion --catalog data/catalogs/demo.yaml

Writes ``outputs/<study_area>/inversion/``: ``studies/{sp,ves,tem}/`` (comparison tables and figures),
``sections/{ves,tem}/`` (resistivity section GeoTIFF and PNG, data fit, stations and failures),
``sp/sp_sources.csv``, ``summary.csv`` and ``report.html``. Settings: the catalog's ``inversion:`` section.
"""

from __future__ import annotations

if __name__ == "__main__":  # the command line: the catalog is checked before Prefect is imported
    from flows.cli import main

    main("flows.inversion:inversion", __doc__)

from pathlib import Path

from prefect import flow

from flows.cli import DEMO_CATALOG
from flows.runners import task_runner
from tasks.artifacts import publish_artifacts
from tasks.ingest import fingerprint, load_catalog
from tasks.inversion import invert_survey_line, publish, run_study, sp_profile_sources
from tasks.caching import clean_leftovers


@flow(name="inversion", task_runner=task_runner(threads=2))
def inversion(catalog: str = DEMO_CATALOG, outputs: str = "outputs") -> str:
    """Run the comparison studies and invert the catalog's survey lines; returns the report page."""
    cat = load_catalog(catalog)
    spec = cat.inversion
    refs = fingerprint(cat)
    area = Path(outputs) / cat.study_area
    work = str(area / "work")
    clean_leftovers(str(area))  # temporaries of killed runs

    studies = {name: run_study.submit(name, spec.study_size, spec.seed, work) for name in spec.studies}
    line_refs = {method: [ref for key, ref in sorted(refs.items()) if key.startswith(f"surveys.{method}[")] for method in ("ves", "tem")}
    lines = {method: invert_survey_line.submit(files, method, spec.n_layers, spec.depth_max_m, work,
                                               getattr(spec, f"{method}_line").model_dump())
             for method, files in line_refs.items() if files}
    sp_files = [ref for key, ref in sorted(refs.items()) if key.startswith("surveys.sp[")]
    sp = sp_profile_sources.submit(sp_files, work, spec.sp_shape, spec.sp_network) if sp_files else None

    report = publish({k: f.result() for k, f in studies.items()}, {k: f.result() for k, f in lines.items()},
                     sp.result() if sp else None, cat.study_area, str(area / "inversion"))
    folder = area / "inversion"
    preview = next((str(folder / "sections" / m / "section.png") for m in ("ves", "tem") if (folder / "sections" / m / "section.png").is_file()), None)
    publish_artifacts(cat.study_area, "inversion", report, str(folder / "summary.csv"), preview)
    return report

