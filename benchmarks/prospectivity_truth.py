"""Every prospectivity model against the demo's known truth, with the flow's own steps (no Prefect).

    python -m benchmarks.prospectivity_truth --work outputs/<area>/work --truth outputs/<area>/ingest/layers/true_probability.tif \
        --deposits outputs/<area>/ingest/vectors/deposits.gpkg --models lgbm pu_lgbm wofe fuzzy --ensemble 3
    python -m benchmarks.prospectivity_truth --work ... --truth ... --deposits ... --catalog data/catalogs/demo.yaml

Reads the features cube and the training table a prospectivity run left in its work folder, then for
each model runs spatial block CV, the final fit, the map and its scores, the spread map, and prints one
row per model: CV ROC-AUC and PR-AUC (mean +- SD over folds), the lower confidence bound of the held-out
prediction-rate AUC that keeps a model, the map's Spearman and soft ROC-AUC against the true probability
beside the truth's own ROC-AUC (the ceiling), the mean spread, and the seconds of map-and-score.
``--ensemble k`` adds the rank ensemble of the k best models, chosen as the flow chooses them. With
``--catalog`` the models, imbalance options and ensemble size are that catalog's (as the flow runs it, on
a work folder it left), and the last line names the run the flow would keep and why.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from geoprospect.catalog import ModelSpec, ProspectivitySpec
from geoprospect.io.catalog import read_catalog
from geoprospect.models import RAW_INPUT_MODELS
from geoprospect.pipelines import prospectivity as core
from geoprospect.pipelines import prospectivity_extras as extras


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--deposits", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=["rf", "pu_rf", "lgbm", "pu_lgbm", "wofe", "fuzzy"])
    parser.add_argument("--ensemble", type=int, default=3)
    parser.add_argument("--catalog", type=Path, help="run this catalog's models, imbalance options and ensemble instead")
    parser.add_argument("--spread", action="store_true", help="also map each model's spread")
    args = parser.parse_args()
    features = next((args.work / "features").glob("*.zarr"))
    training = next((args.work / "training").iterdir())
    table, sample = training / "training_table.csv", training / "map_sample.csv"
    if args.catalog is not None:
        spec = read_catalog(args.catalog, check_files=False).prospectivity
        planned = [(label, model, imbalance) for label, model in spec.models.items() for imbalance in spec.imbalance
                   if imbalance == "none" or model.model not in RAW_INPUT_MODELS]  # as the flow runs them
        top = spec.ensemble_top
    else:
        spec = ProspectivitySpec()
        planned = [(name, ModelSpec(model=name), "none") for name in args.models]
        top = args.ensemble
    out = Path(tempfile.mkdtemp(prefix="truth-"))
    rows, runs, results = [], [], []

    def run(label: str, model: ModelSpec, imbalance: str) -> None:
        folder = out / f"{label}-{imbalance}"
        cv = core.cross_validate_model(table, sample, label, model, imbalance, spec, folder)
        core.fit_final_model(table, label, model, imbalance, spec, folder)
        start = time.perf_counter()
        scores = core.map_and_score(folder / "model.skops", features, table, sample, args.deposits, args.truth, label, folder)
        seconds = time.perf_counter() - start
        summary = cv["summary"]
        row = {"model": label, "imbalance": imbalance,
               "roc_auc": f"{summary['roc_auc']['mean']:.3f} +- {summary['roc_auc']['sd']:.3f}",
               "pr_auc": f"{summary['pr_auc']['mean']:.3f} +- {summary['pr_auc']['sd']:.3f}",
               "cv_bound": round(core.lower_confidence_bound(summary, cv["n_folds"]), 3),
               "truth_spearman": round(scores["truth_spearman"], 3), "truth_roc_auc": round(scores["truth_roc_auc"], 3),
               "truth_roc_auc_ceiling": round(scores["truth_roc_auc_ceiling"], 3), "map_and_score_s": round(seconds, 1)}
        if args.spread:
            spread = extras.map_uncertainty(folder / "model.skops", folder / "probability.tif", features, table, args.deposits,
                                            label, model, imbalance, spec, folder)
            row.update(spread_source=spread["spread_source"], spread_mean=round(spread["spread_mean"], 4))
        rows.append(row)
        runs.append((label, model, imbalance, summary))
        results.append({"label": label, "imbalance": imbalance, "cv": cv, "map": {"scores": scores}})
        print(pd.DataFrame([row]).to_string(index=False, header=len(rows) == 1), flush=True)

    for label, model, imbalance in planned:
        run(label, model, imbalance)
    ensemble = extras.ensemble_model(runs, top, spec)
    if ensemble is not None:
        run(core.ENSEMBLE_LABEL, ensemble, "none")
        print("ensemble members: " + ", ".join(f"{m['model']}-{m['imbalance']}" for m in ensemble.params["members"]))
    print("\n" + pd.DataFrame(rows).to_string(index=False))
    table_ = core.comparison_table(results)
    kept, because = core.choose_model(table_, None)
    print(f"\nkept: {kept}, because: {because}")


if __name__ == "__main__":
    main()
