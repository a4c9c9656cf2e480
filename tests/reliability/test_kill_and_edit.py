"""Kill, then edit: a cached work file replaced by another valid one and a published file edited in
place are both repaired by the next run, whose products equal an uninterrupted run's (issue 20).

``flows.ingest`` runs on a small demo (4 km at 60 m) in a subprocess. It is killed while quicklooks
are rendered (the aligned layers are cached by then); one cached layer is then replaced by another
valid GeoTIFF (the user "fixing" a layer in the work folder). The resumed run must recompute that
layer (the cache check drops the record) and publish what an uninterrupted run publishes. Then a
published layer is edited in place: the cached work file must be unaffected (publish copies), and the
next run recomputes nothing and restores the published file. The temporaries the kill left behind
are gone after the resumed run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from geoprospect.demo import ensure_demo
from geoprospect.io.files import content_hash
from tests.reliability.support import (
    UNCACHED_TASKS,
    file_hashes,
    is_temporary,
    kill,
    recomputed,
    start_flow,
    task_states,
    unreadable_files,
    wait_until,
)

pytestmark = pytest.mark.slow
AREA = "editkill"
RUN_TIMEOUT_S = 300


def _run_to_end(catalog: Path, outputs: Path, home: Path, log: Path) -> str:
    start = log.stat().st_size if log.exists() else 0
    process = start_flow("flows.ingest", catalog, outputs, home, log)
    assert process.wait(timeout=RUN_TIMEOUT_S) == 0, log.read_text()[-3000:]
    return log.read_text()[start:]


def test_killed_run_with_an_edited_cache_and_output_resumes_to_the_uninterrupted_result(tmp_path):
    ensure_demo(tmp_path / "demo", seed=5, size_m=4000, resolution_m=60)
    catalog = tmp_path / "demo.yaml"
    catalog.write_text(f"study_area: {AREA}\ndemo: {{seed: 5, folder: {tmp_path / 'demo'}, size_m: 4000, resolution_m: 60}}\n")
    reference = tmp_path / "reference"
    _run_to_end(catalog, reference / "outputs", reference / "prefect", tmp_path / "reference.log")
    expected = file_hashes(reference / "outputs" / AREA / "ingest")

    outputs, home, log = tmp_path / "outputs", tmp_path / "prefect", tmp_path / "run.log"
    work = outputs / AREA / "work"
    process = start_flow("flows.ingest", catalog, outputs, home, log)
    reached = lambda: (work / "quicklooks").is_dir() and sum(1 for _ in (work / "quicklooks").iterdir()) >= 6  # noqa: E731
    assert wait_until(process, reached, RUN_TIMEOUT_S), "the run ended before rendering quicklooks"
    kill(process)
    leftovers = [p for p in outputs.rglob("*") if is_temporary(p, outputs)]

    layers = sorted(p for p in (work / "layers").glob("*.tif") if not p.name.startswith("."))
    assert len(layers) >= 2
    victim, other = layers[0], layers[1]
    shutil.copyfile(other, victim)  # another valid GeoTIFF under the cached name

    resumed = _run_to_end(catalog, outputs, home, log)
    assert "cached result dropped" in resumed and str(victim) in resumed
    assert [p for p in leftovers if p.exists()] == []  # the killed run's temporaries were removed at the start
    assert unreadable_files(outputs) == []
    published = file_hashes(outputs / AREA / "ingest")
    assert sorted(published) == sorted(expected)
    assert not {n for n in published if published[n] != expected[n]}

    name = next(n for n in published if n.startswith("layers/") and n.endswith(".tif"))
    edited = outputs / AREA / "ingest" / name
    cached_before = {p.name: content_hash(p) for p in (work / "layers").glob("*.tif")}
    with open(edited, "r+b") as handle:  # an in-place edit of a published map
        handle.seek(edited.stat().st_size // 2)
        handle.write(b"\0" * 64)
    assert {p.name: content_hash(p) for p in (work / "layers").glob("*.tif")} == cached_before

    states = task_states(_run_to_end(catalog, outputs, home, log))
    assert recomputed(states) == 0, {k: n for k, n in states.items() if k[0] not in UNCACHED_TASKS and k[1] == "Completed"}
    assert content_hash(edited) == expected[name]
