"""Prospectivity steps: features, training samples, spatial CV, final fit, map, scores.

Each function is one cacheable step of the prospectivity flow (``tasks/prospectivity.py`` wraps
them); they read and write through :mod:`geoprospect.io` and pass paths, never arrays.

The method follows the EarthByte / Farahbakhsh et al. prospectivity workflow and EIS Toolkit:
evidence features from the aligned cube, deposits as positives and everything else unlabelled,
spatial block cross-validation with all preprocessing fitted inside folds, and maps predicted block
by block.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from geoprospect.catalog import ModelSpec, ProspectivitySpec
from geoprospect.errors import InputError
from geoprospect.evaluate import cross_validate, json_ready, positive_probability, success_rate_curve, truth_scores
from geoprospect.features import FeatureOptions, build_features
from geoprospect.grid import TargetGrid
from geoprospect.io.cube import open_cube, save_cube
from geoprospect.io.figures import save_png
from geoprospect.io.files import FileRef, atomic_path, publish
from geoprospect.io.maps import write_cog
from geoprospect.io.models import load_model, save_model
from geoprospect.io.rasters import read_band, read_preview
from geoprospect.io.tables import read_csv, write_csv, write_json
from geoprospect.io.vectors import read_vector
from geoprospect.labels import (assign_folds, block_size_from_data, sample_cells, spatial_blocks, training_table,
                                valid_mask)
from geoprospect.models.pipeline import build_pipeline
from geoprospect.predict import predict_map
from geoprospect.provenance import code_digest
from geoprospect.render.curves import plot_rate_curves, plot_roc_pr, plot_variogram
from geoprospect.render.prospectivity import class_breaks, plot_prospectivity
from geoprospect.render.report import Section, report_html

META_COLUMNS = ("x", "y", "row", "col", "label", "block", "fold")


def engineer_features(cube_path: Path, lines: dict[str, tuple[Path, str]], scenes: dict[str, str], grid: TargetGrid,
                      window_cells: int, destination: Path) -> dict:
    """Build the evidence features from the ingested cube and line/polygon layers; save them as a cube.

    ``lines`` maps a layer name to (GeoPackage path, geometry type) for the distance features.
    """
    cube = open_cube(cube_path)
    layers = {name: read_vector(path, geometry) for name, (path, geometry) in lines.items()}
    features = build_features(cube, grid, layers, scenes, FeatureOptions(window_cells=window_cells))
    save_cube(features, destination)
    return {"n_features": int(features.sizes["band"]), "names": [str(b) for b in features.band.values]}


def make_training_data(features_path: Path, deposits_path: Path, spec: ProspectivitySpec, table_destination: Path,
                       sample_destination: Path, variogram_destination: Path) -> dict:
    """Positives, background samples, spatial blocks and folds; a uniform sample of map cells.

    The block size comes from the data (the range of spatial autocorrelation of the features) unless
    the catalog fixes it; it is reported with its variogram.
    """
    features = open_cube(features_path)
    rng = np.random.default_rng(spec.seed)
    valid = valid_mask(features)
    deposits = read_vector(deposits_path, "point")
    table = training_table(features, deposits, spec.background_samples, spec.buffer_m, rng, valid=valid)
    summary = {k: v for k, v in table.attrs.items() if k != "origin_xy"}
    if spec.block_size_m is None:
        sizing = block_size_from_data(features, table, spec.n_folds, rng, valid=valid)
        block_size = sizing.block_size_m
        save_png(plot_variogram(sizing), variogram_destination)
        summary["block_sizing"] = sizing.to_dict()
    else:
        block_size = spec.block_size_m
        summary["block_sizing"] = {"block_size_m": block_size, "limited_by": "set in the catalog"}
    table["block"] = spatial_blocks(table["x"].to_numpy(), table["y"].to_numpy(), block_size, table.attrs["origin_xy"])
    table["fold"] = assign_folds(table["block"].to_numpy(), table["label"].to_numpy(), spec.n_folds, rng)
    write_csv(table, table_destination)
    write_csv(sample_cells(features, spec.map_sample, rng, valid), sample_destination)
    summary.update(block_size_m=float(block_size), positives=int(table["label"].sum()), background=int((table["label"] == 0).sum()),
                   positives_per_fold=table[table["label"] == 1].groupby("fold").size().astype(int).tolist())
    return json_ready(summary)


def _pipeline_factory(model: ModelSpec, imbalance: str, spec: ProspectivitySpec):
    autoencoder = {"n_components": spec.autoencoder_components, "mode": "append"} if spec.autoencoder_components else None
    return partial(build_pipeline, model.model, dict(model.params), imbalance, spec.spearman_threshold,
                   spec.pca_components, autoencoder, None, spec.seed)


def _feature_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in META_COLUMNS]


def cross_validate_model(table_path: Path, sample_path: Path, label: str, model: ModelSpec, imbalance: str,
                         spec: ProspectivitySpec, destination: Path, executor: Executor | None = None,
                         progress: Callable[[int, int], None] | None = None) -> dict:
    """Spatial block CV of one model and imbalance option: ``metrics.json`` and curve PNGs in ``destination``.

    The F1 threshold is chosen on each fold's training rows (in-sample), never on its test rows. The folds
    run on ``executor`` when given (a Dask cluster's), and report to ``progress(done, total)``.
    """
    table, sample = read_csv(table_path), read_csv(sample_path)
    columns = _feature_columns(table)
    result = cross_validate(_pipeline_factory(model, imbalance, spec), table, columns, table["fold"].to_numpy(), sample[columns],
                            executor=executor, threshold_folds=0, progress=progress)
    curves = {f"fold {i + 1}": curve for i, curve in enumerate(result.prediction_rate)}
    curves["all held-out deposits"] = result.pooled_prediction_rate
    save_png(plot_rate_curves(curves, title=f"{label}: prediction-rate curves (held-out deposits)"), destination / "prediction_rate.png")
    save_png(plot_roc_pr(table["label"].to_numpy(), {label: result.oof_probability}, title=f"{label}: out-of-fold ROC and PR"),
             destination / "roc_pr.png")
    metrics = json_ready(result.to_dict())
    write_json(metrics, destination / "cv_metrics.json")
    return {"summary": json_ready(result.summary.to_dict(orient="index"))}


def fit_final_model(table_path: Path, label: str, model: ModelSpec, imbalance: str, spec: ProspectivitySpec,
                    destination: Path) -> dict:
    """Fit on every training row and save the model safely (skops + manifest); permutation importances.

    Importances are permutation importances (average precision, 3 repeats, on every training deposit
    and 1,000 background rows) for every model, so that models with and without their own importances
    compare on one scale.
    """
    table = read_csv(table_path)
    columns = _feature_columns(table)
    X, y = table[columns], table["label"].to_numpy()
    pipeline = _pipeline_factory(model, imbalance, spec)().fit(X, y)
    save_model(pipeline, destination / "model.skops", {"label": label, "model": model.model, "params": model.params,
                                                       "imbalance": imbalance, "features": columns})
    # every positive and a seeded subsample of the background keep the cost bounded for SVM and GP
    rng = np.random.default_rng(spec.seed)
    rows = np.concatenate([np.flatnonzero(y == 1), rng.permutation(np.flatnonzero(y == 0))[:1000]])
    importance = permutation_importance(pipeline, X.iloc[rows], y[rows], scoring="average_precision", n_repeats=3,
                                        random_state=spec.seed)
    importances = pd.DataFrame({"feature": columns, "importance": importance.importances_mean, "sd": importance.importances_std})
    write_csv(importances.sort_values("importance", ascending=False), destination / "feature_importance.csv")
    return {"model": str(destination / "model.skops")}


def map_and_score(model_path: Path, features_path: Path, table_path: Path, sample_path: Path, deposits_path: Path,
                  truth_path: Path | None, label: str, destination: Path) -> dict:
    """Predict the map block by block (COG), draw it with class breaks, and score it.

    Scores: the success-rate curve (training deposits against the map's cells), and on the demo the
    Spearman correlation and soft ROC-AUC of the map against the true probability.
    """
    model, _ = load_model(model_path)
    features = open_cube(features_path)
    probability = predict_map(model, features)
    tags = {"MODEL": label, "QUANTITY": "probability of a deposit per cell (0-1)", "FEATURES": ",".join(map(str, features.band.values)),
            "MODEL_FILE": Path(model_path).name}
    cog = write_cog(probability, destination / "probability.tif", description=f"{label} prospectivity", units="probability", tags=tags)
    values, bounds, _, _ = read_preview(cog)
    table, sample = read_csv(table_path), read_csv(sample_path)
    columns = _feature_columns(table)
    map_scores = positive_probability(model, sample[columns])
    breaks = class_breaks(map_scores)
    deposits = read_vector(deposits_path, "point")
    figure = plot_prospectivity(values[0], bounds, breaks, (deposits.geometry.x.to_numpy(), deposits.geometry.y.to_numpy()),
                                f"{label}: probability of a deposit")
    save_png(figure, destination / "map.png")
    success = success_rate_curve(positive_probability(model, table.loc[table["label"] == 1, columns]), map_scores)
    save_png(plot_rate_curves({"training deposits": success}, title=f"{label}: success-rate curve"), destination / "success_rate.png")
    scores = {"success_rate_auc": success.auc, "success_captured_top10": success.captured_top10,
              "success_captured_top20": success.captured_top20, "class_breaks": list(map(float, breaks))}
    if truth_path is not None:
        truth = read_band(truth_path)
        if truth.shape != probability.shape:
            raise InputError(truth_path, f"truth raster shape {truth.shape} differs from the map's {probability.shape}",
                             "ingest the truth onto the same grid")
        scores.update({f"truth_{k}": v for k, v in truth_scores(probability.values, truth).items()})
    write_json(json_ready(scores), destination / "map_metrics.json")
    return json_ready(scores)


def comparison_table(results: list[dict]) -> pd.DataFrame:
    """One row per model and imbalance option: CV mean and SD of the headline metrics, map scores."""
    rows = []
    for result in results:
        row = {"model": result["label"], "imbalance": result["imbalance"]}
        summary = result["cv"]["summary"]
        for metric in ("roc_auc", "pr_auc", "f1", "pu_criterion", "prediction_rate_auc", "captured_top10", "captured_top20"):
            row[f"{metric}_mean"] = summary.get(metric, {}).get("mean")
            row[f"{metric}_sd"] = summary.get(metric, {}).get("sd")
        row.update({k: v for k, v in result["map"].items() if k != "class_breaks"})
        rows.append(row)
    return pd.DataFrame(rows)



def choose_model(table: pd.DataFrame, requested: str | None) -> str:
    """The model to keep: the catalog's ``save_model`` label, else the best mean PR-AUC."""
    keys = table["model"] + "-" + table["imbalance"]
    if requested is not None:
        matches = keys[(table["model"] == requested) | (keys == requested)]
        if matches.empty:
            raise InputError("prospectivity.save_model", f"no model called {requested!r}", f"use one of {', '.join(keys)}")
        return str(matches.iloc[0])
    return str(keys.iloc[int(table["pr_auc_mean"].astype(float).fillna(-1).to_numpy().argmax())])


def publish_prospectivity(training: dict, results: list[dict], requested: str | None, study_area: str, folder: Path) -> Path:
    """Link every product into ``folder``; write ``comparison.csv``, ``metrics.json`` and ``report.html``.

    ``results`` hold, per model and imbalance option: ``label``, ``imbalance``, ``cv``, ``fit`` and
    ``map`` task products (``files``: relative name -> FileRef).
    """
    for name, ref in training["files"].items():
        publish(ref.path, folder / "training" / name)
    for result in results:
        key = f"{result['label']}-{result['imbalance']}"
        for step in ("cv", "fit", "map"):
            for name, ref in result[step]["files"].items():
                publish(ref.path, folder / "models" / key / name)
    table = comparison_table([{"label": r["label"], "imbalance": r["imbalance"], "cv": r["cv"], "map": r["map"]["scores"]}
                              for r in results])
    chosen = choose_model(table, requested)
    write_csv(table, folder / "comparison.csv")
    write_json(json_ready({"study_area": study_area, "training": training["summary"], "chosen_model": chosen,
                           "chosen_model_file": f"models/{chosen}/model.skops", "models": table.to_dict(orient="records")}),
               folder / "metrics.json")
    sizing = training["summary"].get("block_sizing", {})
    sections = [
        Section("Training data", f"{training['summary']['positives']} deposit cells, {training['summary']['background']} unlabelled "
                f"background cells (none within {training['summary'].get('buffer_m', '?')} m of a deposit). Spatial blocks of "
                f"{sizing.get('block_size_m', 0):.0f} m ({sizing.get('limited_by', '')}); deposits per fold: "
                f"{training['summary']['positives_per_fold']}.",
                images=[("training/block_variogram.png", "variogram of the features and the block size")]
                if "block_variogram.png" in training["files"] else []),
        Section("Model comparison", "Spatial block cross-validation: mean and SD across folds. truth_* columns compare the map "
                f"with the known true probability (demo only). Model kept: {chosen} (models/{chosen}/model.skops).", table=table),
    ]
    for result in results:
        key = f"{result['label']}-{result['imbalance']}"
        importance = read_csv(folder / "models" / key / "feature_importance.csv").head(10)
        sections.append(Section(f"{result['label']} with imbalance '{result['imbalance']}'", table=importance,
                                images=[(f"models/{key}/{name}", name.removesuffix(".png").replace("_", " "))
                                        for name in ("map.png", "success_rate.png", "prediction_rate.png", "roc_pr.png")]))
    report = folder / "report.html"
    with atomic_path(report) as tmp:
        tmp.write_text(report_html(f"Prospectivity: {study_area}", f"geoprospect prospectivity flow, code {code_digest('geoprospect.pipelines.prospectivity')[:12]}",
                                   sections))
    return report


def ingested_products(folder: Path, vectors: list[str]) -> dict:
    """FileRefs of the ingest flow's published cube, deposits, named vector layers and truth map.

    A study area without deposits cannot be modelled: that is an :class:`InputError`, not a crash.
    """
    if not (folder / "cube.zarr").is_dir():
        raise InputError(folder, "no ingested feature cube", "run the ingest flow first (flows.ingest)")
    deposits = folder / "vectors" / "deposits.gpkg"
    if not deposits.is_file():
        raise InputError("deposits", "the catalog has no deposits", "add a 'deposits' section: known deposits are the positives")
    truth = folder / "layers" / "true_probability.tif"
    return {"cube": FileRef.of(folder / "cube.zarr"), "deposits": FileRef.of(deposits),
            "truth": FileRef.of(truth) if truth.is_file() else None,
            "vectors": {name: FileRef.of(folder / "vectors" / f"{name}.gpkg") for name in vectors
                        if (folder / "vectors" / f"{name}.gpkg").is_file()}}
