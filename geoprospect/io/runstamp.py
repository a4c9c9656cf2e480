"""The stamp of a finished command-line run, so that the same command with nothing changed is answered at once.

A rerun with nothing changed only looks every task up in Prefect's cache and rewrites the same files, and
most of its time goes to importing Prefect and the pipelines and starting Prefect's temporary server. After
a run succeeds the command line writes ``outputs/<study_area>/.runs/<flow>.json``: a digest of what the
run depended on and what it left. A later identical command whose digest matches prints the stored
summary instead of starting Prefect (``--force`` runs it anyway). The digest covers

- the command: flow, catalog path, outputs folder;
- the catalog file's text and, for a ``demo:`` catalog, the built demo's catalog and manifest (the
  builder's settings and code digest: a demo to rebuild never matches);
- every input file the catalog names, by :func:`geoprospect.io.files.file_signature` (size, times, inode);
- the code: every ``.py`` under ``geoprospect/``, ``tasks/``, ``flows/`` and ``pyproject.toml``, by content;
  and the installed distributions with their versions (a library upgrade can change results);
- every file under ``outputs/<study_area>/`` (the stamps excepted) by signature: an output edited,
  removed or rewritten by another run makes the next command run for real.

Anything it cannot read makes the digest differ, so the fallback is always the real run.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from geoprospect.io.catalog import read_catalog
from geoprospect.io.files import atomic_path, file_signature

ROOT = Path(__file__).resolve().parents[2]
CODE = ("geoprospect", "tasks", "flows")
STAMPS = ".runs"  # hidden: run pages, STAC and QGIS listings skip it


def stamp_path(outputs: str | Path, study_area: str, flow: str) -> Path:
    return Path(outputs) / study_area / STAMPS / f"{flow.replace(':', '.')}.json"


def run_digest(flow: str, catalog: str | Path, outputs: str | Path) -> tuple[str, str] | None:
    """``(study_area, digest)`` of a command as it would run now; None when its inputs cannot be resolved."""
    catalog = Path(catalog)
    try:
        cat = read_catalog(catalog, check_files=False)
        parts = [f"{flow}\n{catalog.resolve()}\n{Path(outputs).resolve()}", catalog.read_text()]
        resolved = catalog
        if cat.demo is not None:  # the pipelines read the demo region built from these settings
            folder = Path(cat.demo.folder)
            resolved = folder / "catalog.yaml"
            parts += [resolved.read_text(), (folder / "demo_manifest.json").read_text()]
        files = read_catalog(resolved, check_files=False).files()
    except (OSError, ValueError):  # a demo not built yet, a catalog that does not read: run for real
        return None
    parts += [f"{key}={file_signature(path)}" for key, path in sorted(files.items())]
    parts += [_code_digest(), _distributions()]
    area = Path(outputs) / cat.study_area
    parts += [f"{p.relative_to(area).as_posix()}={file_signature(p)}" for p in sorted(area.rglob("*"))
              if p.is_file() and STAMPS not in p.relative_to(area).parts]
    return cat.study_area, hashlib.sha256("\0".join(parts).encode()).hexdigest()


def unchanged_run(flow: str, catalog: str | Path, outputs: str | Path) -> dict | None:
    """The stored stamp (``finished``, ``result``) when the command would redo exactly its last successful run."""
    digest = run_digest(flow, catalog, outputs)
    if digest is None:
        return None
    path = stamp_path(outputs, digest[0], flow)
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stamp if stamp.get("digest") == digest[1] else None


def write_stamp(flow: str, catalog: str | Path, outputs: str | Path, result) -> Path | None:
    """Record a successful run (after it wrote its outputs); returns the stamp's path."""
    digest = run_digest(flow, catalog, outputs)
    if digest is None:
        return None
    path = stamp_path(outputs, digest[0], flow)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = {"digest": digest[1], "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "result": result}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(stamp, indent=1, default=str))
    return path


def forget_stamp(flow: str, catalog: str | Path, outputs: str | Path) -> None:
    """Remove the command's stamp before a real run: a run that fails must not leave the last success's."""
    try:
        study_area = read_catalog(catalog, check_files=False).study_area
    except (OSError, ValueError):
        return
    stamp_path(outputs, study_area, flow).unlink(missing_ok=True)


def _code_digest() -> str:
    digest = hashlib.sha256()
    files = [p for folder in CODE for p in sorted((ROOT / folder).rglob("*.py"))] + [ROOT / "pyproject.toml"]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _distributions() -> str:
    return ";".join(sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()))
