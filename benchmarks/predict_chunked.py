"""Benchmark: map prediction of a random forest, compiled against scikit-learn, chunked against whole-array.

    python benchmarks/predict_chunked.py [--sizes 4000 10000] [--trees 100] [--chunk 512] [--threads N] [--whole-size N]
                                         [--sklearn-size N] [--folder DIR]

For each size, a synthetic 24-band float32 cube of size x size pixels is written to Zarr chunk by
chunk, in the ingest cube's layout (band-by-band 512 x 512 chunks, CRS, band names). A random forest is
fitted on 5,000 pixels of its corner. Each path then runs in its own subprocess, which reports its
wall time and its peak resident memory (``ru_maxrss``), so the numbers include everything the path
allocates:

- compiled: ``open_cube`` (lazy) -> ``geoprospect.predict.predict_map`` (the forest compiled by
  ``geoprospect.models.compiled``) -> ``geoprospect.io.maps.write_cog`` (prediction streamed into a
  tiled GeoTIFF, then the COG with overviews), dask threads = cores: what the pipeline runs;
- sklearn (the smallest size, or ``--sklearn-size``): the same, with ``compiled=False``: scikit-learn's
  ``predict_proba`` per block, the forest's own ``n_jobs = 1`` (the blocks are the parallelism);
- whole array (the smallest size, or ``--whole-size``; 0: none): load the cube, reshape to (pixels,
  bands), one scikit-learn ``predict_proba`` with ``n_jobs = cores``; the result stays in memory.

Before the maps, the kernels alone: one 512 x 512 block of the smallest cube, in memory, through
the compiled forest and through ``predict_proba`` (``n_jobs = 1``), CPU seconds of each and their
ratio: what compiling buys without the reading, masking and writing a map also does.

Prints pixels per second (wall clock; the CPU seconds of all threads beside it, a check against
other load on the machine) and peak memory per path and size, the compiled / sklearn ratios of
throughput and of CPU time, and the largest difference between the maps. Goals: compiled >= 5x
scikit-learn at identical maps (max difference <= 1e-6), peak memory < 2 GB at every size. The cubes
are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import os
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

N_BANDS = 24
STORE_CHUNK = 512  # the ingest cube's chunking
TRAIN_WINDOW = 256
N_TRAIN = 5000
SEED = 42


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 10_000], help="cube sides in pixels")
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--chunk", type=int, default=512, help="predict_map block side in pixels")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="dask threads (and n_jobs of the whole-array path)")
    parser.add_argument("--whole-size", type=int, help="size also run by the whole-array path (default: the smallest; 0: none)")
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where the cubes are written (and deleted)")
    parser.add_argument("--sklearn-size", type=int, help="size also run through scikit-learn's predict_proba (default: the smallest; 0: none)")
    parser.add_argument("--run", choices=["compiled", "sklearn", "whole"], help=argparse.SUPPRESS)
    parser.add_argument("--cube", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_path(args)))
        return
    scratch = Path(tempfile.mkdtemp(prefix="gp-bench-predict-", dir=args.folder))
    print(f"random forest of {args.trees} trees, {N_BANDS} float32 features; chunk {args.chunk} px, {args.threads} thread(s); "
          f"cubes in {scratch}")
    whole_size = min(args.sizes) if args.whole_size is None else args.whole_size
    sklearn_size = min(args.sizes) if args.sklearn_size is None else args.sklearn_size
    results = {}
    try:
        for size in sorted(args.sizes):
            need = size * size * N_BANDS * 4
            free = shutil.disk_usage(scratch).free
            if free < 1.2 * need:
                print(f"{size} x {size}: SKIPPED, the cube needs {need / 1e9:.1f} GB of disk and {scratch} has {free / 1e9:.1f} GB free "
                      f"(pass --folder on a larger disk, or smaller --sizes)")
                continue
            cube = scratch / f"cube_{size}.zarr"
            t0 = time.perf_counter()
            write_synthetic_cube(cube, size, args.threads)
            print(f"{size} x {size}: cube written in {time.perf_counter() - t0:.0f} s ({need / 1e9:.2f} GB as float32)")
            if size == min(args.sizes):
                kernel_ratio(cube, args.trees)
            results[size, "compiled"] = child(args, "compiled", cube, scratch / f"map_{size}.tif")
            report(size, "compiled", results[size, "compiled"])
            if size == sklearn_size:
                results[size, "sklearn"] = child(args, "sklearn", cube, scratch / f"sklearn_{size}.tif")
                report(size, "sklearn", results[size, "sklearn"])
                compare(scratch / f"map_{size}.tif", read_tif(scratch / f"sklearn_{size}.tif"), "compiled - sklearn")
            if size == whole_size:
                results[size, "whole"] = child(args, "whole", cube, scratch / f"map_{size}.npy")
                report(size, "whole array", results[size, "whole"])
                compare(scratch / f"map_{size}.tif", np.load(scratch / f"map_{size}.npy"), "compiled - whole")
            shutil.rmtree(cube)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for reference in ("sklearn", "whole"):
        size = sklearn_size if reference == "sklearn" else whole_size
        if (size, reference) in results:
            c, r = results[size, "compiled"], results[size, reference]
            print(f"ratio at {size} x {size}, compiled / {reference}: throughput {c['pixels_per_s'] / r['pixels_per_s']:.1f}x, "
                  f"CPU per pixel {r['cpu_s'] / c['cpu_s']:.1f}x less, peak memory {c['peak_mb'] / r['peak_mb']:.2f}")
    peaks = [r["peak_mb"] for (_, path), r in results.items() if path == "compiled"]
    if peaks:
        print(f"compiled peak memory at every size < 2 GB: {'yes' if max(peaks) < 2048 else 'NO'} (max {max(peaks):.0f} MB)")


def write_synthetic_cube(path: Path, size: int, threads: int) -> None:
    """A (band, y, x) float32 cube in the ingest layout, generated and written one chunk at a time.

    Each band is a smooth pattern (product of two sinusoids of random wavelengths between 0.5 and 5 km
    on a 30 m grid) plus unit noise, drawn per chunk from a seed derived from the chunk's position.
    """
    import dask
    import dask.array as dsa
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    import xarray as xr

    rng = np.random.default_rng(SEED)
    wavelength_px = rng.uniform(500 / 30, 5000 / 30, size=(N_BANDS, 2))
    phase = rng.uniform(0, 2 * np.pi, size=(N_BANDS, 2))

    def block(block_info=None):
        info = block_info[None]
        (b0, b1), (y0, y1), (x0, x1) = info["array-location"]
        noise = np.random.default_rng([SEED, *info["chunk-location"]]).standard_normal((b1 - b0, y1 - y0, x1 - x0), dtype="float32")
        rows = np.sin(2 * np.pi * np.arange(y0, y1)[None, :, None] / wavelength_px[b0:b1, 0, None, None] + phase[b0:b1, 0, None, None])
        cols = np.sin(2 * np.pi * np.arange(x0, x1)[None, None, :] / wavelength_px[b0:b1, 1, None, None] + phase[b0:b1, 1, None, None])
        return noise + (2 * rows * cols).astype("float32")

    data = dsa.map_blocks(block, chunks=((1,) * N_BANDS, *(dsa.core.normalize_chunks(STORE_CHUNK, (size,))[0],) * 2), dtype="float32",
                          meta=np.empty((0, 0, 0), "float32"))
    cube = xr.DataArray(data, dims=("band", "y", "x"), coords={
        "band": [f"feature_{i:02d}" for i in range(N_BANDS)], "units": ("band", ["1"] * N_BANDS),
        "kind": ("band", ["continuous"] * N_BANDS), "x": 500_015.0 + 30 * np.arange(size), "y": 4_500_015.0 - 30 * np.arange(size)})
    cube = cube.rio.write_crs("EPSG:32611")
    cube = cube.rio.write_transform(cube.rio.transform(recalc=True))
    cube.attrs = {"classes": "{}"}
    with dask.config.set(scheduler="threads", num_workers=threads):
        cube.to_dataset(name="cube").to_zarr(path, mode="w", consolidated=True, zarr_format=2)


def training_data(cube) -> tuple[np.ndarray, np.ndarray]:
    """5,000 pixels of the cube's corner, labelled by a noisy logistic rule on four features."""
    window = cube.isel(y=slice(0, TRAIN_WINDOW), x=slice(0, TRAIN_WINDOW)).values.reshape(N_BANDS, -1).T
    rng = np.random.default_rng(SEED)
    X = window[rng.choice(len(window), N_TRAIN, replace=False)]
    score = X[:, 0] + 0.8 * X[:, 3] - 0.6 * X[:, 7] + 0.4 * X[:, 11] * X[:, 12]
    y = (rng.uniform(size=N_TRAIN) < 1 / (1 + np.exp(-2 * (score - 1)))).astype(int)
    return X, y


