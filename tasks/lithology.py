"""Lithology tasks: thin, cached wrappers over :mod:`geoprospect.pipelines.lithology`.

Inputs are the ingested feature cube's :class:`FileRef` and the settings; one task per scene for the
model comparison and the clusters, and one per scene and model for the maps, so that changing a
scene's bands or one model reruns only what depends on it.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from geoprospect.pipelines import lithology as core
from geoprospect.catalog import LithologySpec
from geoprospect.errors import InputError
from geoprospect.io.files import FileRef
from tasks.caching import content_policy, retry_on_io, work_file

_CORE = ("geoprospect.pipelines.lithology",)
IO_RETRIES = dict(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_on_io)
CACHED = dict(cache_policy=content_policy(*_CORE), persist_result=True, **IO_RETRIES)


def _refs(folder: Path) -> dict[str, FileRef]:
    return {p.relative_to(folder).as_posix(): FileRef.of(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def ingested_cube(folder: str) -> FileRef:
    """The ingest flow's published feature cube."""
    cube = Path(folder) / "cube.zarr"
    if not cube.is_dir():
        raise InputError(folder, "no ingested feature cube", "run the ingest flow first (flows.ingest)")
    return FileRef.of(cube)


def scenes_to_map(scenes: dict[str, str], spec: LithologySpec) -> dict[str, str]:
    """Scene key -> sensor of the scenes to classify (``lithology.scenes``, default all)."""
    unknown = sorted(set(spec.scenes) - set(scenes))
    if unknown:
        raise InputError("lithology.scenes", f"scene(s) {unknown} are not in the catalog's 'scenes' {sorted(scenes)}",
                         "name scenes of the catalog")
    if not scenes:
        raise InputError("scenes", "the catalog has no multispectral scene", "add a 'scenes' section (Landsat, ASTER, Sentinel-2...)")
    return {name: sensor for name, sensor in scenes.items() if not spec.scenes or name in spec.scenes}


@task(**CACHED)
def compare_models(cube: FileRef, scene: str, sensor: str, spec: LithologySpec, work: str) -> dict:
    folder = work_file(work, "lithology", f"compare-{scene}", "", cube, scene, sensor, spec, modules=_CORE)
    summary = core.compare_models(Path(cube.path), scene, sensor, spec, folder)
    return {"files": _refs(folder), **summary}


@task(**CACHED)
def map_scene(cube: FileRef, scene: str, sensor: str, model: str, chip_size: int, spec: LithologySpec, work: str) -> dict:
    folder = work_file(work, "lithology", f"map-{scene}-{model}", "", cube, scene, sensor, model, chip_size, spec, modules=_CORE)
    summary = core.map_scene(Path(cube.path), scene, sensor, model, chip_size, spec, folder)
    return {"files": _refs(folder), "chip_size": chip_size, **summary}


@task(**CACHED)
def cluster_scene(cube: FileRef, scene: str, sensor: str, spec: LithologySpec, work: str) -> dict:
    folder = work_file(work, "lithology", f"clusters-{scene}", "", cube, scene, sensor, spec, modules=_CORE)
    summary = core.cluster_scene(Path(cube.path), scene, sensor, spec, folder)
    return {"files": _refs(folder), **summary}


@task(**IO_RETRIES)
def publish(comparisons: dict[str, dict], maps: dict[str, dict], clusters: dict[str, dict], spec: LithologySpec,
            study_area: str, folder: str) -> str:
    return str(core.publish_lithology(comparisons, maps, clusters, spec, study_area, Path(folder)))
