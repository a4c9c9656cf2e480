"""The run page of a regenerate run (``outputs/<study_area>/index.html``)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from uuid import UUID

import pandas as pd
import yaml
from prefect import task

from geoprospect.catalog import Catalog
from geoprospect.io.reports import list_products, write_html
from geoprospect.io.qgis import write_qgis_project
from geoprospect.io.stac import write_stac_catalog
from geoprospect.provenance import code_digest
from geoprospect.pipelines.regenerate import PipelineOutcome, run_report
from tasks.runs import task_run_table


def code_version() -> str:
    """``git describe`` of the checkout when there is one, and the digest of the core's source."""
    root = Path(__file__).resolve().parents[1]
    try:
        described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=root, capture_output=True, text=True,
                                   timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    digest = code_digest("geoprospect.pipelines.prospectivity", "geoprospect.pipelines.ingest", "geoprospect.pipelines.regenerate")[:12]
    return f"{described or 'no git'} (core {digest})"


@task(retries=2, retry_delay_seconds=[1, 5])
def write_run_report(catalog: Catalog, inputs: dict, outcomes: dict[str, dict], flow_run_id: UUID, started: str,
                     outputs: str) -> str:
    """Write the run page; ``outcomes`` maps each pipeline to its final state name, report path, error or note."""
    area = Path(outputs) / catalog.study_area
    pipelines = [PipelineOutcome(name, o["state"], _relative(o.get("report"), area), o.get("error", ""),
                                 tuple(f"{name}/{f}" for f in list_products(area / name)), o.get("note", ""), o.get("wall_s"))
                 for name, o in outcomes.items()]
    table = pd.DataFrame([{"key": k, "file": ref.path, "sha256": ref.sha256[:16]} for k, ref in inputs.items()],
                         columns=["key", "file", "sha256"])
    catalog_yaml = yaml.safe_dump(catalog.model_dump(mode="json", exclude_none=True), sort_keys=False, width=110)
    stac = write_stac_catalog(area, catalog.study_area)
    # a catalog without a grid (plate model only) has lon/lat products
    qgis = write_qgis_project(area, catalog.study_area, catalog.grid.crs if catalog.grid is not None else "EPSG:4326")
    page = run_report(catalog.study_area, started, code_version(), catalog_yaml, table, pipelines, task_run_table(flow_run_id),
                      stac=stac.relative_to(area).as_posix(), qgis=qgis.relative_to(area).as_posix())
    return str(write_html(page, area / "index.html"))


def _relative(report: str | None, area: Path) -> str | None:
    if not report:
        return None
    try:
        return Path(report).resolve().relative_to(area.resolve()).as_posix()
    except ValueError:
        return report
