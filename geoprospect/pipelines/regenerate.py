"""The page of one regenerate run: every pipeline's maps and tables, the catalog and code version,
the input files' hashes and the time each task took; a failed pipeline shows its error."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

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


def run_report(study_area: str, started: str, code_version: str, catalog_yaml: str, inputs: pd.DataFrame,
               pipelines: list[PipelineOutcome], tasks: pd.DataFrame) -> str:
    """The run page (HTML).

    Parameters
    ----------
    inputs : DataFrame
        ``key``, ``file``, ``sha256`` of every input file.
    tasks : DataFrame
        One row per task run: ``flow``, ``task``, ``state``, ``started``, ``duration_s``, ``error``.
    """
    summary = pd.DataFrame([{"pipeline": p.name, "state": p.state, "report": p.report or "", "maps": _count(p, ".png"),
                             "tables": _count(p, ".csv")} for p in pipelines])
    ran = [p for p in pipelines if p.state != "Skipped"]
    skipped = "".join(f" Skipped: {p.name} ({p.note})." for p in pipelines if p.state == "Skipped")
    sections = [Section("Pipelines", f"{sum(p.state == 'Completed' for p in ran)} of {len(ran)} completed.{skipped}", summary)]
    for p in ran:
        tables = [f for f in p.products if f.endswith((".csv", ".tif", ".html"))]
        sections.append(Section(f"{p.name}: {p.state}", f"Report: {p.report}. Files: " + ", ".join(tables) if p.report else "",
                                images=[(f, f.rsplit("/", 1)[-1]) for f in p.products if f.endswith(".png")], error=p.error))
    failed = tasks[tasks["state"].isin(["Failed", "Crashed", "TimedOut"])] if not tasks.empty else tasks
    if not failed.empty:
        sections.append(Section("Failed tasks", table=failed[["flow", "task", "state", "error"]]))
    timing = tasks.sort_values("duration_s", ascending=False) if not tasks.empty else tasks
    sections.append(Section("Timings per task", f"{len(tasks)} task runs, {tasks['duration_s'].sum():.1f} s in all "
                            "(cached runs take no time)." if not tasks.empty else "No task runs recorded.", timing))
    sections.append(Section("Inputs", "SHA-256 of every input file (first 16 hex digits).", inputs))
    sections.append(Section("Catalog", preformatted=catalog_yaml))
    return report_html(f"Regenerate: {study_area}", f"run started {started}, code {code_version}", sections)


def _count(pipeline: PipelineOutcome, suffix: str) -> int:
    return sum(f.endswith(suffix) for f in pipeline.products)
