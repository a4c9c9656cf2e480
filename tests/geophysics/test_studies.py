"""Inversion comparison studies (SP, VES, TEM) at tiny size, and their figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoprospect.geophysics.studies import (
    SP_NOISE,
    SP_TRUE,
    TEM_NOISE,
    TEM_RAMP_S,
    VES_NOISE,
    sp_study,
    tem_simulation,
    tem_study,
    ves_study,
)
from geoprospect.geophysics.tem import central_loop_step_off
from geoprospect.geophysics.training import TEM_CASES, TEM_TIMES_S
from geoprospect.render.inversion import (
    plot_bargain_record,
    plot_sp_fits,
    plot_sp_validation,
    plot_tem_fit,
    plot_ves_fit,
)


@pytest.fixture(scope="module")
def sp():
    return sp_study(np.random.default_rng(0), size="tiny")


@pytest.fixture(scope="module")
def ves():
    return ves_study(np.random.default_rng(1), size="tiny")


@pytest.fixture(scope="module")
def tem():
    return tem_study(np.random.default_rng(2), size="tiny")


def numeric_cells_are_finite(table: pd.DataFrame) -> bool:
    numbers = table.select_dtypes("number")
    return numbers.shape[1] > 0 and bool(np.isfinite(numbers.to_numpy(dtype=float)).all())


# ---------------------------------------------------------------------------------------------- SP


def test_sp_study_fills_every_method_and_noise_cell(sp):
    table = sp.table
    methods = table["method"].unique()
    assert len(methods) == 3 and methods[1] == "MLP 101-2-5-4 (study)"
    # LM once per noise case; each network once per training set and noise case.
    cells = table.groupby(["method", "training_set", "noise"]).size()
    assert len(cells) == len(SP_NOISE) * (1 + 2 * 2) and (cells == 1).all()
    assert set(table["noise"]) == set(SP_NOISE)
    assert numeric_cells_are_finite(table)
    for name in SP_TRUE:
        assert name in table and f"{name}_rel_error_pct" in table
    assert (table.loc[table["training_set"] != "none", "training_time_s"] > 0).all()


def test_sp_lm_recovers_the_clean_case_within_one_percent(sp):
    lm = sp.table[(sp.table["training_set"] == "none") & (sp.table["noise"] == "clean")].iloc[0]
    for name, value in SP_TRUE.items():
        assert lm[name] == pytest.approx(value, rel=0.01)
        assert lm[f"{name}_rel_error_pct"] < 1.0
    assert lm["rms_percent"] < 0.1


def test_sp_grid_set_repeats_models_and_the_validation_reports_it(sp):
    validation = sp.validation.set_index(["method", "training_set"])
    assert len(validation) == 4 and numeric_cells_are_finite(validation)
    for method in sp.table["method"].unique()[1:]:
        grid, uniform = validation.loc[(method, "grid")], validation.loc[(method, "uniform")]
        # The grid draw repeats models: fewer distinct ones, and validation rows copied from training.
        assert grid["n_distinct_training_models"] < grid["n_training_models"]
        assert grid["validation_duplicates_pct"] > 5
        assert uniform["n_distinct_training_models"] == uniform["n_training_models"]
        assert uniform["validation_duplicates_pct"] == 0
        for row in (grid, uniform):
            assert row["validation_mape_pct"] > 0 and row["test_mape_pct"] > 0
    assert sp.hidden_size["chosen"].sum() == 1


def test_sp_profiles_hold_observed_and_fitted_curves(sp):
    profiles = sp.profiles
    observed = profiles[profiles["method"] == "observed"]
    assert len(observed) == 101 * len(SP_NOISE)
    clean = observed[observed["noise"] == "clean"]["sp_mv"].to_numpy()
    noisy = observed[observed["noise"] == "variance 10 mV^2"]["sp_mv"].to_numpy()
    assert 2 < np.var(noisy - clean) < 30  # one realisation of variance 10 mV^2 over 101 stations


# --------------------------------------------------------------------------------------------- VES


def test_ves_study_scores_every_method_on_the_same_soundings(ves):
    table = ves.table
    assert len(table) == 6 * len(VES_NOISE)
    assert table.groupby("noise").size().eq(6).all()
    assert set(table["method"].str.split().str[0]) == {"LM", "PSO", "Bargain", "MLP", "RBF", "GRNN"}
    for prefix in ("param_log10", "curve_log10_rhoa"):
        for key in ("mse", "psnr_db", "r", "rmse", "nrmse", "mape_pct"):
            assert f"{prefix}_{key}" in table
    assert numeric_cells_are_finite(table)
    assert (table["time_per_sounding_s"] > 0).all()
    # Same held-out soundings for all: one true model per sounding and noise case, every method has each.
    models = ves.models
    per_method = models.groupby(["noise", "method"]).size()
    assert per_method.nunique() == 1
    truth = models[models["method"] == "true"]
    assert (truth.groupby("sounding").nunique(dropna=False)["rho_1_ohm_m"] == 1).all()


def test_ves_lm_fits_clean_soundings_best(ves):
    clean = ves.table[ves.table["noise"] == "clean"].set_index("method")
    lm = clean.index[clean.index.str.startswith("LM")][0]
    assert clean.loc[lm, "curve_log10_rhoa_mse"] == clean["curve_log10_rhoa_mse"].min()
    assert clean.loc[lm, "rms_percent_median"] < 1.0


def test_bargain_record_is_a_profit_loss_chart(ves):
    record = ves.bargain_record
    assert list(record.columns) == ["epoch", "profit_loss_misfit", "margin_fraction", "deal_misfit"]
    assert len(record) >= 1 and numeric_cells_are_finite(record)
    assert (np.diff(record["deal_misfit"]) <= 0).all()  # the deal never gets worse


# --------------------------------------------------------------------------------------------- TEM


def test_tem_study_fills_every_case_method_and_noise_cell(tem):
    table = tem.table
    assert {"SPSO-BP", "COPSO-BP"} <= set(table["method"])
    assert set(table.loc[table["method"].str.startswith("LM"), "start"]) == {"BP estimate", "Latin hypercube"}
    for case, (rho, thick) in TEM_CASES.items():
        rows = table[table["case"] == case]
        assert rows["method"].nunique() == 5
        assert len(rows) == 5 * len(TEM_NOISE) * (len(rho) + len(thick))
        chosen = tem.hidden_size[(tem.hidden_size["case"] == case) & tem.hidden_size["chosen"]]["hidden"]
        assert len(chosen) == 1
        assert f"BP 10-{chosen.iloc[0]}-{len(rho) + len(thick)}" in set(rows["method"])
    assert numeric_cells_are_finite(table)
    assert (table["n_seeds"] == 2).all()
    assert (table["min_rel_error_pct"] <= table["mean_rel_error_pct"]).all()
    assert (table["mean_rel_error_pct"] <= table["max_rel_error_pct"]).all()


def test_tem_lm_from_the_network_estimate_fits_clean_data(tem):
    lm = tem.table[(tem.table["start"] == "BP estimate") & (tem.table["noise"] == "clean")]
    assert (lm["rms_percent_mean"] < 1.0).all()


def test_tem_simulation_models_the_one_microsecond_ramp():
    sim = tem_simulation("h_type")
    rho, thick = TEM_CASES["h_type"]
    model = np.log10(np.concatenate([rho, thick]))[None]
    ramped = central_loop_step_off(TEM_TIMES_S, rho, thick, 100.0, 100.0, ramp_s=TEM_RAMP_S).dbzdt_t_per_s
    np.testing.assert_allclose(sim.predict(model)[0], np.log10(np.abs(ramped)))
    step = central_loop_step_off(TEM_TIMES_S, rho, thick, 100.0, 100.0).dbzdt_t_per_s
    assert abs(ramped[0] / step[0] - 1) > 0.01  # the ramp matters at 10 us


def test_unknown_size_is_rejected():
    with pytest.raises(ValueError, match="size"):
        sp_study(np.random.default_rng(0), size="medium")


# ------------------------------------------------------------------------------------------ figures


def assert_labelled(fig, n_lines_min: int = 1) -> None:
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    assert fig.get_suptitle() or all(ax.get_title() for ax in axes if ax.xaxis.get_visible())
    for ax in axes:
        assert ax.get_ylabel()
        if ax.xaxis.get_visible():  # a twin y-axis hides its x-axis
            assert ax.get_xlabel()
    assert sum(len(ax.get_lines()) + len(ax.patches) for ax in axes) >= n_lines_min
    assert any(ax.get_legend() is not None for ax in axes)


def test_figures_have_titles_labels_and_legends(sp, ves, tem):
    fig = plot_sp_fits(sp.profiles)
    assert_labelled(fig, n_lines_min=len(SP_NOISE) * 4)  # observed, LM and two networks per panel
    assert_labelled(plot_sp_validation(sp.validation), n_lines_min=8)
    fig = plot_ves_fit(ves.curves, ves.models, sounding=1, noise="5% relative")
    curve_ax, model_ax = fig.axes
    assert len(curve_ax.get_lines()) == 7 and len(model_ax.get_lines()) == 7  # observed/true + six methods
    assert model_ax.get_ylim()[0] > model_ax.get_ylim()[1]  # depth increases downwards
    assert_labelled(fig)
    fig = plot_tem_fit(tem.curves, tem.models, case="khk", noise="10% relative")
    assert len(fig.axes[0].get_lines()) == 6
    assert_labelled(fig)
    assert_labelled(plot_bargain_record(ves.bargain_record), n_lines_min=len(ves.bargain_record))
