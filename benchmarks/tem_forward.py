"""Benchmark: central-loop TEM forward (ours) against SimPEG's 1-D TEM simulation and empymod.

    python benchmarks/tem_forward.py [--models 10000] [--times 10] [--subsample 200] [--threads N] [--quick]

Random three-layer models (resistivities log-uniform in 10-1000 ohm-m, thicknesses log-uniform in
10-300 m, as the H/K-type models of Li et al. 2019 span), a 100 m loop with 100 A, step-off,
``--times`` log-spaced times from 10 us to 10 ms; both H_z and dB_z/dt are computed by each code.

- ours: :func:`geoprospect.geophysics.tem.central_loop_step_off` on the whole batch with one thread
  (its default), and with ``--threads N`` also with N (after a warm-up call that compiles the kernel);
- SimPEG: ``simpeg.electromagnetics.time_domain.Simulation1DLayered`` with a ``CircularLoop``
  source and two receivers (``PointMagneticField``, ``PointMagneticFluxTimeDerivative``), its
  default filters, model by model on ``--subsample`` models, extrapolated per model (its one-off
  set-up for the survey is done before the clock starts);
- empymod: ``empymod.bipole`` with the loop as a regular 512-gon of electric sides. At the centre
  every side gives the same field, so one side times 512 is the loop (the cheapest exact use of
  empymod here); one step-off call (H_z) and one impulse call (dH_z/dt) per model, on a quarter of
  the subsample (it is ~100x slower), quasi-static (no displacement currents, like the others).
  Twice, each after an untimed warm-up call (its numba kernels compile on the first): with its
  defaults (201-point Hankel and Fourier filters) and with ours (Key's 101-point J1 filter,
  ``key_101_2009``, and 81-point sine/cosine filter, ``key_81_2009``), so that the ratio is not
  one of filter lengths.

Prints models per second (wall clock and, beside it, per-model CPU time: the machine may be shared),
the ratios ours/SimPEG and ours/empymod, and the largest relative difference of ours against each
on its subsample. empymod's dB_z/dt reference is a 5-point stencil of its step-off H_z (its impulse
response is off by up to 0.2 % on a half-space here), computed outside the timing.
Goal: ours >= 10x SimPEG per model, within 1 %.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import max_relative_difference, timed  # noqa: E402
from geoprospect.geophysics.tem import MU0_H_PER_M, central_loop_step_off

RADIUS_M = 100.0
CURRENT_A = 100.0
N_SIDES = 512
SEED = 9
OUR_FILTERS = {"htarg": {"dlf": "key_101_2009"}, "ftarg": {"dlf": "key_81_2009"}}  # as geoprospect.geophysics.tem's defaults


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--subsample", type=int, default=200, help="models run one by one through SimPEG")
    parser.add_argument("--threads", type=int, default=1, help="also time ours with this many threads")
    parser.add_argument("--quick", action="store_true", help="1,000 models, subsample 20")
    args = parser.parse_args()
    if args.quick:
        args.models, args.subsample = 1000, 20

    rng = np.random.default_rng(SEED)
    rho = 10 ** rng.uniform(1, 3, (args.models, 3))
    thick = 10 ** rng.uniform(1, np.log10(300), (args.models, 2))
    times = np.logspace(-5, -2, args.times)
    print(f"{args.models} three-layer models x {args.times} times (1e-5 to 1e-2 s), {RADIUS_M:g} m loop, {CURRENT_A:g} A, step-off")

    central_loop_step_off(times, rho[:2], thick[:2], RADIUS_M, CURRENT_A)  # compile / load the kernel
    ours = {}
    for label, threads in sorted({("ours, 1 thread", 1), (f"ours, {args.threads} threads", args.threads)}, key=lambda lt: lt[1]):
        wall, cpu, response = timed(lambda n=threads: central_loop_step_off(times, rho, thick, RADIUS_M, CURRENT_A, n_threads=n))
        ours[label] = (args.models / wall, 1e3 * cpu / args.models)
    hz, dbzdt = response

    sub = np.arange(args.subsample)
    simulation = _simpeg_simulation(times, rho.shape[1])
    wall, cpu, simpeg_out = timed(lambda: _simpeg(simulation, times, rho[sub], thick[sub]))
    simpeg_rate, simpeg_cpu = len(sub) / wall, 1e3 * cpu / len(sub)
    simpeg_diff = max(max_relative_difference(hz[sub], simpeg_out[0]), max_relative_difference(dbzdt[sub], simpeg_out[1]))

    sub_e = sub[: max(2, len(sub) // 4)]
    empymod = {}
    for label, filters in (("empymod, its filters", {}), ("empymod, our filters", OUR_FILTERS)):
        _empymod(times, rho[:1], thick[:1], filters)  # warm-up: empymod compiles its numba kernels on the first call
        wall, cpu, _ = timed(lambda f=filters: _empymod(times, rho[sub_e], thick[sub_e], f))
        empymod[label] = (len(sub_e) / wall, 1e3 * cpu / len(sub_e))
    empy_hz, empy_dbzdt = _empymod_reference(times, rho[sub_e], thick[sub_e])
    empymod_diff = max(max_relative_difference(hz[sub_e], empy_hz), max_relative_difference(dbzdt[sub_e], empy_dbzdt))

    print(f"{'code':28s} {'models/s':>10s} {'CPU ms/model':>13s}")
    for label, (rate, cpu_ms) in ours.items():
        print(f"{label:28s} {rate:10.0f} {cpu_ms:13.3f}")
    print(f"{'SimPEG (' + str(len(sub)) + ' models)':28s} {simpeg_rate:10.1f} {simpeg_cpu:13.3f}")
    for label, (rate, cpu_ms) in empymod.items():
        print(f"{label + ' (' + str(len(sub_e)) + ')':28s} {rate:10.2f} {cpu_ms:13.3f}")
    for label, (rate, cpu_ms) in ours.items():
        versus = ", ".join(f"{e_cpu / cpu_ms:.0f}x {e_label}" for e_label, (_, e_cpu) in empymod.items())
        print(f"{label}: {rate / simpeg_rate:.1f}x SimPEG (wall); per model CPU: {simpeg_cpu / cpu_ms:.1f}x SimPEG, {versus}")
    print(f"max relative difference, H_z and dB_z/dt: vs SimPEG {100 * simpeg_diff:.3f} %, vs empymod {100 * empymod_diff:.3f} %")


def _simpeg_simulation(times: np.ndarray, n_layers: int):
    """SimPEG's 1-D layered TEM simulation of the survey, its one-off filter set-up done (untimed:
    it is paid once per survey, as it would be across many soundings)."""
    from simpeg import maps
    from simpeg.electromagnetics import time_domain as tdem

    location = np.zeros((1, 3))
    receivers = [tdem.receivers.PointMagneticField(location, times, orientation="z"),
                 tdem.receivers.PointMagneticFluxTimeDerivative(location, times, orientation="z")]
    source = tdem.sources.CircularLoop(receivers, location=np.zeros(3), radius=RADIUS_M, current=CURRENT_A,
                                       waveform=tdem.sources.StepOffWaveform())
    sim = tdem.Simulation1DLayered(survey=tdem.Survey([source]), thicknesses=np.full(n_layers - 1, 50.0),
                                   sigmaMap=maps.IdentityMap(nP=n_layers))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.dpred(np.full(n_layers, 0.01))
    return sim


def _simpeg(sim, times: np.ndarray, rho: np.ndarray, thick: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H_z (A/m) and dB_z/dt (T/s) per model, one SimPEG call per model."""
    hz, dbzdt = np.empty((len(rho), len(times))), np.empty((len(rho), len(times)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (r, h) in enumerate(zip(rho, thick)):
            sim.thicknesses = h
            data = sim.dpred(1 / r)
            hz[i], dbzdt[i] = data[: len(times)], data[len(times):]
    return hz, dbzdt


def _empymod_side(times: np.ndarray, rho: np.ndarray, thick: np.ndarray, signal: int, filters: dict | None = None) -> np.ndarray:
    import empymod

    x, y = RADIUS_M * np.cos([0, 2 * np.pi / N_SIDES]), RADIUS_M * np.sin([0, 2 * np.pi / N_SIDES])
    zero = np.zeros(len(rho) + 1)
    side = empymod.bipole(src=[x[0], x[1], y[0], y[1], 0, 0], rec=[0, 0, 0, 0, 90], mrec=True, signal=signal, srcpts=3,
                          strength=CURRENT_A, depth=np.r_[0.0, np.cumsum(thick)], res=[2e14, *rho], freqtime=times,
                          epermH=zero, epermV=zero, verb=1, **(filters or {}))
    return N_SIDES * np.asarray(side)


def _empymod(times: np.ndarray, rho: np.ndarray, thick: np.ndarray, filters: dict) -> None:
    """The timed empymod work: step-off H_z and the impulse response dH_z/dt for each model."""
    for r, h in zip(rho, thick):
        _empymod_side(times, r, h, -1, filters)
        _empymod_side(times, r, h, 0, filters)


def _empymod_reference(times: np.ndarray, rho: np.ndarray, thick: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """empymod H_z and dB_z/dt (5-point stencil of H_z, relative step 1 %) per model."""
    stencil = times[:, None] * (1 + 0.01 * np.array([-2, -1, 0, 1, 2]))
    hz, dbzdt = [], []
    for r, h in zip(rho, thick):
        f = _empymod_side(stencil.ravel(), r, h, -1).reshape(stencil.shape)
        hz.append(f[:, 2])
        dbzdt.append(MU0_H_PER_M * (f[:, 0] - 8 * f[:, 1] + 8 * f[:, 3] - f[:, 4]) / (12 * 0.01 * times))
    return np.array(hz), np.array(dbzdt)


if __name__ == "__main__":
    main()
