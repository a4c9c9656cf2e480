"""Lithology mapping steps: per scene the model comparison, the maps, the clusters; then the report.

Each function is one cacheable step of the lithology flow (``tasks/lithology.py`` wraps them); they
read the study area's feature cube and write through :mod:`geoprospect.io`, passing paths, never
arrays.

After Shirmard et al. (2022), *Remote Sensing* 14(4):819: SVM (RBF), MLP and a CNN on image chips
classify lithological units from each sensor's bands, compared per class. Scores come from k-fold
spatial block cross-validation (every labelled pixel tested once, train and test blocks separated by
a buffer of the largest chip's half-width, so that no training chip holds a test pixel); the
random-pixel k-fold is reported beside it as the optimistic figure that pixel-level papers quote. The maps come from each model refitted on every labelled pixel (up to
``samples_per_class`` per class), at the chip size that scored best in the block CV. Where there
are no labels, or as an extra view, a stacked autoencoder compresses the bands and k-means clusters
the codes (after the EarthByte autoencoder work on remote sensing).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from geoprospect.catalog import LithologySpec
from geoprospect.errors import InputError
from geoprospect.evaluate import json_ready
from geoprospect.io.cube import open_cube
from geoprospect.io.figures import save_png
from geoprospect.io.files import publish
from geoprospect.io.maps import write_class_cog, write_cog
from geoprospect.io.models import save_model
from geoprospect.io.reports import write_html
from geoprospect.io.tables import read_csv, write_csv, write_json
from geoprospect.lithology.chips import valid_centres
from geoprospect.lithology.classify import classify_image
from geoprospect.lithology.experiment import fit_model, make_model, run_experiment, trainable, training_lattice, with_indices
from geoprospect.lithology.metrics import (
    classification_metrics,
    corrected_paired_test,
    format_mean_sd,
    paper_table,
    per_class_records,
    summarise,
)
from geoprospect.lithology.split import sample_per_class
from geoprospect.lithology.unsupervised import AutoencoderClusters, cluster_image, sample_pixels
from geoprospect.provenance import code_digest
from geoprospect.render.lithology import class_colours, plot_accuracy_comparison, plot_class_map, plot_confidence, plot_confusion
from geoprospect.render.report import Section, report_html
from geoprospect.sensors import get_sensor

BLOCK_CELLS = 30  # default cross-validation block side, in cells
CLUSTER_SAMPLE = 20_000  # pixels the autoencoder and k-means are fitted on
METRICS = ("overall_accuracy", "kappa", "macro_f1", "macro_auc")


def scene_band_names(cube: xr.DataArray, scene: str, sensor: str, bands: list[str] | None) -> list[str]:
    """The cube bands of a scene to classify: the catalog's ``bands`` or the sensor's reflective ones.

    Raises
    ------
    InputError
        A band unknown to the sensor, or not in the cube (not ingested).
    """
    source = f"lithology.bands.{scene}"
    available = [str(b) for b in cube.band.values if str(b).startswith(f"{scene}_")]
    if sensor == "generic":
        wanted = [f"{scene}_{b}" for b in bands] if bands else available
    else:
        table = get_sensor(sensor, source)
        chosen = [table.band(b, source) for b in bands] if bands else [b for b in table.reflective]
        wanted = [f"{scene}_{b.name}" for b in chosen]
        if not bands:  # the default: the reflective bands the scene has
            wanted = [w for w in wanted if w in available]
    missing = [w for w in wanted if w not in available]
    if missing or not wanted:
        raise InputError(source, f"band(s) {missing or wanted} of scene '{scene}' are not in the feature cube "
                         f"(it has {available})", "ingest those bands (the scene's 'bands' list) or pick from those present")
    return wanted


def label_layer(cube: xr.DataArray, spec: LithologySpec) -> tuple[str, dict[int, str]] | None:
    """The cube band holding the training labels and its class names, or None when there are none."""
    if spec.labels is None:
        return None
    if spec.labels not in cube.band.values:
        raise InputError("lithology.labels", f"no layer '{spec.labels}' in the feature cube",
                         "name a polygon layer with a class_column or a categorical raster of the catalog, or set labels: null")
    kind = str(cube.kind.sel(band=spec.labels).item()) if "kind" in cube.coords else "categorical"
    if kind != "categorical":
        raise InputError(f"rasters.{spec.labels}.kind", f"the label layer '{spec.labels}' was ingested as {kind}: "
                         "resampled bilinearly, its class codes were averaged into codes that no unit has",
                         f"set 'kind: categorical' on rasters.{spec.labels} in the catalog (nearest-neighbour resampling)")
    names = {**cube.attrs.get("classes", {}).get(spec.labels, {}), **spec.class_names}
    return spec.labels, names


def check_fill_code(labels: np.ndarray, layer: str, names: dict[int, str], spec: LithologySpec) -> None:
    """Refuse a label raster whose code 0 is neither declared unlabelled (``label_nodata``) nor named.

    Rasterised geology commonly fills the cells outside every polygon with 0: taken as a unit, it
    would be learned and mapped as one, and fail only when the class map is written.
    """
    if spec.label_nodata is not None or 0 in names:
        return
    zeros = int(np.count_nonzero(labels == 0))
    if zeros:
        share = zeros / max(int(np.isfinite(labels).sum()), 1)
        raise InputError("lithology.label_nodata", f"code 0 covers {zeros} cells ({share:.0%} of the labelled cells) of the "
                         f"label layer '{layer}' and has no class name: it looks like fill",
                         "set 'label_nodata: 0' in the lithology section if 0 marks unlabelled cells, or name the unit "
                         "in 'class_names' (0: ...) if it is one")


def load_scene(cube_path: Path, scene: str, sensor: str, spec: LithologySpec) -> dict:
    """The scene's image (bands, H, W) float32, band names, labels (H, W) with NaN where unlabelled,
    class names, and the grid (coordinates and CRS) of the cube."""
    cube = open_cube(cube_path)
    names = scene_band_names(cube, scene, sensor, spec.bands.get(scene))
    image = cube.sel(band=names).values.astype(np.float32)
    if spec.indices and sensor != "generic":
        image, names = with_indices(image, names, sensor)
    labels, class_names = None, {}
    layer = label_layer(cube, spec)
    if layer is not None:
        labels = cube.sel(band=layer[0]).values.astype(np.float64)
        check_fill_code(labels, layer[0], layer[1], spec)
        if spec.label_nodata is not None:
            labels[labels == spec.label_nodata] = np.nan
        codes = np.unique(labels[np.isfinite(labels)]).astype(int)
        if codes.size < 2:
            raise InputError(f"lithology.labels ({layer[0]})", f"{codes.size} labelled class(es) on the grid",
                             "label at least two units inside the study area")
        class_names = {int(c): layer[1].get(int(c), f"class {int(c)}") for c in codes}
    template = cube.isel(band=0, drop=True).drop_vars(["units", "kind"], errors="ignore")
    return {"image": image, "names": names, "labels": labels, "classes": class_names, "template": template,
            "resolution_m": float(abs(cube.x[1] - cube.x[0]))}


def scene_digest(cube_path: Path, scene: str, sensor: str, spec: LithologySpec) -> str:
    """SHA-256 of what a scene's lithology steps read from the cube: its bands and the label layer (values,
    names, kind and class names) on the cube's grid (coordinates and CRS).

    The cache key of the scene's tasks: editing another layer of the cube (a DEM pixel) leaves it, and
    so the cached comparison, maps and clusters, unchanged.
    """
    cube = open_cube(cube_path)
    bands = scene_band_names(cube, scene, sensor, spec.bands.get(scene))
    layer = label_layer(cube, spec)
    if layer is not None:
        bands.append(layer[0])
    digest = hashlib.sha256(repr((str(cube.rio.crs), bands, layer)).encode())
    for coord in (cube.x, cube.y):
        digest.update(np.ascontiguousarray(coord.values).tobytes())
    for band in bands:
        digest.update(np.ascontiguousarray(cube.sel(band=band).values).tobytes())
        if "kind" in cube.coords:
            digest.update(str(cube.kind.sel(band=band).item()).encode())
    return digest.hexdigest()


def _block_cells(spec: LithologySpec, resolution_m: float) -> int:
    return BLOCK_CELLS if spec.block_size_m is None else max(1, round(spec.block_size_m / resolution_m))


def compare_models(cube_path: Path, scene: str, sensor: str, spec: LithologySpec, destination: Path) -> dict:
    """k-fold cross-validation of every model x chip size x seed x split on one scene: ``runs.csv`` (one row
    per run, pooled over folds), ``folds.csv`` (overall accuracy per fold, for the paired test),
    ``per_class.csv`` and the pooled block-CV confusion matrices (``confusion_<model>_<chip>.csv``)."""
    data = load_scene(cube_path, scene, sensor, spec)
    if data["labels"] is None:
        raise InputError("lithology.labels", "the model comparison needs labels", "set 'labels' to a class layer")
    records = run_experiment(data["image"], data["labels"], models=spec.models, chip_sizes=spec.chip_sizes, seeds=spec.seeds,
                             block_cells=_block_cells(spec, data["resolution_m"]), n_folds=spec.n_folds,
                             samples_per_class=spec.samples_per_class, test_per_class=spec.test_samples_per_class,
                             chip_stride=spec.chip_stride, pca_components=spec.pca_components or 0, epochs=spec.epochs,
                             buffer_cells=spec.buffer_cells, params=spec.model_params)
    runs, folds, per_class, confusion = [], [], [], {}
    for r in records:
        metrics = classification_metrics(r.y_true, r.y_pred, r.proba, r.classes)
        run = {"sensor": scene, "model": r.model, "chip_size": r.chip_size, "split": r.split, "seed": r.seed}
        missing = "; ".join(f"{data['classes'].get(c, c)} (folds {', '.join(map(str, f))})" for c, f in r.missing.items())
        runs.append({**run, **{m: metrics[m] for m in METRICS}, "n_train": r.n_train, "n_test": int(r.y_true.size),
                     "fit_s": round(r.fit_seconds, 2), "missing_from_training": missing})
        for k in np.unique(r.fold):
            tested = r.fold == k
            folds.append({**run, "fold": int(k), "n_test": int(tested.sum()),
                          "overall_accuracy": float(np.mean(r.y_true[tested] == r.y_pred[tested]))})
        per_class.append(per_class_records(metrics, **run))
        if r.split == "block":
            key = f"{r.model}_{r.chip_size}"
            confusion[key] = confusion.get(key, 0) + metrics["confusion"]
    destination.mkdir(parents=True, exist_ok=True)
    write_csv(pd.DataFrame(runs), destination / "runs.csv")
    write_csv(pd.DataFrame(folds), destination / "folds.csv")
    write_csv(pd.concat(per_class, ignore_index=True), destination / "per_class.csv")
    classes = records[0].classes
    for key, matrix in confusion.items():
        write_csv(pd.DataFrame(matrix, index=classes, columns=classes).rename_axis("true").reset_index(), destination / f"confusion_{key}.csv")
    return {"classes": data["classes"], "best_chip": best_chip_sizes(pd.DataFrame(runs))}


def best_chip_sizes(runs: pd.DataFrame) -> dict[str, int]:
    """Per model, the chip size with the highest mean kappa in the block CV."""
    block = runs[runs["split"] == "block"].groupby(["model", "chip_size"])["kappa"].mean().reset_index()
    return {m: int(g.loc[g["kappa"].idxmax(), "chip_size"]) for m, g in block.groupby("model")}


def _on_grid(values: np.ndarray, template: xr.DataArray, name: str) -> xr.DataArray:
    return template.copy(data=values).rename(name)


def map_scene(cube_path: Path, scene: str, sensor: str, model_name: str, chip_size: int, spec: LithologySpec,
              destination: Path) -> dict:
    """Refit one model on the labelled pixels and classify the whole scene: ``map.tif`` (class COG with a
    colour table and class names), ``confidence.tif`` (the top class probability), their PNGs and the
    model (``model.skops`` with its manifest: bands, chip size, classes)."""
    data = load_scene(cube_path, scene, sensor, spec)
    labels = np.where(valid_centres(data["image"], chip_size), data["labels"], np.nan)
    rng = np.random.default_rng([spec.seeds[0], 7])
    lattice = training_lattice(labels.shape, spec.chip_stride)
    rows, cols = trainable(*sample_per_class(np.isfinite(labels) & lattice, labels, spec.samples_per_class, rng), labels)
    model = make_model(model_name, spec.pca_components or 0, spec.seeds[0], spec.epochs, spec.model_params)
    fit_model(model, data["image"], rows, cols, labels[rows, cols].astype(np.int64), chip_size,
              _block_cells(spec, data["resolution_m"]))
    codes, confidence = classify_image(model, data["image"], chip_size)
    names, template = data["classes"], data["template"]
    destination.mkdir(parents=True, exist_ok=True)
    save_model(model, destination / "model.skops", {"bands": data["names"], "chip_size": chip_size, "model": model_name,
                                                    "classes": {str(k): v for k, v in names.items()}})
    title = f"{scene} {model_name.upper()}" + (f" {chip_size}x{chip_size} chips" if model_name == "cnn" else "")
    write_class_cog(_on_grid(codes, template, "lithology"), destination / "map.tif", names, class_colours(sorted(names)),
                    tags={"model": model_name, "chip_size": str(chip_size), "scene": scene})
    write_cog(_on_grid(confidence, template, "confidence"), destination / "confidence.tif", units="probability")
    bounds = tuple(float(v) for v in template.rio.bounds())
    crs = str(template.rio.crs)
    save_png(plot_class_map(codes, bounds, names, title=f"Lithology: {title}", crs_label=crs), destination / "map.png")
    save_png(plot_confidence(confidence, bounds, title=f"Confidence (top class probability): {title}", crs_label=crs),
             destination / "confidence.png")
    mapped = codes[np.isfinite(codes)]
    return {"mapped_cells": int(mapped.size), "mean_confidence": float(np.nanmean(confidence)) if mapped.size else float("nan")}


def cluster_scene(cube_path: Path, scene: str, sensor: str, spec: LithologySpec, destination: Path) -> dict:
    """Autoencoder + k-means clusters of a scene's bands: ``clusters.tif`` and ``.png``, and where there are
    labels, ``clusters_vs_labels.csv`` (cells per cluster and unit) with the adjusted Rand index."""
    from sklearn.metrics import adjusted_rand_score

    data = load_scene(cube_path, scene, sensor, spec)
    seed = spec.seeds[0]
    model = AutoencoderClusters(n_clusters=spec.clusters, n_components=spec.autoencoder_components, random_state=seed)
    model.fit(sample_pixels(data["image"], CLUSTER_SAMPLE, random_state=seed))
    labels, confidence = cluster_image(model, data["image"])
    names = {k: f"cluster {k}" for k in range(1, spec.clusters + 1)}
    template = data["template"]
    destination.mkdir(parents=True, exist_ok=True)
    write_class_cog(_on_grid(labels, template, "cluster"), destination / "clusters.tif", names, class_colours(sorted(names)),
                    tags={"scene": scene})
    bounds = tuple(float(v) for v in template.rio.bounds())
    save_png(plot_class_map(labels, bounds, names, title=f"Autoencoder + k-means clusters: {scene}",
                            crs_label=str(template.rio.crs)), destination / "clusters.png")
    summary = {"clusters": spec.clusters, "adjusted_rand": float("nan")}
    if data["labels"] is not None:
        both = np.isfinite(labels) & np.isfinite(data["labels"])
        table = pd.crosstab(pd.Series(labels[both].astype(int), name="cluster"),
                            pd.Series(data["labels"][both].astype(int), name="unit").map(data["classes"]))
        write_csv(table.reset_index(), destination / "clusters_vs_labels.csv")
        summary["adjusted_rand"] = float(adjusted_rand_score(data["labels"][both], labels[both]))
    return summary


def _verdict(summary: pd.DataFrame, folds: pd.DataFrame, n_folds: int) -> str:
    """Per scene, the CNN against the best other model on the block CV, in words: "better" or "worse" only
    where a corrected paired t-test over the folds (and seeds) finds the difference (p < 0.05)."""
    block = summary[summary["split"] == "block"]
    lines = []
    for scene, rows in block.groupby("sensor"):
        best = rows.loc[rows.groupby("model")["kappa_mean"].idxmax()].set_index("model")
        if "cnn" not in best.index or len(best) < 2:
            continue
        cnn, others = best.loc["cnn"], best.drop(index="cnn")
        rival = others["kappa_mean"].idxmax()

        def scores(model: str) -> pd.Series:
            chosen = folds[(folds["sensor"] == scene) & (folds["split"] == "block") & (folds["model"] == model)
                           & (folds["chip_size"] == best.loc[model, "chip_size"])]
            return chosen.set_index(["seed", "fold"])["overall_accuracy"].sort_index()

        a, b = scores("cnn").align(scores(rival), join="inner")
        test = corrected_paired_test(a.to_numpy(), b.to_numpy(), 1 / (n_folds - 1))
        if test["p"] < 0.05:
            verdict = "better than" if test["difference"] > 0 else "worse than"
        else:
            verdict = "not distinguishable from"
        lines.append(f"{scene}: CNN (overall accuracy {a.mean():.3f}) is {verdict} {rival.upper()} ({b.mean():.3f}): "
                     f"mean paired difference {test['difference']:+.3f} over {test['pairs']} folds, corrected paired "
                     f"t-test p = {test['p']:.2g}.")
    return " ".join(lines)


def write_report(comparisons: dict[str, dict], maps: dict[str, dict], clusters: dict[str, dict], spec: LithologySpec,
                 study_area: str, folder: Path) -> Path:
    """Write the tables (``runs.csv``, ``summary.csv``, ``paper_table.csv``, ``clusters.csv``),
    ``metrics.json``, the figures (``accuracy.png``, ``<scene>/confusion_*.png``) and ``report.html`` into
    ``folder``, from the products' files; returns the page.

    ``comparisons``: scene -> product of :func:`compare_models` (``files``: name -> FileRef); ``maps``:
    ``<scene>/<model>`` -> product of :func:`map_scene`; ``clusters``: scene -> product of :func:`cluster_scene`.
    The page links the products by their published paths (``<scene>/<model>/map.png``): it belongs in the
    folder they are published to (:func:`publish_lithology`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    buffer = spec.buffer_cells if spec.buffer_cells is not None else max(spec.chip_sizes) // 2
    settings = (f"No label layer (lithology.labels: null): the scenes are clustered ({spec.clusters} clusters), no model "
                "is trained or compared." if spec.labels is None else
                f"Models {', '.join(spec.models)}; CNN chips {spec.chip_sizes}, training chip centres "
                f"every {spec.chip_stride} cell(s); seeds {spec.seeds}; up to {spec.samples_per_class} training "
                f"pixels per class and fold. Block CV: {spec.n_folds} folds of whole blocks, stratified by class, "
                f"every labelled pixel tested once and predictions pooled; training pixels within {buffer} cell(s) "
                "of a test fold dropped (the chip half-width: no training chip holds a test pixel). The random-pixel "
                "k-fold beside it is optimistic: neighbouring, correlated pixels fall on both sides. SVM C and gamma "
                "are tuned by an inner block k-fold of each training fold; MLP and CNN stop early on a validation "
                "share of it (whole blocks for the CNN).")
    sections = [Section("Settings", settings)]
    summary_out: dict = {"study_area": study_area}
    if comparisons:
        def table(name: str) -> pd.DataFrame:
            return pd.concat([read_csv(p["files"][name].path) for p in comparisons.values()], ignore_index=True)

        runs, folds, per_class = table("runs.csv"), table("folds.csv"), table("per_class.csv")
        summary = summarise(runs.drop(columns=["n_train", "n_test", "fit_s", "missing_from_training"]))
        write_csv(runs, folder / "runs.csv")
        write_csv(summary, folder / "summary.csv")
        class_names = next(iter(comparisons.values()))["classes"]
        chips = {(scene, m): c for scene, p in comparisons.items() for m, c in p["best_chip"].items()}
        best = pd.DataFrame([{"sensor": s, "model": m, "chip_size": c} for (s, m), c in chips.items()])
        chosen = per_class[per_class["split"] == "block"].merge(best, on=["sensor", "model", "chip_size"]).drop(columns="chip_size")
        table = format_mean_sd(paper_table(chosen, class_names), paper_table(chosen, class_names, statistic="std"))
        table.columns = [f"{s} {m}" for s, m in table.columns]
        write_csv(table.rename_axis("class").reset_index(), folder / "paper_table.csv")
        save_png(plot_accuracy_comparison(summary), folder / "accuracy.png")
        verdict = _verdict(summary, folds, spec.n_folds)
        gaps = runs[runs["missing_from_training"].fillna("") != ""].drop_duplicates(["sensor", "split", "seed"])
        if len(gaps):
            verdict += " Classes that could not be in every training fold (too few blocks hold them): " + "; ".join(
                f"{r.sensor} {r.split} seed {r.seed}: {r.missing_from_training}" for r in gaps.itertuples()) + "."
        means = summary[[f"{m}_mean" for m in METRICS]].set_axis(list(METRICS), axis=1)
        sds = summary[[f"{m}_sd" for m in METRICS]].set_axis(list(METRICS), axis=1)
        shown = pd.concat([summary[["sensor", "model", "chip_size", "split", "n_seeds"]], format_mean_sd(means, sds)], axis=1)
        sections += [
            Section("Model comparison (mean ± SD over seeds)", f"Every labelled pixel tested once per run, pooled over "
                    f"the folds; 'random' is the optimistic random-pixel k-fold. {verdict}", table=shown,
                    images=[("accuracy.png", "Overall accuracy, block and random k-fold CV")]),
            Section("Per class (producer's accuracy, block CV)", "Shaped like Shirmard et al. (2022)'s table: each model at "
                    "its best chip size.", table=table.rename_axis("class").reset_index()),
        ]
        for scene, product in comparisons.items():
            images = []
            for name in sorted(n for n in product["files"] if n.startswith("confusion_") and n.endswith(".csv")):
                stem = name.removesuffix(".csv")
                matrix = read_csv(product["files"][name].path).set_index("true")
                fig = plot_confusion(matrix.to_numpy(), [class_names.get(int(c), str(c)) for c in matrix.index],
                                     title=f"{scene} {stem.removeprefix('confusion_')}: block CV, pooled over folds and seeds")
                save_png(fig, folder / scene / f"{stem}.png")
                images.append((f"{scene}/{stem}.png", stem.removeprefix("confusion_")))
            sections.append(Section(f"Confusion matrices: {scene}", "Rows: true unit; columns: predicted.", images=images))
        summary_out |= {"summary": summary.to_dict(orient="records"), "best_chip": {f"{s}/{m}": c for (s, m), c in chips.items()},
                        "verdict": verdict}
    if maps:
        rows = [{"map": name, **{k: v for k, v in product.items() if k not in ("files",)}} for name, product in maps.items()]
        sections.append(Section("Lithology maps", "Cloud-Optimized GeoTIFFs with a colour table and class names "
                                "(<scene>/<model>/map.tif) and the top class probability (confidence.tif).",
                                table=pd.DataFrame(rows),
                                images=[(f"{name}/{png}", f"{name} {png[:-4]}") for name in maps for png in ("map.png", "confidence.png")]))
    if clusters:
        rows = [{"scene": scene, **{k: v for k, v in p.items() if k != "files"}} for scene, p in clusters.items()]
        write_csv(pd.DataFrame(rows), folder / "clusters.csv")
        sections.append(Section("Unsupervised: autoencoder + k-means", "A stacked autoencoder compresses each scene's bands; "
                                "k-means clusters the codes. adjusted_rand: agreement with the mapped units (1 = identical).",
                                table=pd.DataFrame(rows), images=[(f"{scene}/clusters.png", scene) for scene in clusters]))
        summary_out["clusters"] = rows
    write_json(json_ready(summary_out), folder / "metrics.json")
    page = report_html(f"Lithology: {study_area}", f"geoprospect lithology flow, code {code_digest('geoprospect.pipelines.lithology')[:12]}",
                       sections)
    return write_html(page, folder / "report.html")


def publish_lithology(comparisons: dict[str, dict], maps: dict[str, dict], clusters: dict[str, dict], report: dict,
                      folder: Path) -> Path:
    """Copy every product (``name -> {"files": {relative: FileRef}}``, published under ``folder/name``) and
    the report's files (:func:`write_report`, at ``folder``'s top) into ``folder``; returns the report page.

    Cheap on a rerun: files already there unchanged are skipped (:func:`geoprospect.io.files.publish`)."""
    for products in (comparisons, maps, clusters, {"": report}):
        for name, product in products.items():
            for relative, ref in product["files"].items():
                publish(ref.path, folder / name / relative)
    return folder / "report.html"
