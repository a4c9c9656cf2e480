"""Synthetic training sets for network inversion: self-potential, Schlumberger VES and central-loop TEM.

Each builder draws earth models from a ``numpy.random.Generator``, runs the batched forward model
and returns a :class:`TrainingSet` ``(inputs, targets, names)``: ``inputs`` the simulated data, one
row per model, in physical units (no logarithm taken: the caller chooses its transforms), ``targets``
the model parameters, one column per entry of ``names``. The same seed gives the same set.

Noise is Gaussian: absolute (``noise_std_mv`` for SP) and/or relative, ``d (1 + level e)`` with
``e ~ N(0, 1)`` (``relative_noise=0.05`` is the 5% noise of Li et al. 2019).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from geoprospect.geophysics.sp import sp_anomaly
from geoprospect.geophysics.tem import central_loop_step_off
from geoprospect.geophysics.ves import schlumberger_rhoa

SP_STATIONS_M = np.linspace(0.0, 150.0, 101)
SP_NAMES = ("x0_m", "angle_deg", "depth_m", "k_mv_m2")
# The ezygeo-ai SP study's parameter grid (x0, a, h, K), in the order of SP_NAMES.
SP_GRID = (
    np.linspace(50.0, 100.0, 7),
    np.linspace(260.0, 340.0, 7),
    np.linspace(7.0, 75.0, 5),
    np.linspace(70_000.0, 110_000.0, 7),
)

# Li et al. (2019, Nonlinear Processes in Geophysics 26, 445-456) reference models:
# (resistivities ohm-m, thicknesses m).
TEM_CASES = {
    "h_type": ((100.0, 10.0, 100.0), (100.0, 200.0)),
    "khk": ((100.0, 300.0, 50.0, 200.0, 30.0), (100.0, 200.0, 300.0, 500.0)),
}
TEM_TIMES_S = np.geomspace(1e-5, 1e-2, 10)


class TrainingSet(NamedTuple):
    """Simulated data and the models that produced them.

    Attributes
    ----------
    inputs : numpy.ndarray, shape (n_models, n_data)
        Simulated data, one row per model (units per builder).
    targets : numpy.ndarray, shape (n_models, n_params)
        Model parameters, columns as in ``names``.
    names : tuple of str
        Parameter names with units, e.g. ``"resistivity_1_ohm_m"``.
    """

    inputs: np.ndarray
    targets: np.ndarray
    names: tuple[str, ...]


def sp_training_set(
    rng: np.random.Generator,
    n_models: int = 5000,
    sampling: str = "grid",
    x_m: ArrayLike = SP_STATIONS_M,
    noise_std_mv: float = 0.0,
    relative_noise: float = 0.0,
    q: float = 1.5,
) -> TrainingSet:
    """SP profiles of polarised spheres, after the ezygeo-ai study of Kaftan et al.'s model.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_models : int, default 5000
    sampling : {"grid", "uniform"}, default "grid"
        ``"grid"``: each parameter drawn with replacement from the study's grid ``SP_GRID``
        (x0 in linspace(50, 100, 7) m, a in linspace(260, 340, 7) deg, h in linspace(7, 75, 5) m,
        K in linspace(70,000, 110,000, 7)); 1,715 distinct models, so a 5,000-model set repeats
        models and a random split puts copies on both sides. ``"uniform"``: continuous uniform
        draws over the same ranges. The angle range is narrower than 180 deg and K is positive,
        so the (a + 180 deg, -K) twin of a model never appears.
    x_m : array_like, shape (n_stations,), default 101 stations from 0 to 150 m
    noise_std_mv : float, default 0
        Standard deviation of absolute Gaussian noise, mV (the study's variance of 10 mV^2 is
        ``sqrt(10)``).
    relative_noise : float, default 0
        Relative Gaussian noise level (0.05 for 5%).
    q : float, default 1.5
        Shape factor (1.5 sphere).

    Returns
    -------
    TrainingSet
        ``inputs`` SP in mV, (n_models, n_stations); ``targets`` (n_models, 4) in the order
        ``SP_NAMES``: x0 (m), polarisation angle (deg), depth to centre (m), K (mV m^2 for a sphere).
    """
    if sampling == "grid":
        params = np.column_stack([rng.choice(values, size=n_models) for values in SP_GRID])
    elif sampling == "uniform":
        params = np.column_stack([rng.uniform(values[0], values[-1], size=n_models) for values in SP_GRID])
    else:
        raise ValueError(f"sampling must be 'grid' or 'uniform', got {sampling!r}")
    x0, angle, depth, k = params.T
    data = sp_anomaly(x_m, k, depth, angle, x0, q)
    if noise_std_mv > 0:
        data = data + rng.normal(0.0, noise_std_mv, size=data.shape)
    return TrainingSet(add_relative_noise(data, relative_noise, rng), params, SP_NAMES)


def ves_training_set(
    rng: np.random.Generator,
    ab2_m: ArrayLike,
    n_layers: int = 3,
    n_models: int = 5000,
    resistivity_range_ohm_m: tuple[float, float] = (1.0, 1000.0),
    thickness_range_m: tuple[float, float] = (1.0, 50.0),
    mn2_m: ArrayLike | None = None,
    relative_noise: float = 0.0,
) -> TrainingSet:
    """Schlumberger soundings of random layered earths.

    Parameters
    ----------
    rng : numpy.random.Generator
    ab2_m : array_like, shape (n_spacings,)
        Half current-electrode spacings AB/2, m.
    n_layers : int, default 3
        Number of layers, the last one the basement half-space (>= 2).
    n_models : int, default 5000
    resistivity_range_ohm_m : (float, float), default (1, 1000)
        Bounds of the log-uniform draw of every layer's resistivity, ohm-m.
    thickness_range_m : (float, float), default (1, 50)
        Bounds of the log-uniform draw of every layer's thickness, m.
    mn2_m : float or array_like, shape (n_spacings,), optional
        Half potential-electrode spacings MN/2, m; ``None`` for the ideal Schlumberger array.
    relative_noise : float, default 0
        Relative Gaussian noise level (0.05 for 5%).

    Returns
    -------
    TrainingSet
        ``inputs`` apparent resistivity in ohm-m, (n_models, n_spacings); ``targets``
        (n_models, 2 n_layers - 1): ``resistivity_1_ohm_m`` ... ``resistivity_N_ohm_m`` then
        ``thickness_1_m`` ... ``thickness_{N-1}_m``.
    """
    if n_layers < 2:
        raise ValueError(f"n_layers must be at least 2, got {n_layers}")
    resistivities = _log_uniform(rng, resistivity_range_ohm_m, (n_models, n_layers))
    thicknesses = _log_uniform(rng, thickness_range_m, (n_models, n_layers - 1))
    data = schlumberger_rhoa(ab2_m, resistivities, thicknesses, mn2_m)
    return TrainingSet(add_relative_noise(data, relative_noise, rng), np.hstack([resistivities, thicknesses]),
                       layer_names(n_layers))


def tem_training_set(
    rng: np.random.Generator,
    case: str = "h_type",
    n_models: int = 1000,
    spread: float = 0.5,
    times_s: ArrayLike = TEM_TIMES_S,
    loop_radius_m: float = 100.0,
    current_a: float = 100.0,
    relative_noise: float = 0.0,
) -> TrainingSet:
    """Central-loop TEM transients around the reference models of Li et al. (2019).

    The paper's cases are a three-layer H-type earth (100, 10, 100 ohm-m; 100, 200 m) and a
    five-layer KHK earth (100, 300, 50, 200, 30 ohm-m; 100, 200, 300, 500 m), 1,000 training
    models, a 100 m-radius loop with 100 A and 10 time samples. The exact sampling ranges of its
    training models could not be retrieved here, so ours are stated instead: every resistivity
    and thickness is drawn uniformly within ``+- spread`` (default 50%) of its reference value.
    The 10 default times are log-spaced from 10 us to 10 ms (``TEM_TIMES_S``), which covers
    diffusion depths of roughly 40 m to 1.3 km in 100 ohm-m ground. The transient is the ideal
    step-off (no turn-off ramp).

    Parameters
    ----------
    rng : numpy.random.Generator
    case : {"h_type", "khk"}, default "h_type"
        Reference model, see ``TEM_CASES``.
    n_models : int, default 1000
    spread : float, default 0.5
        Half-width of the uniform draw, relative to each reference value (0 < spread < 1).
    times_s : array_like, shape (n_times,), default ``TEM_TIMES_S``
        Times after switch-off, s.
    loop_radius_m : float, default 100
    current_a : float, default 100
    relative_noise : float, default 0
        Relative Gaussian noise level (0.05 and 0.10 in the paper).

    Returns
    -------
    TrainingSet
        ``inputs`` the decay -dB_z/dt at the loop centre in T/s (= V/m^2, the receiver EMF per
        unit coil area; positive), (n_models, n_times); ``targets`` (n_models, 2 n_layers - 1):
        resistivities (ohm-m) then thicknesses (m), named as in :func:`layer_names`.
    """
    if case not in TEM_CASES:
        raise ValueError(f"case must be one of {sorted(TEM_CASES)}, got {case!r}")
    if not 0 < spread < 1:
        raise ValueError(f"spread must lie strictly between 0 and 1, got {spread}")
    reference = np.concatenate(TEM_CASES[case])
    n_layers = len(TEM_CASES[case][0])
    params = reference * rng.uniform(1 - spread, 1 + spread, size=(n_models, len(reference)))
    response = central_loop_step_off(times_s, params[:, :n_layers], params[:, n_layers:], loop_radius_m, current_a)
    data = -response.dbzdt_t_per_s
    return TrainingSet(add_relative_noise(data, relative_noise, rng), params, layer_names(n_layers))


def layer_names(n_layers: int) -> tuple[str, ...]:
    """Parameter names of an ``n_layers`` earth: resistivities top down, then thicknesses."""
    return (*(f"resistivity_{i}_ohm_m" for i in range(1, n_layers + 1)),
            *(f"thickness_{i}_m" for i in range(1, n_layers)))


def add_relative_noise(data: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """``data (1 + level e)`` with ``e ~ N(0, 1)`` drawn per value; ``data`` itself when level is 0.

    Parameters
    ----------
    data : numpy.ndarray, any shape
    level : float
        Relative standard deviation (0.05 for 5%), >= 0.
    rng : numpy.random.Generator
    """
    if level < 0:
        raise ValueError(f"the noise level must be non-negative, got {level}")
    if level == 0:
        return data
    return data * (1 + level * rng.standard_normal(data.shape))


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float], shape: tuple[int, ...]) -> np.ndarray:
    low, high = bounds
    if not 0 < low <= high:
        raise ValueError(f"log-uniform bounds must satisfy 0 < low <= high, got {bounds}")
    return 10.0 ** rng.uniform(np.log10(low), np.log10(high), size=shape)
