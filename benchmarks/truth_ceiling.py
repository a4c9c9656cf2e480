"""How well can a model recover the demo's truth from N deposits? Deposits drawn from the truth itself.

    python -m benchmarks.truth_ceiling --work outputs/demo/work --truth outputs/demo/ingest/layers/true_probability.tif \
        --deposits 12 30 54 --repeats 6 --models logreg rf

Reads the features cube a prospectivity run left in its work folder; for each N, draws ``repeats`` sets of
N deposit cells with probability proportional to the true probability (as the demo builder's Bernoulli
draws do, without thinning) and 1,500 uniform background cells, fits each model with the flow's pipeline,
maps it and prints the mean +- SD of its Spearman and soft ROC-AUC against the truth, beside the truth's own
soft ROC-AUC (no map scores above it). It separates what
the models can do from the luck of one deposit draw: the small demo has 12 deposits.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from geoprospect.evaluate import truth_scores
from geoprospect.io.cube import open_cube
from geoprospect.io.rasters import read_band
from geoprospect.models.pipeline import build_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--deposits", type=int, nargs="+", default=[12, 30, 54])
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--background", type=int, default=1500)
    parser.add_argument("--models", nargs="+", default=["logreg", "rf"])
    args = parser.parse_args()
    features = open_cube(next((args.work / "features").glob("*.zarr")))
    names = [str(b) for b in features.band.values]
    truth = read_band(args.truth)
    cells = features.values.reshape(len(names), -1).T
    valid = np.flatnonzero(np.isfinite(cells).all(axis=1) & np.isfinite(truth.ravel()))
    weights = truth.ravel()[valid] / truth.ravel()[valid].sum()
    rng = np.random.default_rng(0)
    rows = []
    for n in args.deposits:
        scores: dict[str, list] = {m: [] for m in args.models}
        for _ in range(args.repeats):
            rows_drawn = np.r_[rng.choice(valid, n, replace=False, p=weights), rng.choice(valid, args.background, replace=False)]
            X, y = pd.DataFrame(cells[rows_drawn], columns=names), np.r_[np.ones(n, int), np.zeros(args.background, int)]
            for model in args.models:
                fitted = build_pipeline(model, random_state=0).fit(X, y)
                mapped = np.full(truth.size, np.nan)
                mapped[valid] = fitted.predict_proba(pd.DataFrame(cells[valid], columns=names))[:, 1]
                result = truth_scores(mapped.reshape(truth.shape), truth)
                scores[model].append((result["spearman"], result["roc_auc"], result["roc_auc_ceiling"]))
        for model, values in scores.items():
            values = np.array(values)
            rows.append({"deposits": n, "model": model, "spearman": f"{values[:, 0].mean():.3f} +- {values[:, 0].std():.3f}",
                         "truth_roc_auc": f"{values[:, 1].mean():.3f} +- {values[:, 1].std():.3f}",
                         "truth_roc_auc_ceiling": round(values[0, 2], 3)})  # the truth's own, the same for every draw
            print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    print("\n" + pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
