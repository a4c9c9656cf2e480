"""Benchmark: inverting many VES soundings by a trained network against Levenberg-Marquardt.

    python benchmarks/invert_soundings.py [--quick] [--soundings N] [--train N] [--noise LEVEL] [--seed S]

Soundings and prior are the VES study's (``geoprospect.geophysics.studies``): three-layer earths,
ideal Schlumberger array at 22 AB/2 from 1 to 1000 m, resistivities 10-1,000 ohm-m and thicknesses
5-100 m drawn log-uniformly, observed with relative Gaussian noise (default 2%). 1,000 soundings
(``--quick``: 50, and a 1,000-sounding training set) are inverted

- by the study's feed-forward network (MLPInverter 22-64-64-5, log10 rho_a -> log10 parameters),
  trained once on 5,000 clean soundings of the same prior (training time printed apart), all
  soundings in one batched ``predict``, warm (after an untimed call), repeated over at least
  ``NET_REPEATS`` batches and one second, the time per sounding their mean;
- by Levenberg-Marquardt from 8 Latin-hypercube starts in the prior's box, sounding by sounding.

Prints the time per sounding (wall, and CPU beside it: the machine may be shared) and the data misfit (RMS % of rho_a: median and 90th percentile) of
each, and the ratios LM / network time and network / LM misfit. Torch uses one thread (small
networks train fastest so on a shared machine).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geoprospect.geophysics.inversion import Inversion
from geoprospect.geophysics.misfit import DataMisfit
from geoprospect.geophysics.networks import MLPInverter
from geoprospect.geophysics.optimize import LevenbergMarquardt
from geoprospect.geophysics.studies import (
    VES_AB2_M,
    VES_N_LAYERS,
    VES_RESISTIVITY_RANGE_OHM_M,
    VES_THICKNESS_RANGE_M,
    ves_simulation,
)
from geoprospect.geophysics.training import add_relative_noise, ves_training_set
from geoprospect.nn import one_torch_thread

NET_REPEATS = 20  # batches timed: one batch of 1,000 soundings takes milliseconds, below the clock's noise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 soundings, 1,000 training soundings")
    parser.add_argument("--soundings", type=int, help="soundings to invert (default 1,000; 50 with --quick)")
    parser.add_argument("--train", type=int, help="training soundings (default 5,000; 1,000 with --quick)")
    parser.add_argument("--noise", type=float, default=0.02, help="relative noise of the inverted soundings")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    n_soundings = args.soundings or (50 if args.quick else 1000)
    n_train = args.train or (1000 if args.quick else 5000)

    rng = np.random.default_rng(args.seed)
    prior = (VES_AB2_M, VES_N_LAYERS)
    sim = ves_simulation()
    training = ves_training_set(rng, *prior, n_train, VES_RESISTIVITY_RANGE_OHM_M, VES_THICKNESS_RANGE_M)
    test = ves_training_set(rng, *prior, n_soundings, VES_RESISTIVITY_RANGE_OHM_M, VES_THICKNESS_RANGE_M)
    observed = np.log10(add_relative_noise(test.inputs, args.noise, rng))
    print(f"{n_soundings} soundings ({len(VES_AB2_M)} AB/2, {VES_N_LAYERS} layers, {100 * args.noise:g}% noise); "
          f"network trained on {n_train} clean soundings")

    with one_torch_thread():
        start = time.perf_counter()
        net = MLPInverter(hidden=(64, 64), random_state=args.seed).fit(np.log10(training.inputs), np.log10(training.targets))
        training_s = time.perf_counter() - start
        net_models = net.predict(observed)  # warm-up: first-call allocations are not the per-sounding cost
        start, cpu, batches = time.perf_counter(), time.process_time(), 0
        while batches < NET_REPEATS or time.perf_counter() - start < 1.0:
            net.predict(observed)
            batches += 1
        net_s = (time.perf_counter() - start) / (batches * n_soundings)
        net_cpu = (time.process_time() - cpu) / (batches * n_soundings)
    net_fit = sim.rms_percent(sim.predict(net_models), observed)

    sigma = max(args.noise, 0.01) / np.log(10)
    lm_fit, lm_s = np.empty(n_soundings), 0.0
    cpu = time.process_time()
    for i, data in enumerate(observed):
        result = Inversion(DataMisfit(sim, data, sigma), LevenbergMarquardt(random_state=args.seed)).run()
        lm_fit[i], lm_s = result.rms_percent, lm_s + result.elapsed_s
    lm_s /= n_soundings
    lm_cpu = (time.process_time() - cpu) / n_soundings

    print(f"{'method':<36}{'wall s per sounding':>20}{'CPU s per sounding':>20}{'RMS % median':>15}{'RMS % p90':>12}")
    for name, seconds, cpu_s, fit in ((f"network (MLP 22-64-64-5, {batches} batches)", net_s, net_cpu, net_fit),
                                      ("LM (8 Latin-hypercube starts)", lm_s, lm_cpu, lm_fit)):
        print(f"{name:<36}{seconds:>20.3e}{cpu_s:>20.3e}{np.median(fit):>15.2f}{np.percentile(fit, 90):>12.2f}")
    print(f"network training: {training_s:.1f} s once (= {training_s / lm_s:.0f} LM inversions)")
    print(f"ratio LM / network time per sounding: {lm_s / net_s:.0f} (wall), {lm_cpu / net_cpu:.0f} (CPU)")
    print(f"ratio network / LM median misfit: {np.median(net_fit) / np.median(lm_fit):.1f}")


if __name__ == "__main__":
    main()
