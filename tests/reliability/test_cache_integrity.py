"""Cache integrity: a cache hit whose files were edited, replaced or deleted is recomputed, and a
published file edited in place never reaches the cache (issue 20).

A tiny flow with one cached task (the production cache policy, :func:`tasks.caching.content_policy`)
writes a content-addressed work file and returns its :class:`FileRef`; the task body counts its
calls. The slow test kills a run of the ingest CLI, edits a cached work file and a published one, and
checks the rerun republishes exactly what an uninterrupted run published.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prefect import flow, task

from geoprospect.io.files import FileRef, atomic_path, publish
from tasks.caching import content_policy, is_intact, work_file


@task(cache_policy=content_policy(), persist_result=True)
def _make(text: str, work: str, calls: str) -> dict:
    with open(calls, "a") as handle:
        handle.write("x")
    path = work_file(work, "stage", "product", ".txt", text)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return {"files": {"product.txt": FileRef.of(path)}}


@flow
def _tiny(text: str, work: str, calls: str) -> str:
    return _make(text, work, calls)["files"]["product.txt"].path


def _calls(path: Path) -> int:
    return len(path.read_text()) if path.exists() else 0


def test_edited_replaced_or_deleted_cached_files_are_recomputed(harness, tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_LOCAL_STORAGE_PATH", str(tmp_path / "storage"))
    work, calls = str(tmp_path / "work"), tmp_path / "calls"
    product = Path(_tiny("granite", work, str(calls)))
    assert _calls(calls) == 1
    _tiny("granite", work, str(calls))
    assert _calls(calls) == 1  # a true cache hit: intact files are read from the cache

    with open(product, "r+") as handle:  # edited in place, same size
        handle.write("GRANITE")
    _tiny("granite", work, str(calls))
    assert _calls(calls) == 2 and product.read_text() == "granite"

    product.write_text("basalt")  # replaced by other valid content, its time set back (cp -p)
    os.utime(product, ns=(0, 0))
    _tiny("granite", work, str(calls))
    assert _calls(calls) == 3 and product.read_text() == "granite"

    product.unlink()
    _tiny("granite", work, str(calls))
    assert _calls(calls) == 4 and product.read_text() == "granite"
    _tiny("granite", work, str(calls))
    assert _calls(calls) == 4


def test_intact_files_are_not_hashed_again(tmp_path, monkeypatch):
    """The cheap path: once a file's hash is remembered with its stat signature, checking it reads no bytes."""
    monkeypatch.setenv("PREFECT_LOCAL_STORAGE_PATH", str(tmp_path / "storage"))
    path = tmp_path / "layer.bin"
    path.write_bytes(b"\1" * 1000)
    ref = FileRef.of(path)
    assert is_intact(ref)

    import tasks.caching

    def no_hashing(_):
        raise AssertionError("hashed again")

    monkeypatch.setattr(tasks.caching, "content_hash", no_hashing)
    assert is_intact(ref)
    path.write_bytes(b"\2" * 1000)  # a changed signature must be hashed: here that raises, so not intact
    with pytest.raises(AssertionError, match="hashed again"):
        is_intact(ref)


def test_published_copies_do_not_share_the_cached_file(tmp_path):
    work = tmp_path / "work" / "model.skops"
    work.parent.mkdir()
    work.write_bytes(b"model one")
    published = publish(work, tmp_path / "outputs" / "model.skops")
    with open(published, "r+b") as handle:  # an in-place edit, as QGIS edits a GeoPackage
        handle.write(b"MODEL")
    assert work.read_bytes() == b"model one"
    publish(work, published)  # the next run repairs the published copy
    assert published.read_bytes() == b"model one"
    mtime = published.stat().st_mtime_ns
    publish(work, published)  # unchanged: not copied again
    assert published.stat().st_mtime_ns == mtime


def test_published_folders_are_copies(tmp_path):
    store = tmp_path / "work" / "cube.zarr"
    (store / "cube").mkdir(parents=True)
    (store / "cube" / "0.0.0").write_bytes(b"chunk")
    published = publish(store, tmp_path / "outputs" / "cube.zarr")
    (published / "cube" / "0.0.0").write_bytes(b"edited")
    assert (store / "cube" / "0.0.0").read_bytes() == b"chunk"
    publish(store, published)
    assert (published / "cube" / "0.0.0").read_bytes() == b"chunk"


def test_leftovers_of_dead_writers_are_removed_at_the_next_run_start(tmp_path):
    """Temporaries of a killed writer (its pid gone) are removed; a live writer's and newer ones stay."""
    import subprocess
    import sys
    import time

    from geoprospect.io.files import remove_leftovers

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = f"{int(dead.stdout):x}"
    area = tmp_path / "area"
    (area / "work" / "cube").mkdir(parents=True)
    killed_file = area / "work" / "layers" / f".magnetics.tif.{dead_pid}.0a1b2c3d.tmp.tif"
    killed_store = area / "work" / "cube" / f".cube.zarr.{dead_pid}.0a1b2c3d.tmp.zarr"
    staged = area / f".map.tif.{dead_pid}.0a1b2c3d.tmp.tif.stream.tif"
    live = area / "work" / "layers" / f".gravity.tif.{os.getpid():x}.0a1b2c3d.tmp.tif"
    legacy = area / ".report.html.0a1b2c3d.tmp.html"  # named before writers' pids were recorded
    finished = area / "work" / "layers" / "magnetics.tif"
    for path in (killed_file, staged, live, legacy, finished):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    (killed_store / "cube").mkdir(parents=True)
    (killed_store / "cube" / "0.0.0").write_text("x")
    started = time.time() + 1
    removed = remove_leftovers(area, started)
    assert sorted(removed) == sorted([killed_file, killed_store, staged, legacy])
    assert live.exists() and finished.exists()

    newer = area / f".late.tif.{dead_pid}.0a1b2c3d.tmp.tif"  # written after the run started: not a leftover
    newer.write_text("x")
    assert remove_leftovers(area, time.time() - 60) == []
