"""Lithology flow: SVM, MLP and CNN per sensor, block-split scores beside random-split ones, maps, clusters.

    python -m flows.lithology --catalog data/catalogs/demo.yaml

Writes ``outputs/<study_area>/lithology/``: per scene the model comparison (``runs.csv``, per-class
scores, confusion matrices), per scene and model a class map (Cloud-Optimized GeoTIFF with colour table
and class names, PNG with legend) and a confidence map, the autoencoder + k-means clusters;
``summary.csv``, ``paper_table.csv``, ``metrics.json`` and ``report.html``.
"""

from __future__ import annotations

if __name__ == "__main__":  # the command line: the catalog is checked before Prefect is imported
    from flows.cli import main

    main("flows.lithology:lithology", __doc__)

from pathlib import Path

from prefect import flow

from flows.cli import DEMO_CATALOG
from flows.ingest import ingest
from flows.runners import task_runner
from tasks.artifacts import publish_artifacts
from tasks.ingest import load_catalog
from tasks.lithology import cluster_scene, compare_models, ingested_cube, map_scene, publish, report, scene_inputs, scenes_to_map


@flow(name="lithology", task_runner=task_runner(threads=2))
def lithology(catalog: str = DEMO_CATALOG, outputs: str = "outputs", run_ingest: bool = True) -> str:
    """Map lithology from every scene of a study area; returns the path of the report page."""
    cat = load_catalog(catalog)
    cat.require("lithology")  # scenes and the label layer, before any ingestion
    if run_ingest:
        ingest(catalog=catalog, outputs=outputs)
    spec = cat.lithology
    area = Path(outputs) / cat.study_area
    work = str(area / "work")
    cube = ingested_cube(str(area / "ingest"))
    scenes = scenes_to_map({name: scene.sensor for name, scene in cat.scenes.items()}, spec)

    # keyed on the scene's bands and labels, not on the whole cube (the cube's path is passed as text)
    inputs = {s: scene_inputs(cube, s, sensor, spec) for s, sensor in scenes.items()}
    path = cube.path
    clusters = ({s: cluster_scene.submit(path, inputs[s], s, sensor, spec, work) for s, sensor in scenes.items()}
                if spec.unsupervised else {})
    comparisons = ({s: compare_models.submit(path, inputs[s], s, sensor, spec, work) for s, sensor in scenes.items()}
                   if spec.labels else {})
    maps = {f"{s}/{model}": map_scene.submit(path, inputs[s], s, scenes[s], model, comparison.result()["best_chip"][model],
                                             spec, work)
            for s, comparison in comparisons.items() for model in spec.models}
    folder = area / "lithology"
    products = ({s: c.result() for s, c in comparisons.items()}, {k: m.result() for k, m in maps.items()},
                {s: c.result() for s, c in clusters.items()})
    page = publish(*products, report(*products, spec, cat.study_area, work), str(folder))
    table = folder / ("summary.csv" if comparisons else "clusters.csv")
    preview = next(iter(maps), None) or next(iter(clusters), None)
    png = str(folder / preview / ("map.png" if maps else "clusters.png")) if preview else None
    publish_artifacts(cat.study_area, "lithology", page, str(table), png)
    return page

