"""Tectonics tasks: thin, cached wrappers over :mod:`geoprospect.pipelines.tectonics`.

Kinematics run ``steps_per_task`` time steps per task (one Parquet table per step), keyed on the
content of the rotation and topology files and of the steps' age grids, the times and the trench spacing
only: not on paths, the deposits, the region or the study area, so a second study area with the same
plate model reuses them. They are written to ``<outputs>/plate_models/`` (:func:`kinematics_folder`),
shared by the study areas. Chunks are aligned on absolute time (steps 0-9, 10-19 Ma... at 1 Myr), so a
rerun, or a longer time range, computes only the new chunks.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from geoprospect.pipelines import tectonics as core
from geoprospect.catalog import PlateModelSource, TectonicsSpec
from geoprospect.errors import InputError
from geoprospect.io.files import FileRef
from geoprospect.io.plates import PlateModelFiles
from tasks.caching import Contents, content_policy, retry_on_io, work_file

_CORE = ("geoprospect.pipelines.tectonics",)
IO_RETRIES = dict(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_on_io)
CACHED = dict(cache_policy=content_policy(*_CORE), persist_result=True, **IO_RETRIES)
# `model` holds the paths of the files whose content `files` carries; `work` is where the tables go
KINEMATICS = CACHED | dict(cache_policy=content_policy(*_CORE, inputs=Contents(ignore=("model", "work"))))


def kinematics_folder(outputs: str | Path) -> str:
    """Where kinematics tables go: one folder for every study area under ``outputs`` (they share them)."""
    return str(Path(outputs) / "plate_models")


def plate_model_inputs(plates: PlateModelSource | None, refs: dict[str, FileRef], spec: TectonicsSpec) -> dict:
    """The plate model's file refs (from :func:`tasks.ingest.fingerprint`), the time steps and each step's age grid."""
    if plates is None:
        raise InputError("plate_model", "the catalog has no plate model",
                         "add a 'plate_model' section (rotations, topologies, static_polygons, deposits)")
    core.check_deposits(plates)  # the column mapping and the rasters' times are checked before any kinematics
    core.check_rasters(plates)
    times = core.steps(spec)
    grids = {t: core.age_grid_for(plates, t) for t in times}
    chunks: dict[int, list[float]] = {}
    for t in times:
        chunks.setdefault(int(t // (spec.step_myr * spec.steps_per_task)), []).append(t)
    model = ("plate_model.rotations", "plate_model.topologies")
    return {"files": {k: v for k, v in refs.items() if k.startswith("plate_model.")}, "times": times,
            "model_files": {k: v for k, v in refs.items() if k.startswith(model)}, "kinematics_files": core.kinematics_files(plates),
            "chunks": list(chunks.values()), "age_grids": {t: FileRef.of(p) if p else None for t, p in grids.items()}}


@task(**KINEMATICS)
def kinematics_steps(files: dict[str, FileRef], model: PlateModelFiles, times: list[float], spacing_deg: float,
                     age_grids: dict[float, FileRef | None], work: str) -> list[dict]:
    """Kinematics of ``times``, written under ``work``; keyed on the content of the rotation and topology
    files (``files``) and of the age grids, the times and the spacing only (see the module notes)."""
    steps = []
    for t in times:
        grid = age_grids[t]
        path = work_file(work, "kinematics", f"kinematics-{t:g}ma", ".parquet", files, t, spacing_deg, grid, modules=_CORE)
        summary = core.kinematics_step(model, t, spacing_deg, Path(grid.path) if grid else None, path, (min(times), max(times)))
        steps.append({**summary, "table": FileRef.of(path)})
    return steps


@task(**CACHED)
def collect_kinematics(steps: list[dict], work: str) -> dict:
    refs = [s["table"] for s in steps]
    path = work_file(work, "kinematics", "kinematics", ".parquet", refs, modules=_CORE)
    summary = core.collect_kinematics([Path(r.path) for r in refs], path)
    seconds = [s["seconds"] for s in steps]
    return {"table": FileRef.of(path), "files": {"kinematics.parquet": FileRef.of(path)}, **summary,
            "seconds_per_step_mean": sum(seconds) / len(seconds), "seconds_per_step_max": max(seconds)}


@task(**CACHED)
def make_samples(files: dict[str, FileRef], plates: PlateModelSource, kinematics: FileRef, spec: TectonicsSpec, work: str) -> dict:
    folder = work_file(work, "tectonics", "samples", "", files, plates, kinematics, spec, modules=_CORE)
    summary = core.make_samples(plates, Path(kinematics.path), spec, folder)
    refs = {name: FileRef.of(folder / name) for name in ("samples.csv", "samples_report.csv")}
    return {"table": refs["samples.csv"], "files": refs, **summary}


@task(**CACHED)
def cross_validate(samples: FileRef, spec: TectonicsSpec, work: str) -> dict:
    folder = work_file(work, "tectonics", "cv", "", samples, spec, modules=_CORE)
    summary = core.cross_validate(Path(samples.path), spec, folder)
    return {"files": {p.name: FileRef.of(p) for p in sorted(folder.iterdir())}, **summary}


@task(**CACHED)
def through_time(files: dict[str, FileRef], plates: PlateModelSource, kinematics: FileRef, samples: FileRef, model: str,
                 design: str, spec: TectonicsSpec, work: str) -> dict:
    folder = work_file(work, "tectonics", f"through-time-{model}-{design}", "", files, plates, kinematics, samples, model,
                       design, spec, modules=_CORE)
    summary = core.through_time(plates, Path(kinematics.path), Path(samples.path), model, design, spec, folder)
    return {"files": {p.name: FileRef.of(p) for p in sorted(folder.iterdir())}, **summary}


@task(**IO_RETRIES)
def publish(kinematics: dict, samples: dict, cv: dict, scored: dict, spec: TectonicsSpec, study_area: str, folder: str) -> str:
    return str(core.publish_tectonics(kinematics, samples, cv, scored, spec, study_area, Path(folder)))
