"""Spatio-temporal porphyry prospectivity steps: kinematics per time step, samples, CV, maps through time.

Each function is one cacheable step of the tectonics flow (``tasks/tectonics.py`` wraps them); they
read the plate model through :mod:`geoprospect.io` and write tables and figures, passing paths.

After Diaz-Rodriguez, Müller and Chandra (2021), *Ore Geology Reviews* 137:104300: subduction zones
are sampled at each time step and their kinematics computed with pyGPlates; dated porphyry Cu
deposits are reconstructed to their age and matched to the nearest trench point; negatives are the
same locations at times without deposits; classifiers learn the kinematics of formation and score
candidate points along the margin through time. The paper's plain shuffled 10-fold score is reported
beside leave-region-out and leave-age-bin-out scores: neighbouring samples share their kinematics, so
the shuffled score is optimistic.
"""

from __future__ import annotations

import functools
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from geoprospect.catalog import DepositColumns, PlateModelSource, TectonicsSpec
from geoprospect.errors import InputError
from geoprospect.evaluate import json_ready
from geoprospect.io.deposits import read_deposit_table
from geoprospect.io.figures import save_png, write_gif
from geoprospect.io.files import publish
from geoprospect.io.plates import (
    PlateModelFiles,
    PlateModelWarning,
    check_plate_ids,
    read_age_grid,
    read_features,
    read_kinematics,
    read_rotation_model,
    write_kinematics,
)
from geoprospect.io.reports import write_html
from geoprospect.io.tables import read_csv, write_csv, write_json
from geoprospect.io.vectors import write_vector
from geoprospect.provenance import code_digest
from geoprospect.render.report import Section, report_html
from geoprospect.render.tectonics import figure_rgb, plot_cv_comparison, plot_time_slice, plot_window_map
from geoprospect.tectonics.coregister import assign_plate_ids
from geoprospect.tectonics.kinematics import subduction_kinematics, time_steps
from geoprospect.tectonics.reconstruct import reconstructed, resolved_sections
from geoprospect.tectonics.samples import deposit_points, feature_columns, training_samples
from geoprospect.tectonics.through_time import margin_candidates, score_through_time, window_points, window_summary
from geoprospect.tectonics.validation import evaluate, fit_final

MAX_FRAMES = 60  # animation frames across the time range
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


def make_samples(plates: PlateModelSource, kinematics: Path, spec: TectonicsSpec, destination: Path) -> dict:
    """Co-registered positives (deposits at their age) and negatives: ``samples.csv`` and ``samples_report.csv``
    (deposits without age or plate, or unmatched within the largest radius, with the reason)."""
    model = load_plate_model(plates, time_range(spec))
    if not model["static"]:
        raise InputError("plate_model.static_polygons", "no static polygons to give the deposits plate ids",
                         "add the model's static polygons file")
    deposits, read_report = read_deposits(plates)
    dated = deposits[np.isfinite(deposits["age_ma"])
                     & deposits["age_ma"].between(spec.start_ma, spec.stop_ma)].reset_index(drop=True)
    plate_ids = assign_plate_ids(dated["lon"], dated["lat"], model["static"], model["rotations"])
    samples, report = training_samples(dated, read_kinematics(kinematics), plate_ids, model["rotations"], spec.radii_deg,
                                       np.random.default_rng(spec.seed), barren=_barren(plates, model),
                                       min_gap_myr=spec.min_gap_myr, region_size_deg=spec.region_size_deg,
                                       age_bin_myr=spec.age_bin_myr)
    outside = len(deposits) - len(dated)
    destination.mkdir(parents=True, exist_ok=True)
    write_csv(samples, destination / "samples.csv")
    write_csv(report, destination / "samples_report.csv")
    return {"positives": int((samples["label"] == 1).sum()), "negatives": int((samples["label"] == 0).sum()),
            "deposits_in_table": len(deposits), "deposits_undated_or_outside_time_range": outside,
            "rows_skipped_reading": int(read_report["skipped"].sum()) if "skipped" in read_report else 0,
            "not_used": len(report), "features": feature_columns(samples), "plate_model_notes": model["notes"]}


def cross_validate(samples: Path, spec: TectonicsSpec, destination: Path) -> dict:
    """Shuffled 10-fold beside leave-region-out and leave-age-bin-out, every model: ``cv_metrics.csv``,
    ``cv_folds.csv``, ``importances.csv``, ``confusion.csv`` and ``cv.png``."""
    table = read_csv(samples)
    result = evaluate(table, feature_columns(table), spec.models, seed=spec.seed, n_splits=spec.n_splits)
    destination.mkdir(parents=True, exist_ok=True)
    write_csv(result.metrics, destination / "cv_metrics.csv")
    write_csv(result.folds, destination / "cv_folds.csv")
    write_csv(result.importances, destination / "importances.csv")
    confusion = pd.DataFrame([{"scheme": s, "model": m, "tn": c[0, 0], "fp": c[0, 1], "fn": c[1, 0], "tp": c[1, 1]}
                              for (s, m), c in result.confusion.items()])
    write_csv(confusion, destination / "confusion.csv")
    save_png(plot_cv_comparison(result.metrics, title="Spatio-temporal block CV against the shuffled 10-fold"),
             destination / "cv.png")
    return {"best_model": best_model(result.metrics)}


def best_model(metrics: pd.DataFrame) -> str:
    """The model with the highest leave-region-out ROC-AUC (the honest score)."""
    rows = metrics[metrics["scheme"] == "leave_region_out"].dropna(subset=["roc_auc_mean"])
    if rows.empty:
        rows = metrics.dropna(subset=["roc_auc_mean"])
    return str(rows.loc[rows["roc_auc_mean"].idxmax(), "model"])


