"""The HTML report of a run: one self-contained page of sections (text, tables, linked images)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
h1{margin-bottom:0} .sub{color:#666;margin-top:.3em}
table{border-collapse:collapse;font-size:13px;margin:.5em 0} td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
figure{margin:0} figure img{width:100%;border:1px solid #ddd} figcaption{font-size:12px;color:#444}
.error{color:#b00020;white-space:pre-wrap} pre{background:#f6f6f6;padding:8px;font-size:12px;overflow-x:auto}
"""


@dataclass
class Section:
    """One section of a report. Image paths are relative to the report's folder."""

    heading: str
    text: str = ""
    table: pd.DataFrame | None = None
    images: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    preformatted: str = ""  # shown verbatim (a catalog, a log)


def report_html(title: str, subtitle: str, sections: list[Section]) -> str:
    """Render a report page."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1><p class='sub'>{html.escape(subtitle)}</p>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        if section.error:
            parts.append(f"<p class='error'>{html.escape(section.error)}</p>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        if section.preformatted:
            parts.append(f"<pre>{html.escape(section.preformatted)}</pre>")
        if section.table is not None and not section.table.empty:
            parts.append(section.table.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0))
        if section.images:
            parts.append("<div class='grid'>")
            for src, caption in section.images:
                src = html.escape(src, quote=True)
                parts.append(f"<figure><a href='{src}'><img src='{src}' loading='lazy' alt='{html.escape(caption)}'></a>"
                             f"<figcaption>{html.escape(caption)}</figcaption></figure>")
            parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)
