"""Benchmark: CNN lithology inference with chips built on the fly, against chips materialised up front.

    python benchmarks/cnn_chips.py [--size 3000] [--bands 6] [--chip 7] [--batch 4096] [--threads N] [--repeats 1]

A synthetic size x size scene (30 m pixels, ``--bands`` float32 bands, 5 units with distinct noisy
spectra, a strip of no data; seeded) is generated, and a small chip CNN
(:func:`geoprospect.lithology.experiment.make_model`, 5 epochs) is fitted on 300 pixels per unit of
its top-left corner and pickled to a temporary folder. Each path then runs in its own subprocess,
which regenerates the scene, loads the model and reports wall time and peak resident memory
(``ru_maxrss``) over the classification of every pixel with complete bands:

- on the fly: :func:`geoprospect.lithology.classify.classify_image`, chips of one batch at a time;
- materialised: :func:`geoprospect.lithology.chips.materialise_chips` for every pixel at once, then
  ``predict_proba`` in batches of the same size.

Prints pixels per second (wall clock, chip building included; the CPU seconds beside it, a check
against other load on the machine) and peak memory of both, the on-the-fly / materialised ratios, and
whether the two maps agree. With ``--repeats N`` the paths run N times, alternately, and the fastest
run of each is kept (the largest peak memory). The materialised chips need
``size**2 * bands * chip**2 * 4`` bytes (10.6 GB at the defaults): where that exceeds 80% of the
memory available, the materialised path is skipped and the bytes it would need are printed. Goal:
on the fly at least as fast as materialised, peak memory < 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 7
N_UNITS = 5
TRAIN_WINDOW = 500
TRAIN_PER_UNIT = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3000, help="scene side in pixels")
    parser.add_argument("--bands", type=int, default=6)
    parser.add_argument("--chip", type=int, default=7, help="chip side in pixels (odd)")
    parser.add_argument("--batch", type=int, default=4096, help="chips per predict_proba call")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads in both paths")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each path, alternately; the fastest is kept")
    parser.add_argument("--run", choices=["onthefly", "materialised"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_path(args)))
        return

    scratch = Path(tempfile.mkdtemp(prefix="gp-bench-chips-"))
    try:
        model_path = scratch / "cnn.pkl"
        t0 = time.perf_counter()
        model_path.write_bytes(pickle.dumps(train_model(args)))
        print(f"{args.size} x {args.size} scene, {args.bands} bands, {args.chip} x {args.chip} chips, batches of {args.batch}, "
              f"{args.threads} torch thread(s); CNN trained in {time.perf_counter() - t0:.0f} s")
        need = materialised_bytes(args)
        available = available_bytes()
        paths = ["onthefly", "materialised"]
        if need > 0.8 * available:
            paths.remove("materialised")
            print(f"  materialised   SKIPPED: its chips need {need / 1e9:.1f} GB and {available / 1e9:.1f} GB of memory is available")
        results = {path: fastest(runs) for path, runs in interleaved(args, paths, model_path, scratch).items()}
        for path in paths:
            report("on the fly" if path == "onthefly" else "materialised", results[path])
        if "materialised" in results:
            fly, whole = results["onthefly"], results["materialised"]
            print(f"ratios (on the fly / materialised): throughput {fly['pixels_per_s'] / whole['pixels_per_s']:.2f}  "
                  f"peak memory {fly['peak_mb'] / whole['peak_mb']:.2f}")
            a, b = np.load(scratch / "onthefly.npy"), np.load(scratch / "materialised.npy")
            print(f"maps identical: {'yes' if np.array_equal(a, b, equal_nan=True) else 'NO'}")
        peak = results["onthefly"]["peak_mb"]
        print(f"on-the-fly peak memory < 2 GB: {'yes' if peak < 2048 else 'NO'} ({peak:.0f} MB)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def synthetic_scene(size: int, bands: int) -> tuple[np.ndarray, np.ndarray]:
    """A (bands, size, size) float32 scene and its (size, size) unit codes 1..N_UNITS, one band at a time.

    Units are level sets of two crossed sinusoids (wavelengths of 1-3 km on a 30 m grid); each band
    is its unit's reflectance plus Gaussian noise (0.03). Rows 100-109 hold no data (NaN in band 0).
    """
    rng = np.random.default_rng(SEED)
    y, x = np.ogrid[:size, :size]
    field = np.sin(2 * np.pi * x / 70 + 0.3 * np.sin(2 * np.pi * y / 40)) + np.sin(2 * np.pi * y / 90)  # in [-2, 2]
    units = (1 + np.clip((field + 2) / 4 * N_UNITS, 0, N_UNITS - 1e-9).astype(np.int8))
    del field
    spectra = rng.uniform(0.05, 0.45, size=(N_UNITS + 1, bands)).astype(np.float32)
    image = np.empty((bands, size, size), dtype=np.float32)
    for band in range(bands):
        image[band] = np.random.default_rng([SEED, band]).normal(0, 0.03, (size, size)).astype(np.float32)
        image[band] += spectra[units, band]
    image[0, 100:110] = np.nan
    return image, units


def train_model(args):
    """The chip CNN, fitted on TRAIN_PER_UNIT pixels of each unit in the scene's top-left corner."""
    from geoprospect.lithology.chips import materialise_chips
    from geoprospect.lithology.experiment import make_model
    from geoprospect.lithology.split import sample_per_class

    image, units = synthetic_scene(args.size, args.bands)
    window = min(TRAIN_WINDOW, args.size)
    labels = np.full(units.shape, np.nan)
    labels[:window, :window] = units[:window, :window]
    labels[~np.isfinite(image).all(axis=0)] = np.nan
    rows, cols = sample_per_class(np.isfinite(labels), labels, TRAIN_PER_UNIT, SEED)
    return make_model("cnn", seed=SEED, epochs=5).fit(materialise_chips(image, rows, cols, args.chip), labels[rows, cols])


