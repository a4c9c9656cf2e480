"""Every prospectivity model against the demo's known truth, with the flow's own steps (no Prefect).

    python -m benchmarks.prospectivity_truth --work outputs/<area>/work --truth outputs/<area>/ingest/layers/true_probability.tif \
        --deposits outputs/<area>/ingest/vectors/deposits.gpkg --models lgbm pu_lgbm wofe fuzzy --ensemble 3

Reads the features cube and the training table a prospectivity run left in its work folder, then for
each model runs spatial block CV, the final fit, the map and its scores, the spread map, and prints one
row per model: CV ROC-AUC and PR-AUC (mean +- SD over folds), the map's Spearman and soft ROC-AUC
against the true probability, the mean spread, and the seconds of map-and-score. ``--ensemble k`` adds
the rank ensemble of the k best models by CV PR-AUC.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from geoprospect.catalog import ModelSpec, ProspectivitySpec
from geoprospect.pipelines import prospectivity as core
from geoprospect.pipelines import prospectivity_extras as extras


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--deposits", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=["rf", "pu_rf", "lgbm", "pu_lgbm", "wofe", "fuzzy"])
    parser.add_argument("--ensemble", type=int, default=3)
    parser.add_argument("--spread", action="store_true", help="also map each model's spread")
    args = parser.parse_args()
    features = next((args.work / "features").glob("*.zarr"))
    training = next((args.work / "training").iterdir())
    table, sample = training / "training_table.csv", training / "map_sample.csv"
    spec = ProspectivitySpec()
    out = Path(tempfile.mkdtemp(prefix="truth-"))
    rows, runs = [], []

    def run(label: str, model: ModelSpec) -> None:
        folder = out / label
        cv = core.cross_validate_model(table, sample, label, model, "none", spec, folder)
        core.fit_final_model(table, label, model, "none", spec, folder)
        start = time.perf_counter()
        scores = core.map_and_score(folder / "model.skops", features, table, sample, args.deposits, args.truth, label, folder)
        seconds = time.perf_counter() - start
        summary = cv["summary"]
        row = {"model": label, "roc_auc": f"{summary['roc_auc']['mean']:.3f} +- {summary['roc_auc']['sd']:.3f}",
               "pr_auc": f"{summary['pr_auc']['mean']:.3f} +- {summary['pr_auc']['sd']:.3f}",
               "truth_spearman": round(scores["truth_spearman"], 3), "truth_roc_auc": round(scores["truth_roc_auc"], 3),
               "map_and_score_s": round(seconds, 1)}
        if args.spread:
            spread = extras.map_uncertainty(folder / "model.skops", folder / "probability.tif", features, table, args.deposits,
                                            label, model, "none", spec, folder)
            row.update(spread_source=spread["spread_source"], spread_mean=round(spread["spread_mean"], 4))
        rows.append(row)
        runs.append((label, model, "none", summary))
        print(pd.DataFrame([row]).to_string(index=False, header=len(rows) == 1), flush=True)

    for name in args.models:
        run(name, ModelSpec(model=name))
    ensemble = extras.ensemble_model(runs, args.ensemble, spec)
    if ensemble is not None:
        run("ensemble", ensemble)
    print("\n" + pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
