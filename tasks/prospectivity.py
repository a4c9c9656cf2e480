"""Prospectivity tasks: thin, cached wrappers over :mod:`geoprospect.pipelines.prospectivity`.

One task per (model, imbalance option) step, keyed by that model's own settings: changing one
model's parameters retrains that model only.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from geoprospect.pipelines import prospectivity as core
from geoprospect.pipelines import prospectivity_extras as extras
from geoprospect.catalog import ModelSpec, ProspectivitySpec
from geoprospect.grid import TargetGrid
from geoprospect.io.files import FileRef
from tasks.caching import content_policy, retry_on_io, work_file
from tasks.cluster import cluster_compute
from tasks.progress import Progress

_CORE = ("geoprospect.pipelines.prospectivity",)
_EXTRAS = _CORE + ("geoprospect.pipelines.prospectivity_extras", "geoprospect.uncertainty")
CACHED = dict(cache_policy=content_policy(*_CORE), persist_result=True, retries=2, retry_delay_seconds=[1, 5],
              retry_condition_fn=retry_on_io)


# Settings that steps after the models read (the flow reads the switches; explain_model reads its own).
_LATER_STEPS = ("uncertainty", "uncertainty_models", "ensemble_top", "explain_features", "explain_method", "explain_max_cells")
_EXPLAIN = ("explain_features", "explain_method", "explain_max_cells")


def shared_settings(spec: ProspectivitySpec) -> ProspectivitySpec:
    """The settings every model shares (sampling, folds, preprocessing): the models, and the settings of
    the spread, ensemble and SHAP steps, are left out (set to their defaults) so that editing one of them
    does not invalidate every model's cache key."""
    defaults = ProspectivitySpec()
    return spec.model_copy(update={"models": {}, "imbalance": ["none"], "save_model": None,
                                   **{name: getattr(defaults, name) for name in _LATER_STEPS}})


def explain_settings(spec: ProspectivitySpec) -> ProspectivitySpec:
    """The shared settings plus the SHAP step's own: only the SHAP step reruns when those change."""
    return shared_settings(spec).model_copy(update={name: getattr(spec, name) for name in _EXPLAIN})


def _refs(folder: Path) -> dict[str, FileRef]:
    return {p.relative_to(folder).as_posix(): FileRef.of(p) for p in sorted(folder.rglob("*")) if p.is_file()}


@task(**CACHED)
def engineer_features(cube: FileRef, lines: dict[str, tuple[FileRef, str]], scenes: dict[str, str], grid: TargetGrid,
                      window_cells: int, work: str, mask: FileRef | None = None) -> dict:
    destination = work_file(work, "features", "features", ".zarr", cube, lines, scenes, grid, window_cells, mask, modules=_CORE)
    with cluster_compute():
        summary = core.engineer_features(Path(cube.path), {k: (Path(r.path), g) for k, (r, g) in lines.items()}, scenes, grid,
                                         window_cells, destination, Path(mask.path) if mask else None)
    return {"features": FileRef.of(destination), **summary}


@task(**CACHED)
def make_training_data(features: FileRef, deposits: FileRef, settings: ProspectivitySpec, work: str) -> dict:
    folder = work_file(work, "training", "training", "", features, deposits, settings, modules=_CORE)
    with cluster_compute():
        summary = core.make_training_data(Path(features.path), Path(deposits.path), settings, folder / "training_table.csv",
                                          folder / "map_sample.csv", folder / "block_variogram.png")
    return {"table": FileRef.of(folder / "training_table.csv"), "sample": FileRef.of(folder / "map_sample.csv"),
            "files": _refs(folder), "summary": summary}


@task(**CACHED)
def cross_validate_model(table: FileRef, sample: FileRef, label: str, model: ModelSpec, imbalance: str,
                         settings: ProspectivitySpec, work: str) -> dict:
    folder = work_file(work, "cv", f"{label}-{imbalance}", "", table, sample, model, imbalance, settings, modules=_CORE)
    with cluster_compute() as client:
        summary = core.cross_validate_model(Path(table.path), Path(sample.path), label, model, imbalance, settings, folder,
                                            executor=client.get_executor() if client else None,
                                            progress=Progress(f"cross-validation folds of {label}-{imbalance}"))
    return {"files": _refs(folder), **summary}


