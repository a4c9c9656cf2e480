"""Comparison studies: classical against network inversion on the same synthetic data.

Three published studies, reproduced with this package's forward models, optimisers and networks,
every method judged on the same data:

- :func:`sp_study`: the self-potential case of the ezygeo-ai study of Kaftan et al.'s
  (2014, Journal of Geophysics and Engineering 11, 035007) polarised sphere: multistart
  Levenberg-Marquardt against the study's 101-2-5-4 MLP and a properly sized MLP, each trained on
  the study's grid-drawn set and on a continuous-uniform set.
- :func:`ves_study`: the Schlumberger comparison of Stanley Raj et al. (2021, Journal of Current
  Scientific Research 1(2), 24-34): LM, particle swarm, bargain optimisation, a feed-forward net,
  an RBF net and a GRNN on the same held-out soundings, with the paper's scores.
- :func:`tem_study`: the central-loop TEM cases of Li et al. (2019, Nonlinear Processes in
  Geophysics 26, 445-456): BP, SPSO-BP and COPSO-BP networks and nonlinear least squares, repeated
  over seeds, relative errors per parameter as in the paper's Tables 3-6.

Each study takes a ``numpy.random.Generator`` (the same seed gives the same tables) and a ``size``:
``"full"`` is the published setting, ``"tiny"`` the same study shrunk to run in seconds (for tests).
Every result is a NamedTuple of pandas DataFrames; :mod:`geoprospect.render.inversion` draws them.
Network training runs with one torch thread (:func:`~geoprospect.models.autoencoder.one_torch_thread`):
these networks are small, and on a 2-core machine two threads trained them many times slower.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score

from geoprospect.geophysics.inversion import Inversion
from geoprospect.geophysics.metrics import inversion_metrics, relative_errors
from geoprospect.geophysics.misfit import DataMisfit
from geoprospect.geophysics.networks import (
    GRNN,
    MLPInverter,
    PSOTrainedNetwork,
    RBFNetwork,
    choose_hidden_size,
)
from geoprospect.geophysics.optimize import Bargain, LevenbergMarquardt, ParticleSwarm
from geoprospect.geophysics.simulation import SPSimulation, TEMSimulation, VESSimulation
from geoprospect.geophysics.training import (
    SP_NAMES,
    SP_STATIONS_M,
    TEM_CASES,
    TEM_TIMES_S,
    add_relative_noise,
    sp_training_set,
    ves_training_set,
)
from geoprospect.nn import one_torch_thread

SIZES = ("tiny", "full")

# The SP study's synthetic case (model vector order of SPSimulation).
SP_TRUE = {"k_mv_m2": 94_686.0, "depth_m": 41.81, "angle_deg": 309.37, "x0_m": 77.07}
# Noise cases: label -> (absolute standard deviation mV, relative level).
SP_NOISE = {
    "clean": (0.0, 0.0),
    "variance 10 mV^2": (np.sqrt(10.0), 0.0),
    "5% relative": (0.0, 0.05),
    "10% relative": (0.0, 0.10),
}

# VES study: ideal Schlumberger (MN -> 0), 22 AB/2 log-spaced from 1 to 1000 m (about 7 per decade),
# three layers drawn log-uniformly. Resistivities >= 10 ohm-m and thicknesses >= 5 m keep every log10
# value >= 0.7, so a MAPE of log10 values is not dominated by values near zero.
VES_AB2_M = np.geomspace(1.0, 1000.0, 22)
VES_N_LAYERS = 3
VES_RESISTIVITY_RANGE_OHM_M = (10.0, 1000.0)
VES_THICKNESS_RANGE_M = (5.0, 100.0)
VES_NOISE = {"clean": 0.0, "5% relative": 0.05}

# TEM study: the paper's loop and current; the training models' spread around the reference models.
TEM_LOOP_RADIUS_M = 100.0
TEM_CURRENT_A = 100.0
TEM_SPREAD = 0.5
TEM_RAMP_S = 1e-6
TEM_NOISE = {"clean": 0.0, "5% relative": 0.05, "10% relative": 0.10}


@dataclass(frozen=True)
class _SPSize:
    n_models: int  # per training set (grid and uniform), split 80/20
    n_test: int  # independent continuous-uniform models for the honest test error
    epochs: int
    candidates: tuple[tuple[int, ...], ...]  # hidden layers tried for the properly sized MLP


@dataclass(frozen=True)
class _VESSize:
    n_train: int
    n_test: int  # held-out soundings per noise level
    epochs: int
    rbf_centres: int
    lm_starts: int
    pso_iter: int
    bargain_epochs: int


@dataclass(frozen=True)
class _TEMSize:
    n_train: int
    n_seeds: int
    epochs: int
    offsets: tuple[int, ...]  # a in s = round(sqrt(n_in + n_out)) + a, the candidates of Li et al.
    swarm_iter: int
    lm_starts: int
    lm_iter: int


_SP_SIZES = {
    "tiny": _SPSize(n_models=300, n_test=100, epochs=8, candidates=((8,), (16, 16))),
    "full": _SPSize(n_models=5000, n_test=1000, epochs=200, candidates=((16,), (32, 32), (64, 64))),
}
_VES_SIZES = {
    "tiny": _VESSize(n_train=200, n_test=3, epochs=8, rbf_centres=20, lm_starts=2, pso_iter=5, bargain_epochs=5),
    "full": _VESSize(n_train=5000, n_test=100, epochs=200, rbf_centres=100, lm_starts=8, pso_iter=30, bargain_epochs=100),
}
_TEM_SIZES = {
    "tiny": _TEMSize(n_train=60, n_seeds=2, epochs=8, offsets=(1, 4), swarm_iter=3, lm_starts=2, lm_iter=3),
    "full": _TEMSize(n_train=1000, n_seeds=20, epochs=200, offsets=tuple(range(1, 11)), swarm_iter=30, lm_starts=4,
                     lm_iter=20),
}


class SPStudy(NamedTuple):
    """Tables of :func:`sp_study`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per method, training set and noise case: ``method``, ``training_set`` (``"grid"``,
        ``"uniform"`` or ``"none"``), ``noise``, the recovered ``k_mv_m2``, ``depth_m``,
        ``angle_deg``, ``x0_m``, their ``*_rel_error_pct``, the data fit ``rms_percent`` (RMS
        misfit over the profile's RMS), ``time_s`` (inversion or network inference of one profile)
        and ``training_time_s`` (0 for LM, which trains nothing).
    validation : pandas.DataFrame
        One row per network and training set: ``n_distinct_training_models``,
        ``validation_duplicates_pct`` (validation models that are copies of training models),
        ``validation_mape_pct`` and ``validation_r2`` on the 20% split, ``test_mape_pct`` and
        ``test_r2`` on independent continuous-uniform models, ``training_time_s``. MAPE pools the
        four parameters; R^2 is averaged over them.
    hidden_size : pandas.DataFrame
        The sized MLP's choice: ``hidden`` (widths joined by "-"), ``r2_train``, ``r2_validation``,
        ``chosen``.
    profiles : pandas.DataFrame
        ``noise``, ``method`` (``"observed"`` or a method), ``training_set``, ``station_m``,
        ``sp_mv``: the observed profiles and each method's fitted profile.
    """

    table: pd.DataFrame
    validation: pd.DataFrame
    hidden_size: pd.DataFrame
    profiles: pd.DataFrame


class VESStudy(NamedTuple):
    """Tables of :func:`ves_study`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per method and noise case, on the same held-out soundings. ``param_log10_*``:
        scores of the recovered log10 parameters (log10 ohm-m and log10 m) against the true ones;
        ``curve_log10_rhoa_*``: scores of the fitted log10 apparent-resistivity curves against the
        observed ones. Each set has ``mse``, ``psnr_db``, ``r``, ``rmse``, ``nrmse``, ``mape_pct``
        (:func:`~geoprospect.geophysics.metrics.inversion_metrics`). Also ``rms_percent_median``
        (data fit), ``time_per_sounding_s`` (optimisation, or network inference) and
        ``training_time_s`` (0 for the optimisers).
    bargain_record : pandas.DataFrame
        The bargain optimiser's epochs on the first clean held-out sounding: ``epoch``,
        ``profit_loss_misfit`` (> 0 profit, < 0 loss, reduced chi-square units), ``margin_fraction``
        (largest mean absolute deviation of the offers from the deal, fraction of each bound
        width), ``deal_misfit`` (best misfit after the epoch).
    models : pandas.DataFrame
        ``noise``, ``sounding``, ``method`` (``"true"`` or a method), then ``rho_1_ohm_m`` ...
        ``h_2_m`` in physical units.
    curves : pandas.DataFrame
        ``noise``, ``sounding``, ``method`` (``"observed"`` or a method), ``ab2_m``, ``rhoa_ohm_m``.
    """

    table: pd.DataFrame
    bargain_record: pd.DataFrame
    models: pd.DataFrame
    curves: pd.DataFrame


class TEMStudy(NamedTuple):
    """Tables of :func:`tem_study`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per case, method, noise and parameter: ``case``, ``method``, ``start`` (the LM's
        starting models; ``"-"`` for networks), ``noise``, ``parameter``, ``true_value``,
        ``mean_rel_error_pct``, ``min_rel_error_pct``, ``max_rel_error_pct`` over the seeds, the
        mean data fit ``rms_percent_mean``, ``time_per_inversion_s`` (inference for networks) and
        ``training_time_s`` (mean per seed; 0 for LM), ``n_seeds``.
    hidden_size : pandas.DataFrame
        ``case``, ``hidden``, ``r2_train``, ``r2_validation``, ``chosen``: the BP hidden size chosen
        by validation R^2.
    models : pandas.DataFrame
        ``case``, ``noise``, ``seed``, ``method`` (``"true"`` or a method), then ``rho_1_ohm_m`` ...
        and ``h_1_m`` ... in physical units (columns of the larger case are empty for the smaller).
    curves : pandas.DataFrame
        First seed only: ``case``, ``noise``, ``method`` (``"observed"`` or a method), ``time_s``,
        ``abs_dbzdt_t_per_s``.
    """

    table: pd.DataFrame
    hidden_size: pd.DataFrame
    models: pd.DataFrame
    curves: pd.DataFrame


def sp_study(rng: np.random.Generator, size: str = "full") -> SPStudy:
    """The SP synthetic case inverted by multistart LM and by MLPs trained on grid and uniform sets.

    The case of the ezygeo-ai study: a polarised sphere with K = 94,686 mV m^2, h = 41.81 m,
    a = 309.37 deg, x0 = 77.07 m under 101 stations from 0 to 150 m (Kaftan et al. 2014's model),
    observed clean, with Gaussian noise of variance 10 mV^2 (the study's case), and with 5% and 10%
    relative Gaussian noise; one noise realisation per case, the same for every method.

    - LM: :class:`~geoprospect.geophysics.optimize.LevenbergMarquardt` from 8 Latin-hypercube
      starts in :class:`~geoprospect.geophysics.simulation.SPSimulation`'s default bounds (K > 0,
      angle 180-360 deg: the (a + 180, -K) twin excluded). Data weights: 1 mV clean, sqrt(10) mV
      for the study's noise, level x RMS(observed) for relative noise (SP crosses zero, so a
      per-station relative error is undefined).
    - Networks: the study's 101-2-5-4 MLP and an MLP whose hidden layers are chosen by validation
      R^2 (:func:`~geoprospect.geophysics.networks.choose_hidden_size`, on the uniform set), each
      trained on clean profiles of the grid-drawn set (the study's: each parameter from its
      grid, so 1,715 distinct models for 5,000 rows) and of a continuous-uniform set over the same
      ranges, on the first 80% of the rows.

    The grid set repeats models, so its 20% validation split holds copies of training models
    and scores too well; ``validation`` shows it beside the error on independent
    continuous-uniform test models.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the noise, the training and test sets and every seed.
    size : {"full", "tiny"}, default "full"
        ``"full"``: 5,000 models per set, 200 epochs, 1,000 test models; ``"tiny"``: 300 models,
        8 epochs, for tests.

    Returns
    -------
    SPStudy
    """
    settings = _settings(_SP_SIZES, size)
    sim = SPSimulation(SP_STATIONS_M)
    truth = np.array([SP_TRUE[name] for name in sim.param_names])
    clean = sim.predict(truth[None])[0]
    observed = {}
    for label, (std_mv, level) in SP_NOISE.items():
        noisy = clean + rng.normal(0.0, std_mv, clean.shape) if std_mv > 0 else clean
        observed[label] = add_relative_noise(noisy, level, rng)

    rows = []
    profiles = [_profile_rows(label, "observed", "none", data) for label, data in observed.items()]
    lm_seed = _seed(rng)
    for label, data in observed.items():
        std_mv, level = SP_NOISE[label]
        sigma = std_mv if std_mv > 0 else level * np.sqrt(np.mean(data**2)) if level > 0 else 1.0
        result = Inversion(DataMisfit(sim, data, sigma), LevenbergMarquardt(random_state=lm_seed)).run()
        rows.append(_sp_row("LM (8 Latin-hypercube starts)", "none", label, result.model, truth, sim, data,
                            result.elapsed_s, 0.0))
        profiles.append(_profile_rows(label, rows[-1]["method"], "none", result.predicted))

    n_fit = round(0.8 * settings.n_models)
    order = [SP_NAMES.index(name) for name in sim.param_names]  # training targets -> model vector order
    validation = []
    with one_torch_thread():
        sets = {sampling: sp_training_set(rng, settings.n_models, sampling=sampling) for sampling in ("grid", "uniform")}
        test = sp_training_set(rng, settings.n_test, sampling="uniform")
        net_seed = _seed(rng)
        template = MLPInverter(epochs=settings.epochs, random_state=net_seed)
        uniform = sets["uniform"]
        chosen, choice = choose_hidden_size(settings.candidates, uniform.inputs[:n_fit], uniform.targets[:n_fit],
                                            template, random_state=net_seed)
        choice["chosen"] = [hidden == chosen for hidden in choice["hidden"]]
        choice["hidden"] = ["-".join(map(str, hidden)) for hidden in choice["hidden"]]
        networks = {"MLP 101-2-5-4 (study)": (2, 5), f"MLP 101-{'-'.join(map(str, chosen))}-4 (sized)": chosen}
        for name, hidden in networks.items():
            for sampling, data in sets.items():
                start = time.perf_counter()
                net = MLPInverter(hidden=hidden, epochs=settings.epochs, random_state=net_seed)
                net.fit(data.inputs[:n_fit], data.targets[:n_fit])
                training_s = time.perf_counter() - start
                validation.append(_sp_validation_row(name, sampling, net, data, n_fit, test, training_s))
                for label, profile in observed.items():
                    start = time.perf_counter()
                    model = net.predict(profile[None])[0][order]
                    elapsed_s = time.perf_counter() - start
                    # A network may answer outside the physical box (e.g. a negative depth): the
                    # fitted profile is drawn for the model clipped into it.
                    fitted = sim.predict(np.clip(model, sim.lower, sim.upper)[None])[0]
                    rows.append(_sp_row(name, sampling, label, model, truth, sim, profile, elapsed_s, training_s, fitted))
                    profiles.append(_profile_rows(label, name, sampling, fitted))
    return SPStudy(pd.DataFrame(rows), pd.DataFrame(validation), choice, pd.concat(profiles, ignore_index=True))


def ves_simulation(n_layers: int = VES_N_LAYERS) -> VESSimulation:
    """The VES study's simulation: ideal Schlumberger at ``VES_AB2_M``, bounded by the training prior.

    Every method searches the same box: resistivities ``VES_RESISTIVITY_RANGE_OHM_M`` and
    thicknesses ``VES_THICKNESS_RANGE_M``, the ranges the networks' training models come from.
    """
    names = VESSimulation(VES_AB2_M, n_layers=n_layers).param_names
    bounds = {name: VES_RESISTIVITY_RANGE_OHM_M if name.startswith("rho") else VES_THICKNESS_RANGE_M for name in names}
    return VESSimulation(VES_AB2_M, n_layers=n_layers, bounds=bounds)


def ves_study(rng: np.random.Generator, size: str = "full") -> VESStudy:
    """Six VES inversions judged on the same held-out soundings, after Stanley Raj et al. (2021).

    Held-out three-layer soundings (ideal Schlumberger, ``VES_AB2_M``: 22 AB/2 from 1 to 1000 m)
    are drawn from the same log-uniform prior as the training set (resistivities 10-1,000 ohm-m,
    thicknesses 5-100 m), observed clean and with 5% relative Gaussian noise. Methods:

    - optimisers on the misfit of log10 rho_a, in the prior's box (:func:`ves_simulation`):
      Levenberg-Marquardt from Latin-hypercube starts, particle swarm (60 particles, 30
      iterations), bargain optimisation (30 sellers, up to 100 epochs); data weights
      max(level, 1%) / ln 10 in log10 units;
    - networks trained once on clean soundings (log10 rho_a -> log10 parameters): feed-forward
      (:class:`~geoprospect.geophysics.networks.MLPInverter`, 22-64-64-5), RBF (100 k-means
      centres) and GRNN (sigma by leave-one-out).

    Scores (:func:`~geoprospect.geophysics.metrics.inversion_metrics`) on the log10 parameters
    and on the fitted log10 curves, and the compute time per sounding.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : {"full", "tiny"}, default "full"
        ``"full"``: 5,000 training soundings, 100 held-out soundings per noise case, the
        optimisers' default settings; ``"tiny"``: 200 and 3, short optimiser runs.

    Returns
    -------
    VESStudy
    """
    settings = _settings(_VES_SIZES, size)
    sim = ves_simulation()
    held_out = ves_training_set(rng, VES_AB2_M, VES_N_LAYERS, settings.n_test, VES_RESISTIVITY_RANGE_OHM_M,
                                VES_THICKNESS_RANGE_M)
    true_log = np.log10(held_out.targets)
    observed = {label: np.log10(add_relative_noise(held_out.inputs, level, rng)) for label, level in VES_NOISE.items()}
    seed = _seed(rng)
    optimizers = {
        f"LM ({settings.lm_starts} Latin-hypercube starts)":
            lambda: LevenbergMarquardt(n_starts=settings.lm_starts, random_state=seed),
        "PSO": lambda: ParticleSwarm(max_iter=settings.pso_iter, random_state=seed),
        "Bargain": lambda: Bargain(max_epochs=settings.bargain_epochs, random_state=seed),
    }
    estimates, bargain_record = {}, None  # (noise, method) -> (models, seconds per sounding, training s)
    for label, level in VES_NOISE.items():
        sigma = max(level, 0.01) / np.log(10)
        for name, make in optimizers.items():
            models, elapsed = [], 0.0
            for data in observed[label]:
                optimizer = make()
                result = Inversion(DataMisfit(sim, data, sigma), optimizer).run()
                models.append(result.model)
                elapsed += result.elapsed_s
                if name == "Bargain" and bargain_record is None:
                    bargain_record = _bargain_frame(optimizer, result.optimization.history)
            estimates[label, name] = (np.array(models), elapsed / settings.n_test, 0.0)

    training = ves_training_set(rng, VES_AB2_M, VES_N_LAYERS, settings.n_train, VES_RESISTIVITY_RANGE_OHM_M,
                                VES_THICKNESS_RANGE_M)
    networks = {
        "MLP 22-64-64-5": MLPInverter(hidden=(64, 64), epochs=settings.epochs, random_state=seed),
        f"RBF ({settings.rbf_centres} centres)": RBFNetwork(n_centres=settings.rbf_centres, random_state=seed),
        "GRNN": GRNN(),
    }
    with one_torch_thread():
        for name, net in networks.items():
            start = time.perf_counter()
            net.fit(np.log10(training.inputs), np.log10(training.targets))
            training_s = time.perf_counter() - start
            for label in VES_NOISE:
                start = time.perf_counter()
                models = net.predict(observed[label])
                estimates[label, name] = (models, (time.perf_counter() - start) / settings.n_test, training_s)

    rows, model_frames, curve_frames = [], [], []
    for label in VES_NOISE:
        model_frames.append(_ves_models(label, "true", true_log, sim))
        curve_frames.append(_ves_curves(label, "observed", observed[label]))
    for (label, name), (models, per_sounding_s, training_s) in estimates.items():
        fitted = sim.predict(models)
        rows.append({
            "method": name, "noise": label, "n_soundings": settings.n_test,
            **{f"param_log10_{key}": value for key, value in inversion_metrics(true_log, models).items()},
            **{f"curve_log10_rhoa_{key}": value for key, value in inversion_metrics(observed[label], fitted).items()},
            "rms_percent_median": float(np.median(sim.rms_percent(fitted, observed[label]))),
            "time_per_sounding_s": per_sounding_s, "training_time_s": training_s,
        })
        model_frames.append(_ves_models(label, name, models, sim))
        curve_frames.append(_ves_curves(label, name, fitted))
    table = pd.DataFrame(rows).sort_values("noise", key=lambda noise: noise.map(list(VES_NOISE).index), kind="stable",
                                           ignore_index=True)
    return VESStudy(table, bargain_record, pd.concat(model_frames, ignore_index=True),
                    pd.concat(curve_frames, ignore_index=True))


def tem_simulation(case: str) -> TEMSimulation:
    """The TEM study's simulation of one of Li et al.'s cases, bounded by the training models' box.

    log10 |dB_z/dt| at ``TEM_TIMES_S`` (10 times, 10 us to 10 ms) at the centre of a 100 m-radius
    loop carrying 100 A, switched off by a 1 us linear ramp; bounds are each reference value times
    (1 +- ``TEM_SPREAD``), the box of the training models.
    """
    resistivities, thicknesses = TEM_CASES[case]
    reference = np.concatenate([resistivities, thicknesses])
    names = TEMSimulation(TEM_TIMES_S, TEM_LOOP_RADIUS_M, TEM_CURRENT_A, n_layers=len(resistivities)).param_names
    bounds = {name: (value * (1 - TEM_SPREAD), value * (1 + TEM_SPREAD)) for name, value in zip(names, reference, strict=True)}
    return TEMSimulation(TEM_TIMES_S, TEM_LOOP_RADIUS_M, TEM_CURRENT_A, n_layers=len(resistivities),
                         bounds=bounds, ramp_s=TEM_RAMP_S)


def tem_study(rng: np.random.Generator, size: str = "full") -> TEMStudy:
    """BP, SPSO-BP, COPSO-BP and LM inversions of Li et al.'s (2019) TEM cases, over seeds.

    For each case, the three-layer H-type earth (100, 10, 100 ohm-m; 100, 200 m) and the
    five-layer KHK earth (100, 300, 50, 200, 30 ohm-m; 100, 200, 300, 500 m), with
    :func:`tem_simulation`'s survey (100 m loop, 100 A, 1 us ramp, 10 times):

    1. One training set of 1,000 models drawn uniformly within +-50% of the reference (as
       :func:`~geoprospect.geophysics.training.tem_training_set` draws them, but run through the
       ramped forward model); networks map log10 |dB_z/dt| to log10 parameters.
    2. The BP network 10-s-5 (H-type) or 10-s-9 (KHK): one tanh hidden layer trained by Adam with
       early stopping (:class:`~geoprospect.geophysics.networks.MLPInverter`), s chosen by
       validation R^2 among s = round(sqrt(10 + n_out)) + a, a = 1 ... 10, as the paper does.
    3. Per seed (20): the BP network, SPSO-BP and COPSO-BP
       (:class:`~geoprospect.geophysics.networks.PSOTrainedNetwork` with the paper's swarm: 60
       particles, 30 iterations, w 0.9 to 0.4, c1 = c2 = 2; COPSO with the logistic map mu = 4,
       z0 = 0.234; no gradient polishing), all with s hidden units and trained on clean
       transients; the seed sets their initial weights or swarm. Then the reference model's
       transient, clean and with 5% and 10% relative Gaussian noise (a new realisation per seed,
       the same for every method), is inverted by each network and by LM twice: from the BP
       network's estimate (one start), and from 4 Latin-hypercube starts (up to 20 iterations
       each: more starts and iterations cost time without lowering the misfit of these cases).
       LM searches the same box, data weights max(level, 1%) / ln 10 in log10 units.
    4. Relative errors per parameter, mean, min and max over the seeds
       (:func:`~geoprospect.geophysics.metrics.relative_errors`), as in the paper's Tables 3-6.

    Parameters
    ----------
    rng : numpy.random.Generator
    size : {"full", "tiny"}, default "full"
        ``"full"``: the paper's sizes (1,000 models, 20 seeds, 30 swarm iterations); ``"tiny"``:
        60 models, 2 seeds, a few iterations, for tests.

    Returns
    -------
    TEMStudy
    """
    settings = _settings(_TEM_SIZES, size)
    rows, choices, model_frames, curve_frames = [], [], [], []
    for case in TEM_CASES:
        sim = tem_simulation(case)
        truth = np.concatenate(TEM_CASES[case])
        # tem_training_set's draw (uniform within +-TEM_SPREAD of the reference), through the ramped forward.
        y = np.log10(truth * rng.uniform(1 - TEM_SPREAD, 1 + TEM_SPREAD, size=(settings.n_train, len(truth))))
        X = sim.predict(y)
        clean = sim.predict(np.log10(truth)[None])[0]
        n_out = len(truth)
        candidates = [(round(np.sqrt(X.shape[1] + n_out)) + a,) for a in settings.offsets]
        with one_torch_thread():
            chosen, choice = choose_hidden_size(candidates, X, y, MLPInverter(epochs=settings.epochs, activation="tanh",
                                                                               random_state=_seed(rng)),
                                                random_state=_seed(rng))
        hidden = chosen[0]
        choices.append(choice.assign(case=case, chosen=[c == chosen for c in choice["hidden"]],
                                     hidden=[c[0] for c in choice["hidden"]]))
        bp_name = f"BP 10-{hidden}-{n_out}"
        lm_names = {"BP estimate": "LM from BP estimate",
                    "Latin hypercube": f"LM from {settings.lm_starts} Latin-hypercube starts"}
        # (method, noise) -> lists over seeds of models, data fits, inference and training times
        runs: dict[tuple[str, str], dict[str, list]] = {}
        for seed_index in range(settings.n_seeds):
            seed = _seed(rng)
            networks = {
                bp_name: MLPInverter(hidden=(hidden,), epochs=settings.epochs, random_state=seed),
                "SPSO-BP": PSOTrainedNetwork(hidden, ParticleSwarm(max_iter=settings.swarm_iter, random_state=seed)),
                "COPSO-BP": PSOTrainedNetwork(hidden, ParticleSwarm(max_iter=settings.swarm_iter, chaotic=True,
                                                                    random_state=seed)),
            }
            training_s = {}
            with one_torch_thread():
                for name, net in networks.items():
                    start = time.perf_counter()
                    net.fit(X, y)
                    training_s[name] = time.perf_counter() - start
            for label, level in TEM_NOISE.items():
                data = np.log10(add_relative_noise(10.0**clean, level, rng))
                estimates = {}
                for name, net in networks.items():
                    start = time.perf_counter()
                    estimates[name] = (net.predict(data[None])[0], time.perf_counter() - start, training_s[name])
                misfit = DataMisfit(sim, data, max(level, 0.01) / np.log(10))
                from_bp = Inversion(misfit, LevenbergMarquardt(n_starts=1, max_iter=settings.lm_iter, random_state=seed),
                                    x0=estimates[bp_name][0]).run()
                from_lhs = Inversion(misfit, LevenbergMarquardt(n_starts=settings.lm_starts, max_iter=settings.lm_iter,
                                                                random_state=seed)).run()
                estimates[lm_names["BP estimate"]] = (from_bp.model, from_bp.elapsed_s, 0.0)
                estimates[lm_names["Latin hypercube"]] = (from_lhs.model, from_lhs.elapsed_s, 0.0)
                models = np.array([model for model, _, _ in estimates.values()])
                fitted = sim.predict(models)
                fits = sim.rms_percent(fitted, data)
                for (name, (model, elapsed_s, train_s)), fit in zip(estimates.items(), fits, strict=True):
                    run = runs.setdefault((name, label), {"models": [], "fit": [], "time": [], "training": []})
                    run["models"].append(model)
                    run["fit"].append(fit)
                    run["time"].append(elapsed_s)
                    run["training"].append(train_s)
                model_frames.append(_tem_models(case, label, seed_index, ["true", *estimates], np.vstack([np.log10(truth), models]), sim))
                if seed_index == 0:
                    curve_frames.append(_tem_curves(case, label, ["observed", *estimates], np.vstack([data, fitted])))
        starts = {name: start for start, name in lm_names.items()}
        for (name, label), run in runs.items():
            errors = relative_errors(truth, 10.0 ** np.array(run["models"]), sim.param_names).reset_index()
            rows.append(errors.assign(
                case=case, method=name, start=starts.get(name, "-"), noise=label, true_value=truth,
                rms_percent_mean=float(np.mean(run["fit"])), time_per_inversion_s=float(np.mean(run["time"])),
                training_time_s=float(np.mean(run["training"])), n_seeds=settings.n_seeds,
            ))
    columns = ["case", "method", "start", "noise", "parameter", "true_value", "mean_rel_error_pct", "min_rel_error_pct",
               "max_rel_error_pct", "rms_percent_mean", "time_per_inversion_s", "training_time_s", "n_seeds"]
    table = pd.concat(rows, ignore_index=True)[columns]
    hidden_size = pd.concat(choices, ignore_index=True)[["case", "hidden", "r2_train", "r2_validation", "chosen"]]
    return TEMStudy(table, hidden_size, pd.concat(model_frames, ignore_index=True),
                    pd.concat(curve_frames, ignore_index=True))


def _settings(sizes: dict, size: str):
    if size not in sizes:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    return sizes[size]


def _seed(rng: np.random.Generator) -> int:
    """An int seed for estimators and optimisers, drawn from the study's generator."""
    return int(rng.integers(np.iinfo(np.int32).max))


