"""Run a flow's command line in a subprocess, kill it, and inspect what it left on disk.

Shared by the kill-and-resume test and ``benchmarks/resume_cost.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyogrio
import rasterio
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Tasks without a cache policy: they run again on every run by design (cheap reads and the final publish).
UNCACHED_TASKS = {"load_catalog", "fingerprint", "ingested_products", "publish", "publish_artifacts"}
# atomic_path's ".<name>.<8 hex>.tmp<suffix>" and ".<name>.<8 hex>.old" (Zarr's own ".zarray" are not)
_TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{8}\.(tmp|old)")
_STATE_LINE = re.compile(r"Task run '(?P<task>[\w]+)-[0-9a-f]+' - Finished in state (?P<state>\w+)")


def rasters_and_deposits_catalog(demo: Path, study_area: str, **settings) -> Path:
    """A catalog of the built demo in ``demo`` with its grid, rasters, vectors and deposits only (so
    ``regenerate`` runs ingest and prospectivity), plus pipeline ``settings``; written beside the demo,
    where its relative paths hold."""
    built = yaml.safe_load((demo / "catalog.yaml").read_text())
    path = demo / f"{study_area}_rasters_and_deposits.yaml"
    path.write_text(yaml.safe_dump({"study_area": study_area, **{k: built[k] for k in ("grid", "rasters", "vectors", "deposits")},
                                    **settings}, sort_keys=False))
    return path


def start_flow(module: str, catalog: Path, outputs: Path, prefect_home: Path, log: Path) -> subprocess.Popen:
    """Start ``python -m <module> --catalog ... --outputs ...`` in its own process group.

    The process group holds the flow and the temporary Prefect server it starts, so that
    :func:`kill` ends both, like a power cut would.
    """
    prefect_home.mkdir(parents=True, exist_ok=True)  # Prefect makes only the last level itself
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_HOME": str(prefect_home), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180"}
    with open(log, "ab") as handle:
        return subprocess.Popen([sys.executable, "-m", module, "--catalog", str(catalog), "--outputs", str(outputs)],
                                cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the process group of a process started by :func:`start_flow`, and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def wait_until(process: subprocess.Popen, condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``condition`` while the process runs; True once it holds, False if the process ended first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.05)
    raise TimeoutError(f"condition not met within {timeout_s} s")


def task_states(log_text: str) -> Counter:
    """``Counter`` of ``(task name, state)`` from Prefect's "Task run 'x-3f2' - Finished in state Cached" lines."""
    return Counter((m["task"], m["state"]) for m in _STATE_LINE.finditer(log_text))


def recomputed(states: Counter) -> int:
    """How many cacheable task runs computed (rather than loaded their cached result)."""
    return sum(n for (task, state), n in states.items() if state == "Completed" and task not in UNCACHED_TASKS)


def is_temporary(path: Path, root: Path) -> bool:
    """A temporary sibling written by :func:`geoprospect.io.files.atomic_path` (or inside one)."""
    return any(_TEMPORARY.match(part) for part in path.relative_to(root).parts)


def unreadable_files(root: Path) -> list[str]:
    """Every finished file under ``root`` that does not read completely: ``"name: why"`` for each.

    GeoTIFFs are opened and every band read; CSV, JSON and GeoPackage files are parsed; Zarr chunks
    are covered by the hash comparison. Temporary siblings are skipped: they are
    invisible to readers and replaced on the next write.
    """
    problems = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not is_temporary(p, root)):
        try:
            if path.suffix == ".tif":
                with rasterio.open(path) as src:
                    src.read()
            elif path.suffix == ".csv":
                pd.read_csv(path)
            elif path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix == ".gpkg":
                pyogrio.read_dataframe(path)
        except Exception as exc:  # noqa: BLE001 - any failure to read is what this check is for
            problems.append(f"{path.relative_to(root)}: {exc}")
    return problems


def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every finished file under ``root``, by relative name."""
    from geoprospect.io.files import content_hash

    return {str(p.relative_to(root)): content_hash(p) for p in sorted(root.rglob("*"))
            if p.is_file() and not is_temporary(p, root)}
