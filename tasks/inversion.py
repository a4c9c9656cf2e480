"""Inversion tasks: thin, cached wrappers over :mod:`geoprospect.pipelines.inversion`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prefect import task

from geoprospect.pipelines import inversion as core
from geoprospect.io.files import FileRef
from tasks.caching import content_policy, retry_on_io, work_file
from tasks.cluster import cluster_compute
from tasks.progress import counted

_CORE = ("geoprospect.pipelines.inversion",)
CACHED = dict(cache_policy=content_policy(*_CORE), persist_result=True, retries=2, retry_delay_seconds=[1, 5],
              retry_condition_fn=retry_on_io)


def _refs(folder: Path) -> dict[str, FileRef]:
    return {p.name: FileRef.of(p) for p in sorted(folder.iterdir()) if p.is_file()}


@task(**CACHED)
def run_study(name: str, size: str, seed: int, work: str) -> dict:
    folder = work_file(work, "studies", f"{name}-{size}", "", name, size, seed, modules=_CORE)
    summary = core.run_study(name, size, seed, folder)
    return {"files": _refs(folder), "summary": summary}


@task(**CACHED)
def invert_survey_line(refs: list[FileRef], method: str, n_layers: int, depth_max_m: float, work: str,
                       settings: dict | None = None) -> dict:
    folder = work_file(work, "sections", method, "", refs, method, n_layers, depth_max_m, settings, modules=_CORE)
    # Stations in parallel: on the cluster's workers under Dask, else threads (the TEM kernel releases the GIL).
    with cluster_compute() as client, ThreadPoolExecutor(2) as threads:
        executor = client.get_executor() if client else threads
        summary = core.invert_survey_line([Path(r.path) for r in refs], method, n_layers, depth_max_m, folder,
                                          counted(executor.map, f"{method.upper()} stations inverted"), settings)
    return {"files": _refs(folder), "summary": summary}


@task(**CACHED)
def sp_profile_sources(refs: list[FileRef], work: str, shape: str = "sphere", network: bool = False) -> dict:
    folder = work_file(work, "sp", "sources", "", refs, shape, network, modules=_CORE)
    summary = core.sp_profile_sources([Path(r.path) for r in refs], folder, shape, network)
    return {"files": _refs(folder), "summary": summary}


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_on_io)
def publish(studies: dict, lines: dict, sp: dict | None, study_area: str, folder: str) -> str:
    return str(core.publish_inversion(studies, lines, sp, study_area, Path(folder)))
