"""Demo ground-geophysics surveys with known truth: SP profiles, Schlumberger VES and central-loop TEM.

Written under ``out_dir/surveys/{sp,ves,tem}/`` as CSV files in the layouts read by
:mod:`geoprospect.io.surveys`, each with a JSON sidecar (``name.json``) holding the CRS, the true
model, the forward model and the noise that made it, so that inversions can be scored.

* ``sp/sp_profile_01.csv``: the synthetic sphere of Kaftan et al. (2014) as reproduced by ezygeo-ai
  (101 stations over 0-150 m; K = 94686, h = 41.81 m, a = 309.37 deg, x0 = 77.07 m; Gaussian noise
  of variance 10 mV^2). ``sp/sp_profile_02.csv``: a random horizontal cylinder (q = 1).
* ``ves/ves_S01.csv`` ... ``ves_S06.csv``: one Schlumberger sounding per file (``sounding_id``
  column too) at six stations 200 m apart, AB/2 1.5-300 m in three overlapping MN/2 segments,
  2.5 % multiplicative Gaussian noise.
* ``tem/tem_S01.csv`` ... ``tem_S06.csv``: central-loop step-off dB_z/dt (T/s) at the same stations
  over the same true earth, 30 gates 1e-5 to 1e-2 s, 25 m loop radius, 5 A, 3 % multiplicative noise.

The true 1-D earth at each station is a resistive cover over a conductive weathered layer and
fresh resistive rock; under the last three stations a conductive (sulphide) basement appears.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geoprospect.geophysics.sp import sp_anomaly
from geoprospect.geophysics.tem import central_loop_step_off
from geoprospect.geophysics.ves import schlumberger_rhoa
from geoprospect.io.surveys import write_survey

KAFTAN_SPHERE = {"k": 94686.0, "depth_m": 41.81, "angle_deg": 309.37, "x0_m": 77.07, "q": 1.5}
N_STATIONS = 6
STATION_SPACING_M = 200.0
VES_SEGMENTS = ((0.5, 1.5, 10.0), (2.0, 8.0, 60.0), (10.0, 50.0, 300.0))  # (MN/2, AB/2 from, to), m
VES_AB2_M = np.round(np.geomspace(1.5, 300.0, 22), 1)
VES_RELATIVE_NOISE = 0.025
TEM_TIMES_S = np.geomspace(1e-5, 1e-2, 30)
TEM_LOOP_RADIUS_M = 25.0
TEM_CURRENT_A = 5.0
TEM_RELATIVE_NOISE = 0.03


def write_surveys(out_dir: Path, rng: np.random.Generator, crs: str, bounds: tuple[float, float, float, float]) -> dict[str, list[Path]]:
    """Write the demo SP, VES and TEM surveys with their true models.

    Parameters
    ----------
    out_dir : Path
        Demo folder; files go to ``out_dir/surveys/{sp,ves,tem}/``.
    rng : numpy.random.Generator
        Source of all randomness: the same seed writes the same files.
    crs : str
        Projected CRS of the station coordinates ``x_m``, ``y_m`` (recorded in the sidecars).
    bounds : tuple of float
        (xmin, ymin, xmax, ymax) in ``crs``, m; every station lies inside.

    Returns
    -------
    dict
        ``{"sp": [...], "ves": [...], "tem": [...]}``: paths of the CSV files (each has a JSON
        sidecar beside it, see :func:`geoprospect.io.surveys.sidecar_path`).

    Raises
    ------
    ValueError
        If the bounds are too small to hold the 1000 m sounding line.
    """
    folder = Path(out_dir) / "surveys"
    sp_paths = _write_sp(folder / "sp", rng, crs, bounds)
    stations = _profile(rng, bounds, (N_STATIONS - 1) * STATION_SPACING_M, N_STATIONS)
    models = _layered_models(rng)
    return {"sp": sp_paths, **_write_soundings(folder, rng, crs, stations, models)}


def _profile(rng: np.random.Generator, bounds, length_m: float, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random straight profile inside bounds: (distance along it, x, y), m, each (n,)."""
    xmin, ymin, xmax, ymax = bounds
    margin = 0.05 * min(xmax - xmin, ymax - ymin)
    if length_m > min(xmax - xmin, ymax - ymin) - 2 * margin:
        raise ValueError(f"bounds {bounds} are too small for a {length_m:.0f} m survey profile")
    azimuth = rng.uniform(0, np.pi)
    dx, dy = np.cos(azimuth) * length_m, np.sin(azimuth) * length_m
    x0 = rng.uniform(xmin + margin - min(dx, 0), xmax - margin - max(dx, 0))
    y0 = rng.uniform(ymin + margin, ymax - margin - dy)
    distance = np.linspace(0.0, length_m, n)
    return distance, x0 + distance / length_m * dx, y0 + distance / length_m * dy


