"""The page of one regenerate run: every pipeline's maps and tables, the catalog and code version,
the input files' hashes and the time each task took; a failed pipeline shows its error.

It reads as a report: the key maps of the run first (prospectivity, lithology, resistivity sections,
tectonic windows, detections), each pipeline's other figures after, and the band quicklooks folded away;
every figure has a caption that says what it shows."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from geoprospect.pipelines.prospectivity import OUTPUTS, output_kind
from geoprospect.render.report import Section, report_html


@dataclass(frozen=True)
class PipelineOutcome:
    """How one pipeline of the run ended: its report page (relative to the run page) or its error, or
    why it did not run (``note``)."""

    name: str
    state: str
    report: str | None = None
    error: str = ""
    products: tuple[str, ...] = ()  # files it wrote, relative to the run page
    note: str = ""
    wall_s: float | None = None  # the pipeline's wall time in this run (its stage time)


def run_report(study_area: str, started: str, code_version: str, catalog_yaml: str, inputs: pd.DataFrame,
               pipelines: list[PipelineOutcome], tasks: pd.DataFrame, stac: str = "",
               qgis: str = "") -> str:
    """The run page (HTML).

    Parameters
    ----------
    inputs : DataFrame
        ``key``, ``file``, ``sha256`` of every input file.
    tasks : DataFrame
        One row per task run: ``flow``, ``task``, ``state``, ``started``, ``duration_s``, ``error``.
    stac : str
        The STAC catalog of the run's maps (relative to the page), when written.
    qgis : str
        The QGIS project of the run's maps (relative to the page), when written.
    """
    summary = pd.DataFrame([{"pipeline": p.name, "state": p.state, "report": p.report or "", "maps": _count(p, ".png"),
                             "tables": _count(p, ".csv"),
                             "wall time": _minutes(p.wall_s)} for p in pipelines])
    ran = [p for p in pipelines if p.state != "Skipped"]
    skipped = "".join(f" Skipped: {p.name} ({p.note})." for p in pipelines if p.state == "Skipped")
    walls = [p.wall_s for p in ran if p.wall_s is not None]
    total = f" Stage wall times add up to {_minutes(sum(walls))}." if walls else ""
    sections = [Section("Pipelines", f"{sum(p.state == 'Completed' for p in ran)} of {len(ran)} completed.{skipped}{total}", summary)]
    key = [(f, caption(f)) for p in ran for f in p.products if is_key_map(f)]
    if key:
        sections.append(Section("Key maps", "The main results of the run; every pipeline's other figures are in its section "
                                "below and on its own report page.", images=key, key=True))
    if stac:
        sections[0].text += f" STAC catalog of every map: {stac}."
    if qgis:
        sections[0].text += f" QGIS project with every map styled: {qgis}."
    for p in ran:
        tables = [f for f in p.products if f.endswith((".csv", ".tif", ".html"))]
        figures = [f for f in p.products if f.endswith(".png") and not is_key_map(f)]
        sections.append(Section(f"{p.name}: {p.state}", f"Report: {p.report}. Files: " + ", ".join(tables) if p.report else "",
                                images=[(f, caption(f)) for f in figures if "/quicklooks/" not in f], error=p.error,
                                more_images=[(f, caption(f)) for f in figures if "/quicklooks/" in f],
                                more_label="quicklook of every ingested band"))
    failed = tasks[tasks["state"].isin(["Failed", "Crashed", "TimedOut"])] if not tasks.empty else tasks
    if not failed.empty:
        sections.append(Section("Failed tasks", table=failed[["flow", "task", "state", "error"]]))
    timing = tasks.sort_values("duration_s", ascending=False) if not tasks.empty else tasks
    sections.append(Section("Timings per task", f"{len(tasks)} task runs, {tasks['duration_s'].sum():.1f} s in all "
                            "(cached runs take no time)." if not tasks.empty else "No task runs recorded.", timing))
    sections.append(Section("Inputs", "SHA-256 of every input file (first 16 hex digits).", inputs))
    sections.append(Section("Catalog", preformatted=catalog_yaml))
    return report_html(f"Regenerate: {study_area}", f"run started {started}, code {code_version}", sections)


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60} s"


def _count(pipeline: PipelineOutcome, suffix: str) -> int:
    return sum(f.endswith(suffix) for f in pipeline.products)


# the maps a geologist opens first, by their path relative to the run page
_KEY_MAPS = re.compile(r"^(prospectivity/models/[^/]+/map|lithology/[^/]+/[^/]+/map|inversion/sections/[^/]+/section"
                       r"|tectonics/window_[^/]+|seismic/detections_[^/]+)\.png$")


def is_key_map(path: str) -> bool:
    return bool(_KEY_MAPS.match(path))


def caption(path: str) -> str:
    """What a figure of the run shows, from its path (``prospectivity/models/rf-none/map.png`` ->
    ``rf-none: probability of a deposit, with class breaks and the known deposits``)."""
    parts = path.removesuffix(".png").split("/")
    if re.match(r"^prospectivity/models/[^/]+/map$", "/".join(parts)):
        shows = OUTPUTS[output_kind(parts[2].rsplit("-", 1)[0])][0]  # by its label, as the catalog names it
        return f"Prospectivity, model {parts[2]}: {shows}, with class breaks and the known deposits"
    if re.match(r"^lithology/[^/]+/[^/]+/map$", "/".join(parts)):
        return f"Lithology, {parts[1]} scene classified by {parts[2].upper()}: predicted rock units"
    if parts[:2] == ["inversion", "sections"] and parts[-1] == "section":
        return f"Inversion: {parts[2].upper()} resistivity section along the survey line (distance x depth)"
    if parts[0] == "tectonics" and parts[-1].startswith("window_"):
        return f"Tectonics: porphyry prospectivity along the trench, {parts[-1].removeprefix('window_').replace('ma', ' Ma')}"
    if parts[0] == "seismic" and parts[-1].startswith("detections_"):
        return f"Seismic: detections of the {parts[-1].removeprefix('detections_').upper()} detector on the held-out station"
    if "quicklooks" in parts:
        return f"Quicklook of the ingested band {parts[-1].replace('_', ' ')}"
    return f"{parts[0].capitalize()}: " + " / ".join(p.replace("_", " ") for p in parts[1:])
