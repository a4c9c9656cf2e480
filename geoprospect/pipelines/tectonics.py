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
from pathlib import Path

import numpy as np
import pandas as pd

from geoprospect.catalog import PlateModelSource, TectonicsSpec
from geoprospect.errors import InputError
from geoprospect.evaluate import json_ready
from geoprospect.io.deposits import read_deposit_table
from geoprospect.io.figures import save_png, write_gif
from geoprospect.io.files import publish
from geoprospect.io.plates import (
    PlateModelFiles,
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


@functools.lru_cache(maxsize=2)
def _load(files: PlateModelFiles) -> dict:
    rotations = read_rotation_model(files.rotations)
    return {"rotations": rotations,
            "topologies": read_features(files.topologies, "topology", rotations),
            "static": read_features(files.static_polygons, "static polygon", rotations) if files.static_polygons else [],
            "coastlines": read_features(files.coastlines, "coastline", rotations) if files.coastlines else []}


def load_plate_model(plates: PlateModelSource) -> dict:
    """The model's rotation model and feature collections, read (and checked) once per process."""
    with _LOADING:
        return _load(model_files(plates))


def steps(spec: TectonicsSpec) -> list[float]:
    """The kinematics time steps (Ma) of the settings."""
    return time_steps(spec.start_ma, spec.stop_ma, spec.step_myr)


def age_grid_for(plates: PlateModelSource, time_ma: float) -> Path | None:
    """The age grid used at ``time_ma`` (the nearest available time), or None without age grids."""
    return model_files(plates).nearest_age_grid_path(time_ma) if plates.age_grid else None


def kinematics_step(plates: PlateModelSource, time_ma: float, spec: TectonicsSpec, age_grid: Path | None,
                    destination: Path) -> dict:
    """Trench-point kinematics at one time, as Parquet (see :mod:`geoprospect.tectonics.kinematics`)."""
    model = load_plate_model(plates)
    grid = read_age_grid(age_grid) if age_grid is not None else None
    table = subduction_kinematics(model["topologies"], model["rotations"], time_ma, spec.spacing_deg, age_grid=grid)
    write_kinematics(table, destination)
    return {"time_ma": time_ma, "trench_points": len(table),
            "mean_convergence_orthogonal_cm_yr": float(table["convergence_orthogonal_cm_yr"].mean()) if len(table) else float("nan")}


def collect_kinematics(paths: list[Path], destination: Path) -> dict:
    """One Parquet table of every time step (the run's kinematics table)."""
    table = pd.concat([read_kinematics(p) for p in paths], ignore_index=True).sort_values(["time_ma", "section_id"], kind="stable")
    if table.empty:
        raise InputError("plate_model.topologies", "no subduction zone at any time step",
                         "give topologies with subduction zones (gpml:SubductionZone), e.g. a global model's")
    write_kinematics(table, destination)
    return {"time_steps": int(table["time_ma"].nunique()), "trench_points": len(table)}


def _deposits(plates: PlateModelSource) -> tuple[pd.DataFrame, pd.DataFrame]:
    if plates.deposits is None:
        raise InputError("plate_model.deposits", "no dated deposit table", "add 'deposits:' (PorCuEX2008 layout: "
                         "LatitudeDecimal, LongitudeDecimal, AgeMY) to the plate_model section")
    table, report = read_deposit_table(plates.deposits)
    return deposit_points(table), report


def _barren(plates: PlateModelSource, model: dict) -> pd.DataFrame | None:
    if plates.barren is None:
        return None
    points = deposit_points(read_deposit_table(plates.barren)[0])
    return points.assign(plate_id=assign_plate_ids(points["lon"], points["lat"], model["static"], model["rotations"]))


def make_samples(plates: PlateModelSource, kinematics: Path, spec: TectonicsSpec, destination: Path) -> dict:
    """Co-registered positives (deposits at their age) and negatives: ``samples.csv`` and ``samples_report.csv``
    (deposits without age or plate, or unmatched within the largest radius, with the reason)."""
    model = load_plate_model(plates)
    if not model["static"]:
        raise InputError("plate_model.static_polygons", "no static polygons to give the deposits plate ids",
                         "add the model's static polygons file")
    deposits, read_report = _deposits(plates)
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
            "not_used": len(report), "features": feature_columns(samples)}


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
    model = load_plate_model(plates)
    table, kin = read_csv(samples), read_kinematics(kinematics)
    features = feature_columns(table)
    fitted = fit_final(table, features, model_name, seed=spec.seed)
    present = kin[kin["time_ma"] == kin["time_ma"].min()]
    candidates = margin_candidates(present, sorted(present["trench_plate_id"].unique()))
    scores = score_through_time(candidates, kin, model["rotations"], fitted, features, spec.radii_deg)
    summary = window_summary(scores, spec.windows)
    deposits = _deposits(plates)[0]
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
