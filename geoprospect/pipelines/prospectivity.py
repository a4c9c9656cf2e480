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
import xarray as xr

from geoprospect.catalog import ModelSpec, ProspectivitySpec
from geoprospect.crs import crs_name
from geoprospect.errors import InputError
from geoprospect.evaluate import cross_validate, json_ready, success_rate_curve, truth_scores
from geoprospect.features import FeatureOptions, build_features
from geoprospect.grid import TargetGrid
from geoprospect.io.cube import open_cube, save_cube
from geoprospect.io.figures import save_png
from geoprospect.io.files import FileRef, atomic_path, publish
from geoprospect.io.maps import write_cog
from geoprospect.io.models import load_model, save_model
from geoprospect.io.rasters import read_band, read_preview
from geoprospect.io.tables import read_csv, read_json, write_csv, write_json
from geoprospect.io.vectors import read_vector
from geoprospect.labels import (assign_folds, block_size_from_data, sample_cells, spatial_blocks, training_table,
                                valid_mask)
from geoprospect.models import ENSEMBLE, is_positive_unlabelled
from geoprospect.models.pipeline import build_pipeline
from geoprospect.predict import predict_map
from geoprospect.provenance import code_digest
from geoprospect.render.curves import plot_rate_curves, plot_roc_pr, plot_variogram
from geoprospect.render.prospectivity import class_breaks, plot_prospectivity, plot_prospectivity_panels
from geoprospect.render.report import Section, report_html

META_COLUMNS = ("x", "y", "row", "col", "label", "block", "fold")
ENSEMBLE_LABEL = "ensemble"  # the comparison row of the rank ensemble (the flow's label for it)


