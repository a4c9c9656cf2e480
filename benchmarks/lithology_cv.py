"""Lithology under k-fold spatial block CV: per model overall accuracy and kappa, block beside random-pixel.

    python benchmarks/lithology_cv.py demo       # the lithology flow on a 4 km demo region at 60 m (small settings)
    python benchmarks/lithology_cv.py bahamas    # the real Landsat 7 scene of ../shared/realdata, labelled by clusters

The Bahamas scene has no geology: as in tests/flows/test_lithology_flow.py, its labels are the
project's autoencoder + k-means clusters (4) of a 60 km x 60 km window at 300 m, so the figures
measure the mechanism, not a geological map. Run under ``/usr/bin/time -v`` for time and peak memory.
The random-pixel k-fold is the optimistic reference; the ratio block/random shows its optimism.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCENE = ROOT.parent / "shared" / "realdata" / "landsat7_bahamas" / "RGB.byte.tif"
SETTINGS = ("lithology: {models: [svm, mlp, cnn], chip_sizes: [3, 5], seeds: [0, 1], epochs: 30, samples_per_class: 200, "
            "block_size_m: 600, n_folds: 5, unsupervised: false}\n")


def _print(table: pd.DataFrame) -> None:
    wide = table.pivot_table(index=["sensor", "model", "chip_size"], columns="split",
                             values=["overall_accuracy", "kappa"], aggfunc="mean")
    wide = wide[["overall_accuracy", "kappa"]]  # pivot_table sorts the values alphabetically
    wide[("ratio", "block/random OA")] = wide[("overall_accuracy", "block")] / wide[("overall_accuracy", "random")]
    print(wide.round(3).to_string())


def demo() -> None:
    from flows.lithology import lithology

    folder = Path(tempfile.mkdtemp(prefix="lithology-cv-"))
    catalog = folder / "demo.yaml"
    catalog.write_text(f"study_area: cvdemo\ndemo: {{seed: 5, folder: {folder / 'demo'}, size_m: 4000, resolution_m: 60}}\n"
                       + SETTINGS)
    start = time.perf_counter()
    report = Path(lithology(catalog=str(catalog), outputs=str(folder / "outputs")))
    print(f"flow (ingest + lithology): {time.perf_counter() - start:.0f} s")
    _print(pd.read_csv(report.parent / "runs.csv"))
    import json
    print(json.loads((report.parent / "metrics.json").read_text())["verdict"])


def bahamas() -> None:
    import rasterio
    from rasterio.windows import Window

    from geoprospect.lithology.experiment import run_experiment
    from geoprospect.lithology.metrics import classification_metrics
    from geoprospect.lithology.unsupervised import AutoencoderClusters, cluster_image, sample_pixels

    with rasterio.open(SCENE) as src:  # 300 m pixels: 60 km from 30 km inside the scene's corner
        image = src.read(window=Window(100, 100, 200, 200), masked=True).astype("float32").filled(np.nan)
    model = AutoencoderClusters(n_clusters=4, n_components=4, random_state=0).fit(sample_pixels(image, 20_000, random_state=0))
    labels, _ = cluster_image(model, image)
    print(f"scene window {image.shape}, labelled pixels {int(np.isfinite(labels).sum())}, classes "
          f"{np.unique(labels[np.isfinite(labels)]).astype(int).tolist()}")
    start = time.perf_counter()
    records = run_experiment(image, labels, models=("svm", "mlp", "cnn"), chip_sizes=(3, 5), seeds=(0,), block_cells=10,
                             n_folds=5, samples_per_class=800, chip_stride=2, epochs=30)
    print(f"k-fold experiment: {time.perf_counter() - start:.0f} s")
    rows = []
    for r in records:
        m = classification_metrics(r.y_true, r.y_pred, r.proba, r.classes)
        rows.append({"sensor": "etm", "model": r.model, "chip_size": r.chip_size, "split": r.split,
                     "overall_accuracy": m["overall_accuracy"], "kappa": m["kappa"], "n_test": r.y_true.size,
                     "missing": r.missing})
    _print(pd.DataFrame(rows))
    print("tested pixels per run:", sorted({row["n_test"] for row in rows}), "missing classes:", rows[0]["missing"])


if __name__ == "__main__":
    {"demo": demo, "bahamas": bahamas}[sys.argv[1] if len(sys.argv) > 1 else "demo"]()