def kernel_ratio(cube_path: Path, trees: int) -> None:
    """CPU seconds of the compiled forest and of predict_proba on one in-memory block, one thread."""
    from sklearn.ensemble import RandomForestClassifier

    from geoprospect.io.cube import open_cube
    from geoprospect.models.compiled import compile_for_maps

    cube = open_cube(cube_path)
    X, y = training_data(cube)
    model = RandomForestClassifier(n_estimators=trees, random_state=0, n_jobs=1).fit(X, y)
    side = min(512, cube.sizes["y"], cube.sizes["x"])
    block = cube.isel(y=slice(-side, None), x=slice(-side, None)).values.reshape(N_BANDS, -1).T.copy()
    compiled = compile_for_maps(model)
    compiled(block[:10])  # numba loads (or compiles) the kernel
    seconds = {}
    for name, predict in (("compiled", compiled), ("sklearn", lambda rows: model.predict_proba(rows)[:, 1])):
        cpu0 = time.process_time()
        result = predict(block)
        seconds[name] = time.process_time() - cpu0
        if name == "compiled":
            first = result
    print(f"kernels on one {side} x {side} block, one thread: compiled {seconds['compiled']:.2f} s CPU, predict_proba "
          f"{seconds['sklearn']:.2f} s CPU: {seconds['sklearn'] / seconds['compiled']:.1f}x less CPU; max |difference| = "
          f"{np.abs(first - result).max():.2e}")


