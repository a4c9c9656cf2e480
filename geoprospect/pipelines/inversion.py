"""The inversion pipeline's steps: method comparison studies, survey-line sections, SP sources, report.

Each step reads its inputs from paths, writes its products into a destination folder through
:mod:`geoprospect.io` and returns a small summary; :func:`publish_inversion` gathers them into
``report.html``. The Prefect tasks in ``tasks/inversion.py`` are thin wrappers around these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from geoprospect.catalog import LineInversionSettings
from geoprospect.errors import InputError
from geoprospect.geophysics.optimize import LevenbergMarquardt
from geoprospect.geophysics.sections import NetworkStart, SPNetwork, invert_line, resistivity_section, sp_fitted_field, sp_sources
from geoprospect.geophysics.sp import SHAPE_FACTORS
from geoprospect.geophysics.studies import sp_study, tem_study, ves_study
from geoprospect.io.figures import save_png
from geoprospect.io.files import publish
from geoprospect.io.reports import write_html
from geoprospect.io.sections import write_section
from geoprospect.io.surveys import read_sp_profile, read_tem, read_ves
from geoprospect.io.tables import read_csv, write_csv
from geoprospect.provenance import code_digest
from geoprospect.render.inversion import (
    plot_bargain_record,
    plot_sp_fits,
    plot_sp_profile_fit,
    plot_sp_validation,
    plot_tem_fit,
    plot_ves_fit,
)
from geoprospect.render.report import Section, report_html
from geoprospect.render.sections import plot_data_fit, plot_section

STUDY_TITLES = {
    "sp": "Self-potential: LM against MLPs (Kaftan et al. 2014 sphere, ezygeo-ai networks)",
    "ves": "VES: LM, PSO, bargain, FF, RBF and GRNN on the same held-out soundings (Stanley Raj et al. 2021)",
    "tem": "TEM: BP, SPSO-BP, COPSO-BP and least squares over seeds (Li et al. 2019)",
}
_RHO_BOUNDS = (0.1, 1e5)  # ohm m: wider than the simulations' defaults, so that brines and resistive rock fit
_READERS = {"ves": read_ves, "tem": read_tem}


def run_study(name: str, size: str, seed: int, destination: Path) -> dict:
    """Run one comparison study; write ``table.csv`` (and the study's other tables) and its figures."""
    rng = np.random.default_rng(seed)
    destination.mkdir(parents=True, exist_ok=True)
    if name == "sp":
        study = sp_study(rng, size)
        tables = {"table": study.table, "validation": study.validation, "hidden_size": study.hidden_size}
        figures = {"fits": plot_sp_fits(study.profiles), "validation": plot_sp_validation(study.validation)}
    elif name == "ves":
        study = ves_study(rng, size)
        tables = {"table": study.table, "bargain_record": study.bargain_record}
        figures = {"fit_clean": plot_ves_fit(study.curves, study.models), "bargain_record": plot_bargain_record(study.bargain_record)}
        noisy = [n for n in study.curves["noise"].unique() if n != "clean"]
        if noisy:
            figures[f"fit_{noisy[-1]}"] = plot_ves_fit(study.curves, study.models, noise=noisy[-1])
    elif name == "tem":
        study = tem_study(rng, size)
        tables = {"table": study.table, "hidden_size": study.hidden_size}
        figures = {f"fit_{case}": plot_tem_fit(study.curves, study.models, case=case) for case in study.curves["case"].unique()}
    else:
        raise InputError("inversion.studies", f"unknown study {name!r}", "use sp, ves or tem")
    for key, table in tables.items():
        write_csv(table, destination / f"{key}.csv")
    for key, figure in figures.items():
        save_png(figure, destination / f"{key}.png")
    return {"study": name, "rows": len(study.table)}


def invert_survey_line(paths: list[Path], method: str, n_layers: int, depth_max_m: float, destination: Path,
                       map_fn: Callable[[Callable, Iterable], Iterable] = map, settings: dict | None = None) -> dict:
    """Invert the soundings of ``paths`` (one line; each file one or more soundings) station by station.

    ``settings`` are the fields of :class:`geoprospect.catalog.LineInversionSettings` (defaults
    when None); its ``n_layers`` overrides ``n_layers``.

    Writes ``section.tif`` (distance x depth, log10 ohm-m, masked below each station's depth of
    investigation), ``section.png``, ``data_fit.png``, ``stations.csv`` (models, fit, chi-square,
    parameters at a bound, depth of investigation, gates dropped per station), ``gates.csv`` (every
    reading with its quality flag) and, when some station could not be inverted,
    ``failures.csv`` with the reasons (the rest of the line is still inverted; the summary lists them too).
    """
    tables, unreadable = [], []
    for path in paths:  # a bad file is one failed station (or group), not a failed line
        try:
            tables.append(_READERS[method](path))
        except InputError as exc:
            unreadable.append({"station": path.stem, "distance_m": np.nan, "problem": f"{path.name}: {exc.problem}", "fix": exc.fix})
    if not tables:  # each file's own fix, not a generic one
        if len(paths) == 1:
            raise InputError(paths[0], f"no readable {method.upper()} sounding: {unreadable[0]['problem'].split(': ', 1)[1]}",
                             unreadable[0]["fix"])
        reasons = "; ".join(f"{row['problem']} (fix: {row['fix']})" for row in unreadable)
        raise InputError(", ".join(p.name for p in paths), f"no readable {method.upper()} sounding on the line ({reasons})",
                         "fix each file as said")
    settings = LineInversionSettings(**(settings or {}))
    n_layers = settings.n_layers or n_layers
    bounds = {f"rho_{i}_ohm_m": _RHO_BOUNDS for i in range(1, n_layers + 1)} | {
        name: pair for name, pair in settings.bounds.items() if int(name.split("_")[1]) <= n_layers - name.startswith("h_")}
    line = invert_line(pd.concat(tables, ignore_index=True), method, n_layers, map_fn=map_fn,
                       optimizer=LevenbergMarquardt(n_starts=settings.starts_per_round, max_iter=settings.max_iter, random_state=0),
                       relative_error=settings.relative_error, bounds=bounds, rounds=settings.rounds,
                       max_rms_percent=settings.max_rms_percent, noise_floor_t_per_s=settings.noise_floor_t_per_s,
                       start_model=NetworkStart() if settings.network_start else None,
                       source=", ".join(p.name for p in paths))
    if unreadable:
        line = replace(line, failures=pd.concat([line.failures, pd.DataFrame(unreadable)], ignore_index=True))
    destination.mkdir(parents=True, exist_ok=True)
    write_csv(line.stations, destination / "stations.csv")
    if line.soundings:  # every reading with its quality flag: what each station's fit used
        write_csv(pd.concat([s.gates.assign(station=name) for name, s in line.soundings.items()], ignore_index=True),
                  destination / "gates.csv")
    if len(line.failures):
        write_csv(line.failures, destination / "failures.csv")
    placed = line.stations["distance_m"].notna().any()
    if line.soundings and placed:
        section = resistivity_section(line, depth_max_m, dz_m=depth_max_m / 100)
        write_section(section, destination / "section.tif")
        save_png(plot_section(section, title=f"{method.upper()} resistivity section ({n_layers} layers)"), destination / "section.png")
    if line.soundings:
        save_png(plot_data_fit(line), destination / "data_fit.png")
    unfit = [f"{s.station}: not fitted ({s.rms_percent:.1f} % RMS > {settings.max_rms_percent:g} %), left off the section"
             for s in line.soundings.values() if not s.fitted]
    unplaced = [] if placed else [f"no station positions in {', '.join(p.name for p in paths)}: each sounding inverted "
                                  "on its own, no section drawn (add station_m, the distance along the line in m, or x_m/y_m "
                                  "columns to draw one)"]
    return {"method": method, "stations": len(line.stations), "inverted": sum(s.fitted for s in line.soundings.values()),
            "not_fitted": len(unfit), "failed": len(line.failures),
            "median_rms_percent": float(line.fit["rms_percent"].median()) if line.soundings else float("nan"),
            "median_chi2": float(line.fit["chi2"].median()) if line.soundings else float("nan"),
            "failures": unplaced + [f"{row.station}: {row.problem}" for row in line.failures.itertuples()] + unfit}


def sp_profile_sources(paths: list[Path], destination: Path, shape: str = "sphere", network: bool = False) -> dict:
    """Source parameters of every anomaly of each SP profile, and the fit of each profile.

    Writes ``sp_sources.csv`` (per anomaly: K, depth, angle, x0 with their standard deviations,
    shape, misfit in mV and chi-square), ``sp_fit.csv`` (per profile: RMS misfit in mV against the
    estimated noise, chi-square) and ``fit_<file>_<profile>.png``. ``shape`` is a key of
    :data:`geoprospect.geophysics.sp.SHAPE_FACTORS` or ``"auto"`` (chosen by misfit per anomaly).
    ``network``: the network estimate beside LM (``net_*`` columns) and LM started from it
    (:class:`~geoprospect.geophysics.sections.SPNetwork`, the hybrid).
    """
    q = "auto" if shape == "auto" else SHAPE_FACTORS[shape]
    hybrid = {"network": SPNetwork(), "optimizer": LevenbergMarquardt(n_starts=2, random_state=0), "rounds": 8} if network else {}
    destination.mkdir(parents=True, exist_ok=True)
    tables, fits = [], []
    for path in paths:
        profile = read_sp_profile(path)
        table = sp_sources(profile, q=q, source=path.name, **hybrid).assign(file=path.name)
        for profile_id, part in profile.groupby(profile["profile_id"].astype(str), sort=False):
            rows = table[table["profile_id"] == profile_id]
            fitted = sp_fitted_field(part, rows)
            residual = part["sp_mv"].to_numpy() - fitted
            noise = float(rows["noise_mv"].iloc[0]) if len(rows) else float("nan")
            fits.append({"file": path.name, "profile_id": profile_id, "n_stations": len(part), "anomalies": len(rows),
                         "rms_mv": float(np.sqrt(np.mean(residual**2))), "noise_mv": noise,
                         "chi2": float(np.mean((residual / noise) ** 2)) if len(rows) else float("nan")})
            save_png(plot_sp_profile_fit(part, fitted, rows, f"{path.name} profile {profile_id}: observed and fitted SP"),
                     destination / f"fit_{path.stem}_{profile_id}.png")
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    write_csv(table, destination / "sp_sources.csv")
    write_csv(pd.DataFrame(fits), destination / "sp_fit.csv")
    return {"profiles": len(fits), "anomalies": len(table), "median_rms_mv": float(pd.DataFrame(fits)["rms_mv"].median())}


def publish_inversion(studies: dict[str, dict], lines: dict[str, dict], sp: dict | None, study_area: str, folder: Path) -> Path:
    """Link every product into ``folder``; write ``summary.csv`` and ``report.html``.

    ``studies``/``lines`` map a study or survey method to its task product (``files``: name -> FileRef,
    ``summary``); ``sp`` is the SP sources product.
    """
    sections = []
    for name, product in studies.items():
        _link(product["files"], folder / "studies" / name)
        sections.append(Section(STUDY_TITLES[name], table=read_csv(folder / "studies" / name / "table.csv"),
                                images=[(f"studies/{name}/{f}", f.removesuffix(".png").replace("_", " "))
                                        for f in product["files"] if f.endswith(".png")]))
    for method, product in lines.items():
        _link(product["files"], folder / "sections" / method)
        s = product["summary"]
        sections.append(Section(f"{method.upper()} line: {s['inverted']} of {s['stations']} stations inverted",
                                f"Median data misfit {s['median_rms_percent']:.2f} % RMS."
                                + (f" Section: sections/{method}/section.tif." if "section.tif" in product["files"] else ""),
                                table=read_csv(folder / "sections" / method / "stations.csv"),
                                images=[(f"sections/{method}/{f}", f.removesuffix(".png").replace("_", " "))
                                        for f in ("section.png", "data_fit.png") if f in product["files"]],
                                error="; ".join(s["failures"])))
    if sp:
        _link(sp["files"], folder / "sp")
        sections.append(Section("Self-potential sources per profile anomaly (standard deviations from the Jacobian at the optimum)",
                                table=read_csv(folder / "sp" / "sp_sources.csv")))
        if (folder / "sp" / "sp_fit.csv").is_file():
            sections.append(Section("Self-potential fit per profile (misfit in mV against the estimated noise)",
                                    table=read_csv(folder / "sp" / "sp_fit.csv"),
                                    images=[(f"sp/{f}", f.removesuffix(".png").replace("_", " ")) for f in sp["files"] if f.endswith(".png")]))
    summary = pd.DataFrame([{"product": f"study {name}", **product["summary"]} for name, product in studies.items()]
                           + [{"product": f"{method} line", **{k: v for k, v in product["summary"].items() if k != "failures"}}
                              for method, product in lines.items()]
                           + ([{"product": "sp profiles", **sp["summary"]}] if sp else []))
    write_csv(summary, folder / "summary.csv")
    sections.insert(0, Section("Summary", table=summary))
    page = report_html(f"Inversion: {study_area}", f"geoprospect inversion flow, code {code_digest('geoprospect.pipelines.inversion')[:12]}", sections)
    return write_html(page, folder / "report.html")


def _link(files: dict, destination: Path) -> None:
    for name, ref in files.items():
        publish(ref.path, destination / name)
