"""Benchmark: the SP hybrid (LM from the network's estimate, kept if it fits to the noise, else
rounds of 2 Latin-hypercube starts until two agree) against 16-start Levenberg-Marquardt, time
per profile at equal misfit.

    python benchmarks/sp_hybrid.py [--profiles 20]

Single-anomaly profiles of random polarised spheres (101 stations over 200 m, depth 5-60 m, any
angle, x0 in the middle half, 2 % of the peak as Gaussian noise), each found and inverted by
:func:`geoprospect.geophysics.sections.sp_sources`. The network (one per shape factor, whatever
the window) is trained once, timed apart. Prints seconds per profile of each, their ratio, the
chi-square of each side by side and on how many profiles they are equal (within 2 %).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geoprospect.geophysics.optimize import LevenbergMarquardt  # noqa: E402
from geoprospect.geophysics.sections import SPNetwork, sp_sources  # noqa: E402
from geoprospect.geophysics.sp import sp_anomaly  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    x_m = np.linspace(0.0, 200.0, 101)
    profiles = []
    for _ in range(args.profiles):
        clean = sp_anomaly(x_m, 1e5, rng.uniform(5, 60), rng.uniform(0, 360), rng.uniform(50, 150))
        profiles.append(pd.DataFrame({"station_m": x_m, "sp_mv": clean + 0.02 * np.abs(clean).max() * rng.standard_normal(len(x_m))}))
    network = SPNetwork()
    clock = time.perf_counter()
    sp_sources(profiles[0], network=network, max_anomalies=1)  # trains the sphere's network once
    train_s = time.perf_counter() - clock
    runs = {"LM, 16 starts": {},
            "hybrid": dict(network=network, optimizer=LevenbergMarquardt(n_starts=2, random_state=0), rounds=8)}
    sp_sources(profiles[0], max_anomalies=1)  # warm-up (numba, imports)
    results = {}
    for label, options in runs.items():
        clock = time.perf_counter()
        rows = [sp_sources(p, max_anomalies=1, **options).iloc[0] for p in profiles]
        results[label] = ((time.perf_counter() - clock) / len(profiles), rows)
    print(f"{len(profiles)} SP profiles, one sphere each; network training {train_s:.1f} s (once per shape factor)")
    for label, (seconds, rows) in results.items():
        print(f"{label:20s} {seconds * 1e3:7.1f} ms/profile  starts {[int(r['n_starts']) for r in rows]}")
    (lm_s, lm), (hy_s, hy) = results.values()
    equal = [abs(a["chi2"] - b["chi2"]) <= 0.02 * a["chi2"] for a, b in zip(lm, hy)]
    print("chi2 LM     ", [round(float(r["chi2"]), 2) for r in lm])
    print("chi2 hybrid ", [round(float(r["chi2"]), 2) for r in hy])
    print("chi2 network", [round(float(r["net_chi2"]), 1) for r in hy], "(the estimate alone)")
    print(f"hybrid: {lm_s / hy_s:.2f}x the speed of 16-start LM per profile; equal misfit (within 2 %) on "
          f"{sum(equal)} of {len(equal)} profiles")


if __name__ == "__main__":
    main()
