"""Ingestion tasks: thin, cached wrappers over :mod:`geoprospect.pipelines.ingest`.

Every cached task takes :class:`FileRef` inputs (path + content hash), writes to content-addressed
paths in the study area's work folder and returns a small :data:`Product` dict, never arrays:

- ``files``: published name (relative to ``outputs/<area>/ingest/``) -> FileRef;
- ``layer`` / ``kind`` / ``classes``: an aligned raster for the cube, when the source gives one;
- ``rows``: summary rows for the report.
"""

from __future__ import annotations

from pathlib import Path

from prefect import task

from geoprospect.pipelines import ingest as core
from geoprospect.catalog import (
    Catalog,
    DepositSource,
    PlateModelSource,
    PointSurveySource,
    RasterSource,
    SceneSource,
    SurveySources,
    VectorSource,
    WaveformSources,
)
from geoprospect.demo import ensure_demo
from geoprospect.grid import TargetGrid
from geoprospect.io.catalog import read_catalog
from geoprospect.io.cube import write_cube
from geoprospect.io.files import FileRef
from tasks.caching import content_policy, retry_on_io, work_file
from tasks.cluster import cluster_compute

IO_RETRIES = dict(retries=2, retry_delay_seconds=[1, 5], retry_condition_fn=retry_on_io)
INGEST = dict(cache_policy=content_policy("geoprospect.pipelines.ingest"), persist_result=True, **IO_RETRIES)
_CORE = ("geoprospect.pipelines.ingest",)


def _verify(refs: dict[str, FileRef]) -> None:
    """Inputs must still be what :func:`fingerprint` hashed (a vanished file is retried as an I/O fault)."""
    for ref in refs.values():
        ref.verify()


def _refs(paths: dict[str, Path]) -> dict[str, FileRef]:
    return {name: FileRef.of(path) for name, path in paths.items()}


@task(**IO_RETRIES)
def load_catalog(path: str) -> Catalog:
    """Read and validate the catalog; for a ``demo:`` catalog, build the demo region first (once)."""
    catalog = read_catalog(path, check_files=False)
    if catalog.demo is None:
        return read_catalog(path)
    spec = catalog.demo
    built = ensure_demo(spec.folder, seed=spec.seed, size_m=spec.size_m, resolution_m=spec.resolution_m)
    # the demo's data, with this catalog's name and pipeline settings
    settings = ("prospectivity", "inversion", "seismic", "lithology", "tectonics")
    return read_catalog(built).model_copy(update={"study_area": catalog.study_area,
                                                  **{name: getattr(catalog, name) for name in settings}})


@task(**IO_RETRIES)
def fingerprint(catalog: Catalog) -> dict[str, FileRef]:
    """Content hashes of every input file: the cache keys of the tasks below are built on them."""
    return {key: FileRef.of(path) for key, path in catalog.files().items()}


@task(**INGEST)
def align_raster(ref: FileRef, source: RasterSource, grid: TargetGrid, work: str, name: str) -> dict:
    ref.verify()
    layer = work_file(work, "layers", name, ".tif", ref, source, grid, modules=_CORE)
    stats = core.ingest_raster(source, grid, layer, name)
    return {"section": "Rasters", "layer": FileRef.of(layer), "bands": list(stats), "kind": source.kind, "stats": stats, "files": _refs({f"layers/{name}.tif": layer})}


@task(**INGEST)
def align_scene(ref: FileRef, source: SceneSource, grid: TargetGrid, work: str, name: str) -> dict:
    ref.verify()
    layer = work_file(work, "layers", name, ".tif", ref, source, grid, modules=_CORE)
    stats = core.ingest_scene(source, grid, layer, name)
    return {"section": "Scenes", "layer": FileRef.of(layer), "bands": list(stats), "kind": "continuous", "stats": stats, "files": _refs({f"layers/{name}.tif": layer})}


@task(**INGEST)
def ingest_vector(ref: FileRef, source: VectorSource, grid: TargetGrid, work: str, name: str) -> dict:
    ref.verify()
    vector = work_file(work, "vectors", name, ".gpkg", ref, source, grid, modules=_CORE)
    layer = vector.with_suffix(".tif") if source.class_column else None
    summary = core.ingest_vector(source, grid, vector, layer, name)
    files = {f"vectors/{name}.gpkg": vector, f"quicklooks/vector_{name}.png": vector.with_suffix(".png")}
    # the class names and colours live in GDAL's .aux.xml beside the class map: published with it
    files |= {f"layers/{name}.tif": layer, f"layers/{name}.tif.aux.xml": layer.with_name(layer.name + ".aux.xml")} if layer else {}
    product = {"section": "Vectors", "files": _refs(files), "rows": [{"layer": name, "features": summary["features"], "classes": len(summary["classes"])}]}
    if layer:
        product.update(layer=FileRef.of(layer), bands=[name], kind="categorical", classes=summary["classes"])
    return product