@task(**CACHED)
def fit_final_model(table: FileRef, label: str, model: ModelSpec, imbalance: str, settings: ProspectivitySpec, work: str) -> dict:
    folder = work_file(work, "models", f"{label}-{imbalance}", "", table, model, imbalance, settings, modules=_CORE)
    core.fit_final_model(Path(table.path), label, model, imbalance, settings, folder)
    return {"model": FileRef.of(folder / "model.skops"), "files": _refs(folder)}


@task(**CACHED)
def map_and_score(model: FileRef, features: FileRef, table: FileRef, sample: FileRef, deposits: FileRef,
                  truth: FileRef | None, label: str, work: str) -> dict:
    folder = work_file(work, "maps", label, "", model, features, table, sample, deposits, truth, modules=_CORE)
    with cluster_compute():
        scores = core.map_and_score(Path(model.path), Path(features.path), Path(table.path), Path(sample.path),
                                    Path(deposits.path), Path(truth.path) if truth else None, label, folder,
                                    progress=Progress(f"map blocks of {label}"))
    return {"files": _refs(folder), "scores": scores}


def model_failure(*futures) -> str | None:
    """Why one model's steps failed, as one line (None when every step of it succeeded or is absent).

    An I/O fault that outlived its retries is not the model's: it is raised, failing the run.
    """
    for future in futures:
        if future is None:
            continue
        error = future.result(raise_on_failure=False)
        if isinstance(error, BaseException):
            if isinstance(error, OSError) and retry_on_io(None, None, future.state):
                raise error
            return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    return None


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_on_io)
def publish(training: dict, results: list[dict], chosen: str | None, study_area: str, folder: str,
            failures: list[dict] | None = None) -> str:
    """Link every product into ``outputs/<area>/prospectivity/`` and write the comparison and report."""
    return str(core.publish_prospectivity(training, results, chosen, study_area, Path(folder), failures))


@task(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_on_io)
def ingested_products(folder: str, vectors: list[str]) -> dict:
    """References to what the ingest flow published: the cube, deposits, vector layers, the truth."""
    return core.ingested_products(Path(folder), vectors)


@task(cache_policy=content_policy(*_EXTRAS), persist_result=True, retries=2, retry_delay_seconds=[1, 5],
      retry_condition_fn=retry_on_io)
def map_uncertainty(model_ref: FileRef, probability: FileRef, features: FileRef, table: FileRef, deposits: FileRef, label: str,
                    model: ModelSpec, imbalance: str, settings: ProspectivitySpec, work: str) -> dict:
    folder = work_file(work, "uncertainty", label, "", model_ref, probability, features, table, deposits, model, imbalance,
                       settings, modules=_EXTRAS)
    with cluster_compute():
        summary = extras.map_uncertainty(Path(model_ref.path), Path(probability.path), Path(features.path), Path(table.path),
                                         Path(deposits.path), label, model, imbalance, settings, folder,
                                         progress=Progress(f"spread-map blocks of {label}"))
    return {"files": _refs(folder), "summary": summary}


@task
def ensemble_model(runs: list[tuple[str, ModelSpec, str, dict]], top: int, settings: ProspectivitySpec) -> ModelSpec | None:
    """The rank-averaging ensemble of the best ``top`` models, or None."""
    return extras.ensemble_model(runs, top, settings)


@task
def spread_models(results: list[dict], requested: str | None, count: int) -> list[str]:
    """The keys of the runs whose spread is mapped (the kept one, then the next best)."""
    return extras.spread_models(results, requested, count)


@task
def explained_model(results: list[dict], requested: str | None) -> str:
    """The key of the model whose SHAP maps are drawn (the kept one, or the ensemble's best single run)."""
    return extras.explained_model(results, requested)


@task(cache_policy=content_policy(*_EXTRAS, "geoprospect.explain"), persist_result=True, retries=2,
      retry_delay_seconds=[1, 5], retry_condition_fn=retry_on_io)
def explain_model(model_ref: FileRef, features: FileRef, sample: FileRef, label: str, settings: ProspectivitySpec,
                  work: str) -> dict:
    folder = work_file(work, "explain", label, "", model_ref, features, sample, settings, modules=_EXTRAS + ("geoprospect.explain",))
    with cluster_compute():
        summary = extras.explain_model(Path(model_ref.path), Path(features.path), Path(sample.path), label, settings, folder)
    return {"files": _refs(folder), "summary": summary}
