"""Lithology tasks: thin, cached wrappers over :mod:`geoprospect.pipelines.lithology`.

The cached tasks are keyed on what they read (issue 22): the digest of the scene's bands and the label
layer (:func:`scene_inputs`), the settings and the code, not on the whole feature cube, whose path
they take as text. Editing another layer of the cube (a DEM pixel) reruns no lithology task. One
task per scene for the model comparison and the clusters, and one per scene and model for the maps,
so that changing a scene's bands or one model reruns only what depends on it.
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
    """Scene key -> sensor of the scenes to classify (``lithology.scenes``, default all; the catalog checks the keys)."""
    return {name: sensor for name, sensor in scenes.items() if not spec.scenes or name in spec.scenes}


@task(**IO_RETRIES)
def scene_inputs(cube: FileRef, scene: str, sensor: str, spec: LithologySpec) -> str:
    """The digest of the scene's bands and label layer in the cube: the cache key of its tasks."""
    return core.scene_digest(Path(cube.path), scene, sensor, spec)


@task(**CACHED)
def compare_models(cube: str, inputs: str, scene: str, sensor: str, spec: LithologySpec, work: str) -> dict:
    folder = work_file(work, "lithology", f"compare-{scene}", "", inputs, scene, sensor, spec, modules=_CORE)
    summary = core.compare_models(Path(cube), scene, sensor, spec, folder)
    return {"files": _refs(folder), **summary}


@task(**CACHED)
def map_scene(cube: str, inputs: str, scene: str, sensor: str, model: str, chip_size: int, spec: LithologySpec, work: str) -> dict:
    folder = work_file(work, "lithology", f"map-{scene}-{model}", "", inputs, scene, sensor, model, chip_size, spec, modules=_CORE)
    summary = core.map_scene(Path(cube), scene, sensor, model, chip_size, spec, folder)
    return {"files": _refs(folder), "chip_size": chip_size, **summary}


@task(**CACHED)
def cluster_scene(cube: str, inputs: str, scene: str, sensor: str, spec: LithologySpec, work: str) -> dict:
    folder = work_file(work, "lithology", f"clusters-{scene}", "", inputs, scene, sensor, spec, modules=_CORE)
    summary = core.cluster_scene(Path(cube), scene, sensor, spec, folder)
    return {"files": _refs(folder), **summary}


@task(**CACHED)
def report(comparisons: dict[str, dict], maps: dict[str, dict], clusters: dict[str, dict], spec: LithologySpec,
           study_area: str, work: str) -> dict:
    """The report's tables, figures and page, keyed on the products it reads (their files by content) and the settings."""
    folder = work_file(work, "lithology", "report", "", comparisons, maps, clusters, spec, study_area, modules=_CORE)
    core.write_report(comparisons, maps, clusters, spec, study_area, folder)
    return {"files": _refs(folder)}


@task(**IO_RETRIES)
def publish(comparisons: dict[str, dict], maps: dict[str, dict], clusters: dict[str, dict], report: dict, folder: str) -> str:
    """Copy the products and the report into the published folder (unchanged files skipped)."""
    return str(core.publish_lithology(comparisons, maps, clusters, report, Path(folder)))