def engineer_features(cube_path: Path, lines: dict[str, tuple[Path, str]], scenes: dict[str, str], grid: TargetGrid,
                      window_cells: int, destination: Path, mask_path: Path | None = None) -> dict:
    """Build the evidence features from the ingested cube and line/polygon layers; save them as a cube.

    ``lines`` maps a layer name to (GeoPackage path, geometry type) for the distance features. With a
    study-area mask (``grid.mask``) every feature is nodata outside it, so no background sample is
    drawn there, no map cell is scored there and area fractions count the study area only.
    """
    cube = open_cube(cube_path)
    layers = {name: read_vector(path, geometry) for name, (path, geometry) in lines.items()}
    features = build_features(cube, grid, layers, scenes, FeatureOptions(window_cells=window_cells))
    if mask_path is not None:
        inside = xr.DataArray(np.isfinite(read_band(mask_path)), dims=("y", "x"), coords={"y": features.y, "x": features.x})
        features = features.where(inside).rio.write_crs(features.rio.crs).rio.write_transform(grid.transform)
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
    # cells each feature covers, and cells with every feature (the only ones modelled, sampled and mapped)
    covered = np.isfinite(features).mean(("y", "x")).compute()
    summary["feature_valid_fraction"] = {str(b): round(float(v), 4) for b, v in zip(features.band.values, covered.values)}
    summary["modelled_fraction"] = float(valid.mean())
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
    Feature importances are permutation importances (average precision, ``importance_repeats`` shuffles) of each fold's model
    on its held-out rows, averaged over folds (``feature_importance.csv``): every model on one scale, and
    measured where the model did not train.
    """
    table, sample = read_csv(table_path), read_csv(sample_path)
    columns = _feature_columns(table)
    result = cross_validate(_pipeline_factory(model, imbalance, spec), table, columns, table["fold"].to_numpy(), sample[columns],
                            executor=executor, threshold_folds=0, progress=progress,
                            importance_repeats=spec.importance_repeats)
    name = f"{label} (imbalance: {imbalance})"
    curves = {f"fold {i + 1}": curve for i, curve in enumerate(result.prediction_rate)}
    curves["all held-out deposits"] = result.pooled_prediction_rate
    save_png(plot_rate_curves(curves, title=f"{name}: prediction-rate curves (held-out deposits)"), destination / "prediction_rate.png")
    save_png(plot_roc_pr(table["label"].to_numpy(), {label: result.oof_probability}, title=f"{name}: out-of-fold ROC and PR"),
             destination / "roc_pr.png")
    write_csv(result.importances, destination / "feature_importance.csv")
    metrics = json_ready(result.to_dict())
    write_json(metrics, destination / "cv_metrics.json")
    return {"summary": json_ready(result.summary.to_dict(orient="index")), "n_folds": int(len(result.fold_metrics))}


def fit_final_model(table_path: Path, label: str, model: ModelSpec, imbalance: str, spec: ProspectivitySpec,
                    destination: Path) -> dict:
    """Fit on every training row and save the model safely (skops + manifest).

    Importances are not measured here, on the rows the model trained on, but on the held-out folds
    (:func:`cross_validate_model`).
    """
    table = read_csv(table_path)
    columns = _feature_columns(table)
    X, y = table[columns], table["label"].to_numpy()
    pipeline = _pipeline_factory(model, imbalance, spec)().fit(X, y)
    save_model(pipeline, destination / "model.skops", {"label": label, "model": model.model, "params": model.params,
                                                       "imbalance": imbalance, "features": columns})
    for name, extra in getattr(pipeline.steps[-1][1], "report_tables", dict)().items():  # e.g. the WofE weights
        write_csv(extra, destination / f"{name}.csv")
    return {"model": str(destination / "model.skops")}


def map_and_score(model_path: Path, features_path: Path, table_path: Path, sample_path: Path, deposits_path: Path,
                  truth_path: Path | None, label: str, destination: Path,
                  progress: Callable[[int, int], None] | None = None) -> dict:
    """Predict the map block by block (COG; each block reported to ``progress(done, total)``), draw it
    with class breaks, and score it.

    Scores: the success-rate curve (training deposits against the map's cells), and on the demo the
    Spearman correlation and soft ROC-AUC of the map against the true probability.
    """
    model, metadata = load_model(model_path)
    value_label = output_kind(metadata.get("model", ""))
    features = open_cube(features_path)
    probability = predict_map(model, features, progress=progress)
    tags = {"MODEL": label, "QUANTITY": OUTPUTS[value_label][0],
            "FEATURES": ",".join(map(str, features.band.values)), "MODEL_FILE": Path(model_path).name}
    cog = write_cog(probability, destination / "probability.tif", description=f"{label} prospectivity", units=value_label, tags=tags)
    values, bounds, _, _ = read_preview(cog)
    table, sample = read_csv(table_path), read_csv(sample_path)
    # Scores come from the written map, read once: predicting the sample and the deposits again cost the GP
    # 18 minutes on the 30 km demo after a 1-minute map (issue 22), and the lazy map must not be recomputed.
    mapped = read_band(cog)
    map_scores = cells_of(mapped, sample)
    breaks = class_breaks(map_scores)
    deposits = read_vector(deposits_path, "point")
    title = f"{label}: {OUTPUTS[value_label][1]}"
    figure = plot_prospectivity(values[0], bounds, breaks, (deposits.geometry.x.to_numpy(), deposits.geometry.y.to_numpy()),
                                title, crs_label=crs_name(features.rio.crs) if features.rio.crs else "",
                                value_label="mean percentile rank" if value_label == "rank" else value_label)
    save_png(figure, destination / "map.png")
    success = success_rate_curve(cells_of(mapped, table[table["label"] == 1]), map_scores)
    save_png(plot_rate_curves({"training deposits": success}, title=f"{label}: success-rate curve"), destination / "success_rate.png")
    scores = {"output": value_label, "success_rate_auc": success.auc, "success_captured_top10": success.captured_top10,
              "success_captured_top20": success.captured_top20, "class_breaks": list(map(float, breaks))}
    if truth_path is not None:
        truth = read_band(truth_path)
        if truth.shape != mapped.shape:
            raise InputError(truth_path, f"truth raster shape {truth.shape} differs from the map's {mapped.shape}",
                             "ingest the truth onto the same grid")
        scores.update({f"truth_{k}": v for k, v in truth_scores(mapped, truth).items()})
    write_json(json_ready(scores), destination / "map_metrics.json")
    return json_ready(scores)


# What a model's map holds, by the ``output`` of its scores: (the COG's QUANTITY tag, the map's title after the label).
OUTPUTS = {
    "probability": ("probability of a deposit per cell (0-1)", "probability of a deposit"),
    # a positive-unlabelled model ranks cells (deposits against unlabelled ground), it does not give the
    # probability of a deposit
    "score": ("score ranking cells (positive-unlabelled)", "prospectivity score (PU: a ranking, not a probability)"),
    # the rank ensemble averages its members' percentiles among the background cells: ~ the share of the area a cell outranks
    "rank": ("mean percentile rank of the ensemble members' scores (0-1), a ranking",
             "mean percentile rank of its members (a ranking, not a probability)"),
}


def output_kind(model: str) -> str:
    """What registry model ``model``'s map holds: ``probability``, ``score`` (``pu_*``) or ``rank`` (the ensemble);
    labelled so on its map, legend, COG and comparison row (``output``)."""
    if model == ENSEMBLE:
        return "rank"
    return "score" if is_positive_unlabelled(model) else "probability"


def cells_of(mapped: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """The map's values at a table's ``row``/``col`` cells (NaN cells dropped), shape (n,)."""
    values = mapped[table["row"].to_numpy(int), table["col"].to_numpy(int)]
    return values[np.isfinite(values)]


def comparison_table(results: list[dict]) -> pd.DataFrame:
    """One row per model and imbalance option: CV mean and SD of the headline metrics, the lower
    confidence bound that :func:`choose_model` ranks by, map scores."""
    rows = []
    for result in results:
        row = {"model": result["label"], "imbalance": result["imbalance"]}
        summary = result["cv"]["summary"]
        for metric in ("roc_auc", "pr_auc", "f1", "pu_criterion", "prediction_rate_auc", "captured_top10", "captured_top20"):
            row[f"{metric}_mean"] = summary.get(metric, {}).get("mean")
            row[f"{metric}_sd"] = summary.get(metric, {}).get("sd")
        folds = result["cv"].get("n_folds") or 1
        row["n_folds"] = folds
        row["prediction_rate_auc_lcb"] = lower_confidence_bound(summary, folds)
        row.update({k: v for k, v in result["map"].items() if k != "class_breaks"})
        rows.append(row)
    return pd.DataFrame(rows)


def lower_confidence_bound(summary: dict, n_folds: int) -> float | None:
    """The held-out prediction-rate AUC's mean - SD / sqrt(folds) from a CV summary (None without it):
    what :func:`choose_model` ranks by, and the ensemble's members are chosen by."""
    stats = summary.get("prediction_rate_auc", {})
    mean, sd = stats.get("mean"), stats.get("sd")
    if mean is None or not np.isfinite(mean):
        return None
    return float(mean) - (float(sd) if sd is not None and np.isfinite(sd) else 0.0) / np.sqrt(n_folds)


def choose_model(table: pd.DataFrame, requested: str | None) -> tuple[str, str]:
    """The model to keep, and why.

    The catalog's ``save_model`` label when given. Otherwise the highest lower confidence bound of the
    held-out prediction-rate AUC, mean - SD / sqrt(folds): with a handful of deposits per spatial
    fold the fold-to-fold spread is often as large as the differences between models, and a model
    that is good on average but erratic across space should not win over a steadily good one.
    The prediction-rate AUC (area under the share of held-out deposits against the share of the area,
    ranked by the model) suits every model alike, PU scores included; PR-AUC depends on the share of
    positives among the background sample and is not comparable between imbalance options.
    """
    keys = table["model"] + "-" + table["imbalance"]
    if requested is not None:
        matches = keys[(table["model"] == requested) | (keys == requested)]
        if matches.empty:
            raise InputError("prospectivity.save_model", f"no model called {requested!r}", f"use one of {', '.join(keys)}")
        return str(matches.iloc[0]), "named in the catalog (prospectivity.save_model)"
    bound = pd.to_numeric(table["prediction_rate_auc_lcb"], errors="coerce").fillna(-np.inf).to_numpy()
    order = np.argsort(-bound, kind="stable")
    best = int(order[0])
    row = table.iloc[best]
    reason = (f"highest lower confidence bound of the held-out prediction-rate AUC: mean {row['prediction_rate_auc_mean']:.3f} "
              f"- SD {row['prediction_rate_auc_sd']:.3f} / sqrt({int(row['n_folds'])} folds) = {bound[best]:.3f}")
    if len(order) > 1:
        runner = int(order[1])
        reason += f"; next {keys.iloc[runner]} at {bound[runner]:.3f}"
    by_mean = int(pd.to_numeric(table["prediction_rate_auc_mean"], errors="coerce").fillna(-np.inf).to_numpy().argmax())
    if by_mean != best:
        reason += (f"; {keys.iloc[by_mean]} has the higher mean ({table['prediction_rate_auc_mean'].iloc[by_mean]:.3f}) but a wider "
                   f"spread across folds (SD {table['prediction_rate_auc_sd'].iloc[by_mean]:.3f})")
    # One-standard-error rule (Breiman et al. 1984; Hastie et al. 2009, 7.10): of the runs CV cannot tell apart
    # from the best, keep the steadiest, the rank ensemble. With a dozen held-out deposits the winner is
    # mostly chance, and averaging several models' ranks removes the variance of that pick (ensemble
    # forecasting, Araujo and New 2007); on the small demo it also breaks the ties of tree maps.
    ensemble = np.flatnonzero((table["model"] == ENSEMBLE_LABEL).to_numpy())
    if ensemble.size and ensemble[0] != best:
        e = int(ensemble[0])
        means = pd.to_numeric(table["prediction_rate_auc_mean"], errors="coerce").to_numpy(float)
        sd = float(pd.to_numeric(table["prediction_rate_auc_sd"], errors="coerce").fillna(0.0).iloc[best])
        standard_error = sd / np.sqrt(int(table["n_folds"].iloc[best]))
        mean = means[e]
        if np.isfinite(mean) and mean >= means[best] - standard_error:
            return str(keys.iloc[e]), (f"rank ensemble kept by the one-standard-error rule: its held-out prediction-rate AUC "
                                       f"{mean:.3f} is within one standard error ({standard_error:.3f}) of the best single run's "
                                       f"({keys.iloc[best]}: {reason})")
    return str(keys.iloc[best]), reason


def publish_prospectivity(training: dict, results: list[dict], requested: str | None, study_area: str, folder: Path,
                          failures: list[dict] | None = None) -> Path:
    """Link every product into ``folder``; write ``comparison.csv``, ``metrics.json`` and ``report.html``.

    ``results`` hold, per model and imbalance option: ``label``, ``imbalance``, ``cv``, ``fit`` and
    ``map`` task products (``files``: relative name -> FileRef). ``failures`` (``label``, ``imbalance``,
    ``reason``) are the models that could not be fitted: listed in the comparison with their reason
    (``status`` column) and no scores, never chosen.
    """
    failures = failures or []
    for name, ref in training["files"].items():
        publish(ref.path, folder / "training" / name)
    for result in results:
        key = f"{result['label']}-{result['imbalance']}"
        for step in ("cv", "fit", "map", "uncertainty", "explain"):
            for name, ref in result.get(step, {"files": {}})["files"].items():
                publish(ref.path, folder / "models" / key / name)
    table = comparison_table([{"label": r["label"], "imbalance": r["imbalance"], "cv": r["cv"],
                               "map": {**r["map"]["scores"], **r.get("uncertainty", {}).get("summary", {})}} for r in results])
    unfitted = [f for f in failures if requested in (f["label"], f"{f['label']}-{f['imbalance']}")]
    if unfitted:
        raise InputError("prospectivity.save_model", f"model {requested!r} could not be fitted ({unfitted[0]['reason']})",
                         "fix its parameters, or name another model in save_model")
    chosen, because = choose_model(table, requested)
    table.insert(2, "status", "fitted")
    failed = pd.DataFrame([{"model": f["label"], "imbalance": f["imbalance"], "status": f"failed: {f['reason']}"} for f in failures],
                          columns=["model", "imbalance", "status"])
    table = pd.concat([table, failed], ignore_index=True) if failures else table
    write_csv(table, folder / "comparison.csv")
    write_json(json_ready({"study_area": study_area, "training": training["summary"], "chosen_model": chosen,
                           "chosen_because": because, "chosen_model_file": f"models/{chosen}/model.skops",
                           "models": table.to_dict(orient="records")}),
               folder / "metrics.json")
    panels = side_by_side(folder, table, chosen)
    sizing = training["summary"].get("block_sizing", {})
    sections = [
        Section("Training data", f"{training['summary']['positives']} deposit cells, {training['summary']['background']} unlabelled "
                f"background cells (none within {training['summary'].get('buffer_m', '?')} m of a deposit). Spatial blocks of "
                f"{sizing.get('block_size_m', 0):.0f} m ({sizing.get('limited_by', '')}); deposits per fold: "
                f"{training['summary']['positives_per_fold']}.",
                images=[("training/block_variogram.png", "variogram of the features and the block size")]
                if "block_variogram.png" in training["files"] else []),
        Section("Feature coverage", f"Cells with every feature, the only ones modelled and mapped: "
                f"{training['summary'].get('modelled_fraction', 1.0):.1%} of the grid (a study-area mask, and layers that cover "
                "part of the area, leave the rest nodata). Per feature:",
                table=pd.DataFrame(sorted(training["summary"].get("feature_valid_fraction", {}).items(), key=lambda kv: kv[1]),
                                   columns=["feature", "valid_fraction"])),
        Section("Model comparison", "Spatial block cross-validation: mean and SD across folds. truth_* columns compare the map "
                f"with the known true probability (demo only). Model kept: {chosen} (models/{chosen}/model.skops), because: "
                f"{because}. Positive-unlabelled (pu_*) models output a score that ranks cells, and the ensemble the mean "
                "percentile rank of its members, not a probability. truth_roc_auc_ceiling is the truth's own score (ranking "
                "by the true probability): no map can exceed it.",
                table=table, images=[(panels.name, "every model's map, each by its own area classes")]),
    ]
    for failure in failures:
        sections.append(Section(f"{failure['label']} with imbalance '{failure['imbalance']}': not fitted",
                                "This model could not be fitted, so it has no scores or map.", error=failure["reason"]))
    for result in results:
        key = f"{result['label']}-{result['imbalance']}"
        importance = read_csv(folder / "models" / key / "feature_importance.csv").head(10)
        sections.append(Section(f"{result['label']} with imbalance '{result['imbalance']}'",
                                "Permutation importances on the held-out folds (drop in average precision; mean and SD across folds).",
                                table=importance,
                                images=[(f"models/{key}/{name}", name.removesuffix(".png").replace("_", " "))
                                        for name in ("map.png", "uncertainty.png", "shap_panel.png", "success_rate.png",
                                                     "prediction_rate.png", "roc_pr.png")
                                        if (folder / "models" / key / name).is_file()]))
    report = folder / "report.html"
    with atomic_path(report) as tmp:
        tmp.write_text(report_html(f"Prospectivity: {study_area}", f"geoprospect prospectivity flow, code {code_digest('geoprospect.pipelines.prospectivity')[:12]}",
                                   sections))
    return report


def side_by_side(folder: Path, table: pd.DataFrame, chosen: str) -> Path:
    """Every model's published map on one page (``models_side_by_side.png``), the kept one marked."""
    training = read_csv(folder / "training" / "training_table.csv")
    deposits = training.loc[training["label"] == 1, ["x", "y"]].to_numpy().T
    panels, bounds = [], None
    for _, row in table[table["status"] == "fitted"].iterrows():  # failed models have no map
        key = f"{row['model']}-{row['imbalance']}"
        values, bounds, _, _ = read_preview(folder / "models" / key / "probability.tif", max_size=400)
        breaks = read_json(folder / "models" / key / "map_metrics.json")["class_breaks"]
        title = key + (f" ({row.get('output')})" if row.get("output") in ("score", "rank") else "") + (" - kept" if key == chosen else "")
        panels.append((values[0], np.asarray(breaks), title))
    path = folder / "models_side_by_side.png"
    save_png(plot_prospectivity_panels(panels, bounds, (deposits[0], deposits[1]), "Every model's map by area classes; "
                                       "white dots: deposit cells"), path)
    return path


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
    mask = folder / "layers" / "study_area.tif"
    return {"cube": FileRef.of(folder / "cube.zarr"), "deposits": FileRef.of(deposits),
            "mask": FileRef.of(mask) if mask.is_file() else None,
            "truth": FileRef.of(truth) if truth.is_file() else None,
            "vectors": {name: FileRef.of(folder / "vectors" / f"{name}.gpkg") for name in vectors
                        if (folder / "vectors" / f"{name}.gpkg").is_file()}}


# Public names for the companion steps in prospectivity_extras (uncertainty, explanations, ensemble).
pipeline_factory = _pipeline_factory
feature_columns = _feature_columns