def _write_sp(folder: Path, rng: np.random.Generator, crs: str, bounds) -> list[Path]:
    cylinder = {"k": rng.uniform(2000.0, 5000.0), "depth_m": rng.uniform(15.0, 40.0),
                "angle_deg": rng.uniform(30.0, 70.0), "x0_m": rng.uniform(150.0, 250.0), "q": 1.0}
    profiles = [
        ("sp_profile_01", "sphere (Kaftan et al. 2014 synthetic)", KAFTAN_SPHERE, np.linspace(0.0, 150.0, 101), np.sqrt(10.0)),
        ("sp_profile_02", "horizontal cylinder", cylinder, np.linspace(0.0, 400.0, 81), 2.0),
    ]
    paths = []
    for profile_id, body, model, distance, noise_mv in profiles:
        _, x, y = _profile(rng, bounds, distance[-1], len(distance))
        clean = sp_anomaly(distance, **model)
        table = pd.DataFrame({"profile_id": profile_id, "station_m": distance, "x_m": x, "y_m": y,
                              "sp_mv": clean + rng.normal(0.0, noise_mv, len(distance))})
        sidecar = {"crs": crs, "survey": "sp", "profile_id": profile_id, "body": body,
                   "true_model": {key: float(value) for key, value in model.items()},
                   "forward": "geoprospect.geophysics.sp.sp_anomaly",
                   "noise": {"kind": "additive_gaussian", "std_mv": float(noise_mv)}}
        paths.append(write_survey(table, folder / f"{profile_id}.csv", sidecar))
    return paths


def _layered_models(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """True 1-D earths along the line: (resistivities_ohm_m, thicknesses_m) per station."""
    along = np.linspace(0.0, 1.0, N_STATIONS)
    models = []
    for i, t in enumerate(along):
        cover = (rng.uniform(80.0, 200.0), rng.uniform(2.0, 5.0))
        weathered = (rng.uniform(8.0, 25.0), 10.0 + 20.0 * t + rng.uniform(-2.0, 2.0))
        fresh = rng.uniform(400.0, 1500.0)
        rho, thick = [cover[0], weathered[0], fresh], [cover[1], weathered[1]]
        if i >= N_STATIONS // 2:  # the sulphide conductor under the second half of the line
            rho, thick = rho + [rng.uniform(2.0, 8.0)], thick + [rng.uniform(40.0, 80.0)]
        models.append((np.round(rho, 2), np.round(thick, 2)))
    return models


def _ves_geometry() -> tuple[np.ndarray, np.ndarray]:
    """AB/2 and MN/2 (m) of one sounding, segment by segment (overlaps as in the field)."""
    rows = [(ab2, mn2) for mn2, lo, hi in VES_SEGMENTS for ab2 in VES_AB2_M if lo <= ab2 <= hi]
    ab2, mn2 = np.array(rows).T
    return ab2, mn2


def _write_soundings(folder: Path, rng: np.random.Generator, crs: str, stations, models) -> dict[str, list[Path]]:
    ab2, mn2 = _ves_geometry()
    paths: dict[str, list[Path]] = {"ves": [], "tem": []}
    for i, (rho, thick) in enumerate(models):
        sounding_id = f"S{i + 1:02d}"
        x, y = stations[1][i], stations[2][i]
        truth = {"resistivities_ohm_m": rho.tolist(), "thicknesses_m": thick.tolist()}
        common = {"crs": crs, "sounding_id": sounding_id, "x_m": float(x), "y_m": float(y), "true_model": truth}

        rhoa = schlumberger_rhoa(ab2, rho, thick, mn2) * (1 + VES_RELATIVE_NOISE * rng.standard_normal(len(ab2)))
        ves = pd.DataFrame({"sounding_id": sounding_id, "x_m": x, "y_m": y, "ab2_m": ab2, "mn2_m": mn2, "rhoa_ohm_m": rhoa})
        paths["ves"].append(write_survey(ves, folder / "ves" / f"ves_{sounding_id}.csv", {
            **common, "survey": "ves", "forward": "geoprospect.geophysics.ves.schlumberger_rhoa (finite MN/2)",
            "noise": {"kind": "multiplicative_gaussian", "relative_std": VES_RELATIVE_NOISE}}))

        clean = central_loop_step_off(TEM_TIMES_S, rho, thick, TEM_LOOP_RADIUS_M, TEM_CURRENT_A).dbzdt_t_per_s
        dbzdt = clean * (1 + TEM_RELATIVE_NOISE * rng.standard_normal(len(TEM_TIMES_S)))
        tem = pd.DataFrame({"sounding_id": sounding_id, "x_m": x, "y_m": y, "time_s": TEM_TIMES_S, "dbzdt_t_per_s": dbzdt,
                            "loop_radius_m": TEM_LOOP_RADIUS_M, "current_a": TEM_CURRENT_A})
        paths["tem"].append(write_survey(tem, folder / "tem" / f"tem_{sounding_id}.csv", {
            **common, "survey": "tem", "forward": "geoprospect.geophysics.tem.central_loop_step_off (step-off, loop centre)",
            "loop_radius_m": TEM_LOOP_RADIUS_M, "current_a": TEM_CURRENT_A,
            "noise": {"kind": "multiplicative_gaussian", "relative_std": TEM_RELATIVE_NOISE}}))
    return paths