def _sp_row(method, training_set, noise, model, truth, sim, observed, elapsed_s, training_s, fitted=None) -> dict:
    """One SP table row: recovered parameters, their relative errors, fit and times."""
    fitted = sim.predict(model[None])[0] if fitted is None else fitted
    row = {"method": method, "training_set": training_set, "noise": noise}
    row |= dict(zip(sim.param_names, model, strict=True))
    row |= {f"{name}_rel_error_pct": 100 * abs(m - t) / abs(t) for name, m, t in zip(sim.param_names, model, truth, strict=True)}
    row |= {"rms_percent": float(sim.rms_percent(fitted, observed)), "time_s": elapsed_s, "training_time_s": training_s}
    return row


def _sp_validation_row(name, sampling, net, data, n_fit, test, training_s) -> dict:
    """Validation (80/20 split of the training set) against independent test error for one network."""
    train_models, val_models = data.targets[:n_fit], data.targets[n_fit:]
    seen = {model.tobytes() for model in train_models}
    duplicates = np.mean([model.tobytes() in seen for model in val_models])
    val_pred, test_pred = net.predict(data.inputs[n_fit:]), net.predict(test.inputs)
    return {
        "method": name, "training_set": sampling, "n_training_models": n_fit,
        "n_distinct_training_models": len(seen), "validation_duplicates_pct": 100 * float(duplicates),
        "validation_mape_pct": inversion_metrics(val_models, val_pred)["mape_pct"],
        "validation_r2": float(r2_score(val_models, val_pred)),
        "test_mape_pct": inversion_metrics(test.targets, test_pred)["mape_pct"],
        "test_r2": float(r2_score(test.targets, test_pred)),
        "training_time_s": training_s,
    }


