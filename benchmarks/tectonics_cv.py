"""Benchmark: the tectonics CV table on the demo plate model (every design x scheme with the time-only and
location-only controls) and the kinematics time per step against the issue's reference (0.4 s per step,
single-threaded, on a real global model).

    PYTHONPATH=. python benchmarks/tectonics_cv.py [deposits.csv]

No Prefect: the core steps of geoprospect.pipelines.tectonics in this process (0-60 Ma every 2 Myr,
rf and svm, 5 folds).
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from geoprospect.demo.plates import write_plate_model
from geoprospect.catalog import PlateModelSource, TectonicsSpec
from geoprospect.pipelines import tectonics as core

def main() -> None:
    folder = Path(tempfile.mkdtemp())
    paths = write_plate_model(folder, np.random.default_rng(5))
    deposits = Path(sys.argv[1]) if len(sys.argv) > 1 else paths["deposits"]
    plates = PlateModelSource(rotations=list(paths["rotations"]) if isinstance(paths["rotations"], list) else [paths["rotations"]], topologies=list(paths["topologies"]),
                              static_polygons=[paths["static_polygons"]], coastlines=[paths["coastlines"]],
                              age_grid=str(paths["age_grid"]), deposits=deposits)
    spec = TectonicsSpec(stop_ma=60, step_myr=2, models=["rf", "svm"], n_splits=5)
    files = core.kinematics_files(plates)
    steps = []
    for t in core.steps(spec):
        steps.append(core.kinematics_step(files, t, spec.spacing_deg, core.age_grid_for(plates, t), folder / f"k{t:g}.parquet", (0, 60)))
    secs = [s["seconds"] for s in steps]
    print(f"kinematics: {len(steps)} steps, mean {np.mean(secs):.3f} s/step, max {np.max(secs):.3f} s; "
          f"ratio to the 0.4 s/step reference: {np.mean(secs) / 0.4:.2f}")
    core.collect_kinematics([folder / f"k{t:g}.parquet" for t in core.steps(spec)], folder / "kin.parquet")
    summary = core.make_samples(plates, folder / "kin.parquet", spec, folder / "samples")
    print({k: summary[k] for k in ("positives", "label_0_by_source", "deposits_beyond_cutoff", "distance_to_trench_km_max")})
    started = time.perf_counter()
    cv = core.cross_validate(folder / "samples" / "samples.csv", spec, folder / "cv")
    print(f"cv {time.perf_counter() - started:.1f} s; best {cv['best_model']}")
    m = pd.read_csv(folder / "cv" / "cv_metrics.csv")
    pd.set_option("display.width", 250, "display.max_rows", 200, "display.max_colwidth", 60)
    print(m[["design", "scheme", "model", "roc_auc_mean", "roc_auc_sd", "n_scored", "status"]].round(3).to_string(index=False))
    print(pd.read_csv(folder / "cv" / "cv_controls.csv").round(3).to_string(index=False))


if __name__ == "__main__":
    main()
