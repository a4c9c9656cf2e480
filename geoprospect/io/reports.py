"""Report pages: written atomically, and the products a run left under a study area's folder."""

from __future__ import annotations

from pathlib import Path

from geoprospect.io.files import atomic_path


def write_html(page: str, path: str | Path) -> Path:
    """Write an HTML page atomically (a reader never sees half a page)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


NOT_PRODUCTS = ("stac/", "work/")  # the STAC catalog and the pipelines' cache of intermediates: no map to list


def list_products(folder: str | Path, suffixes: tuple[str, ...] = (".png", ".csv", ".tif", ".html")) -> list[str]:
    """Paths (relative to ``folder``, sorted) of the product files under it; hidden files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.suffix in suffixes and not any(part.startswith(".") for part in p.parts))
