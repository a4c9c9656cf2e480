"""Two runs of a flow on one study area at once: each cached task is computed once, nothing is clobbered.

The ingest flow runs twice at the same time (two threads, one Prefect server) on a fresh small demo
region with the same outputs folder. With serializable caching (:mod:`tasks.locking`), every cached
task is computed by exactly one of the runs and read from the cache by the other; both runs complete,
and every published file reads completely and equals what a single run publishes.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from flows.ingest import ingest
from geoprospect.demo import ensure_demo
from tasks.runs import task_run_states
from tests.reliability.support import UNCACHED_TASKS, file_hashes, unreadable_files

pytestmark = pytest.mark.slow


def _catalog(folder: Path) -> Path:
    ensure_demo(folder / "demo", seed=11, size_m=3000, resolution_m=60)
    path = folder / "demo.yaml"
    path.write_text(f"study_area: together\ndemo: {{seed: 11, folder: {folder / 'demo'}, size_m: 3000, resolution_m: 60}}\n")
    return path


def _cacheable(states: list[tuple[str, str]]) -> Counter:
    return Counter(state for task, state in states if task not in UNCACHED_TASKS)


def test_two_simultaneous_runs_compute_each_cached_task_once(harness, tmp_path):
    catalog = _catalog(tmp_path)
    outputs = tmp_path / "outputs"
    start = threading.Barrier(2)
    finals = [None, None]

    def run(i: int) -> None:
        start.wait()
        finals[i] = ingest(catalog=str(catalog), outputs=str(outputs), return_state=True)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert all(state is not None and state.is_completed() for state in finals), finals

    counts = [_cacheable(task_run_states(state.state_details.flow_run_id)) for state in finals]
    n_tasks = sum(counts[0].values())
    assert n_tasks > 10 and sum(counts[1].values()) == n_tasks
    # each key computed by one run only: the other found it cached (without the lock both compute)
    assert counts[0]["Completed"] + counts[1]["Completed"] == n_tasks, counts
    assert counts[0]["Cached"] + counts[1]["Cached"] == n_tasks, counts

    published = outputs / "together" / "ingest"
    assert unreadable_files(published) == []
    together = file_hashes(published)

    # a third run alone publishes the same files (all from the cache)
    alone = ingest(catalog=str(catalog), outputs=str(tmp_path / "alone"), return_state=True)
    assert alone.is_completed()
    single = file_hashes(tmp_path / "alone" / "together" / "ingest")
    different = sorted(k for k in together if together[k] != single.get(k) and not k.endswith((".html", ".png")))
    assert set(together) == set(single) and different == [], different
