"""Prefect artifacts of a run: a markdown page with an inline map preview, and a table."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact


def _key(*parts: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")


@task
def publish_artifacts(study_area: str, flow: str, report: str, table_csv: str, preview_png: str | None) -> None:
    """A markdown artifact (summary, inline PNG preview: renders offline) and a table artifact."""
    table = pd.read_csv(table_csv)
    preview = ""
    if preview_png and Path(preview_png).is_file():
        encoded = base64.b64encode(Path(preview_png).read_bytes()).decode()
        preview = f"\n![{Path(preview_png).stem}](data:image/png;base64,{encoded})\n"
    markdown = (f"# {flow}: {study_area}\n\nReport: `{report}`\n\n{len(table)} rows in `{Path(table_csv).name}`.\n{preview}")
    create_markdown_artifact(key=_key(study_area, flow, "report"), markdown=markdown, description=f"{flow} report for {study_area}")
    create_table_artifact(key=_key(study_area, flow, "table"), table=table.round(6).to_dict(orient="records"),
                          description=f"{flow}: {Path(table_csv).name}")
