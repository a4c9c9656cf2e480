"""Read a study-area catalog (YAML) into a validated :class:`~geoprospect.catalog.Catalog`."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from geoprospect.catalog import Catalog
from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path


def read_catalog(path: str | Path, check_files: bool = True) -> Catalog:
    """Parse, validate and resolve a catalog file.

    Relative paths are taken from the catalog's folder. Any problem (YAML syntax, a wrong or
    missing key, an unknown sensor or CRS, a missing file) is one :class:`InputError` that names the
    catalog file and the key.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "catalog file not found", "pass the path of a YAML catalog, e.g. data/catalogs/demo.yaml")
    try:
        raw = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid YAML ({str(exc).splitlines()[0]})", "fix the YAML syntax") from None
    if not isinstance(raw, dict):
        raise InputError(path, "a catalog must be a YAML mapping of sections", "start from data/catalogs/demo.yaml")
    try:
        catalog = Catalog.model_validate(raw, context={"base": path.parent.resolve()})
    except ValidationError as exc:
        raise _as_input_error(path, exc) from None
    if set(catalog.study_area) <= {"."}:  # "." or ".." would put outputs/<study_area>/ outside its own folder
        raise InputError(path, f"key 'study_area': {catalog.study_area!r} is not a folder name",
                         "use letters, digits, '_', '-' or '.', with at least one that is not '.'")
    if check_files:
        for key, file in catalog.files().items():
            if not file.exists():
                raise InputError(path, f"key {key!r}: file not found: {file}", "correct the path (relative paths are read from the catalog's folder)")
    return catalog


def _as_input_error(path: Path, exc: ValidationError) -> InputError:
    """The first validation error, as one sentence naming its key."""
    error = exc.errors()[0]
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return InputError(path, f"unknown key {key!r}", "remove it or fix its spelling (see geoprospect/catalog.py for the keys)")
    if error["type"] == "missing":
        return InputError(path, f"missing key {key!r}", "add it (see geoprospect/catalog.py for the keys)")
    return InputError(path, f"key {key!r}: {message}", "correct this value")


def write_catalog(catalog: dict, path: str | Path, header: str = "") -> Path:
    """Write a catalog mapping as YAML (atomically), after checking it validates."""
    path = Path(path)
    Catalog.model_validate(catalog)
    text = (f"# {header}\n" if header else "") + yaml.safe_dump(catalog, sort_keys=False, default_flow_style=None, width=110)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
