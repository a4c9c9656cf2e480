"""Transient faults in the real ingestion tasks: flaky reads are retried, a read-only output folder is
reported clearly and leaves the previous output as it was. (The retry rule itself, on a toy task:
``tests/flows/test_retries.py``.)"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from affine import Affine
from prefect import flow

import geoprospect.pipelines.ingest as core
from geoprospect.catalog import RasterSource
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.io import files
from geoprospect.io.files import FileRef, content_hash
from tasks.ingest import align_raster

ROOT = Path(__file__).resolve().parents[2]
UTM = "EPSG:32612"
GRID = TargetGrid(UTM, 500_000.0, 3_601_200.0, 60.0, 20, 20)


@pytest.fixture
def raster(tmp_path, write_tif):
    values = np.random.default_rng(int.from_bytes(os.urandom(4))).random((40, 40)).astype("float32")  # a new cache key each test
    return write_tif(tmp_path / "magnetics.tif", values, UTM, Affine(30, 0, 500_000, 0, -30, 3_601_200))


@flow
def _align(raster: str, work: str) -> dict:
    fast = align_raster.with_options(retry_delay_seconds=0)  # same retries and retry rule, no waiting
    return fast(FileRef.of(raster), RasterSource(path=raster), GRID, work, "magnetics")


def _run(raster, work):
    return _align(str(raster), str(work))


def test_a_reader_that_fails_twice_is_retried(harness, raster, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = core.ingest_raster

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OSError(errno.EIO, "Input/output error (NFS server not responding)", str(raster))
        return real(*args, **kwargs)

    monkeypatch.setattr(core, "ingest_raster", flaky)
    product = _run(raster, tmp_path / "work")
    assert calls["n"] == 3 and content_hash(product["layer"].path) == product["layer"].sha256


def test_a_reader_that_keeps_failing_fails_after_the_retries(harness, raster, tmp_path, monkeypatch):
    calls = {"n": 0}

    def broken(*args, **kwargs):
        calls["n"] += 1
        raise OSError(errno.EIO, "Input/output error", str(raster))

    monkeypatch.setattr(core, "ingest_raster", broken)
    with pytest.raises(OSError, match="Input/output error"):
        _run(raster, tmp_path / "work")
    assert calls["n"] == 1 + align_raster.retries


def test_a_read_only_output_folder_is_reported_and_keeps_the_previous_output(harness, raster, tmp_path, monkeypatch):
    """Publishing into a read-only file system fails on the final rename: the error names the file,
    the old version stays, and no temporary file is left behind."""
    work = tmp_path / "work"
    layer = _run(raster, work)["layer"].path
    before = content_hash(layer)
    destination = tmp_path / "published" / "magnetics.tif"
    files.publish(layer, destination)

    def read_only(source, target):
        raise OSError(errno.EROFS, "Read-only file system", str(target))

    monkeypatch.setattr(files.os, "replace", read_only)
    with pytest.raises(OSError, match="Read-only file system") as info:
        files.publish(raster, destination)
    assert "magnetics.tif" in str(info.value)
    assert content_hash(destination) == before and os.listdir(destination.parent) == ["magnetics.tif"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_really_read_only_folder(harness, raster, tmp_path):
    work = tmp_path / "work"
    (work / "layers").mkdir(parents=True)
    (work / "layers").chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="layers"):
            _run(raster, work)
    finally:
        (work / "layers").chmod(0o755)


def test_a_file_that_vanishes_after_listing_is_retried_then_reported(harness, raster, tmp_path, monkeypatch):
    """Listed (hashed) at the start, gone when the task reads it: retried, since a sync may bring it
    back; still gone after the retries, the error names the file and says what to do."""
    ref = FileRef.of(raster)
    hidden = raster.with_name(".magnetics.tif.syncing")
    raster.rename(hidden)
    attempts = {"n": 0}
    real = FileRef.verify

    def verify_and_count(self):
        attempts["n"] += 1
        return real(self)

    monkeypatch.setattr(FileRef, "verify", verify_and_count)

    @flow
    def align_listed(work: str) -> dict:
        return align_raster.with_options(retry_delay_seconds=0)(ref, RasterSource(path=ref.path), GRID, work, "magnetics")

    with pytest.raises(FileNotFoundError, match="gone.*restore it") as info:
        align_listed(str(tmp_path / "work"))
    assert "magnetics.tif" in str(info.value) and attempts["n"] == 1 + align_raster.retries

    # back before the last retry: the run goes on
    attempts["n"] = 0

    def verify_then_restore(self):
        attempts["n"] += 1
        if attempts["n"] == 2:
            hidden.rename(raster)
        return real(self)

    monkeypatch.setattr(FileRef, "verify", verify_then_restore)
    product = align_listed(str(tmp_path / "work"))
    assert attempts["n"] == 2 and content_hash(product["layer"].path) == product["layer"].sha256


def test_a_file_changed_after_listing_is_refused(raster):
    ref = FileRef.of(raster)
    raster.write_bytes(raster.read_bytes() + b"\0")
    with pytest.raises(InputError, match="magnetics.tif.*changed while the run"):
        ref.verify()


def test_a_full_disk_while_aligning_blames_the_output_and_leaves_nothing(tmp_path, write_tif):
    """The disk fills while a layer is written (a file-size limit makes GDAL's writes fail for real, in
    a child process): the error names the output and says what to do, not 'input corrupt', and no
    partial file is left."""
    source = write_tif(tmp_path / "magnetics.tif", np.random.default_rng(0).random((400, 400)).astype("float32"),
                       UTM, Affine(30, 0, 500_000, 0, -30, 3_612_000))
    out = tmp_path / "layers"
    out.mkdir()
    script = textwrap.dedent(f"""
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
        from geoprospect.grid import TargetGrid
        from geoprospect.io.rasters import BandSpec, align_raster
        grid = TargetGrid("{UTM}", 500_000.0, 3_612_000.0, 30.0, 400, 400)
        try:
            align_raster([("{source}", BandSpec(1, "magnetics"))], grid, "{out / 'magnetics.tif'}")
        except OSError as error:
            print(type(error).__name__, error)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.startswith("OSError"), done.stdout + done.stderr[-2000:]
    assert "magnetics.tif" in done.stdout and "disk full" in done.stdout and "rerun" in done.stdout
    assert "corrupt" not in done.stdout
    assert os.listdir(out) == []
