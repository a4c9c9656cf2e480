"""Ingestion flow: every source of a catalog validated, aligned onto the grid, stacked into a cube.

    python -m flows.ingest --catalog data/catalogs/demo.yaml

Writes ``outputs/<study_area>/ingest/``: ``cube.zarr``, ``layers/``, ``vectors/``, ``quicklooks/``,
``surveys/``, ``plates/``, ``waveforms/``, ``layers.csv``, ``sources.csv`` and ``report.html``.
"""

from __future__ import annotations

if __name__ == "__main__":  # the command line: the catalog is checked before Prefect is imported
    from flows.cli import main

    main("flows.ingest:ingest", __doc__)

from pathlib import Path

from prefect import flow

from flows.cli import DEMO_CATALOG
from flows.runners import task_runner
from geoprospect.catalog import RasterSource
from geoprospect.grid import TargetGrid
from tasks.artifacts import publish_artifacts
from tasks.ingest import (
    align_raster,
    align_scene,
    build_cube,
    fingerprint,
    grid_point_survey,
    ingest_deposits,
    ingest_mask,
    ingest_plate_model,
    ingest_surveys,
    ingest_vector,
    ingest_waveforms,
    load_catalog,
    publish,
    render_quicklooks,
)
from tasks.caching import clean_leftovers


def _subset(refs: dict, prefix: str) -> dict:
    return {k: v for k, v in refs.items() if k.startswith(prefix)}


@flow(name="ingest", task_runner=task_runner(threads=4))
def ingest(catalog: str = DEMO_CATALOG, outputs: str = "outputs") -> str:
    """Ingest a study area; returns the path of its report page."""
    cat = load_catalog(catalog)
    refs = fingerprint(cat)
    grid = TargetGrid.from_spec(cat.grid)
    area = Path(outputs) / cat.study_area
    work = str(area / "work")
    clean_leftovers(str(area))  # temporaries of killed runs

    mask = ingest_mask.submit(refs["grid.mask"], grid, work) if cat.grid.mask else None
    deposits = ingest_deposits.submit(refs["deposits.path"], cat.deposits, grid, work) if cat.deposits else None
    layers = [align_raster.submit(refs[f"rasters.{k}.path"], s, grid, work, k) for k, s in cat.rasters.items()]
    layers += [align_scene.submit(refs[f"scenes.{k}.path"], s, grid, work, k) for k, s in cat.scenes.items()]
    vectors = [ingest_vector.submit(refs[f"vectors.{k}.path"], s, grid, work, k) for k, s in cat.vectors.items()]
    mask_ref = mask.result()["mask"] if mask else None
    layers += [grid_point_survey.submit(refs[f"surveys.points.{k}.path"], s, k, grid, work, mask_ref)
               for k, s in cat.surveys.points.items() if s.gridding]
    truth = None
    if cat.truth.probability:
        source = RasterSource(path=cat.truth.probability, units="probability")
        truth = align_raster.submit(refs["truth.probability"], source, grid, work, "true_probability")
    others = []
    if any((cat.surveys.sp, cat.surveys.ves, cat.surveys.tem, cat.surveys.points)):
        others.append(ingest_surveys.submit(_subset(refs, "surveys."), cat.surveys, grid, work))
    if cat.plate_model:
        others.append(ingest_plate_model.submit(_subset(refs, "plate_model."), cat.plate_model, work))
    if cat.waveforms:
        others.append(ingest_waveforms.submit(_subset(refs, "waveforms."), cat.waveforms, work))

    points = deposits.result()["points"] if deposits else None
    stacked = [f.result() for f in layers + vectors]
    layer_refs = [p["layer"] for p in stacked if "layer" in p]
    cube = build_cube.submit(  # none for a catalog of vectors, surveys or waveforms only (nothing to stack)
        layer_refs,
        {band: p["kind"] for p in stacked if "layer" in p for band in p["bands"]},
        {p["bands"][0]: p["classes"] for p in stacked if p.get("classes")},
        work,
        mask_ref,
    ) if layer_refs else None
    products = stacked + [f.result() for f in others + ([truth] if truth else [])] + ([deposits.result()] if deposits else [])
    products += [mask.result()] if mask else []
    quicklooks = [render_quicklooks.submit(p["layer"], work, p.get("classes"), points, p.get("kind") == "categorical") for p in products
                  if "layer" in p and not p.get("quicklooks_done")]
    products += [q.result() for q in quicklooks] + ([cube.result()] if cube else [])
    report = publish(products, cat, refs, str(area / "ingest"))
    publish_artifacts(cat.study_area, "ingest", report, str(area / "ingest" / "layers.csv"), _preview(area / "ingest"))
    return report


def _preview(folder: Path) -> str | None:
    for name in ("geology.png", "true_probability.png"):
        if (folder / "quicklooks" / name).is_file():
            return str(folder / "quicklooks" / name)
    return None