@task(**INGEST)
def ingest_deposits(ref: FileRef, source: DepositSource, grid: TargetGrid, work: str) -> dict:
    ref.verify()
    points = work_file(work, "vectors", "deposits", ".gpkg", ref, source, grid, modules=_CORE)
    skipped = points.with_suffix(".skipped.csv")
    summary = core.ingest_deposits(source, grid, points, skipped)
    return {"section": "Deposits", "files": _refs({"vectors/deposits.gpkg": points, "vectors/deposits_skipped.csv": skipped}), "rows": [summary],
            "points": FileRef.of(points)}


@task(**INGEST)
def ingest_mask(ref: FileRef, grid: TargetGrid, work: str) -> dict:
    ref.verify()
    mask = work_file(work, "layers", "study_area", ".tif", ref, grid, modules=_CORE)
    summary = core.ingest_mask(Path(ref.path), grid, mask)
    return {"section": "Study area", "mask": FileRef.of(mask), "rows": [summary],
            "files": _refs({"layers/study_area.tif": mask, "quicklooks/study_area.png": mask.with_suffix(".png")})}


@task(**INGEST)
def grid_point_survey(ref: FileRef, source: PointSurveySource, name: str, grid: TargetGrid, work: str, mask: FileRef | None = None) -> dict:
    """A point survey gridded as evidence layers: a cube layer with its own quicklooks (sample points drawn)."""
    ref.verify()
    layer = work_file(work, "layers", f"{name}_gridded", ".tif", ref, source, grid, mask, modules=_CORE + ("geoprospect.features.gridding",))
    stats, rows, quicklooks = core.grid_point_survey(source, name, grid, layer, Path(mask.path) if mask else None)
    files = {f"layers/{name}_gridded.tif": layer} | {f"quicklooks/{p.name}": p for p in quicklooks}
    return {"section": "Gridded surveys", "layer": FileRef.of(layer), "bands": list(stats), "kind": "continuous", "stats": stats,
            "rows": rows, "files": _refs(files), "quicklooks_done": True}


@task(**INGEST)
def ingest_surveys(refs: dict[str, FileRef], surveys: SurveySources, grid: TargetGrid, work: str) -> dict:
    _verify(refs)
    folder = work_file(work, "surveys", "surveys", "", refs, surveys, grid, modules=_CORE)
    files, rows = core.ingest_surveys(surveys, grid, folder)
    return {"section": "Surveys", "files": _refs(files), "rows": rows}


@task(**INGEST)
def ingest_plate_model(refs: dict[str, FileRef], plates: PlateModelSource, work: str) -> dict:
    _verify(refs)
    folder = work_file(work, "plates", "plates", "", refs, plates, modules=_CORE)
    files, rows = core.ingest_plate_model(plates, folder)
    return {"section": "Plate model", "files": _refs(files), "rows": rows}


@task(**INGEST)
def ingest_waveforms(refs: dict[str, FileRef], waveforms: WaveformSources, work: str) -> dict:
    _verify(refs)
    folder = work_file(work, "waveforms", "waveforms", "", refs, waveforms, modules=_CORE)
    files, rows = core.ingest_waveforms(waveforms, folder)
    return {"section": "Waveforms", "files": _refs(files), "rows": rows}


@task(**INGEST)
def render_quicklooks(layer: FileRef, work: str, classes: dict[int, str] | None = None, deposits: FileRef | None = None,
                      categorical: bool = False) -> dict:
    folder = work_file(work, "quicklooks", Path(layer.path).stem, "", layer, classes, deposits, categorical, modules=_CORE)
    paths = core.render_quicklooks(Path(layer.path), folder, classes, deposits.path if deposits else None, categorical)
    return {"section": "Quicklooks", "files": _refs({f"quicklooks/{p.name}": p for p in paths})}


@task(cache_policy=content_policy("geoprospect.io.cube"), persist_result=True, **IO_RETRIES)
def build_cube(layers: list[FileRef], kinds: dict[str, str], classes: dict[str, dict[int, str]], work: str,
               mask: FileRef | None = None) -> dict:
    cube = work_file(work, "cube", "cube", ".zarr", layers, kinds, classes, mask, modules=("geoprospect.io.cube",))
    with cluster_compute():
        write_cube([Path(layer.path) for layer in layers], cube, kinds, classes, mask=Path(mask.path) if mask else None)
    return {"section": "Feature cube", "files": _refs({"cube.zarr": cube})}


@task(**IO_RETRIES)
def publish(products: list[dict], catalog: Catalog, inputs: dict[str, FileRef], folder: str) -> str:
    """Link every product into ``outputs/<area>/ingest/`` and write the run's report page."""
    return str(core.publish_ingest(products, catalog, inputs, Path(folder)))
