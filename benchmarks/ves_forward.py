"""Benchmark: Schlumberger VES forward (ours) against SimPEG's DC 1-D simulation and pyGIMLi.

    python benchmarks/ves_forward.py [--soundings 10000] [--spacings 20] [--subsample 200] [--quick]

Random three-layer models (resistivities log-uniform in 1-1000 ohm-m, thicknesses log-uniform in
1-100 m), ``--spacings`` AB/2 log-spaced from 1 to 1000 m, MN/2 = AB/2 / 10 (a finite MN, which
every code models exactly).

- ours: :func:`geoprospect.geophysics.ves.schlumberger_rhoa` on the whole batch, and one sounding
  per call on the subsample (as a least-squares step calls it);
- SimPEG: ``simpeg.electromagnetics.static.resistivity.Simulation1DLayers`` (dipole sources and
  receivers, ``apparent_resistivity`` data), one call per sounding on ``--subsample`` soundings,
  extrapolated per sounding (its survey set-up is done before the clock starts);
- pyGIMLi: ``pygimli.physics.ves.VESModelling(ab2=..., mn2=...).response(thicknesses + resistivities)``,
  one call per sounding on the same subsample.

Every code is warm when timed (ours: its numba kernel loaded and the survey's matrix built by a
first call; SimPEG: its survey set up and one model run; pyGIMLi: one response). Prints soundings
per second (wall clock, and CPU time per sounding beside it: the machine may be shared), the
ratios ours/SimPEG and ours/pyGIMLi by CPU time, and the largest relative difference of ours
against each on the subsample.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import max_relative_difference, timed  # noqa: E402
from geoprospect.geophysics.ves import schlumberger_rhoa

SEED = 9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soundings", type=int, default=10_000)
    parser.add_argument("--spacings", type=int, default=20)
    parser.add_argument("--subsample", type=int, default=200, help="soundings run one by one through SimPEG and pyGIMLi")
    parser.add_argument("--quick", action="store_true", help="1,000 soundings, subsample 50")
    args = parser.parse_args()
    if args.quick:
        args.soundings, args.subsample = 1000, 50

    rng = np.random.default_rng(SEED)
    rho = 10 ** rng.uniform(0, 3, (args.soundings, 3))
    thick = 10 ** rng.uniform(0, 2, (args.soundings, 2))
    ab2 = np.logspace(0, 3, args.spacings)
    mn2 = ab2 / 10
    print(f"{args.soundings} three-layer soundings x {args.spacings} Schlumberger spacings (AB/2 1-1000 m, MN/2 = AB/2 / 10)")

    schlumberger_rhoa(ab2, rho[:2], thick[:2], mn2)  # warm-up: load the kernel, build this survey's matrix
    wall, cpu, ours = timed(lambda: schlumberger_rhoa(ab2, rho, thick, mn2))
    ours_rate, ours_cpu = args.soundings / wall, 1e3 * cpu / args.soundings

    sub = np.arange(args.subsample)
    wall, cpu, _ = timed(lambda: [schlumberger_rhoa(ab2, r, h, mn2) for r, h in zip(rho[sub], thick[sub])])
    single_rate, single_cpu = len(sub) / wall, 1e3 * cpu / len(sub)
    simulation = _simpeg_simulation(ab2, mn2)
    wall, cpu, simpeg_out = timed(lambda: _simpeg(simulation, rho[sub], thick[sub]))
    simpeg_rate, simpeg_cpu = len(sub) / wall, 1e3 * cpu / len(sub)

    from pygimli.physics.ves import VESModelling

    gimli = VESModelling(ab2=ab2, mn2=mn2)
    gimli.response(np.r_[thick[0], rho[0]])  # warm-up
    wall, cpu, gimli_out = timed(lambda: np.array([np.asarray(gimli.response(np.r_[h, r])) for r, h in zip(rho[sub], thick[sub])]))
    gimli_rate, gimli_cpu = len(sub) / wall, 1e3 * cpu / len(sub)

    print(f"{'code':26s} {'soundings/s':>12s} {'CPU ms/sounding':>16s}")
    print(f"{'ours (batch)':26s} {ours_rate:12.0f} {ours_cpu:16.4f}")
    print(f"{'ours (one per call)':26s} {single_rate:12.0f} {single_cpu:16.4f}")
    print(f"{'SimPEG (' + str(len(sub)) + ' soundings)':26s} {simpeg_rate:12.0f} {simpeg_cpu:16.4f}")
    print(f"{'pyGIMLi (' + str(len(sub)) + ' soundings)':26s} {gimli_rate:12.0f} {gimli_cpu:16.4f}")
    print(f"ours (batch): {ours_rate / simpeg_rate:.1f}x SimPEG, {ours_rate / gimli_rate:.1f}x pyGIMLi (wall); "
          f"{simpeg_cpu / ours_cpu:.1f}x SimPEG, {gimli_cpu / ours_cpu:.1f}x pyGIMLi (CPU per sounding)")
    print(f"ours (one per call): {simpeg_cpu / single_cpu:.1f}x SimPEG, {gimli_cpu / single_cpu:.1f}x pyGIMLi (CPU per sounding)")
    print(f"max relative difference: vs SimPEG {100 * max_relative_difference(ours[sub], simpeg_out):.3f} %, "
          f"vs pyGIMLi {100 * max_relative_difference(ours[sub], gimli_out):.3f} %")


def _simpeg_simulation(ab2: np.ndarray, mn2: np.ndarray):
    """SimPEG's 1-D DC simulation of the Schlumberger survey, its set-up done (untimed)."""
    from simpeg import maps
    from simpeg.electromagnetics.static import resistivity as dc

    sources = []
    for a, m in zip(ab2, mn2):
        receiver = dc.receivers.Dipole(np.r_[-m, 0.0, 0.0], np.r_[m, 0.0, 0.0], data_type="apparent_resistivity")
        sources.append(dc.sources.Dipole([receiver], np.r_[-a, 0.0, 0.0], np.r_[a, 0.0, 0.0]))
    survey = dc.Survey(sources)
    survey.set_geometric_factor(space_type="half-space")
    sim = dc.Simulation1DLayers(survey=survey, rhoMap=maps.IdentityMap(nP=3), thicknesses=np.array([5.0, 10.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.dpred(np.full(3, 100.0))
    return sim


def _simpeg(sim, rho: np.ndarray, thick: np.ndarray) -> np.ndarray:
    out = np.empty((len(rho), sim.survey.nD))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (r, h) in enumerate(zip(rho, thick)):
            sim.thicknesses = h
            out[i] = sim.dpred(r)
    return out


if __name__ == "__main__":
    main()
