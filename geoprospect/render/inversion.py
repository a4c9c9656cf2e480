"""Figures of the inversion comparison studies (:mod:`geoprospect.geophysics.studies`).

Each function takes the DataFrames of a study result and returns a :class:`matplotlib.figure.Figure`
(no pyplot, so figures can be drawn from worker threads); the caller saves it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter


def plot_sp_fits(profiles: pd.DataFrame, training_set: str = "uniform") -> Figure:
    """Observed against fitted SP profiles, one panel per noise case.

    Parameters
    ----------
    profiles : pandas.DataFrame
        ``SPStudy.profiles``: columns ``noise``, ``method``, ``training_set``, ``station_m``, ``sp_mv``.
    training_set : {"uniform", "grid"}, default "uniform"
        Which training set's networks to draw (LM, trained on nothing, is always drawn).
    """
    noises = list(dict.fromkeys(profiles["noise"]))
    n_cols = 2 if len(noises) > 1 else 1
    n_rows = int(np.ceil(len(noises) / n_cols))
    fig = Figure(figsize=(6 * n_cols, 3.6 * n_rows), dpi=100, layout="constrained")
    axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=True).ravel()
    shown = profiles[profiles["training_set"].isin(["none", training_set])]
    for ax, noise in zip(axes, noises, strict=False):
        case = shown[shown["noise"] == noise]
        for index, (method, rows) in enumerate(case.groupby("method", sort=False)):
            if method == "observed":
                ax.plot(rows["station_m"], rows["sp_mv"], "o", color="black", markersize=2.5, label="observed")
            else:
                ax.plot(rows["station_m"], rows["sp_mv"], "-", color=f"C{index % 10}", linewidth=1.4, label=method)
        ax.set_title(f"noise: {noise}", fontsize=10)
        ax.set_xlabel("distance along profile (m)")
        ax.set_ylabel("SP (mV)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(noises):]:
        ax.set_visible(False)
    fig.suptitle(f"SP polarised sphere: observed and fitted profiles (networks trained on the {training_set} set)")
    return fig


def plot_sp_validation(validation: pd.DataFrame) -> Figure:
    """Validation against independent test error of each SP network and training set.

    A grid-drawn training set repeats models, so its validation split holds copies of training
    models: its validation bar sits below its test bar.

    Parameters
    ----------
    validation : pandas.DataFrame
        ``SPStudy.validation``: columns ``method``, ``training_set``, ``validation_mape_pct``,
        ``test_mape_pct``, ``validation_duplicates_pct``.
    """
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    labels = [f"{row.method}\n{row.training_set} set ({row.validation_duplicates_pct:.0f}% val. copies)"
              for row in validation.itertuples()]
    position = np.arange(len(validation))
    ax.bar(position - 0.2, validation["validation_mape_pct"], width=0.4, label="validation split (20%)")
    ax.bar(position + 0.2, validation["test_mape_pct"], width=0.4, label="independent uniform test models")
    ax.set_xticks(position, labels, fontsize=7)
    ax.set_xlabel("network and training set")
    ax.set_ylabel("MAPE of the four parameters (%)")
    ax.set_title("SP networks: validation error against independent test error")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_ves_fit(curves: pd.DataFrame, models: pd.DataFrame, sounding: int = 0, noise: str = "clean") -> Figure:
    """One held-out sounding: observed and fitted curves, and the layered models as step plots.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``VESStudy.curves``: ``noise``, ``sounding``, ``method``, ``ab2_m``, ``rhoa_ohm_m``.
    models : pandas.DataFrame
        ``VESStudy.models``: ``noise``, ``sounding``, ``method``, ``rho_*_ohm_m``, ``h_*_m``.
    sounding : int, default 0
    noise : str, default "clean"
    """
    fig = Figure(figsize=(11, 4.8), dpi=100, layout="constrained")
    data_ax, model_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    chosen = curves[(curves["sounding"] == sounding) & (curves["noise"] == noise)]
    for index, (method, rows) in enumerate(chosen.groupby("method", sort=False)):
        if method == "observed":
            data_ax.loglog(rows["ab2_m"], rows["rhoa_ohm_m"], "o", color="black", markersize=4, label="observed")
        else:
            data_ax.loglog(rows["ab2_m"], rows["rhoa_ohm_m"], "-", color=f"C{index % 10}", linewidth=1.3, label=method)
    data_ax.set_xlabel("AB/2 (m)")
    data_ax.set_ylabel("apparent resistivity (ohm m)")
    data_ax.set_title("Schlumberger curve: observed and fitted")
    data_ax.grid(which="both", alpha=0.3)
    data_ax.legend(fontsize=7)
    layered = models[(models["sounding"] == sounding) & (models["noise"] == noise)]
    _step_models(model_ax, layered, depth_floor_m=float(curves["ab2_m"].max()) / 3)
    model_ax.set_title("Layered models")
    fig.suptitle(f"VES sounding {sounding} ({noise})")
    return fig


def plot_tem_fit(curves: pd.DataFrame, models: pd.DataFrame, case: str = "h_type", noise: str = "clean",
                 seed: int = 0) -> Figure:
    """One TEM case: observed and fitted decay curves, and the recovered layered models.

    Parameters
    ----------
    curves : pandas.DataFrame
        ``TEMStudy.curves``: ``case``, ``noise``, ``method``, ``time_s``, ``abs_dbzdt_t_per_s``.
    models : pandas.DataFrame
        ``TEMStudy.models``: ``case``, ``noise``, ``seed``, ``method``, ``rho_*_ohm_m``, ``h_*_m``.
    case : str, default "h_type"
    noise : str, default "clean"
    seed : int, default 0
        Which seed's models to draw (the curves are those of the first seed).
    """
    fig = Figure(figsize=(11, 4.8), dpi=100, layout="constrained")
    data_ax, model_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    chosen = curves[(curves["case"] == case) & (curves["noise"] == noise)]
    for index, (method, rows) in enumerate(chosen.groupby("method", sort=False)):
        if method == "observed":
            data_ax.loglog(rows["time_s"], rows["abs_dbzdt_t_per_s"], "o", color="black", markersize=4, label="observed")
        else:
            data_ax.loglog(rows["time_s"], rows["abs_dbzdt_t_per_s"], "-", color=f"C{index % 10}", linewidth=1.3,
                           label=method)
    data_ax.set_xlabel("time after turn-off (s)")
    data_ax.set_ylabel("|dBz/dt| (T/s)")
    data_ax.set_title("Decay curve: observed and fitted")
    data_ax.grid(which="both", alpha=0.3)
    data_ax.legend(fontsize=7)
    layered = models[(models["case"] == case) & (models["noise"] == noise) & (models["seed"] == seed)]
    _step_models(model_ax, layered.dropna(axis=1, how="all"), depth_floor_m=100.0)
    model_ax.set_title(f"Recovered models (seed {seed})")
    fig.suptitle(f"Central-loop TEM, case {case} ({noise})")
    return fig


def plot_bargain_record(record: pd.DataFrame) -> Figure:
    """The bargain optimiser's profit/loss chart: profit (or loss) per epoch and the deal's misfit.

    Parameters
    ----------
    record : pandas.DataFrame
        ``VESStudy.bargain_record``: ``epoch``, ``profit_loss_misfit``, ``deal_misfit``.
    """
    fig = Figure(figsize=(8, 4.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    profit = record["profit_loss_misfit"].to_numpy()
    colours = np.where(profit > 0, "tab:green", "tab:red")
    ax.bar(record["epoch"], profit, color=colours)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    # Profits span decades (large early, tiny late): a symmetric log axis shows both ends and the losses.
    ax.set_yscale("symlog", linthresh=max(float(np.min(np.abs(profit[profit != 0]), initial=1.0)), 1e-12))
    ax.set_xlabel("epoch")
    ax.set_ylabel("profit (+) / loss (-) of the epoch (misfit units)")
    deal = ax.twinx()
    deal.semilogy(record["epoch"], record["deal_misfit"], "k-", linewidth=1.2)
    deal.set_ylabel("deal misfit (reduced chi-square)")
    handles = [Patch(color="tab:green", label="profit"), Patch(color="tab:red", label="loss"),
               *deal.get_lines()[:1]]
    handles[-1].set_label("deal misfit (right axis)")
    ax.legend(handles=handles, fontsize=8, loc="upper right")
    ax.set_title("Bargain optimisation: profit/loss record")
    return fig


def _step_models(ax, models: pd.DataFrame, depth_floor_m: float) -> None:
    """Resistivity against depth as a step line per row of ``models`` (``method`` and layer columns)."""
    rho_columns = [c for c in models.columns if c.startswith("rho_")]
    h_columns = [c for c in models.columns if c.startswith("h_")]
    deepest = max(depth_floor_m, 1.5 * float(models[h_columns].sum(axis=1).max()))
    for index, row in enumerate(models.itertuples(index=False)):
        row = row._asdict()
        rho = np.array([row[c] for c in rho_columns])
        interfaces = np.cumsum([row[c] for c in h_columns])
        depth = np.concatenate([[0.0], np.repeat(interfaces, 2), [deepest]])
        values = np.repeat(rho, 2)
        true = row["method"] == "true"
        ax.plot(values, depth, color="black" if true else f"C{index % 10}", linewidth=2.2 if true else 1.2,
                linestyle="--" if true else "-", label=row["method"])
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks overlap within a decade
    ax.set_ylim(deepest, 0.0)
    ax.set_xlabel("resistivity (ohm m)")
    ax.set_ylabel("depth (m)")
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=7)


def plot_sp_profile_fit(profile: pd.DataFrame, fitted_mv: np.ndarray, sources: pd.DataFrame, title: str) -> Figure:
    """A user's SP profile: observed stations, the fitted field of its anomalies and each source.

    Parameters
    ----------
    profile : pandas.DataFrame
        ``station_m``, ``sp_mv`` of one profile.
    fitted_mv : numpy.ndarray
        The summed fitted field at the stations, mV.
    sources : pandas.DataFrame
        The profile's rows of :func:`geoprospect.geophysics.sections.sp_sources` (x0, depth,
        their standard deviations, shape, misfit in mV).
    title : str
    """
    fig = Figure(figsize=(8, 4.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    x_m, sp_mv = profile["station_m"].to_numpy(), profile["sp_mv"].to_numpy()
    ax.plot(x_m, sp_mv, "o", color="black", markersize=2.5, label="observed")
    rms_mv = float(np.sqrt(np.mean((sp_mv - fitted_mv) ** 2)))
    ax.plot(x_m, fitted_mv, "-", color="C3", linewidth=1.5, label=f"fitted ({rms_mv:.2f} mV RMS)")
    for row in sources.itertuples():
        ax.axvline(row.x0_m, color="0.5", linewidth=0.8, linestyle=":")
        ax.annotate(f"{row.anomaly}: {row.shape}\nx0 {row.x0_m:.1f} +/- {row.x0_m_std:.1f} m\n"
                    f"depth {row.depth_m:.1f} +/- {row.depth_m_std:.1f} m\nchi2 {row.chi2:.2g}",
                    (row.x0_m, 0.98), xycoords=("data", "axes fraction"), fontsize=7, ha="left", va="top")
    ax.set_xlabel("distance along profile (m)")
    ax.set_ylabel("SP (mV)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig
