"""A run killed with SIGKILL at several points resumes to the same products, recomputing only what was lost.

A flow's command line runs on a small demo (4 km at 60 m) in a subprocess with its own PREFECT_HOME
and outputs folder. ``flows.ingest`` is killed (with its temporary Prefect server: the whole process
group) while the first layers are aligned, while the feature cube is written and while quicklooks are
rendered; ``flows.regenerate`` (on the demo's rasters, vectors and deposits: ingest, then
prospectivity) while models are cross-validated and while a map is written. Each later attempt
resumes the previous one. After every kill, every finished file
must read completely; after the final run, the published products must equal those of an
uninterrupted run in a fresh PREFECT_HOME, and every task that had finished before a kill must be
read from the cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from geoprospect.demo import ensure_demo
from tests.reliability.support import (
    UNCACHED_TASKS,
    file_hashes,
    kill,
    rasters_and_deposits_catalog,
    recomputed,
    start_flow,
    task_states,
    unreadable_files,
    wait_until,
)

pytestmark = pytest.mark.slow
AREA = "killtest"
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kill-demo")
    ensure_demo(folder / "demo", seed=5, size_m=4000, resolution_m=60)  # built once, outside the timed runs
    path = folder / "demo.yaml"
    path.write_text(f"study_area: {AREA}\ndemo: {{seed: 5, folder: {folder / 'demo'}, size_m: 4000, resolution_m: 60}}\n"
                    "prospectivity: {models: {rf: {model: rf, params: {n_estimators: 60}}}, imbalance: [none, smote], "
                    "n_folds: 3, background_samples: 400, map_sample: 2000}\n")
    return path


@pytest.fixture(scope="module")
def catalogs(catalog) -> dict[str, Path]:
    """The demo catalog for ingest; for regenerate, its rasters, vectors and deposits only, so that the
    run is ingest and prospectivity (the pipelines with the kill points) and fits in CI."""
    settings = yaml.safe_load(catalog.read_text())
    regenerate = rasters_and_deposits_catalog(catalog.parent / "demo", AREA, prospectivity=settings["prospectivity"])
    return {"flows.ingest": catalog, "flows.regenerate": regenerate}


def _has_entries(folder: Path, at_least: int = 1):
    return lambda: folder.is_dir() and sum(1 for _ in folder.iterdir()) >= at_least


def _run_to_end(module: str, catalog: Path, outputs: Path, home: Path, log: Path) -> str:
    start = log.stat().st_size if log.exists() else 0
    process = start_flow(module, catalog, outputs, home, log)
    assert process.wait(timeout=RUN_TIMEOUT_S) == 0, log.read_text()[-3000:]
    return log.read_text()[start:]


def _kill_points(module: str, work: Path) -> dict:
    if module == "flows.ingest":
        return {"aligning the first layers": _has_entries(work / "layers"),
                "writing the feature cube": _has_entries(work / "cube"),
                "rendering quicklooks": _has_entries(work / "quicklooks", at_least=6)}
    return {"cross-validating (training) the models": _has_entries(work / "cv"),
            "writing a map": lambda: any(p.is_file() for p in (work / "maps").rglob("*")) if (work / "maps").is_dir() else False}


@pytest.mark.parametrize("module, published, last_task", [("flows.ingest", ["ingest"], "render_quicklooks"),
                                                          ("flows.regenerate", ["ingest", "prospectivity"], "cross_validate_model")])
def test_killed_runs_resume_to_the_uninterrupted_result(catalogs, tmp_path, module, published, last_task):
    catalog = catalogs[module]
    reference = tmp_path / "reference"
    reference_states = task_states(_run_to_end(module, catalog, reference / "outputs", reference / "prefect", tmp_path / "reference.log"))

    outputs, home, log = tmp_path / "outputs", tmp_path / "prefect", tmp_path / "resumed.log"
    finished_before: dict[str, int] = {}  # task -> most runs of it that had finished in one attempt
    for point, reached in _kill_points(module, outputs / AREA / "work").items():
        start = log.stat().st_size if log.exists() else 0
        process = start_flow(module, catalog, outputs, home, log)
        assert wait_until(process, reached, RUN_TIMEOUT_S), f"the run ended before {point}: make the kill point earlier"
        kill(process)
        assert unreadable_files(outputs) == [], f"killed while {point}"
        for (task, state), n in task_states(log.read_text()[start:]).items():
            if state in ("Completed", "Cached"):
                finished_before[task] = max(finished_before.get(task, 0), n)

    final_states = task_states(_run_to_end(module, catalog, outputs, home, log))
    assert unreadable_files(outputs) == []
    # the CLI starts the temporary server with its output in PREFECT_HOME's log (flows/cli.py): loopback only
    assert "Starting temporary server on http://127.0.0.1:" in (home / "temporary-server.log").read_text()

    # (b) what finished before a kill is read from the cache, and the resumed run does less work
    cached = {task: n for (task, state), n in final_states.items() if state == "Cached"}
    not_reused = {task: (n, cached.get(task, 0)) for task, n in finished_before.items()
                  if task not in UNCACHED_TASKS and cached.get(task, 0) < n}
    assert not_reused == {}, f"tasks finished before a kill but recomputed (finished, cached): {not_reused}"
    assert finished_before.get(last_task, 0) > 0  # the last kill came after some of these finished
    assert recomputed(final_states) < recomputed(reference_states)

    # (c) the published products equal those of the uninterrupted run, bit for bit
    resumed_files = {f"{p}/{k}": v for p in published for k, v in file_hashes(outputs / AREA / p).items()}
    reference_files = {f"{p}/{k}": v for p in published for k, v in file_hashes(reference / "outputs" / AREA / p).items()}
    assert sorted(resumed_files) == sorted(reference_files)
    differ = sorted(name for name in resumed_files if resumed_files[name] != reference_files[name])
    assert not differ, f"published files that differ from the uninterrupted run: {differ}"
