"""Spatio-temporal porphyry prospectivity steps: kinematics per time step, samples, CV, maps through time.

Each function is one cacheable step of the tectonics flow (``tasks/tectonics.py`` wraps them); they
read the plate model through :mod:`geoprospect.io` and write tables and figures, passing paths.

After Diaz-Rodriguez, Müller and Chandra (2021), *Ore Geology Reviews* 137:104300: subduction zones
are sampled at each time step and their kinematics computed with pyGPlates; dated porphyry Cu
deposits are reconstructed to their age and matched to the nearest trench point (within a cut-off);
classifiers learn the kinematics of formation and score a grid of candidate points over the study
region through time. Three sampling designs (:data:`DESIGNS`) answer different questions and are
each scored beside a time-only and a location-only control, under the paper's shuffled 10-fold and
the leave-region-out and leave-age-bin-out schemes (:mod:`geoprospect.tectonics.validation`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from geoprospect.catalog import DepositColumns, PlateModelSource, TectonicsSpec
from geoprospect.errors import InputError
from geoprospect.evaluate import json_ready
from geoprospect.io.deposits import read_deposit_table
from geoprospect.io.figures import VideoUnavailable, save_png, write_gif, write_video
from geoprospect.io.files import publish
from geoprospect.io.plates import (
    PlateModelFiles,
    PlateModelWarning,
    check_plate_ids,
    read_age_grid,
    read_features,
    raster_series_times,
    read_kinematics,
    read_raster_series_grid,
    read_rotation_model,
    write_kinematics,
)
from geoprospect.io.reports import write_html
from geoprospect.io.tables import read_csv, write_csv, write_json
from geoprospect.io.vectors import read_vector, write_vector
from geoprospect.provenance import code_digest
from geoprospect.render.report import Section, report_html
from geoprospect.render.tectonics import figure_rgb, plot_cv_comparison, plot_time_slice, plot_window_map
from geoprospect.tectonics.coregister import assign_plate_ids, great_circle_deg
from geoprospect.tectonics.kinematics import EARTH_RADIUS_KM, sample_age, subduction_kinematics, time_steps
from geoprospect.tectonics.reconstruct import reconstructed, resolved_sections
from geoprospect.tectonics.samples import (OPTIONAL_FEATURES, RASTER_PREFIX, deposit_points, feature_columns, margin_samples,
                                          training_samples)
from geoprospect.tectonics.through_time import grid_candidates, score_through_time, window_points, window_summary
from geoprospect.tectonics.validation import SCHEMES, evaluate, fit_final

MAX_FRAMES = 60  # animation frames across the time range
REGION_PAD_DEG = 5.0  # default region: the dated deposits' box, this much wider
_LOADING = threading.Lock()


def model_files(plates: PlateModelSource) -> PlateModelFiles:
    return PlateModelFiles(tuple(plates.rotations), tuple(plates.topologies), tuple(plates.static_polygons),
                           tuple(plates.coastlines), plates.age_grid)


_KINDS = (("topologies", "topology"), ("static_polygons", "static polygon"), ("coastlines", "coastline"))


@functools.lru_cache(maxsize=2)
def _load(files: PlateModelFiles) -> dict:
    model = {"rotations": read_rotation_model(files.rotations)}
    for name, what in _KINDS:
        paths = getattr(files, name)
        model[name] = read_features(paths, what) if paths else []
    return model


@functools.lru_cache(maxsize=8)
def _check(files: PlateModelFiles, time_range: tuple[float, float]) -> tuple[str, ...]:
    """Check the plate ids over ``time_range``; return the warnings (plate ids reconstruction does not need)."""
    model = _load(files)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PlateModelWarning)
        for name, what in _KINDS:
            # topologies are resolved at t and t + 1 Myr (velocities); points and coastlines at t only
            span = (time_range[0], time_range[1] + 1.0) if name == "topologies" else time_range
            for path, collection in zip(getattr(files, name), model[name]):
                check_plate_ids(path, collection, what, model["rotations"], span)
    return tuple(str(w.message) for w in caught if issubclass(w.category, PlateModelWarning))


def load_plate_model(plates: PlateModelSource | PlateModelFiles, time_range: tuple[float, float]) -> dict:
    """The model's rotation model and feature collections (``rotations``, ``topologies``, ``static``,
    ``coastlines``), read once per process and checked over ``time_range`` (Ma); ``notes``: what the
    plate-id check reported without refusing."""
    files = plates if isinstance(plates, PlateModelFiles) else model_files(plates)
    with _LOADING:
        model = _load(files)
        notes = _check(files, (float(time_range[0]), float(time_range[1])))
    return {"rotations": model["rotations"], "topologies": model["topologies"], "static": model["static_polygons"],
            "coastlines": model["coastlines"], "notes": list(notes)}


def time_range(spec: TectonicsSpec) -> tuple[float, float]:
    return float(spec.start_ma), float(spec.stop_ma)


def steps(spec: TectonicsSpec) -> list[float]:
    """The kinematics time steps (Ma) of the settings."""
    return time_steps(spec.start_ma, spec.stop_ma, spec.step_myr)


def age_grid_for(plates: PlateModelSource, time_ma: float) -> Path | None:
    """The age grid used at ``time_ma`` (the nearest available time), or None without age grids."""
    return model_files(plates).nearest_age_grid_path(time_ma) if plates.age_grid else None


def kinematics_files(plates: PlateModelSource) -> PlateModelFiles:
    """The files kinematics need (rotations and topologies; age grids are passed per step): their cache
    key leaves out the deposits, the study area and the other settings."""
    return PlateModelFiles(tuple(plates.rotations), tuple(plates.topologies))


def kinematics_step(files: PlateModelFiles, time_ma: float, spacing_deg: float, age_grid: Path | None,
                    destination: Path, checked_range: tuple[float, float] | None = None) -> dict:
    """Trench-point kinematics at one time, as Parquet (see :mod:`geoprospect.tectonics.kinematics`).
    The plate ids are checked over ``checked_range`` (default: this time), once per process."""
    model = load_plate_model(files, checked_range or (time_ma, time_ma))
    grid = read_age_grid(age_grid) if age_grid is not None else None
    started = time.perf_counter()
    table = subduction_kinematics(model["topologies"], model["rotations"], time_ma, spacing_deg, age_grid=grid)
    seconds = time.perf_counter() - started
    write_kinematics(table, destination)
    return {"time_ma": time_ma, "trench_points": len(table), "seconds": seconds,
            "mean_convergence_orthogonal_cm_yr": float(table["convergence_orthogonal_cm_yr"].mean()) if len(table) else float("nan")}


def collect_kinematics(paths: list[Path], destination: Path) -> dict:
    """One Parquet table of every time step (the run's kinematics table)."""
    table = pd.concat([read_kinematics(p) for p in paths], ignore_index=True).sort_values(["time_ma", "section_id"], kind="stable")
    if table.empty:
        raise InputError("plate_model.topologies", "no subduction zone at any time step",
                         "give topologies with subduction zones (gpml:SubductionZone), e.g. a global model's")
    write_kinematics(table, destination)
    return {"time_steps": int(table["time_ma"].nunique()), "trench_points": len(table)}


def read_deposits(plates: PlateModelSource) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dated deposits as points (:func:`deposit_points`) and the rows skipped or kept without an age."""
    if plates.deposits is None:
        raise InputError("plate_model.deposits", "no dated deposit table", "add 'deposits:' (a CSV with longitude, latitude "
                         "and age columns; name them in plate_model.deposit_columns) to the plate_model section")
    return _read_points(plates.deposits, plates.deposit_columns, "plate_model.deposits")


def check_rasters(plates: PlateModelSource) -> None:
    """Find the times of every raster through time (plate_model.rasters), before any kinematics."""
    for series in plates.rasters.values():
        raster_series_times(series.path, series.pattern, series.time_dim)


def with_rasters(kin: pd.DataFrame, plates: PlateModelSource) -> tuple[pd.DataFrame, list[str]]:
    """Add one ``raster_<name>`` feature column per raster through time of the catalog (plate_model.rasters).

    At each time step, the grid of the nearest time (within ``max_time_gap_myr``) is sampled at its node
    nearest to each trench point moved ``inland_km`` into the overriding plate along the trench normal.
    Why at the trench point rather than at each sample's own reconstructed position: the label-0 samples of
    the time-matched and PU designs are trench points themselves, while deposits and candidates lie inland;
    a value at each row's own position would tell the classes apart by their distance from the trench.
    Taken at the co-registered trench point, as the kinematics are, every row is measured alike. Returns
    the table and notes for the report (steps without a grid near enough, a raster with no value)."""
    notes, steps = [], kin.groupby(kin["time_ma"].astype(float)).indices
    for name, series in plates.rasters.items():
        times = raster_series_times(series.path, series.pattern, series.time_dim)
        grid_times = np.array(sorted(times))
        column, gaps, grids = np.full(len(kin), np.nan), [], {}
        for t, rows in steps.items():
            nearest = float(grid_times[np.abs(grid_times - t).argmin()])
            if abs(nearest - t) > series.max_time_gap_myr + 1e-9:
                gaps.append(t)
                continue
            if nearest not in grids:
                grids = {nearest: read_raster_series_grid(*times[nearest], series.variable, series.time_dim)}
            at = kin.iloc[rows]
            lon, lat = _inland(at["lon"].to_numpy(float), at["lat"].to_numpy(float),
                               at["trench_normal_azimuth_deg"].to_numpy(float), series.inland_km)
            column[rows] = sample_age(grids[nearest], lon, lat)  # nearest-node sampling (any lon/lat grid)
        if gaps:
            notes.append(f"{name}: no grid within {series.max_time_gap_myr:g} Myr of {len(gaps)} time step(s) "
                         f"({', '.join(f'{t:g}' for t in gaps[:8])}{' ...' if len(gaps) > 8 else ''} Ma): no value there")
        if np.isfinite(column).any():
            kin = kin.assign(**{RASTER_PREFIX + name: column})
            missing = int((~np.isfinite(column)).sum())
            if missing:
                notes.append(f"{name}: no value at {missing} of {len(column)} trench point-steps (off the grid, nodata or "
                             "no grid near in time): samples there are dropped and listed in samples_report.csv")
        else:
            notes.append(f"{name}: no value at any trench point (grid extent, inland_km or times): not used")
    return kin, notes


def _inland(lon: np.ndarray, lat: np.ndarray, azimuth_deg: np.ndarray, distance_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Points ``distance_km`` from (lon, lat) along ``azimuth_deg`` on the sphere of the kinematics (pyproj)."""
    if distance_km == 0:
        return lon, lat
    geod = Geod(a=EARTH_RADIUS_KM * 1e3, f=0.0)
    lon2, lat2, _ = geod.fwd(lon, lat, azimuth_deg, np.full(lon.shape, distance_km * 1e3))
    return np.asarray(lon2), np.asarray(lat2)


def check_deposits(plates: PlateModelSource) -> None:
    """Read the deposit (and barren) tables with the catalog's column mapping, before any kinematics."""
    read_deposits(plates)
    if plates.barren is not None:
        _read_points(plates.barren, plates.deposit_columns, "plate_model.barren")


def _read_points(path: Path, columns: DepositColumns, key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = [str(c) for c in read_csv(path, skipinitialspace=True).columns]
    id_column = columns.id or ("DepositID" if "DepositID" in names else None)
    text_column = columns.age_text or ("Deposit Age" if "Deposit Age" in names else None)
    named = {"id": id_column, "lon": columns.lon, "lat": columns.lat, "age": columns.age, "age_text": text_column,
             "region": columns.region}
    absent = {k: v for k, v in named.items() if v is not None and v not in names}
    if absent:
        listed = ", ".join(f"{k}: {v!r}" for k, v in absent.items())
        raise InputError(key, f"{path.name} has no column {listed}; its columns are {names[:30]}",
                         "name the table's columns in plate_model.deposit_columns (id, lon, lat, age, age_text, region), "
                         "e.g. deposit_columns: {lon: longitude, lat: latitude, age: age_ma}")
    if columns.age is None and text_column is None:
        raise InputError(key, "no age column named", "set plate_model.deposit_columns.age (Ma) or age_text")
    table, report = read_deposit_table(path, columns.lon, columns.lat, columns.age, text_column)
    points = deposit_points(table, id_column, columns.region)
    if columns.region:  # read as text: pandas would read the label "NA" (North America) as missing
        labels = read_csv(path, skipinitialspace=True, usecols=[columns.region], keep_default_na=False, dtype=str)
        points["region_label"] = labels[columns.region].to_numpy()[table["row_number"].to_numpy() - 1]
    return points, report


def _barren(plates: PlateModelSource, model: dict) -> pd.DataFrame | None:
    if plates.barren is None:
        return None
    points = _read_points(plates.barren, plates.deposit_columns, "plate_model.barren")[0]
    return points.assign(plate_id=assign_plate_ids(points["lon"], points["lat"], model["static"], model["rotations"]))


DESIGNS = {  # design -> (label-0 sources, what question its CV answers)
    "time_matched": (("time_matched", "barren"),
                     "given the time, do the kinematics tell deposit places from other places of the margin? "
                     "(negatives at the positives' times elsewhere on the margin; a time-only control near 0.5 "
                     "shows the sampling in time carries no signal)"),
    "pu": (("unlabelled",), "positive-unlabelled bagging over margin points at the positives' times: the same "
           "question without calling the margin barren (scores are deposits against unlabelled points: a lower bound)"),
    "same_location": (("deposit_location", "barren"),
                      "at a deposit's place, do the kinematics tell its time of formation from other times? (the "
                      "paper's negatives, spread over the whole time range: compare with the time-only control, "
                      "which scores the age distribution of the deposits)"),
}


def make_samples(plates: PlateModelSource, kinematics: Path, spec: TectonicsSpec, destination: Path) -> dict:
    """Co-registered positives (deposits at their age) and the label-0 rows of every design (``source``:
    ``deposit_location``, ``time_matched``, ``unlabelled``, ``barren``): ``samples.csv`` and
    ``samples_report.csv`` (deposits without age or plate, or unmatched within the largest radius, with
    the reason and the distance)."""
    model = load_plate_model(plates, time_range(spec))
    if not model["static"]:
        raise InputError("plate_model.static_polygons", "no static polygons to give the deposits plate ids",
                         "add the model's static polygons file")
    deposits, read_report = read_deposits(plates)
    dated = deposits[np.isfinite(deposits["age_ma"])
                     & deposits["age_ma"].between(spec.start_ma, spec.stop_ma)].reset_index(drop=True)
    plate_ids = assign_plate_ids(dated["lon"], dated["lat"], model["static"], model["rotations"])
    kin, raster_notes = with_rasters(read_kinematics(kinematics), plates)
    rng = np.random.default_rng(spec.seed)
    samples, report = training_samples(dated, kin, plate_ids, model["rotations"], spec.radii_deg, rng,
                                       barren=_barren(plates, model), min_gap_myr=spec.min_gap_myr,
                                       region_size_deg=spec.region_size_deg, age_bin_myr=spec.age_bin_myr,
                                       # cross_validate checks each design's label-0 rows
                                       require_negatives="same_location" in spec.designs and len(spec.designs) == 1)
    positives = samples[samples["label"] == 1]
    common = dict(min_gap_myr=spec.min_gap_myr, region_size_deg=spec.region_size_deg, age_bin_myr=spec.age_bin_myr)
    extra = []
    if "time_matched" in spec.designs:
        extra.append(margin_samples(positives, kin, model["rotations"], rng, spec.negatives_per_positive,
                                    spec.exclusion_deg, source="time_matched", **common))
    if "pu" in spec.designs:
        extra.append(margin_samples(positives, kin, model["rotations"], rng, spec.unlabelled_per_positive, 0.0,
                                    source="unlabelled", **common))
    samples = pd.concat([samples, *[e for e in extra if len(e)]], ignore_index=True)
    if "region_label" in dated.columns:
        samples["region"] = _region_codes(samples, dated)
    outside = len(deposits) - len(dated)
    too_far = report["reason"].astype(str).str.startswith("no trench point within")
    distance = positives["distance_to_trench_km"]
    destination.mkdir(parents=True, exist_ok=True)
    write_csv(samples, destination / "samples.csv")
    write_csv(report, destination / "samples_report.csv")
    return {"positives": int((samples["label"] == 1).sum()),
            "label_0_by_source": {str(k): int(v) for k, v in samples.loc[samples["label"] == 0, "source"].value_counts().items()},
            "deposits_in_table": len(deposits), "deposits_undated_or_outside_time_range": outside,
            "rows_skipped_reading": int(read_report["skipped"].sum()) if "skipped" in read_report else 0,
            "not_used": len(report), "coregistration_cutoff_deg": float(max(spec.radii_deg)),
            "deposits_beyond_cutoff": int((too_far & report["source"].eq("deposit")).sum()),
            "distance_to_trench_km_median": float(distance.median()) if len(distance) else float("nan"),
            "distance_to_trench_km_max": float(distance.max()) if len(distance) else float("nan"),
            "features": feature_columns(samples), "plate_model_notes": model["notes"],
            "absent_features": [f for f in OPTIONAL_FEATURES if f not in samples.columns],
            "rasters": sorted(plates.rasters), "raster_notes": raster_notes}


def _region_codes(samples: pd.DataFrame, dated: pd.DataFrame) -> np.ndarray:
    """Leave-region-out groups from the table's region labels: a deposit's own label; other rows take
    the label of the nearest positive (present-day margin positions)."""
    labels = dict(zip(dated["deposit_id"], dated["region_label"]))
    names = samples["deposit_id"].map(labels)
    positives = samples[samples["label"] == 1].dropna(subset=["margin_lon"])
    missing = names.isna() & samples["margin_lon"].notna()
    if missing.any() and len(positives):
        angle = great_circle_deg(samples.loc[missing, "margin_lon"].to_numpy(float)[:, None],
                                 samples.loc[missing, "margin_lat"].to_numpy(float)[:, None],
                                 positives["margin_lon"].to_numpy(float)[None, :],
                                 positives["margin_lat"].to_numpy(float)[None, :])
        names[missing] = positives["deposit_id"].map(labels).to_numpy()[angle.argmin(axis=1)]
    return pd.factorize(names.fillna("unknown"), sort=True)[0]


def design_table(samples: pd.DataFrame, design: str) -> pd.DataFrame:
    """The positives and the label-0 rows of one design."""
    return samples[(samples["label"] == 1) | samples["source"].isin(DESIGNS[design][0])].reset_index(drop=True)


def cross_validate(samples: Path, spec: TectonicsSpec, destination: Path) -> dict:
    """Every design x scheme x model, with the time-only and location-only controls: ``cv_metrics.csv``
    (``status`` says when a score is not computable and why), ``cv_folds.csv``, ``cv_controls.csv``
    (best kinematics model against the controls), ``importances.csv``, ``confusion.csv``, ``cv.png``."""
    table = read_csv(samples)
    features = feature_columns(table)
    metrics, folds, importances, confusion = [], [], [], []
    for design in spec.designs:
        rows = design_table(table, design)
        if rows["label"].nunique() < 2:
            metrics.append(pd.DataFrame([{"design": design, "scheme": scheme, "model": "all", "kind": "kinematics",
                                          "status": "not computable: no label-0 sample for this design"}
                                         for scheme in SCHEMES]))
            continue
        params = {m: {"n_estimators": spec.pu_rounds} for m in [*spec.models, "rf"]} if design == "pu" else {}
        try:
            result = evaluate(rows, features, spec.models, params=params, seed=spec.seed, n_splits=spec.n_splits,
                              n_repeats=3 if design == spec.designs[0] else 0, pu=design == "pu",
                              importance_schemes=("leave_region_out",))
        except InputError as exc:  # e.g. too few label-0 rows for folds: this design only is not computable
            metrics.append(pd.DataFrame([{"design": design, "scheme": scheme, "model": "all", "kind": "kinematics",
                                          "status": f"not computable: {exc}"} for scheme in SCHEMES]))
            continue
        metrics.append(result.metrics.assign(design=design, question=DESIGNS[design][1]))
        folds.append(result.folds.assign(design=design))
        importances.append(result.importances.assign(design=design))
        confusion += [{"design": design, "scheme": s, "model": m, "tn": c[0, 0], "fp": c[0, 1], "fn": c[1, 0], "tp": c[1, 1]}
                      for (s, m), c in result.confusion.items()]
    metrics = _front(pd.concat(metrics, ignore_index=True), ["design", "scheme", "model", "kind", "status"])
    destination.mkdir(parents=True, exist_ok=True)
    write_csv(metrics, destination / "cv_metrics.csv")
    write_csv(_front(pd.concat(folds, ignore_index=True), ["design"]) if folds else pd.DataFrame(), destination / "cv_folds.csv")
    write_csv(_front(pd.concat(importances, ignore_index=True), ["design"]) if importances else pd.DataFrame(),
              destination / "importances.csv")
    write_csv(pd.DataFrame(confusion), destination / "confusion.csv")
    controls = control_comparison(metrics)
    write_csv(controls, destination / "cv_controls.csv")
    design = mapped_design(metrics, spec.designs)
    shown = metrics[(metrics["design"] == design) & metrics["model"].ne("all")]
    if len(shown):
        save_png(plot_cv_comparison(shown, title=f"CV schemes, {design} design: models and controls"),
                 destination / "cv.png")
    return {"best_model": best_model(metrics, design), "design": design,
            "controls": controls.to_dict(orient="records")}


def mapped_design(metrics: pd.DataFrame, designs: Sequence[str]) -> str:
    """The first design in the catalog's order whose kinematics models could be scored: it is the one
    mapped through time (a design left without label-0 samples must not stop the others)."""
    scored = metrics[metrics["kind"].eq("kinematics") & metrics["roc_auc_mean"].notna()] if "roc_auc_mean" in metrics else metrics[:0]
    return next((d for d in designs if (scored["design"] == d).any()), designs[0])


def control_comparison(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per design and scheme: the best kinematics model's ROC-AUC against the time-only and
    location-only controls.

    ``time_only_roc_auc`` is the control's raw CV score. ``time_only_reference`` is the score the
    model must beat: the raw score, or chance (0.5) where the raw score is below it.
    ``margin_over_time_only`` is the model's AUC minus that reference. Why: with time-matched negatives
    every time holds both classes in the same ratio, so time carries no signal; holding out a fold
    then leaves, at each time, fewer training rows of the held-out rows' class, and a control that only
    knows the time predicts the other class: its AUC falls below 0.5 by construction (a CV artefact,
    not anti-skill). Measuring the model against that raw score would flatter it by the artefact;
    the raw score is kept beside the reference so the floor is never silent
    (``time_only_below_chance``)."""
    rows = []
    for (design, scheme), group in metrics.groupby(["design", "scheme"], sort=False):
        auc = group.set_index("model")["roc_auc_mean"] if "roc_auc_mean" in group else pd.Series(dtype=float)
        models = group[(group["kind"] == "kinematics") & group["model"].isin(auc.dropna().index)]
        best = models.loc[models["roc_auc_mean"].idxmax()] if len(models) else None
        time_only, location_only = (float(auc.get(name, np.nan)) for name in ("time_only", "location_only"))
        reference = max(time_only, 0.5) if np.isfinite(time_only) else np.nan
        rows.append({"design": design, "scheme": scheme,
                     "best_model": best["model"] if best is not None else "none computable",
                     "best_roc_auc": float(best["roc_auc_mean"]) if best is not None else np.nan,
                     "time_only_roc_auc": time_only, "time_only_below_chance": bool(time_only < 0.5),
                     "time_only_reference": reference, "location_only_roc_auc": location_only,
                     "margin_over_time_only": float(best["roc_auc_mean"]) - reference if best is not None else np.nan})
    return pd.DataFrame(rows)


def _front(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return table[[c for c in columns if c in table.columns] + [c for c in table.columns if c not in columns]]


def best_model(metrics: pd.DataFrame, design: str | None = None) -> str:
    """The kinematics model with the highest leave-region-out ROC-AUC (the honest score) in ``design``."""
    rows = metrics[metrics["kind"].eq("kinematics") & metrics["roc_auc_mean"].notna()] if "roc_auc_mean" in metrics else metrics[:0]
    if design is not None and "design" in rows:
        rows = rows[rows["design"] == design]
    held_out = rows[rows["scheme"] == "leave_region_out"]
    rows = held_out if len(held_out) else rows
    if rows.empty:
        raise InputError("tectonics.models", "no model could be scored in any CV scheme (cv_metrics.csv says why)",
                         "add deposits or widen the time range, or set tectonics.map_model")
    return str(rows.loc[rows["roc_auc_mean"].idxmax(), "model"])


def candidate_region(plates: PlateModelSource, deposits: pd.DataFrame) -> tuple[tuple[float, float, float, float], object, str]:
    """The region box, an optional ``inside(lon, lat)`` test of the region polygon, and where they came from."""
    if plates.region_polygon is not None:
        polygon = read_vector(plates.region_polygon, "polygon").to_crs("EPSG:4326").union_all()
        return tuple(polygon.bounds), (lambda lon, lat: shapely.contains_xy(polygon, lon, lat)), "plate_model.region_polygon"
    if plates.region_box is not None:
        return tuple(plates.region_box), None, "plate_model.region_box"
    dated = deposits[np.isfinite(deposits["age_ma"])]
    pad = REGION_PAD_DEG
    box = (max(dated["lon"].min() - pad, -180.0), max(dated["lat"].min() - pad, -90.0),
           min(dated["lon"].max() + pad, 180.0), min(dated["lat"].max() + pad, 90.0))
    return box, None, f"the dated deposits' box, {pad:g} degrees wider"


def through_time(plates: PlateModelSource, kinematics: Path, samples: Path, model_name: str, design: str,
                 spec: TectonicsSpec, destination: Path) -> dict:
    """Score a regular grid of candidates over the region at every time step, where it lies on the overriding
    plate of a trench, with the model fitted on every sample of ``design``: ``scores.csv``,
    ``windows.gpkg``, ``window_<a>-<b>ma.png`` per window (with the deposits of the window),
    ``animation.gif`` and ``animation.mp4`` (where ffmpeg runs: else a warning, and the summary's ``video``
    says why) and one ``frame_<t>ma.png`` per frame."""
    model = load_plate_model(plates, time_range(spec))
    table, kin = design_table(read_csv(samples), design), with_rasters(read_kinematics(kinematics), plates)[0]
    features = feature_columns(table)
    fitted = fit_final(table, features, model_name, {"n_estimators": spec.pu_rounds} if design == "pu" else None,
                       seed=spec.seed, pu=design == "pu")
    deposits = read_deposits(plates)[0]
    box, inside, region_from = candidate_region(plates, deposits)
    candidates = grid_candidates(box, spec.candidate_spacing_deg, model["static"], model["rotations"], inside)
    scores = score_through_time(candidates, kin, model["rotations"], fitted, features, spec.radii_deg, overriding_only=True)
    summary = window_summary(scores, spec.windows)
    destination.mkdir(parents=True, exist_ok=True)
    write_csv(scores, destination / "scores.csv")
    write_vector(window_points(summary), destination / "windows.gpkg", layer="windows")
    sections0, coast0 = resolved_sections(model["topologies"], model["rotations"], 0.0), reconstructed(model["coastlines"], model["rotations"], 0.0)
    for start, end in spec.windows:
        fig = plot_window_map(summary, (start, end), sections=sections0, coastlines=coast0, deposits=deposits,
                              title=f"Highest probability {start:g}-{end:g} Ma ({model_name}, {design}), present-day positions")
        save_png(fig, destination / f"window_{start:g}-{end:g}ma.png")
    frames_seconds, video = 0.0, "no video: tectonics.animation is off"
    if spec.animation:
        started = time.perf_counter()
        positives = table[table["label"] == 1]
        times = sorted(scores["time_ma"].unique())
        stride = max(1, -(-len(times) // MAX_FRAMES))
        half = stride * spec.step_myr / 2.0
        frames = []
        for t in times[::stride]:
            at = scores[(scores["time_ma"] == t) & scores["probability"].notna()]
            near = positives[(positives["time_ma"] - t).abs() <= half]
            formed = pd.DataFrame({"lon": near["reconstructed_lon"], "lat": near["reconstructed_lat"], "age_ma": near["time_ma"]})
            sections, coast = resolved_sections(model["topologies"], model["rotations"], t), reconstructed(model["coastlines"], model["rotations"], t)
            fig = plot_time_slice(at, sections, coast, formed, t, title=f"{model_name} probability at {t:g} Ma")
            frames.append(figure_rgb(fig))
            if spec.frames_png:
                save_png(fig, destination / f"frame_{t:06.1f}ma.png")
        write_gif(frames, destination / "animation.gif", fps=4)
        try:
            write_video(frames, destination / "animation.mp4", fps=4)
            video = "animation.mp4"
        except VideoUnavailable as exc:
            video = f"no video: {exc}"
            warnings.warn(f"maps through time: the GIF is written, the MP4 is not ({exc})", stacklevel=2)
        frames_seconds = time.perf_counter() - started
    scored = scores["probability"].notna()
    return {"model": model_name, "design": design, "region": [float(v) for v in box], "region_from": region_from,
            "candidates": len(candidates), "time_steps": int(scores["time_ma"].nunique()),
            "scored_candidate_steps": int(scored.sum()), "maps_seconds": frames_seconds, "video": video,
            "mean_probability_by_window": {f"{a:g}-{b:g}": float(summary.loc[summary["window_start_ma"] == a, "max_probability"].mean())
                                           for a, b in spec.windows}}


def publish_tectonics(kinematics: dict, samples: dict, cv: dict, scored: dict, spec: TectonicsSpec, study_area: str,
                      folder: Path) -> Path:
    """Link every product into ``folder``; write ``metrics.json`` and ``report.html``."""
    for step in (kinematics, samples, cv, scored):
        for name, ref in step["files"].items():
            publish(ref.path, folder / name)
    metrics = read_csv(folder / "cv_metrics.csv")
    columns = ["design", "scheme", "model", "kind", "status", "n_splits", "n_scored", "roc_auc_mean", "roc_auc_sd",
               "accuracy_mean", "f1_mean"]
    shown = metrics[[c for c in columns if c in metrics.columns]].round(3)
    controls = read_csv(folder / "cv_controls.csv").round(3)
    importances = read_csv(folder / "importances.csv")
    report = read_csv(folder / "samples_report.csv")

    def facts(step: dict) -> dict:  # the step's summary, without its file references
        return {k: v for k, v in step.items() if k not in ("files", "table")}

    summary = {"study_area": study_area, "kinematics": facts(kinematics), "samples": facts(samples),
               "best_model": cv["best_model"], "design": cv["design"], "cv": metrics.to_dict(orient="records"),
               "cv_controls": controls.to_dict(orient="records"), "through_time": facts(scored)}
    write_json(json_ready(summary), folder / "metrics.json")
    windows = [f"window_{a:g}-{b:g}ma.png" for a, b in spec.windows]
    absent = samples.get("absent_features", [])
    notes = samples.get("plate_model_notes", [])
    far = report[report["reason"].astype(str).str.startswith("no trench point within")] if len(report) else report
    questions = pd.DataFrame([{"design": d, "question it answers": DESIGNS[d][1]} for d in spec.designs])
    sections = [
        Section("Kinematics", f"Subduction zones sampled every {spec.spacing_deg:g} degrees at {kinematics['time_steps']} time "
                f"steps ({spec.start_ma:g}-{spec.stop_ma:g} Ma every {spec.step_myr:g} Myr): {kinematics['trench_points']} "
                f"trench points in kinematics.parquet; {kinematics.get('seconds_per_step_mean', float('nan')):.3f} s per step "
                f"on average (slowest {kinematics.get('seconds_per_step_max', float('nan')):.3f} s, when computed). "
                + (f"Absent features: {', '.join(absent)} -- the plate model has no seafloor age grid (plate_model.age_grid), "
                   "so seafloor age and the subduction volume rate are not used. " if absent else "")
                + ("Rasters through time (features raster_<name>, each taken at the co-registered trench point, moved "
                   "plate_model.rasters.<name>.inland_km into the overriding plate): " + ", ".join(samples["rasters"]) + ". "
                   + " | ".join(samples.get("raster_notes", [])) + " " if samples.get("rasters") else
                   "No raster through time (plate_model.rasters: crustal thickness or other grids by age): none is used. ")
                + (f"Plate model notes (not needed over {spec.start_ma:g}-{spec.stop_ma:g} Ma, accepted as GPlates does): "
                   + " | ".join(notes) if notes else "")),
        Section("Samples", f"{samples['positives']} deposits reconstructed to their age and matched to the nearest trench "
                f"point within {samples['coregistration_cutoff_deg']:g} degrees (radii {spec.radii_deg}; distance median "
                f"{samples['distance_to_trench_km_median']:.0f} km, largest {samples['distance_to_trench_km_max']:.0f} km). "
                f"{samples['deposits_beyond_cutoff']} deposits lie beyond the cut-off and are skipped (listed below and in "
                f"samples_report.csv). Label-0 rows by source: {samples['label_0_by_source']}. {samples['not_used']} "
                "samples not used (samples_report.csv says why).",
                table=pd.DataFrame([{k: v for k, v in facts(samples).items()
                                     if k not in ("features", "plate_model_notes", "label_0_by_source", "absent_features",
                                                  "rasters", "raster_notes")}])),
        Section("Deposits skipped: no trench point within the cut-off", f"{len(far)} rows.",
                table=far.head(50) if len(far) else None),
        Section("Which sampling design answers which question", "Every design is scored under every CV scheme, each with "
                "a time-only control (a random forest given only the sample's time) and a location-only control (given "
                "only the present-day margin position). A kinematics model that does not beat the time-only control "
                "learns the sampling in time, not the kinematics.", table=questions),
        Section("Best kinematics model against the controls (ROC-AUC)", "time_only_roc_auc is the time-only control's "
                "raw CV score; margin_over_time_only is the best kinematics model minus time_only_reference, which is that "
                "score or chance (0.5) where the score is below chance (time_only_below_chance). With time-matched "
                "samples every time holds both classes in the same ratio, so holding out a fold leaves fewer training rows "
                "of the held-out class at each time and a control that knows only the time predicts the other class: a "
                "score below 0.5 is this artefact of the CV, not skill against the data, and a model measured against it "
                "would be flattered. A location-only control close to the models says the kinematics may stand in for "
                "the place.", table=controls),
        Section("Cross-validation: every design, scheme, model and control",
                "shuffled_10fold is optimistic: samples of one deposit location and of nearby deposits share kinematics "
                f"across folds. Honest scores: leave_region_out ({spec.region_size_deg:g} degree blocks, or the table's "
                f"region labels) and leave_age_bin_out ({spec.age_bin_myr:g} Myr bins). A status other than ok says which "
                f"folds could not be scored and why. Model mapped through time: {cv['best_model']} ({cv['design']}).",
                table=shown, images=[("cv.png", "CV schemes compared")] if (folder / "cv.png").exists() else []),
        Section("Feature importance", f"Permutation importance (drop in ROC-AUC) on held-out folds ({cv['design']} design).",
                table=importances.sort_values("importance_mean", ascending=False).round(4).head(24) if len(importances) else None),
        Section("Prospectivity through time", f"Candidates on a {spec.candidate_spacing_deg:g} degree grid over "
                f"{scored['region']} ({scored['region_from']}): {scored['candidates']} points, each scored at the time "
                "steps when it lies on the overriding plate within the co-registration cut-off of a trench "
                f"({scored['scored_candidate_steps']} point-steps). windows.gpkg holds the highest and mean probability per "
                "window; the window maps show the deposits of each window; frame_*.png are the animation's frames"
                + ("; animation.mp4 holds the same frames as a video." if scored.get("video") == "animation.mp4"
                   else f" ({scored.get('video', 'no video')})."),
                images=[(w, w[:-4]) for w in windows] + ([("animation.gif", "Through time")] if spec.animation else [])),
    ]
    page = report_html(f"Tectonic prospectivity: {study_area}",
                       f"geoprospect tectonics flow, code {code_digest('geoprospect.pipelines.tectonics')[:12]}", sections)
    return write_html(page, folder / "report.html")
