"""The HTML report of a run: one self-contained page of sections (text, tables, linked images).

Tables read as tables for people: headers in words with their units (``duration_s`` -> "duration (s)"),
empty cells instead of NaN, and a wide table scrolls inside its own box. Secondary figures (e.g. a
quicklook of every band) can be folded away below the key ones.
"""

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
.table{overflow-x:auto;max-width:100%} details{margin:.5em 0} summary{cursor:pointer;color:#333}
.key{grid-template-columns:repeat(auto-fill,minmax(420px,1fr))}
"""
# suffix of a column name -> the unit shown in its header
_UNITS = {"_s": "s", "_m": "m", "_km": "km", "_ma": "Ma", "_myr": "Myr", "_deg": "degrees", "_pct": "%", "_hz": "Hz",
          "_db": "dB", "_nt": "nT", "_mgal": "mGal", "_ohm_m": "ohm m", "_mb": "MB"}


@dataclass
class Section:
    """One section of a report. Image paths are relative to the report's folder."""

    heading: str
    text: str = ""
    table: pd.DataFrame | None = None
    images: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""
    preformatted: str = ""  # shown verbatim (a catalog, a log)
    more_images: list[tuple[str, str]] = field(default_factory=list)  # folded away below the images
    more_label: str = "more figures"
    key: bool = False  # the images are the key maps of the page: drawn larger


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
            parts.append(table_html(section.table))
        if section.images:
            parts.append(_figures(section.images, "grid key" if section.key else "grid"))
        if section.more_images:
            parts.append(f"<details><summary>{html.escape(section.more_label)} ({len(section.more_images)})</summary>"
                         f"{_figures(section.more_images, 'grid')}</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def header(column: str) -> str:
    """A column name in words, with its unit: ``duration_s`` -> ``duration (s)``, ``pr_auc`` -> ``pr auc``."""
    name = str(column)
    for suffix, unit in sorted(_UNITS.items(), key=lambda kv: -len(kv[0])):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return f"{name[: -len(suffix)].replace('_', ' ')} ({unit})"
    return name.replace("_", " ")


def table_html(table: pd.DataFrame) -> str:
    """A table in a box that scrolls sideways when wide; empty cells for missing values."""
    shown = table.rename(columns=header)
    return ("<div class='table'>" + shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, na_rep="")
            + "</div>")


def _figures(images: list[tuple[str, str]], css: str) -> str:
    parts = [f"<div class='{css}'>"]
    for src, caption in images:
        src = html.escape(src, quote=True)
        parts.append(f"<figure><a href='{src}'><img src='{src}' loading='lazy' alt='{html.escape(caption)}'></a>"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</div>")
    return "".join(parts)
