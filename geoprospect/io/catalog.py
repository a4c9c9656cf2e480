"""Read a study-area catalog (YAML) into a validated :class:`~geoprospect.catalog.Catalog`."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from geoprospect.catalog import Catalog
from geoprospect.errors import InputError
from geoprospect.grid import cube_size_problem
from geoprospect.io.files import atomic_path, check_input
from geoprospect.sensors import SENSORS


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (``safe_load`` keeps the last
    silently: a second ``resolution_m`` would replace the first without a word)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<: *base' keys may be overridden, by design
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: construct_mapping reports it
                break
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} on lines {first.line + 1} and {key_node.start_mark.line + 1}",
                    key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str):
    """Parse YAML safely, refusing duplicate keys (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=UniqueKeyLoader)


def read_catalog(path: str | Path, check_files: bool = True) -> Catalog:
    """Parse, validate and resolve a catalog file.

    Relative paths are taken from the catalog's folder. Any problem (YAML syntax, a wrong or
    missing key, an unknown sensor or CRS, a missing file) is one :class:`InputError` that names the
    catalog file and the key.
    """
    path = Path(path)
    check_input(path, "catalog file", folder_ok=False, folder_fix=_catalogs_in,
                missing_fix="pass the path of a YAML catalog, e.g. data/catalogs/demo.yaml")
    try:
        raw = load_yaml(path.read_text())
    except yaml.constructor.ConstructorError as exc:
        if str(exc.problem).startswith("duplicate key"):
            raise InputError(path, f"{exc.problem}: YAML would silently keep only the last", "keep one of them") from None
        raise InputError(path, f"not valid YAML ({exc.problem})", "fix the YAML syntax") from None
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
    if catalog.grid is not None and (problem := cube_size_problem(catalog.grid, _layer_count(catalog))):
        raise InputError(path, f"key 'grid': {problem[0]}", problem[1])
    if check_files:
        for key, file in catalog.files().items():
            try:
                check_input(file, "file")
            except InputError as exc:
                raise InputError(path, f"key {key!r}: {exc.source}: {exc.problem}",
                                 "correct the path (relative paths are read from the catalog's folder)"
                                 if exc.problem.endswith("not found") else exc.fix) from None
    return catalog


def _layer_count(catalog: Catalog) -> int:
    """Bands the feature cube will hold at least, from the catalog alone (a multi-band raster without
    ``bands`` counts as one: files are not opened here)."""
    rasters = sum(len(r.bands or [None]) for r in catalog.rasters.values())
    scenes = sum(len(s.bands) if s.bands else len(SENSORS[s.sensor].reflective) if s.sensor in SENSORS else 1
                 for s in catalog.scenes.values())
    return rasters + scenes + sum(1 for v in catalog.vectors.values() if v.class_column)


def _catalogs_in(folder: Path) -> str:
    found = sorted(p.name for p in folder.glob("*.y*ml"))
    return (f"pass the YAML file inside it, e.g. {folder / found[0]}" + (f" (it holds {', '.join(found)})" if len(found) > 1 else "")
            if found else "pass the path of a YAML catalog file, e.g. data/catalogs/demo.yaml")


def _as_input_error(path: Path, exc: ValidationError) -> InputError:
    """The first validation error, as one sentence naming its key."""
    error = exc.errors()[0]
    key = ".".join(str(p) for p in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return InputError(path, f"unknown key {key!r}", "remove it or fix its spelling (see geoprospect/catalog.py for the keys)")
    if error["type"] == "missing":
        return InputError(path, f"missing key {key!r}", "add it (see geoprospect/catalog.py for the keys)")
    message, _, fix = message.partition(". Fix: ")  # a validator may name its own fix
    return InputError(path, f"key {key!r}: {message}", fix or "correct this value")


def write_catalog(catalog: dict, path: str | Path, header: str = "") -> Path:
    """Write a catalog mapping as YAML (atomically), after checking it validates."""
    path = Path(path)
    Catalog.model_validate(catalog)
    text = (f"# {header}\n" if header else "") + yaml.safe_dump(catalog, sort_keys=False, default_flow_style=None, width=110)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return path