def _profile_rows(noise: str, method: str, training_set: str, sp_mv: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"noise": noise, "method": method, "training_set": training_set, "station_m": SP_STATIONS_M,
                         "sp_mv": sp_mv})


def _bargain_frame(optimizer: Bargain, history: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"epoch": np.arange(1, len(optimizer.record_) + 1), "profit_loss_misfit": optimizer.record_,
                         "margin_fraction": optimizer.margin_, "deal_misfit": history})


def _ves_models(noise: str, method: str, models_log10: np.ndarray, sim: VESSimulation) -> pd.DataFrame:
    frame = pd.DataFrame(sim.to_physical(models_log10))
    frame.insert(0, "method", method)
    frame.insert(0, "sounding", np.arange(len(frame)))
    frame.insert(0, "noise", noise)
    return frame


def _ves_curves(noise: str, method: str, log10_rhoa: np.ndarray) -> pd.DataFrame:
    n_soundings, n_ab2 = log10_rhoa.shape
    return pd.DataFrame({"noise": noise, "sounding": np.repeat(np.arange(n_soundings), n_ab2), "method": method,
                         "ab2_m": np.tile(VES_AB2_M, n_soundings), "rhoa_ohm_m": 10.0 ** log10_rhoa.ravel()})


def _tem_models(case: str, noise: str, seed: int, methods: list[str], models_log10: np.ndarray,
                sim: TEMSimulation) -> pd.DataFrame:
    frame = pd.DataFrame(sim.to_physical(models_log10))
    for position, (column, value) in enumerate({"case": case, "noise": noise, "seed": seed, "method": methods}.items()):
        frame.insert(position, column, value)
    return frame


def _tem_curves(case: str, noise: str, methods: list[str], log10_dbzdt: np.ndarray) -> pd.DataFrame:
    n_times = log10_dbzdt.shape[1]
    return pd.DataFrame({"case": case, "noise": noise, "method": np.repeat(methods, n_times),
                         "time_s": np.tile(TEM_TIMES_S, len(methods)), "abs_dbzdt_t_per_s": 10.0 ** log10_dbzdt.ravel()})