def materialised_bytes(args) -> int:
    """Chips of every pixel plus the reflection-padded copy of the scene, float32."""
    half = args.chip // 2
    return 4 * args.bands * (args.size ** 2 * args.chip ** 2 + (args.size + 2 * half) ** 2)


def available_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def run_path(args) -> dict:
    """One path in this (child) process: wall time and peak resident memory."""
    import torch

    from geoprospect.lithology.chips import materialise_chips
    from geoprospect.lithology.classify import classify_image

    torch.set_num_threads(args.threads)
    image, _ = synthetic_scene(args.size, args.bands)
    model = pickle.loads(Path(args.model).read_bytes())
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, cpu0 = time.perf_counter(), time.process_time()
    chips_s = 0.0
    if args.run == "onthefly":
        codes, _ = classify_image(model, image, args.chip, batch_size=args.batch)
    else:
        rows, cols = np.nonzero(np.isfinite(image).all(axis=0))
        chips = materialise_chips(image, rows, cols, args.chip)
        chips_s = time.perf_counter() - t0
        codes = np.full(image.shape[1:], np.nan, dtype=np.float32)
        for start in range(0, rows.size, args.batch):
            proba = model.predict_proba(chips[start:start + args.batch])
            codes[rows[start:start + args.batch], cols[start:start + args.batch]] = model.classes_[np.argmax(proba, axis=1)]
    seconds, cpu_s = time.perf_counter() - t0, time.process_time() - cpu0
    np.save(args.out, codes)
    pixels = int(np.isfinite(codes).sum())
    return {"seconds": seconds, "cpu_s": cpu_s, "chips_s": chips_s, "pixels": pixels, "pixels_per_s": pixels / seconds,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "baseline_mb": baseline_mb}


def child(args, path: str, model: Path, out: Path) -> dict:
    command = [sys.executable, __file__, "--run", path, "--model", str(model), "--out", str(out), "--size", str(args.size),
               "--bands", str(args.bands), "--chip", str(args.chip), "--batch", str(args.batch), "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"the {path} path failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def interleaved(args, paths: list[str], model: Path, scratch: Path) -> dict[str, list[dict]]:
    """``args.repeats`` runs of each path, alternating paths so that drifting load hits both alike."""
    runs: dict[str, list[dict]] = {path: [] for path in paths}
    for _ in range(args.repeats):
        for path in paths:
            runs[path].append(child(args, path, model, scratch / f"{path}.npy"))
    return runs


def fastest(runs: list[dict]) -> dict:
    """The fastest run, with the largest peak memory of all runs."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["peak_mb"] = max(r["peak_mb"] for r in runs)
    return best


def report(path: str, r: dict) -> None:
    chips = f", chips built in {r['chips_s']:.1f} s" if r["chips_s"] else ""
    print(f"  {path:<14} {r['seconds']:7.1f} s wall ({r['cpu_s']:.1f} s CPU)  {r['pixels_per_s'] / 1e6:6.3f} M pixels/s  peak memory {r['peak_mb']:6.0f} MB "
          f"(of which {r['baseline_mb']:.0f} MB before classifying: interpreter, libraries, scene{chips})")


if __name__ == "__main__":
    main()