def run_path(args) -> dict:
    """One path in this (child) process: wall time and peak resident memory."""
    import dask
    from sklearn.ensemble import RandomForestClassifier

    from geoprospect.io.cube import open_cube
    from geoprospect.io.maps import write_cog
    from geoprospect.models.compiled import compile_for_maps
    from geoprospect.predict import predict_map  # imported before the clock starts: imports are not prediction

    cube = open_cube(args.cube)
    X, y = training_data(cube)
    model = RandomForestClassifier(n_estimators=args.trees, random_state=0, n_jobs=1).fit(X, y)
    load_s = 0.0
    if args.run == "compiled":  # numba loads the cached kernel once per process, like an import: before the clock
        cpu0 = time.process_time()
        compile_for_maps(model)(X[:1])
        load_s = time.process_time() - cpu0
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pixels = cube.sizes["y"] * cube.sizes["x"]
    t0, cpu0 = time.perf_counter(), time.process_time()
    if args.run in ("compiled", "sklearn"):
        probability = predict_map(model, cube, chunk=args.chunk, compiled=args.run == "compiled")
        with dask.config.set(scheduler="threads", num_workers=args.threads):
            write_cog(probability, args.out, description="probability")
    else:
        model.set_params(n_jobs=args.threads)
        values = cube.values
        probability = model.predict_proba(values.reshape(N_BANDS, -1).T)[:, 1].astype("float32")
        np.save(args.out, probability.reshape(cube.sizes["y"], cube.sizes["x"]))
    seconds = time.perf_counter() - t0
    return dict(seconds=seconds, cpu_s=time.process_time() - cpu0, pixels_per_s=pixels / seconds, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                baseline_mb=baseline_mb, load_s=load_s, tree_depth=float(np.mean([t.get_depth() for t in model.estimators_])))


def child(args, path: str, cube: Path, out: Path) -> dict:
    command = [sys.executable, __file__, "--run", path, "--cube", str(cube), "--out", str(out), "--trees", str(args.trees),
               "--chunk", str(args.chunk), "--threads", str(args.threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"the {path} path failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(size: int, path: str, r: dict) -> None:
    print(f"  {path:<12} {r['seconds']:7.1f} s wall ({r['cpu_s']:.1f} s CPU)  {r['pixels_per_s'] / 1e6:6.3f} M pixels/s  peak memory {r['peak_mb']:6.0f} MB "
          f"(of which {r['baseline_mb']:.0f} MB before predicting: interpreter, libraries, model; mean tree depth {r['tree_depth']:.0f})"
          + (f"; numba's kernel loaded before the clock in {r['load_s']:.2f} s CPU" if r.get("load_s") else ""))


def read_tif(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1)


def compare(cog: Path, other: np.ndarray, label: str) -> None:
    print(f"  max |{label}| = {np.nanmax(np.abs(read_tif(cog) - other)):.2e}")


if __name__ == "__main__":
    main()
