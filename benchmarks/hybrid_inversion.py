"""Benchmark: the hybrid start (network estimate + Latin-hypercube rounds until two agree) against
16-start Levenberg-Marquardt, time per TEM sounding and the misfit each reaches.

    python benchmarks/hybrid_inversion.py [--soundings 6]

The demo's central-loop TEM soundings (three-layer earths, 3 % noise), inverted for 3 layers with
resistivity bounds 0.1-1e5 ohm m. The network's training (once per survey layout) is timed apart.
Prints seconds per sounding of each, their ratio, and the RMS misfit and chi-square of each
sounding side by side: the ratio only counts where the hybrid's misfit is as good (chi-square within
2 % or lower, or both within the noise: 3 standard deviations, 3 sqrt(2 / n), of 1).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geoprospect.demo.surveys import write_surveys  # noqa: E402
from geoprospect.geophysics.optimize import LevenbergMarquardt  # noqa: E402
from geoprospect.geophysics.sections import NetworkStart, invert_sounding  # noqa: E402
from geoprospect.io.surveys import read_tem  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soundings", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        files = write_surveys(Path(folder), np.random.default_rng(7), "EPSG:32755", (500_000.0, 6_000_000.0, 510_000.0, 6_008_000.0))
        soundings = [read_tem(path) for path in files["tem"][: args.soundings]]
    bounds = {f"rho_{i}_ohm_m": (0.1, 1e5) for i in (1, 2, 3)}
    start = NetworkStart()
    clock = time.perf_counter()
    start(*_simulation_and_data(soundings[0], bounds))  # train once for the layout
    train_s = time.perf_counter() - clock
    runs = {"LM, 16 starts": dict(optimizer=LevenbergMarquardt(n_starts=16, random_state=0)),
            "hybrid": dict(optimizer=LevenbergMarquardt(n_starts=16, random_state=0), start_model=start)}
    results = {}
    for label, options in runs.items():
        clock = time.perf_counter()
        fits = [invert_sounding(s, "tem", 3, bounds=bounds, **options) for s in soundings]
        results[label] = ((time.perf_counter() - clock) / len(soundings), fits)
    print(f"{len(soundings)} TEM soundings, 3 layers; network training {train_s:.1f} s (once per layout)")
    for label, (seconds, fits) in results.items():
        print(f"{label:15s} {seconds:6.2f} s/sounding  RMS % {[round(f.rms_percent, 2) for f in fits]}  "
              f"chi2 {[round(f.chi2, 2) for f in fits]}  starts {[f.n_starts for f in fits]}")
    (lm_s, lm), (hy_s, hy) = results.values()
    strict = [b.chi2 <= 1.02 * a.chi2 for a, b in zip(lm, hy)]  # the hybrid as good (within 2 %) or better
    noise = [max(a.chi2, b.chi2) <= 1 + 3 * np.sqrt(2 / len(a.observed)) for a, b in zip(lm, hy)]
    print(f"hybrid: {lm_s / hy_s:.1f}x the speed per sounding; misfit as good or better on {sum(s or n for s, n in zip(strict, noise))} "
          f"of {len(lm)} soundings ({sum(strict)} within 2 % or lower, {sum(n and not s for s, n in zip(strict, noise))} both at the noise)")


def _simulation_and_data(sounding, bounds):
    """The TEMSimulation and log10 data of a sounding, as invert_sounding builds them."""
    from geoprospect.geophysics.simulation import TEMSimulation

    times = sounding["time_s"].to_numpy()
    simulation = TEMSimulation(times, float(sounding["loop_radius_m"].iloc[0]), float(sounding["current_a"].iloc[0]),
                               n_layers=3, bounds=bounds)
    return simulation, np.log10(np.abs(sounding["dbzdt_t_per_s"].to_numpy()))


if __name__ == "__main__":
    main()
