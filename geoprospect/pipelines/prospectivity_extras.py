"""Prospectivity steps beyond one map per model: the spread of each map and its target ranking, the
ensemble, and SHAP explanation maps of the kept model.

Companion of :mod:`geoprospect.pipelines.prospectivity` (same conventions: each function is one
cacheable step, reads and writes through :mod:`geoprospect.io`, passes paths).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from geoprospect.catalog import ModelSpec, ProspectivitySpec
from geoprospect.crs import crs_name
from geoprospect.evaluate import json_ready
from geoprospect.explain import Explainer, shap_maps, top_features
from geoprospect.io.cube import open_cube
from geoprospect.io.figures import save_png
from geoprospect.io.maps import write_cog
from geoprospect.io.models import load_model
from geoprospect.io.rasters import read_band, read_preview
from geoprospect.io.tables import read_csv, write_csv
from geoprospect.io.vectors import read_vector
from geoprospect.models import ENSEMBLE
from geoprospect.pipelines.prospectivity import (ENSEMBLE_LABEL, choose_model, comparison_table, feature_columns, lower_confidence_bound,
                                                 pipeline_factory)
from geoprospect.render.explain import plot_dependence, plot_shap_panel
from geoprospect.predict import predict_map
from geoprospect.render.maps import plot_layer
from geoprospect.uncertainty import SPREAD, FoldEnsemble, SpreadModel, rank_targets, spread_source

SOURCES = {"rounds": "SD across the PU bagging rounds", "own": "SD of the posterior probability",
           "folds": "SD across the spatial-CV fold models", "dropout": "SD over Monte Carlo dropout passes",
           "members": "SD of the ensemble members' percentile ranks (where the models disagree)"}


def map_uncertainty(model_path: Path, probability_path: Path, features_path: Path, table_path: Path,
                    deposits_path: Path, label: str, model: ModelSpec, imbalance: str, spec: ProspectivitySpec,
                    destination: Path, progress: Callable[[int, int], None] | None = None) -> dict:
    """The spread of one model's map (COG + PNG; each block reported to ``progress(done, total)``) and its
    target ranking (``targets.csv``).

    The spread is the SD of the model's members (:mod:`geoprospect.uncertainty`): its PU rounds, its
    own posterior SD, or else the models of the spatial CV folds, refitted here on each fold's training
    rows with the same pipeline.
    """
    fitted, _ = load_model(model_path)
    if spread_source(fitted) is None:
        table = read_csv(table_path)
        columns = feature_columns(table)
        make = pipeline_factory(model, imbalance, spec)
        fitted = FoldEnsemble([make().fit(table.loc[table["fold"] != k, columns], table.loc[table["fold"] != k, "label"])
                               for k in np.unique(table["fold"])])
    source = spread_source(fitted)
    features = open_cube(features_path)
    spread = predict_map(SpreadModel(fitted), features, positive_class=SPREAD, progress=progress)
    cog = write_cog(spread, destination / "uncertainty.tif", description=f"{label} spread ({SOURCES[source]})",
                    units="percentile rank SD" if source == "members" else "probability SD")
    values, bounds, _, _ = read_preview(cog)
    deposits = read_vector(deposits_path, "point")
    save_png(plot_layer(values[0], bounds, f"{label}: spread of the prediction\n{SOURCES[source]}", units="SD",
                        points=(deposits.geometry.x.to_numpy(), deposits.geometry.y.to_numpy()), cmap="magma",
                        crs_label=crs_name(features.rio.crs) if features.rio.crs else ""),
             destination / "uncertainty.png")
    probability, sd = read_band(probability_path), read_band(cog)
    targets = rank_targets(probability, sd, features.x.to_numpy(), features.y.to_numpy())
    write_csv(targets, destination / "targets.csv")
    top = np.isfinite(probability) & (probability >= np.nanquantile(probability, 0.9))
    return json_ready({"spread_source": source, "spread_mean": float(np.nanmean(sd)),
                       "spread_top10_mean": float(np.nanmean(sd[top]))})


def ensemble_model(runs: list[tuple[str, ModelSpec, str, dict]], top: int, spec: ProspectivitySpec) -> ModelSpec | None:
    """The ensemble of the ``top`` best runs, as a model of the comparison (or ``None``).

    The best by the criterion that keeps a model (:func:`choose_model`: lower confidence bound of the
    held-out prediction-rate AUC), not by PR-AUC, which depends on the share of positives and so favours
    or penalises the oversampled runs; one run per model (its best imbalance option), since two options
    of one model err alike. ``runs`` hold (label, model, imbalance option, CV summary) per
    compared model; an ensemble is never a member of another.
    """
    scored = [(lower_confidence_bound(summary, spec.n_folds), label, model, imbalance)
              for label, model, imbalance, summary in runs if model.model != ENSEMBLE]
    best_of_each: dict[str, tuple] = {}  # one run per model (its best imbalance option): diverse members
    for entry in sorted((s for s in scored if s[0] is not None), key=lambda s: -s[0]):
        best_of_each.setdefault(entry[1], entry)
    scored = list(best_of_each.values())[:top]
    if top < 2 or len(scored) < 2:
        return None
    members = [{"model": model.model, "params": dict(model.params), "imbalance": imbalance, "label": label}
               for _, label, model, imbalance in scored]
    return ModelSpec(model=ENSEMBLE, params={"members": [{k: v for k, v in m.items() if k != "label"} for m in members],
                                             "spearman_threshold": spec.spearman_threshold,
                                             "pca_components": spec.pca_components})


def _table(results: list[dict]) -> pd.DataFrame:
    return comparison_table([{"label": r["label"], "imbalance": r["imbalance"], "cv": r["cv"], "map": r["map"]["scores"]}
                             for r in results])


def kept_model(results: list[dict], requested: str | None) -> str:
    """The key (``label-imbalance``) of the model the publish step keeps, from the same comparison table."""
    return choose_model(_table(results), requested)[0]


def spread_models(results: list[dict], requested: str | None, count: int) -> list[str]:
    """The keys of the runs whose spread is mapped: the kept one first, then the next best by the kept-model
    criterion (lower confidence bound of the held-out prediction-rate AUC), ``count`` in all (0: every run).
    Every run keeps its CV and map scores in the comparison; only the spread columns are left empty."""
    table = _table(results)
    keys = (table["model"] + "-" + table["imbalance"]).tolist()
    if count == 0:
        return keys
    kept = choose_model(table, requested)[0]
    bound = pd.to_numeric(table["prediction_rate_auc_lcb"], errors="coerce").fillna(-np.inf).to_numpy()
    ranked = [keys[i] for i in np.argsort(-bound, kind="stable") if keys[i] != kept]
    return [kept] + ranked[:count - 1]


def explained_model(results: list[dict], requested: str | None) -> str:
    """The key of the run whose SHAP maps are drawn: the kept one, or when that is the rank ensemble, the best
    single run (what the ensemble would be without averaging). A mean of ranks has no tree explainer, and the
    permutation explainer on it (every member predicted per permutation) took over 5 minutes on the small demo."""
    kept = kept_model(results, requested)
    singles = [r for r in results if r["label"] != ENSEMBLE_LABEL]
    if kept == f"{ENSEMBLE_LABEL}-none" and singles:
        return kept_model(singles, None)
    return kept


# A permutation explainer costs about 2 x features x background rows of predictions per cell explained.
SAMPLED_MAX_CELLS, SAMPLED_BACKGROUND, SAMPLED_ROWS = 500, 20, 100


def explain_model(model_path: Path, features_path: Path, sample_path: Path, label: str, spec: ProspectivitySpec,
                  destination: Path) -> dict:
    """SHAP maps (COG ``shap.tif``, one band per top feature, and ``shap_panel.png``), a dependence plot per
    top feature and ``shap_importance.csv`` (mean |SHAP| over sampled map cells) of one model."""
    fitted, metadata = load_model(model_path)
    columns = list(metadata["features"])
    background = read_csv(sample_path)[columns].dropna()
    explainer = Explainer(fitted, columns, background, spec.explain_method, n_background=SAMPLED_BACKGROUND, seed=spec.seed)
    tree = explainer.kind == "tree"
    rows = background.sample(min(len(background), 2000 if tree else SAMPLED_ROWS), random_state=spec.seed)
    top, values = top_features(explainer, rows, spec.explain_features)
    cap = spec.explain_max_cells if tree else min(spec.explain_max_cells, SAMPLED_MAX_CELLS)
    maps = shap_maps(explainer, open_cube(features_path), top, max_cells=cap)
    names = [explainer.names[i] for i in top]
    cog = write_cog(maps, destination / "shap.tif", description=[f"SHAP of {n}" for n in names], units=explainer.units)
    preview, bounds, _, _ = read_preview(cog)
    method = "Tree SHAP" if tree else "sampled (permutation) SHAP"
    save_png(plot_shap_panel(preview, names, bounds, explainer.units, f"{label}: {method} contributions of the top features"),
             destination / "shap_panel.png")
    for k, (i, name) in enumerate(zip(top, names)):
        if name in rows.columns:  # (a PCA or autoencoder component has no raw value to plot against)
            save_png(plot_dependence(rows[name].to_numpy(), values[:, i], name, explainer.units, f"{label}: SHAP dependence"),
                     destination / f"shap_dependence_{k + 1}.png")
    importance = pd.DataFrame({"feature": explainer.names, "mean_abs_shap": np.abs(values).mean(axis=0)})
    write_csv(importance.sort_values("mean_abs_shap", ascending=False), destination / "shap_importance.csv")
    return json_ready({"explainer": explainer.kind, "units": explainer.units, "top_features": names,
                       "grid_shape": list(maps.shape[1:])})
