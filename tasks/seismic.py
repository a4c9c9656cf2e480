"""Seismic detection tasks: thin, cached wrappers over :mod:`geoprospect.pipelines.seismic`.

Inputs are :class:`FileRef` (path + content hash) of the catalog's waveform files, so editing a
MiniSEED file or the windows table recuts the windows and reruns what follows; the ablation and the
main training are separate tasks, so they run side by side and cache apart.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from geoprospect.pipelines import seismic as core
from geoprospect.catalog import SeismicSpec
from geoprospect.errors import InputError
from geoprospect.io.files import FileRef
from tasks.caching import content_policy, retry_on_io, work_file

_CORE = ("geoprospect.pipelines.seismic",)
IO_RETRIES = dict(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_on_io)
CACHED = dict(cache_policy=content_policy(*_CORE), persist_result=True, **IO_RETRIES)


def _refs(folder: Path) -> dict[str, FileRef]:
    return {p.relative_to(folder).as_posix(): FileRef.of(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def waveform_inputs(refs: dict[str, FileRef]) -> dict:
    """The catalog's waveform files, events and windows table from :func:`tasks.ingest.fingerprint`'s refs.

    Raises
    ------
    InputError
        The catalog has no ``waveforms`` section, or neither a labelled ``windows`` table nor ``events`` (picks).
    """
    files = [ref for key, ref in sorted(refs.items()) if key.startswith("waveforms.files[")]
    if not files:
        raise InputError("waveforms", "the catalog has no waveform files", "add a 'waveforms' section with 'files'")
    if "waveforms.windows" not in refs and "waveforms.events" not in refs:
        raise InputError("waveforms.windows", "the seismic flow needs a table of labelled windows or of P picks",
                         "add 'windows:' (station, start_time, end_time, window_s, label, snr_db) or 'events:' "
                         "(station, phase, time per pick) to 'waveforms'")
    return {"files": files, "windows": refs.get("waveforms.windows"), "events": refs.get("waveforms.events")}


@task(**CACHED)
def cut_dataset(files: list[FileRef], windows: FileRef | None, events: FileRef | None, spec: SeismicSpec, work: str) -> dict:
    events = None if windows else events  # picks lay the windows only when there is no windows table
    folder = work_file(work, "seismic", "windows", "", files, windows, events, spec, modules=_CORE)
    summary = core.cut_dataset([Path(f.path) for f in files], Path(windows.path) if windows else None, spec, folder,
                               Path(events.path) if events else None)
    return {"dataset": FileRef.of(folder), "files": {"windows.csv": FileRef.of(folder / "windows.csv")}, "summary": summary}


@task(**CACHED)
def train_detectors(dataset: FileRef, spec: SeismicSpec, work: str) -> dict:
    folder = work_file(work, "seismic", "detectors", "", dataset, spec, modules=_CORE)
    folder.mkdir(parents=True, exist_ok=True)
    summary = core.train_detectors(Path(dataset.path), spec, folder)
    return {"detectors": FileRef.of(folder), "files": _refs(folder), **summary}


@task(**CACHED)
def run_ablation(dataset: FileRef, spec: SeismicSpec, work: str) -> dict:
    folder = work_file(work, "seismic", "ablation", "", dataset, spec, modules=_CORE)
    folder.mkdir(parents=True, exist_ok=True)
    summary = core.run_ablation(Path(dataset.path), spec, folder)
    return {"files": _refs(folder), **summary}


@task(**CACHED)
def scan_held_out(dataset: FileRef, detectors: FileRef, files: list[FileRef], events: FileRef | None, spec: SeismicSpec,
                  work: str) -> dict:
    folder = work_file(work, "seismic", "scan", "", dataset, detectors, files, events, spec, modules=_CORE)
    folder.mkdir(parents=True, exist_ok=True)
    summary = core.scan_held_out(Path(dataset.path), Path(detectors.path), [Path(f.path) for f in files],
                                 Path(events.path) if events else None, spec, folder)
    return {"files": _refs(folder), **summary}


@task(**IO_RETRIES)
def publish(dataset: dict, trained: dict, ablated: dict, scanned: dict, study_area: str, folder: str) -> str:
    """Link every product into ``outputs/<area>/seismic/`` and write the metrics table and the report."""
    return str(core.publish_seismic(dataset, trained, ablated, scanned, study_area, Path(folder)))