def _near(deposits: pd.DataFrame, time_ma: float, half_window: float) -> pd.DataFrame:
    return deposits[(deposits["age_ma"] - time_ma).abs() <= half_window]


def through_time(plates: PlateModelSource, kinematics: Path, samples: Path, model_name: str, spec: TectonicsSpec,
                 destination: Path) -> dict:
    """Score candidate points along the margin at every time step with the model fitted on every sample:
    ``scores.csv``, ``windows.gpkg`` and ``window_<a>-<b>ma.png`` per window, ``animation.gif``."""
    model = load_plate_model(plates, time_range(spec))
    table, kin = read_csv(samples), read_kinematics(kinematics)
    features = feature_columns(table)
    fitted = fit_final(table, features, model_name, seed=spec.seed)
    present = kin[kin["time_ma"] == kin["time_ma"].min()]
    candidates = margin_candidates(present, sorted(present["trench_plate_id"].unique()))
    scores = score_through_time(candidates, kin, model["rotations"], fitted, features, spec.radii_deg)
    summary = window_summary(scores, spec.windows)
    deposits = read_deposits(plates)[0]
    destination.mkdir(parents=True, exist_ok=True)
    write_csv(scores, destination / "scores.csv")
    write_vector(window_points(summary), destination / "windows.gpkg", layer="windows")
    sections0, coast0 = resolved_sections(model["topologies"], model["rotations"], 0.0), reconstructed(model["coastlines"], model["rotations"], 0.0)
    for start, end in spec.windows:
        fig = plot_window_map(summary, (start, end), sections=sections0, coastlines=coast0, deposits=deposits,
                              title=f"Highest probability {start:g}-{end:g} Ma ({model_name}), present-day positions")
        save_png(fig, destination / f"window_{start:g}-{end:g}ma.png")
    if spec.animation:
        times = sorted(scores["time_ma"].unique())
        frames = []
        for t in times[:: max(1, -(-len(times) // MAX_FRAMES))]:
            at = scores[scores["time_ma"] == t]
            sections, coast = resolved_sections(model["topologies"], model["rotations"], t), reconstructed(model["coastlines"], model["rotations"], t)
            frames.append(figure_rgb(plot_time_slice(at, sections, coast, None, t, title=f"{model_name} probability at {t:g} Ma")))
        write_gif(frames, destination / "animation.gif", fps=4)
    return {"model": model_name, "candidates": len(candidates), "time_steps": int(scores["time_ma"].nunique()),
            "mean_probability_by_window": {f"{a:g}-{b:g}": float(summary.loc[summary["window_start_ma"] == a, "max_probability"].mean())
                                           for a, b in spec.windows}}


def publish_tectonics(kinematics: dict, samples: dict, cv: dict, scored: dict, spec: TectonicsSpec, study_area: str,
                      folder: Path) -> Path:
    """Link every product into ``folder``; write ``metrics.json`` and ``report.html``."""
    for step in (kinematics, samples, cv, scored):
        for name, ref in step["files"].items():
            publish(ref.path, folder / name)
    metrics = read_csv(folder / "cv_metrics.csv")
    shown = metrics[["scheme", "model", "n_splits"] + [c for c in metrics.columns if c.endswith(("_mean", "_sd"))]].round(3)
    importances = read_csv(folder / "importances.csv")
    def facts(step: dict) -> dict:  # the step's summary, without its file references
        return {k: v for k, v in step.items() if k not in ("files", "table")}

    summary = {"study_area": study_area, "kinematics": facts(kinematics), "samples": facts(samples),
               "best_model": cv["best_model"], "cv": metrics.to_dict(orient="records"), "through_time": facts(scored)}
    write_json(json_ready(summary), folder / "metrics.json")
    windows = [f"window_{a:g}-{b:g}ma.png" for a, b in spec.windows]
    sections = [
        Section("Kinematics", f"Subduction zones sampled every {spec.spacing_deg:g} degrees at {kinematics['time_steps']} time "
                f"steps ({spec.start_ma:g}-{spec.stop_ma:g} Ma every {spec.step_myr:g} Myr): {kinematics['trench_points']} "
                "trench points in kinematics.parquet."),
        Section("Samples", f"{samples['positives']} deposits reconstructed to their age and matched to a trench point "
                f"(radii {spec.radii_deg} degrees); {samples['negatives']} negatives: the same locations at times at least "
                f"{spec.min_gap_myr:g} Myr from a nearby deposit's age. {samples['not_used']} samples not used "
                "(samples_report.csv says why).", table=pd.DataFrame([{k: v for k, v in facts(samples).items() if k != "features"}])),
        Section("Cross-validation: block schemes beside the paper's shuffled 10-fold",
                "shuffled_10fold is optimistic: samples of one deposit location and of nearby deposits share kinematics "
                f"across folds. Honest scores: leave_region_out ({spec.region_size_deg:g} degree blocks) and leave_age_bin_out "
                f"({spec.age_bin_myr:g} Myr bins). Model scored through time: {cv['best_model']}.", table=shown,
                images=[("cv.png", "CV schemes compared")]),
        Section("Feature importance", "Permutation importance (drop in ROC-AUC) on held-out folds.",
                table=importances.sort_values("importance_mean", ascending=False).round(4).head(24)),
        Section("Prospectivity through time", "Candidate points inland of the present trenches, reconstructed to each time "
                "step and scored; windows.gpkg holds the highest and mean probability per window.",
                images=[(w, w[:-4]) for w in windows] + ([("animation.gif", "Through time")] if spec.animation else [])),
    ]
    page = report_html(f"Tectonic prospectivity: {study_area}",
                       f"geoprospect tectonics flow, code {code_digest('geoprospect.pipelines.tectonics')[:12]}", sections)
    return write_html(page, folder / "report.html")
