"""Survey lines inverted station by station into resistivity sections; SP anomalies into sources.

A line of VES or TEM soundings is inverted one station at a time with a 1-D layered earth
(Levenberg-Marquardt on log10 resistivities and thicknesses, :mod:`geoprospect.geophysics.optimize`)
and the 1-D models are stitched into a distance x depth section (a "stitched" or quasi-2-D
section, the usual display of a line of 1-D soundings). Each column of the section shows the model
of the nearest station, not an interpolation between stations, so the section shows only what was
inverted.

Stations are independent, so ``invert_line`` takes a ``map_fn`` (``builtins.map`` by default): a
flow may pass an executor's ``map`` or a Dask/Prefect map instead. A station with bad data (too few
readings for the layers, NaN, non-positive values, spacings or times that do not increase) does not
stop the line: it is listed in ``LineInversion.failures`` with the reason and the other stations
are inverted.

``sp_sources`` finds anomalies along a self-potential profile (windows around the strongest
extrema) and inverts each for the polarised body of Kaftan et al. (2014) with
:class:`~geoprospect.geophysics.simulation.SPSimulation`.

Sounding tables use the columns of :mod:`geoprospect.io.surveys` (``sounding_id`` names the
station; VES ``ab2_m``, ``mn2_m``, ``rhoa_ohm_m``; TEM ``time_s``, ``dbzdt_t_per_s``,
``loop_radius_m``, ``current_a``), plus the station position: ``station_m`` (distance along the
line) or ``x_m``, ``y_m`` (projected coordinates, projected onto the line's principal axis).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks

from geoprospect.errors import InputError
from geoprospect.geophysics.inversion import Inversion
from geoprospect.geophysics.misfit import DataMisfit
from geoprospect.geophysics.optimize import LevenbergMarquardt, latin_hypercube
from geoprospect.geophysics.simulation import SPSimulation, TEMSimulation, VESSimulation
from geoprospect.geophysics.sp import SHAPE_FACTORS, sp_anomaly
from geoprospect.geophysics.tem import central_loop_step_off, rectangular_loop_step_off
from geoprospect.geophysics.ves import schlumberger_rhoa

METHODS = ("ves", "tem")
_MAX_COLUMNS = 2000  # bounds the section width whatever the closest pair of stations


@dataclass(frozen=True)
class SoundingInversion:
    """A 1-D layered model recovered from one sounding, with its data fit.

    Attributes
    ----------
    station : str
        The ``sounding_id``.
    method : {"ves", "tem"}
    resistivities_ohm_m : numpy.ndarray, shape (n_layers,)
        From the top down; the last is the basement half-space.
    thicknesses_m : numpy.ndarray, shape (n_layers - 1,)
    abscissa : numpy.ndarray, shape (n_data,)
        AB/2 in m (VES) or time after switch-off in s (TEM), in file order.
    segment : numpy.ndarray of int, shape (n_data,)
        MN/2 segment of each VES reading (runs of one MN/2, numbered from 0); zeros for TEM.
    observed, predicted : numpy.ndarray, shape (n_data,)
        Apparent resistivity in ohm-m (VES) or |dB_z/dt| in T/s (TEM).
    rms_percent : float
        RMS relative data difference, percent.
    chi2 : float
        Reduced chi-square for the data's standard deviations (per datum when the file gives them,
        else the assumed relative error): about 1 when the fit reaches the noise.
    at_bound : tuple of str
        Parameters that ended within 1 % (of the log10 bound range) of a bound: the data did not
        pin them inside the bounds, so they are bounds, not estimates.
    fitted : bool
        False when the model cannot fit the data (RMS above the limit given to
        :func:`invert_sounding`): the sounding is reported, not drawn as a result.
    gates : pandas.DataFrame
        Every reading of the file with ``used`` (bool) and ``flag`` (``ok``, ``saturated``,
        ``reversed sign``, ``below noise``): what was dropped and why.
    n_starts : int
        LM starts run before the starts agreed (or the maximum was reached).
    doi_m : float
        Depth of investigation, m: below it, halving or doubling every resistivity changes the
        data by less than their standard deviation (RMS of the weighted change < 1), so the
        section is masked there (see :func:`depth_of_investigation`).
    """

    station: str
    method: str
    resistivities_ohm_m: np.ndarray
    thicknesses_m: np.ndarray
    abscissa: np.ndarray
    segment: np.ndarray
    observed: np.ndarray
    predicted: np.ndarray
    rms_percent: float
    chi2: float
    at_bound: tuple[str, ...] = ()
    fitted: bool = True
    gates: pd.DataFrame | None = None
    n_starts: int = 0
    doi_m: float = np.inf

    @property
    def interface_depths_m(self) -> np.ndarray:
        """Depths of the layer bottoms, m, shape (n_layers - 1,)."""
        return np.cumsum(self.thicknesses_m)


@dataclass(frozen=True)
class LineInversion:
    """A survey line inverted station by station.

    Attributes
    ----------
    method : {"ves", "tem"}
    n_layers : int
    stations : pandas.DataFrame
        One row per station in order along the line: ``station``, ``distance_m``, ``x_m``,
        ``y_m`` (NaN where the file has none), ``n_data``, ``rms_percent``, ``chi2``,
        ``rho_1_ohm_m`` ... ``rho_n_ohm_m``, ``h_1_m`` ... (NaN for failed stations).
    soundings : dict of str to SoundingInversion
        The inverted stations, by station id.
    failures : pandas.DataFrame
        ``station``, ``distance_m``, ``problem``, ``fix``: the stations that could not be inverted.
    """

    method: str
    n_layers: int
    stations: pd.DataFrame
    soundings: dict[str, SoundingInversion]
    failures: pd.DataFrame

    @property
    def fit(self) -> pd.DataFrame:
        """Data fit per inverted station: ``station``, ``distance_m``, ``n_data``, ``rms_percent``, ``chi2``."""
        ok = self.stations["station"].isin(list(self.soundings))
        return self.stations.loc[ok, ["station", "distance_m", "n_data", "rms_percent", "chi2"]].reset_index(drop=True)


def invert_sounding(
    sounding: pd.DataFrame,
    method: str,
    n_layers: int,
    relative_error: float = 0.03,
    optimizer: LevenbergMarquardt | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    source: str = "sounding",
    rounds: int = 1,
    max_rms_percent: float = np.inf,
    noise_floor_t_per_s: float = 0.0,
    start_model: Callable[[object, np.ndarray], np.ndarray] | None = None,
) -> SoundingInversion:
    """Invert one VES or TEM sounding for an ``n_layers`` earth.

    Levenberg-Marquardt on log10 resistivities and thicknesses against log10 data
    (:class:`~geoprospect.geophysics.simulation.VESSimulation` with each reading's own MN/2, or
    :class:`~geoprospect.geophysics.simulation.TEMSimulation` on |dB_z/dt| for the sounding's loop,
    receiver (``configuration``: central; coincident, the single loop's mean dB_z/dt; offset, a
    receiver inside the loop at ``rx_offset_x_m``/``rx_offset_y_m``), current and ramp). TEM gates that are saturated (the leading gates that do not decay),
    of reversed sign or below the noise (|dB_z/dt| under its standard deviation or under
    ``noise_floor_t_per_s``) are dropped and listed in ``gates``.

    Parameters
    ----------
    sounding : pandas.DataFrame
        The readings of one station, in the columns of :mod:`geoprospect.io.surveys`; a VES
        without ``mn2_m`` is taken as ideal Schlumberger (MN -> 0).
    method : {"ves", "tem"}
    n_layers : int
        Number of layers, the basement included (>= 1).
    relative_error : float, default 0.03
        Relative standard deviation of the readings without their own (``rhoa_error_ohm_m``,
        ``dbzdt_error_t_per_s``); with them, it is a floor added in quadrature.
    optimizer : LevenbergMarquardt, optional
        Starts of one round; default ``LevenbergMarquardt(random_state=0)`` (8 Latin-hypercube starts).
    bounds : dict of str to (float, float), optional
        Physical bounds per parameter name (``rho_1_ohm_m``, ``h_1_m``...), overriding the
        simulation's defaults.
    source : str, default "sounding"
        File or catalog key named in errors, with the station.
    rounds : int, default 1
        At most this many rounds of the optimizer's starts (each round new Latin-hypercube
        starts); the rounds stop as soon as two rounds agree on the minimum (chi-square within
        2 %) or one fits to the noise (reduced chi-square within 3 sqrt(2 / n) of 1).
    max_rms_percent : float, default inf
        A fit worse than this is marked ``fitted=False``: the model cannot explain the data.
    noise_floor_t_per_s : float, default 0
        TEM gates with |dB_z/dt| below it are dropped as noise.
    start_model : callable, optional
        ``start_model(simulation, log10_observed) -> model vector`` (the hybrid of
        :class:`NetworkStart`): LM from it alone is kept if it fits to the noise (reduced
        chi-square within 3 standard deviations of 1), else the Latin-hypercube rounds follow.

    Returns
    -------
    SoundingInversion

    Raises
    ------
    InputError
        If the sounding cannot be inverted (see the module docstring); the source names the
        station.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not 0 < relative_error < 1:
        raise ValueError("relative_error must be between 0 and 1")
    station = _station_id(sounding)
    where = f"{source} station {station}"
    if method == "ves":
        abscissa, mn2, observed, error = _ves_readings(sounding, n_layers, where)
        simulation = VESSimulation(abscissa, mn2, n_layers=n_layers, bounds=bounds)
        segment = np.cumsum(np.r_[False, np.diff(mn2) != 0])
        gates = pd.DataFrame({"ab2_m": abscissa, "rhoa_ohm_m": observed, "used": True, "flag": "ok"})
    else:
        gates, geometry = _tem_gates(sounding, n_layers, noise_floor_t_per_s, where)
        used = gates[gates["used"]]
        abscissa, observed = used["time_s"].to_numpy(), used["abs_dbzdt_t_per_s"].to_numpy()
        error = used["error_t_per_s"].to_numpy() if "error_t_per_s" in used else None
        simulation = TEMSimulation(abscissa, n_layers=n_layers, bounds=bounds, **geometry)
        segment = np.zeros(len(abscissa), dtype=int)
    # A relative error e is a standard deviation log10(1 + e) of log10 data; a datum's own
    # standard deviation s becomes s / (d ln 10), with the relative floor added in quadrature.
    sigma = np.log10(1.0 + relative_error)
    if error is not None:
        sigma = np.hypot(error / (observed * np.log(10.0)), sigma)
    misfit = DataMisfit(simulation, np.log10(observed), sigma)
    optimizer = optimizer or LevenbergMarquardt(random_state=0)
    if start_model is None:
        result, n_starts = _multistart(misfit, optimizer, rounds)
    else:
        result, n_starts = _hybrid(misfit, optimizer, rounds, start_model(simulation, misfit.observed))
    physical = 10.0 ** result.model
    position = (result.model - simulation.lower) / (simulation.upper - simulation.lower)
    at_bound = tuple(name for name, x in zip(simulation.param_names, position) if x < 0.01 or x > 0.99)
    if method == "ves":
        forward = functools.partial(_ves_log_data, abscissa, mn2)
        depths_m = np.geomspace(abscissa.min() / 4, 2 * abscissa.max(), 32)
    else:
        forward = functools.partial(_tem_log_data, abscissa, geometry)
        depths_m = np.geomspace(1.0, 3000.0, 32)
    doi_m = depth_of_investigation(forward, physical[:n_layers], physical[n_layers:], misfit.standard_deviation, depths_m)
    return SoundingInversion(
        station=station,
        method=method,
        resistivities_ohm_m=physical[:n_layers],
        thicknesses_m=physical[n_layers:],
        abscissa=abscissa,
        segment=segment,
        observed=observed,
        predicted=10.0**result.predicted,
        rms_percent=result.rms_percent,
        chi2=result.misfit,
        at_bound=at_bound,
        fitted=bool(result.rms_percent <= max_rms_percent),
        gates=gates,
        n_starts=n_starts,
        doi_m=doi_m,
    )


def depth_of_investigation(forward: Callable[[np.ndarray, np.ndarray], np.ndarray], resistivities_ohm_m: np.ndarray,
                           thicknesses_m: np.ndarray, standard_deviation: np.ndarray, depths_m: np.ndarray,
                           factor: float = 2.0) -> float:
    """Deepest depth whose whole half-space below still changes the data by their noise.

    For each trial depth z, every resistivity below z is multiplied and divided by ``factor``;
    the weighted data change ``sqrt(mean(((F(m_z) - F(m)) / sigma)^2))`` (log10 data) says whether
    the data can tell. The DOI is the deepest z where it reaches 1: the cumulative-sensitivity idea
    of Christiansen and Auken (2012, Geophysics 77, WB171-WB177) with the data noise as the
    threshold instead of a tuned constant.

    Parameters
    ----------
    forward : callable
        ``forward(resistivities (batch, n), thicknesses (batch, n - 1)) -> log10 data (batch, n_data)``.
    resistivities_ohm_m, thicknesses_m : numpy.ndarray
        The fitted model.
    standard_deviation : numpy.ndarray, shape (n_data,)
        Of the log10 data.
    depths_m : numpy.ndarray
        Increasing trial depths.
    factor : float, default 2

    Returns
    -------
    float
        The DOI in m (the shallowest trial depth when even it is unseen).
    """
    interfaces = np.cumsum(thicknesses_m)
    bottoms = np.union1d(interfaces, depths_m)  # a fine stack holding the model and every trial depth
    layer = np.searchsorted(interfaces, bottoms - 1e-9 * bottoms, side="right")  # model layer of each fine layer
    rho = resistivities_ohm_m[np.r_[layer, len(resistivities_ohm_m) - 1]]
    thick = np.diff(np.r_[0.0, bottoms])
    below = np.searchsorted(bottoms, depths_m)[:, None] < np.arange(len(rho))[None, :]  # (n_depths, n_fine) below z
    trial = np.concatenate([np.where(below, rho * factor, rho), np.where(below, rho / factor, rho)])
    data = forward(np.vstack([rho, trial]), np.broadcast_to(thick, (len(trial) + 1, len(thick))))
    change = np.sqrt(np.mean(((data[1:] - data[0]) / standard_deviation) ** 2, axis=1)).reshape(2, -1).max(axis=0)
    seen = np.flatnonzero(change >= 1.0)
    return float(depths_m[seen.max()]) if seen.size else float(depths_m[0])


def _ves_log_data(ab2: np.ndarray, mn2: np.ndarray, rho: np.ndarray, thick: np.ndarray) -> np.ndarray:
    return np.log10(schlumberger_rhoa(ab2, rho, thick, mn2))


def _tem_log_data(times: np.ndarray, geometry: dict, rho: np.ndarray, thick: np.ndarray) -> np.ndarray:
    options = {"ramp_s": geometry["ramp_s"]}
    if geometry.get("loop_sides_m") is None:
        response = central_loop_step_off(times, rho, thick, geometry["loop_radius_m"], geometry["current_a"], **options)
    else:
        options |= {k: geometry[k] for k in ("receiver_m", "receiver_sides_m") if k in geometry}
        response = rectangular_loop_step_off(times, rho, thick, *geometry["loop_sides_m"], geometry["current_a"], **options)
    return np.log10(np.abs(response.dbzdt_t_per_s))


def _fits_the_noise(result, misfit: DataMisfit) -> bool:
    """Reduced chi-square within 3 standard deviations (sqrt(2 / n)) of 1: no other minimum can beat
    this one by more than the noise."""
    return result.misfit <= 1.0 + 3.0 * np.sqrt(2.0 / misfit.observed.size)


def _multistart(misfit: DataMisfit, optimizer: LevenbergMarquardt, rounds: int):
    """Rounds of Latin-hypercube LM starts until two rounds agree or one fits to the noise."""
    best, n_starts = None, 0
    for number in range(max(1, rounds)):
        if best is not None and _fits_the_noise(best, misfit):
            break
        seed = None if optimizer.random_state is None else np.random.default_rng(optimizer.random_state).integers(2**31) + number
        this = Inversion(misfit, optimizer if number == 0 else _reseeded(optimizer, seed)).run()
        n_starts += optimizer.n_starts
        if best is not None:
            # The same minimum reached twice: equal misfits (models may differ along an equivalence).
            agree = abs(this.misfit - best.misfit) <= 0.02 * best.misfit
            best = this if this.misfit < best.misfit else best
            if agree:
                break
        else:
            best = this
    return best, n_starts


def _hybrid(misfit: DataMisfit, optimizer: LevenbergMarquardt, rounds: int, estimate: np.ndarray):
    """LM from the network's estimate alone; if that fit does not reach the noise, rounds of
    Latin-hypercube starts until two agree (the better of everything is kept).

    Reaching the noise: see :func:`_fits_the_noise`.
    """
    single = LevenbergMarquardt(n_starts=1, max_iter=optimizer.max_iter, damping=optimizer.damping, fd_step=optimizer.fd_step,
                                tol=optimizer.tol, random_state=optimizer.random_state)
    first = Inversion(misfit, single, x0=estimate).run()
    if _fits_the_noise(first, misfit):
        return first, 1
    best, n_starts = _multistart(misfit, optimizer, rounds)
    return (first if first.misfit < best.misfit else best), n_starts + 1


class _TrainedOnDemand:
    """Networks trained on first use, one per key, shared by threads; pickled without them (a worker
    trains its own)."""

    def _reset_networks(self) -> None:
        self._networks: dict = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in ("_networks", "_lock")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset_networks()

    def _trained(self, key, train: Callable[[], object]):
        """The network of ``key``, from ``train()`` on first use (under one torch thread)."""
        from geoprospect.nn import one_torch_thread

        with self._lock:
            if key not in self._networks:
                with one_torch_thread():
                    self._networks[key] = train()
            return self._networks[key]


class NetworkStart(_TrainedOnDemand):
    """Starting models from a network trained on the sounding's own survey (the hybrid start).

    For each survey geometry met (the simulation's abscissa, geometry and bounds), an
    :class:`~geoprospect.geophysics.networks.MLPInverter` is trained once on ``n_models``
    Latin-hypercube models drawn inside the bounds (log10 data in, model vector out) and then
    maps each observed sounding to its estimate, the first LM start. Networks are kept per
    geometry, so a line of soundings on one layout trains once. Picklable (the cache is not kept).

    Parameters
    ----------
    n_models : int, default 2000
    hidden : tuple of int, default (64, 64)
    epochs : int, default 150
    random_state : int, default 0
    """

    def __init__(self, n_models: int = 2000, hidden: tuple[int, ...] = (64, 64), epochs: int = 150, random_state: int = 0):
        self.n_models, self.hidden, self.epochs, self.random_state = n_models, hidden, epochs, random_state
        self._reset_networks()

    def __call__(self, simulation, observed: np.ndarray) -> np.ndarray:
        from geoprospect.geophysics.networks import MLPInverter

        def train():
            rng = np.random.default_rng(self.random_state)
            models = simulation.lower + latin_hypercube(self.n_models, simulation.n_params, rng) * (simulation.upper - simulation.lower)
            data = simulation.predict(models)
            finite = np.all(np.isfinite(data), axis=1)
            return MLPInverter(hidden=self.hidden, epochs=self.epochs, random_state=self.random_state).fit(data[finite], models[finite])

        key = repr((type(simulation).__name__, sorted((k, np.asarray(v).tobytes() if isinstance(v, np.ndarray) else v)
                                                       for k, v in vars(simulation).items())))
        network = self._trained(key, train)
        estimate = np.asarray(network.predict(observed[None, :]), dtype=float).reshape(-1)
        return np.clip(estimate, simulation.lower, simulation.upper)


class SPNetwork(_TrainedOnDemand):
    """Network estimate of an SP anomaly's source (k, depth, angle, x0), for any window.

    The anomaly's shape scales with the window: with positions and depth in units of the window
    length L, ``V = k L^(1 - 2q) f(x / L; h / L, a, x0 / L)``, and V is linear in k. So one
    :class:`~geoprospect.geophysics.networks.MLPInverter` per shape factor q, trained once on
    ``n_models`` synthetic anomalies, serves every window of every profile: its input is the
    window's profile resampled onto ``n_points`` even positions and divided by its largest |V|;
    its targets are log10(h / L), cos a, sin a (the angle is circular) and x0 / L. k then follows
    by linear least squares on the observed profile (with the angle turned by 180 deg if k < 0, the
    same field). Training anomalies: x0 / L uniform over the window, h / L log-uniform in 0.01-1,
    angle uniform, with Gaussian noise of ``noise`` times the peak. Picklable (networks are not kept).

    Parameters
    ----------
    n_models : int, default 4000
    n_points : int, default 64
    hidden : tuple of int, default (64, 64)
    epochs : int, default 150
    noise : float, default 0.02
    random_state : int, default 0
    """

    def __init__(self, n_models: int = 4000, n_points: int = 64, hidden: tuple[int, ...] = (64, 64), epochs: int = 150,
                 noise: float = 0.02, random_state: int = 0):
        self.n_models, self.n_points, self.hidden = n_models, n_points, hidden
        self.epochs, self.noise, self.random_state = epochs, noise, random_state
        self._reset_networks()

    def _network(self, q: float):
        from geoprospect.geophysics.networks import MLPInverter

        def train():
            rng = np.random.default_rng(self.random_state)
            grid = np.linspace(0.0, 1.0, self.n_points)
            x0, depth, angle = rng.uniform(0, 1, self.n_models), 10 ** rng.uniform(-2, 0, self.n_models), rng.uniform(0, 360, self.n_models)
            profiles = sp_anomaly(grid, 1.0, depth, angle, x0, q=q)
            profiles /= np.abs(profiles).max(axis=1, keepdims=True)
            profiles += self.noise * rng.standard_normal(profiles.shape)
            targets = np.column_stack([np.log10(depth), np.cos(np.radians(angle)), np.sin(np.radians(angle)), x0])
            return MLPInverter(hidden=self.hidden, epochs=self.epochs, random_state=self.random_state).fit(profiles, targets)

        return self._trained(q, train)

    def __call__(self, simulation: SPSimulation, sp_mv: np.ndarray) -> np.ndarray:
        """The model vector ``[k, depth_m, angle_deg, x0_m]`` of the window, clipped into the simulation's bounds."""
        x_m = simulation.x_m
        start, length = float(x_m[0]), float(np.ptp(x_m))
        resampled = np.interp(np.linspace(start, start + length, self.n_points), x_m, sp_mv)
        log_depth, cos_a, sin_a, x0 = self._network(simulation.q).predict((resampled / np.abs(resampled).max())[None, :])[0]
        depth, angle, x0 = 10**log_depth * length, np.degrees(np.arctan2(sin_a, cos_a)) % 360, start + x0 * length
        shape = np.ravel(sp_anomaly(x_m, 1.0, depth, angle, x0, q=simulation.q))
        k = float(shape @ sp_mv / (shape @ shape))
        if k < 0:
            k, angle = -k, (angle + 180.0) % 360
        return np.clip([k, depth, angle, x0], simulation.lower, simulation.upper)


def _reseeded(optimizer: LevenbergMarquardt, seed) -> LevenbergMarquardt:
    return LevenbergMarquardt(n_starts=optimizer.n_starts, max_iter=optimizer.max_iter, damping=optimizer.damping,
                              fd_step=optimizer.fd_step, tol=optimizer.tol, random_state=seed)


def invert_line(
    soundings: pd.DataFrame,
    method: str,
    n_layers: int,
    map_fn: Callable[[Callable, Iterable], Iterable] = map,
    relative_error: float = 0.03,
    optimizer: LevenbergMarquardt | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    source: str = "line",
    **options,
) -> LineInversion:
    """Invert every station of a survey line; report the stations that cannot be inverted.

    Parameters
    ----------
    soundings : pandas.DataFrame
        All readings of the line (e.g. the concatenated output of
        :func:`geoprospect.io.surveys.read_ves`), ``sounding_id`` naming the station, with
        ``station_m`` or ``x_m``/``y_m`` giving its position.
    method : {"ves", "tem"}
    n_layers : int
    map_fn : callable, default builtins.map
        ``map_fn(function, items)`` returning the results in order: ``map``, an executor's
        ``map``, or a wrapper around a Dask / Prefect map. The function and items pickle.
    relative_error, optimizer, bounds
        As in :func:`invert_sounding`, for every station.
    source : str, default "line"
        File or catalog key named in errors and failures.
    **options
        ``rounds``, ``max_rms_percent``, ``noise_floor_t_per_s`` of :func:`invert_sounding`.

    A station without a position is still inverted (its model is in ``stations`` and
    ``soundings``) but not drawn on the section; a line of one station needs no position, and
    soundings without any position are each inverted (no section can be drawn from them).

    Returns
    -------
    LineInversion

    Raises
    ------
    InputError
        If the table has no ``sounding_id``.
    """
    if "sounding_id" not in soundings.columns:
        raise InputError(source, "no 'sounding_id' column", "name the station of every reading in a sounding_id column")
    positions = _station_positions(soundings, source)
    groups = {str(k): g for k, g in soundings.groupby(soundings["sounding_id"].astype(str), sort=False)}
    invert = functools.partial(_invert_or_report, method=method, n_layers=n_layers, relative_error=relative_error,
                               optimizer=optimizer, bounds=bounds, source=source, **options)
    outcomes = list(map_fn(invert, [groups[s] for s in positions["station"]]))
    inverted = {o.station: o for o in outcomes if isinstance(o, SoundingInversion)}
    failures = [o for o in outcomes if isinstance(o, dict)]
    failure_table = pd.DataFrame(failures, columns=["station", "problem", "fix"])
    failure_table.insert(1, "distance_m", failure_table["station"].map(positions.set_index("station")["distance_m"]))
    return LineInversion(method, n_layers, _station_table(positions, inverted, n_layers), inverted, failure_table)


def resistivity_section(line: LineInversion, depth_max_m: float, dz_m: float, dx_m: float | None = None,
                        mask_below_doi: bool = True) -> xr.DataArray:
    """Stitch the 1-D models of a line into a distance x depth section of log10 resistivity.

    Parameters
    ----------
    line : LineInversion
    depth_max_m : float
        Depth of the section's base, m.
    dz_m : float
        Cell height, m.
    dx_m : float, optional
        Column width, m; default the smallest gap between neighbouring stations (at most 2000
        columns). Columns are regular so that the section is a raster; the width is adjusted so
        that the first and last stations fall on column centres.
    mask_below_doi : bool, default True
        NaN below each station's depth of investigation (what its data cannot see).

    Returns
    -------
    xarray.DataArray
        ``log10_resistivity_ohm_m``, dims ``(depth_m, distance_m)`` at cell centres; each column
        takes the model of its nearest station (NaN where that station failed or its model does not
        fit its data). Coordinates along
        ``distance_m``: ``station`` (nearest station), ``x_m``, ``y_m`` (interpolated between
        stations). Attributes: ``method``, ``n_layers``, ``units``, the cell size ``dx_m``,
        ``dz_m`` and the stations as lists
        ``station_ids``, ``station_distance_m``, ``station_x_m``, ``station_y_m``,
        ``station_inverted`` (1 or 0), ``station_doi_m``.
    """
    if not (depth_max_m > 0 and 0 < dz_m <= depth_max_m):
        raise ValueError("need depth_max_m > 0 and 0 < dz_m <= depth_max_m")
    stations = line.stations.dropna(subset=["distance_m"])
    if stations.empty:
        raise ValueError("the line has no placed stations")
    distance = stations["distance_m"].to_numpy()
    span = distance[-1] - distance[0]
    if dx_m is None:
        gaps = np.diff(distance)
        gaps = gaps[gaps > 0]
        dx_m = max(gaps.min() if gaps.size else depth_max_m / 10, span / (_MAX_COLUMNS - 1))
    n_columns = round(span / dx_m) + 1
    dx_m = span / (n_columns - 1) if n_columns > 1 else dx_m  # the last station on a column centre
    columns_m = distance[0] + np.arange(n_columns) * dx_m
    depths_m = np.arange(dz_m / 2, depth_max_m, dz_m)
    nearest = np.abs(columns_m[:, None] - distance[None, :]).argmin(axis=1)

    profiles = np.full((len(stations), len(depths_m)), np.nan)  # log10 rho per station and depth
    for i, station in enumerate(stations["station"]):
        if station in line.soundings and line.soundings[station].fitted:
            model = line.soundings[station]
            layer = np.searchsorted(model.interface_depths_m, depths_m, side="right")
            profiles[i] = np.log10(model.resistivities_ohm_m[layer])
            if mask_below_doi:
                profiles[i, depths_m > model.doi_m] = np.nan
    known = stations["x_m"].notna().to_numpy()
    coords = {"depth_m": depths_m, "distance_m": columns_m, "station": ("distance_m", stations["station"].to_numpy()[nearest])}
    for axis in ("x_m", "y_m"):
        values = stations[axis].to_numpy()
        coords[axis] = ("distance_m", np.interp(columns_m, distance[known], values[known]) if known.any() else np.full(n_columns, np.nan))
    return xr.DataArray(
        profiles[nearest].T,
        dims=("depth_m", "distance_m"),
        coords=coords,
        name="log10_resistivity_ohm_m",
        attrs={
            "long_name": "log10 resistivity",
            "units": "log10(ohm m)",
            "method": line.method,
            "n_layers": line.n_layers,
            "dx_m": float(dx_m),
            "dz_m": float(dz_m),
            "station_ids": [str(s) for s in stations["station"]],
            "station_distance_m": distance.tolist(),
            "station_x_m": stations["x_m"].tolist(),
            "station_y_m": stations["y_m"].tolist(),
            "station_inverted": [int(s in line.soundings and line.soundings[s].fitted) for s in stations["station"]],
            "station_doi_m": [float(line.soundings[s].doi_m) if s in line.soundings else float("nan") for s in stations["station"]],
        },
    )


def sp_sources(
    profile: pd.DataFrame,
    q: float | str = 1.5,
    min_amplitude_mv: float | None = None,
    window_factor: float = 3.0,
    min_stations: int = 8,
    max_anomalies: int = 5,
    optimizer: LevenbergMarquardt | None = None,
    source: str = "profile",
    network: SPNetwork | None = None,
    rounds: int = 1,
) -> pd.DataFrame:
    """Find the anomalies of a self-potential profile and invert each for its source.

    Anomalies are taken strongest first: the largest extremum of the profile (smoothed over 5
    stations) above ``min_amplitude_mv`` opens a window of ``window_factor`` times its width at half
    maximum on either side (which takes in the opposite lobe of a polarised body), the window is
    inverted for ``(k, depth, angle, x0)`` (Kaftan et al. 2014) by Levenberg-Marquardt, and the
    fitted field is subtracted from the whole profile before the next extremum is sought outside the
    windows already used, so the overlapping tails of two bodies are not taken for a third. A last
    pass refits each window with the other bodies' fields removed (back-fitting). k > 0 and the
    angle over the whole turn leave one answer per anomaly of either sign. The profile should be
    referenced to its background (far field 0 mV).

    Parameters
    ----------
    profile : pandas.DataFrame
        ``station_m`` (strictly increasing within a profile), ``sp_mv``; optional ``profile_id``
        (several profiles are processed one by one), ``x_m``, ``y_m``.
    q : float or "auto", default 1.5
        Shape factor: 1.5 sphere, 1.0 horizontal cylinder, 0.5 vertical cylinder; ``"auto"`` fits
        each window with all three and keeps the lowest misfit (the unit of k then varies by row:
        the column is ``k`` with ``k_units``).
    min_amplitude_mv : float, optional
        Smallest |SP| of an anomaly's extremum; default 5 times the noise, estimated from the
        second differences of the profile.
    window_factor : float, default 3.0
        Half-width of a window in widths at half maximum.
    min_stations : int, default 8
        Windows with fewer stations are skipped (too narrow to constrain four parameters).
    max_anomalies : int, default 5
        At most this many anomalies per profile.
    optimizer : LevenbergMarquardt, optional
        Default ``LevenbergMarquardt(n_starts=16, random_state=0)``.
    source : str, default "profile"
        File or catalog key named in errors.
    network : SPNetwork, optional
        The network estimate beside LM, and the hybrid: LM from the network's estimate alone, kept
        if it fits to the noise (reduced chi-square within 3 standard deviations of 1); otherwise
        rounds of the optimizer's Latin-hypercube starts until two rounds agree (chi-square within
        2 %) or ``rounds`` is reached. Adds ``net_<parameter>``, ``net_rms_mv`` and
        ``net_chi2`` (the network's estimate alone and its fit).
    rounds : int, default 1
        At most this many rounds of starts (see ``network``; without it, new Latin-hypercube rounds).

    Returns
    -------
    pandas.DataFrame
        One row per anomaly: ``profile_id``, ``anomaly`` (1 = strongest), ``from_m``, ``to_m``,
        ``n_stations``, ``peak_m``, ``peak_mv``, then the parameters (``k_mv_m2`` or the name
        for ``q``, ``depth_m``, ``angle_deg``, ``x0_m``), ``x_m``, ``y_m`` (map position of x0 when
        the profile has coordinates, else NaN), ``noise_mv``, ``rms_mv`` (the window's misfit),
        ``rms_percent`` (relative to the window's RMS), ``chi2`` (for the estimated noise), the
        standard deviation of each parameter (``<name>_std``, from the Jacobian at the optimum:
        ``sqrt(diag((J^T J)^-1) max(chi2, 1))`` with J weighted by the noise), ``q`` and ``shape``.

    Raises
    ------
    InputError
        Missing column, NaN, stations not strictly increasing or too few stations.
    """
    optimizer = optimizer or LevenbergMarquardt(n_starts=16, random_state=0)
    if not (q == "auto" or q in SHAPE_FACTORS.values()):
        raise ValueError(f"q must be one of {sorted(SHAPE_FACTORS.values())} or 'auto', got {q!r}")
    profile_ids = profile["profile_id"].astype(str) if "profile_id" in profile.columns else pd.Series(source, index=profile.index)
    rows = []
    for profile_id, part in profile.groupby(profile_ids, sort=False):
        rows += _profile_sources(part, str(profile_id), q, min_amplitude_mv, window_factor, min_stations, max_anomalies,
                                 functools.partial(_invert_anomaly, optimizer=optimizer, network=network, rounds=rounds),
                                 f"{source} profile {profile_id}")
    names = ("k", "depth_m", "angle_deg", "x0_m") if q == "auto" else SPSimulation(np.arange(4.0), q=q).param_names
    columns = ["profile_id", "anomaly", "from_m", "to_m", "n_stations", "peak_m", "peak_mv", *names,
               *(["k_units"] if q == "auto" else []), "q", "shape", "x_m", "y_m", "noise_mv", "rms_mv", "rms_percent", "chi2",
               *(f"{n}_std" for n in names), "n_starts",
               *([f"net_{n}" for n in names] + ["net_rms_mv", "net_chi2"] if network is not None else [])]
    return pd.DataFrame(rows, columns=columns)


def sp_fitted_field(profile: pd.DataFrame, sources: pd.DataFrame) -> np.ndarray:
    """The summed field (mV) of a profile's fitted anomalies at its stations.

    Parameters
    ----------
    profile : pandas.DataFrame
        One profile (``station_m``).
    sources : pandas.DataFrame
        Its rows of :func:`sp_sources`.
    """
    x_m = profile["station_m"].to_numpy(dtype=float)
    total = np.zeros_like(x_m)
    for row in sources.itertuples(index=False):
        row = row._asdict()
        k = row["k"] if "k" in row else next(v for name, v in row.items() if name.startswith("k_mv") and not name.endswith("_std"))
        total += sp_anomaly(x_m, k, row["depth_m"], row["angle_deg"], row["x0_m"], q=row["q"])
    return total


# ----------------------------------------------------------------------------- soundings


def _invert_or_report(sounding: pd.DataFrame, **options) -> SoundingInversion | dict:
    """One station for ``map_fn``: bad input becomes a failure record instead of stopping the map."""
    try:
        return invert_sounding(sounding, **options)
    except InputError as exc:
        return {"station": _station_id(sounding), "problem": exc.problem, "fix": exc.fix}


def _station_id(sounding: pd.DataFrame) -> str:
    if "sounding_id" not in sounding.columns or sounding.empty:
        return "?"
    return str(sounding["sounding_id"].iloc[0])


def _columns(sounding: pd.DataFrame, names: list[str], where: str) -> list[np.ndarray]:
    """The named columns as float arrays; refuses missing columns, text and NaN."""
    arrays = []
    for name in names:
        if name not in sounding.columns:
            raise InputError(where, f"missing column {name!r}", f"add {name!r} to the survey table")
        values = pd.to_numeric(sounding[name], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):
            raise InputError(where, f"NaN or non-numeric values in {name!r} ({np.sum(~np.isfinite(values))} reading(s))",
                             "fill in or delete those readings")
        arrays.append(values)
    return arrays


def _enough(n_data: int, n_layers: int, what: str, where: str) -> None:
    n_params = 2 * n_layers - 1
    if n_data < n_params:
        raise InputError(where, f"{n_data} {what} for {n_layers} layers ({n_params} unknowns)",
                         f"invert with fewer layers or measure at least {n_params} {what}")


def _ves_readings(sounding: pd.DataFrame, n_layers: int, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """AB/2 (m), MN/2 (m), apparent resistivity (ohm-m) and its standard deviation (or None), file order."""
    ab2, rhoa = _columns(sounding, ["ab2_m", "rhoa_ohm_m"], where)
    error = _columns(sounding, ["rhoa_error_ohm_m"], where)[0] if "rhoa_error_ohm_m" in sounding.columns else None
    if error is not None and np.any(error <= 0):
        raise InputError(where, "non-positive rhoa_error_ohm_m", "give each reading's standard deviation (> 0)")
    mn2 = _columns(sounding, ["mn2_m"], where)[0] if "mn2_m" in sounding.columns else np.zeros_like(ab2)
    _enough(len(ab2), n_layers, "readings", where)
    if np.any(rhoa <= 0):
        raise InputError(where, "non-positive apparent resistivity", "remove those readings or correct their sign")
    if np.any(ab2 <= 0) or np.any(mn2 < 0) or np.any(mn2 >= ab2):
        raise InputError(where, "AB/2 not positive or MN/2 outside 0 <= MN/2 < AB/2", "correct the electrode spacings")
    same_segment = np.diff(mn2) == 0
    if np.any(same_segment & (np.diff(ab2) <= 0)):
        raise InputError(where, "AB/2 not strictly increasing within an MN/2 segment (unsorted or repeated spacings)",
                         "list each MN/2 segment in increasing AB/2, each spacing once")
    return ab2, mn2, rhoa, error


def _tem_gates(sounding: pd.DataFrame, n_layers: int, noise_floor: float, where: str) -> tuple[pd.DataFrame, dict]:
    """Every gate with its quality flag, and the loop, current and ramp of a valid sounding.

    Returns the gate table (``time_s``, ``dbzdt_t_per_s``, ``abs_dbzdt_t_per_s``, optional
    ``error_t_per_s``, ``used``, ``flag``) and the :class:`TEMSimulation` keywords.
    """
    times, dbzdt, current = _columns(sounding, ["time_s", "dbzdt_t_per_s", "current_a"], where)
    if np.any(times <= 0) or np.any(np.diff(times) <= 0):
        raise InputError(where, "gate times not positive and strictly increasing", "list the gates in increasing time, each once")
    if "loop_radius_m" in sounding.columns:
        loop = _columns(sounding, ["loop_radius_m"], where)
        geometry = {"loop_radius_m": float(loop[0][0])}
    elif {"loop_side_x_m", "loop_side_y_m"} <= set(sounding.columns):
        loop = _columns(sounding, ["loop_side_x_m", "loop_side_y_m"], where)
        geometry = {"loop_radius_m": None, "loop_sides_m": (float(loop[0][0]), float(loop[1][0]))}
    else:
        raise InputError(where, "no loop size (loop_radius_m or loop_side_x_m/loop_side_y_m)",
                         "give the transmitter loop's radius or sides")
    ramp = _columns(sounding, ["ramp_s"], where)[0] if "ramp_s" in sounding.columns else np.zeros(1)
    for values, what in ((current, "current_a"), *((v, "loop size") for v in loop), (ramp, "ramp_s")):
        if np.any(values < 0) or (what != "ramp_s" and np.any(values == 0)) or np.ptp(values) > 0:
            raise InputError(where, f"{what} not positive or not constant", f"give the sounding one positive {what}")
    geometry |= {"current_a": float(current[0]), "ramp_s": float(ramp[0])} | _receiver(sounding, geometry, where)

    gates = pd.DataFrame({"time_s": times, "dbzdt_t_per_s": dbzdt, "abs_dbzdt_t_per_s": np.abs(dbzdt), "flag": "ok"})
    if "dbzdt_error_t_per_s" in sounding.columns:
        gates["error_t_per_s"] = _columns(sounding, ["dbzdt_error_t_per_s"], where)[0]
    # A decay keeps the sign of its strongest (early) gates; zeros and reversals (IP, noise) cannot be fitted.
    sign = np.sign(dbzdt[np.argmax(np.abs(dbzdt))]) or -1.0
    gates.loc[np.sign(dbzdt) != sign, "flag"] = "reversed sign"
    # Saturated: the leading gates that do not decay (clipped at the receiver's range).
    value = gates["abs_dbzdt_t_per_s"].to_numpy()
    first = 0
    while first + 1 < len(value) and value[first] <= value[first + 1] * (1 + 1e-3):
        first += 1
    if first:
        gates.loc[: first - 1 if value[first] < value[first - 1] * (1 - 1e-3) else first, "flag"] = "saturated"
    noisy = value < noise_floor
    if "error_t_per_s" in gates:
        noisy |= value < gates["error_t_per_s"].to_numpy()
    gates.loc[noisy & (gates["flag"] == "ok").to_numpy(), "flag"] = "below noise"
    gates["used"] = gates["flag"] == "ok"
    n_used, n_params = int(gates["used"].sum()), 2 * n_layers - 1
    if n_used < n_params:
        dropped = gates.loc[~gates["used"], "flag"].value_counts().to_dict()
        raise InputError(where, f"{n_used} usable gates of {len(gates)} for {n_layers} layers ({n_params} unknowns); "
                                f"dropped: {dropped}", f"invert with fewer layers or measure at least {n_params} clean gates")
    return gates, geometry


def _receiver(sounding: pd.DataFrame, geometry: dict, where: str) -> dict:
    """The receiver keywords of :class:`TEMSimulation` for the sounding's ``configuration``.

    A coincident or offset sounding is modelled as what it is, never as a central loop: a single
    loop sees the mean field over its area, not the field at its centre (taken for one, a 47 m
    interface moves to 49 m and a 100 ohm m layer becomes 414 ohm m).
    """
    configuration = str(sounding["configuration"].iloc[0]).strip().lower() if "configuration" in sounding.columns else "central"
    sides = geometry.get("loop_sides_m")
    if configuration == "central":
        if sides is None or "rx_loop_side_m" not in sounding.columns:
            return {}  # a small coil at the centre
        rx_side = float(_columns(sounding, ["rx_loop_side_m"], where)[0][0])
        if not 0 < rx_side <= min(sides):
            raise InputError(where, f"receiver loop side {rx_side:g} m not inside the {sides[0]:g} m x {sides[1]:g} m loop",
                             "give rx_loop_side_m between 0 and the transmitter loop's shorter side")
        return {"receiver_sides_m": (rx_side, rx_side)}
    if configuration not in ("coincident", "offset"):
        raise InputError(where, f"unknown configuration {configuration!r}", "use central, coincident or offset")
    if sides is None:
        raise InputError(where, f"a {configuration}-loop sounding with a circular loop (loop_radius_m) is not modelled",
                         "give the loop's sides (loop_side_m, or loop_side_x_m and loop_side_y_m)")
    if configuration == "coincident":
        return {"receiver_sides_m": sides}
    if not {"rx_offset_x_m", "rx_offset_y_m"} <= set(sounding.columns):
        raise InputError(where, "an offset-loop sounding without the receiver's position",
                         "give rx_offset_x_m and rx_offset_y_m (m from the loop's centre, along its sides)")
    offset = [float(v[0]) for v in _columns(sounding, ["rx_offset_x_m", "rx_offset_y_m"], where)]
    if not all(abs(o) < side / 2 for o, side in zip(offset, sides)):
        raise InputError(where, f"the receiver at {offset} m lies outside the {sides[0]:g} m x {sides[1]:g} m loop",
                         "only in-loop receivers are modelled; check rx_offset_x_m/rx_offset_y_m")
    return {"receiver_m": tuple(offset)}


def _station_positions(soundings: pd.DataFrame, source: str) -> pd.DataFrame:
    """One row per station (first-seen order, then sorted by distance): station, distance_m, x_m, y_m.

    ``station_m`` is the distance itself; otherwise x/y are projected onto the line's principal
    axis (oriented from the first listed station to the last), the distance of a straight line.
    """
    first = soundings.groupby(soundings["sounding_id"].astype(str), sort=False).first()
    table = pd.DataFrame({"station": first.index.astype(str)})
    for axis in ("x_m", "y_m"):
        table[axis] = pd.to_numeric(first[axis], errors="coerce").to_numpy() if axis in first.columns else np.nan
    if "station_m" in first.columns:
        table["distance_m"] = pd.to_numeric(first["station_m"], errors="coerce").to_numpy()
    elif {"x_m", "y_m"} <= set(first.columns):
        xy = table[["x_m", "y_m"]].to_numpy()
        placed = np.isfinite(xy).all(axis=1)
        table["distance_m"] = np.nan
        if placed.any():
            centred = xy[placed] - xy[placed].mean(axis=0)
            axis = np.linalg.svd(centred, full_matrices=False)[2][0] if placed.sum() > 1 else np.array([1.0, 0.0])
            if np.dot(centred[-1] - centred[0], axis) < 0:
                axis = -axis
            along = centred @ axis
            table.loc[placed, "distance_m"] = along - along.min()
    elif len(table) == 1:
        table["distance_m"] = 0.0  # one sounding: a line of one point needs no position
    else:  # separate soundings (one file each, no coordinates): inverted one by one, no section drawn
        table["distance_m"] = np.nan
    table = table[["station", "distance_m", "x_m", "y_m"]].astype({"x_m": float, "y_m": float})
    return table.sort_values("distance_m", kind="stable", na_position="last").reset_index(drop=True)


def _station_table(positions: pd.DataFrame, inverted: dict[str, SoundingInversion], n_layers: int) -> pd.DataFrame:
    names = [f"rho_{i}_ohm_m" for i in range(1, n_layers + 1)] + [f"h_{i}_m" for i in range(1, n_layers)]
    flags = ["saturated", "reversed sign", "below noise"]
    rows = []
    for station in positions["station"]:
        model = inverted.get(station)
        if model is None:
            rows.append({"status": "failed", "n_data": 0, "rms_percent": np.nan, "chi2": np.nan, **dict.fromkeys(names, np.nan)})
        else:
            values = np.r_[model.resistivities_ohm_m, model.thicknesses_m]
            counts = model.gates["flag"].value_counts() if model.gates is not None else pd.Series(dtype=int)
            status = "fitted" if model.fitted else "not fitted"
            rows.append({"status": status if np.isfinite(positions.set_index("station").at[station, "distance_m"]) else f"{status}, no position",
                         "n_data": len(model.observed), "n_dropped": int(sum(counts.get(f, 0) for f in flags)),
                         **{f"n_{f.replace(' ', '_')}": int(counts.get(f, 0)) for f in flags},
                         "rms_percent": model.rms_percent, "chi2": model.chi2, "n_starts": model.n_starts, "doi_m": model.doi_m,
                         "at_bound": ";".join(model.at_bound), **dict(zip(names, values))})
    return pd.concat([positions, pd.DataFrame(rows, index=positions.index)], axis=1)


# ----------------------------------------------------------------------------- self-potential


def sp_noise_mv(sp_mv: np.ndarray) -> float:
    """Robust noise standard deviation, mV: MAD of second differences (variance 6 sigma^2 for white noise)."""
    second = np.diff(sp_mv, 2)
    return float(1.4826 * np.median(np.abs(second - np.median(second))) / np.sqrt(6.0))


def _half_max_span(smooth: np.ndarray, peak: int) -> tuple[int, int]:
    """Indices where |SP| falls below half the peak (or changes sign) on either side of ``peak``."""
    level, sign = abs(smooth[peak]) / 2, np.sign(smooth[peak])
    inside = sign * smooth > level
    left, right = peak, peak
    while left > 0 and inside[left - 1]:
        left -= 1
    while right < len(smooth) - 1 and inside[right + 1]:
        right += 1
    return left, right


def _profile_sources(part: pd.DataFrame, profile_id: str, q: float, min_amplitude_mv: float | None, window_factor: float,
                     min_stations: int, max_anomalies: int, invert: Callable, where: str) -> list[dict]:
    x_m, sp_mv = _columns(part, ["station_m", "sp_mv"], where)
    if len(x_m) < min_stations:
        raise InputError(where, f"{len(x_m)} stations, fewer than {min_stations}", "measure a longer profile")
    if np.any(np.diff(x_m) <= 0):
        raise InputError(where, "station_m not strictly increasing", "sort the stations along the profile, each once")
    has_xy = {"x_m", "y_m"} <= set(part.columns)
    map_x, map_y = (_columns(part, ["x_m", "y_m"], where) if has_xy else (None, None))
    noise_mv = max(sp_noise_mv(sp_mv), 1e-6 * np.abs(sp_mv).max())  # floor: clean synthetic profiles
    threshold = 5.0 * noise_mv if min_amplitude_mv is None else float(min_amplitude_mv)
    # Strongest anomaly first; its fitted field is then stripped from the whole profile, so the
    # overlapping tails of two bodies are not taken for a third anomaly.
    residual_mv = sp_mv.copy()
    windows: list[tuple[float, float]] = []
    found: list[tuple[int, np.ndarray, np.ndarray]] = []  # (peak index, stations inside, fitted field mV)
    while len(found) < max_anomalies:
        smooth = uniform_filter1d(residual_mv, size=5, mode="nearest")
        peaks = np.r_[find_peaks(smooth)[0], find_peaks(-smooth)[0], 0, len(smooth) - 1]
        peaks = [p for p in peaks if abs(smooth[p]) >= threshold and not any(lo <= x_m[p] <= hi for lo, hi in windows)]
        if not peaks:
            break
        peak = max(peaks, key=lambda p: abs(smooth[p]))
        left, right = _half_max_span(smooth, peak)
        width_m = max(x_m[right] - x_m[left], 2 * np.median(np.diff(x_m)))
        lo, hi = x_m[peak] - window_factor * width_m, x_m[peak] + window_factor * width_m
        windows.append((lo, hi))
        inside = (x_m >= lo) & (x_m <= hi)
        if inside.sum() < min_stations:
            continue  # too narrow to constrain four parameters: a spike, not a body
        fit = invert(x_m[inside], residual_mv[inside], q, noise_mv)
        field_mv = _field(x_m, fit)
        residual_mv = residual_mv - field_mv
        found.append((peak, inside, field_mv))
    # One back-fitting pass: each window refitted with the other bodies' fields removed, so the
    # first fits no longer carry the tails of the bodies found after them.
    fields = [field for _, _, field in found]
    rows = []
    for i, (peak, inside, _) in enumerate(found):
        others_mv = sum((f for j, f in enumerate(fields) if j != i), np.zeros_like(sp_mv))
        fit = invert(x_m[inside], (sp_mv - others_mv)[inside], q, noise_mv)
        fields[i] = _field(x_m, fit)
        rows.append(fit | {"profile_id": profile_id, "from_m": x_m[inside][0], "to_m": x_m[inside][-1],
                           "n_stations": int(inside.sum()), "peak_m": x_m[peak], "peak_mv": sp_mv[peak]})
    for number, row in enumerate(rows, start=1):
        row["anomaly"] = number
        located = has_xy and np.isfinite(row["x0_m"])
        row["x_m"] = float(np.interp(row["x0_m"], x_m, map_x)) if located else np.nan
        row["y_m"] = float(np.interp(row["x0_m"], x_m, map_y)) if located else np.nan
    return rows


def _field(x_m: np.ndarray, fit: dict) -> np.ndarray:
    return sp_anomaly(x_m, fit["_k"], fit["depth_m"], fit["angle_deg"], fit["x0_m"], q=fit["q"])


def _invert_anomaly(x_m: np.ndarray, sp_mv: np.ndarray, q: float | str, noise_mv: float, optimizer: LevenbergMarquardt,
                    network: SPNetwork | None, rounds: int) -> dict:
    """Fit one window (each shape factor when ``q == "auto"``, keeping the lowest misfit)."""
    fits = [_invert_anomaly_q(x_m, sp_mv, shape_q, noise_mv, optimizer, q == "auto", network, rounds)
            for shape_q in (SHAPE_FACTORS.values() if q == "auto" else [q])]
    return min(fits, key=lambda fit: fit["chi2"])


def _invert_anomaly_q(x_m: np.ndarray, sp_mv: np.ndarray, q: float, noise_mv: float, optimizer: LevenbergMarquardt,
                      generic: bool, network: SPNetwork | None, rounds: int) -> dict:
    """Fit one window: k > 0 up to what the amplitude allows at the window's length, angle 0-360 deg."""
    length_m = float(np.ptp(x_m))
    names = SPSimulation(x_m, q=q).param_names
    # |V| <= k / h^(2q-1) at the body, so k = |V|max h^(2q-1) with h up to the window length, x10 spare.
    k_max = 10.0 * np.abs(sp_mv).max() * length_m ** (2 * q - 1)
    simulation = SPSimulation(x_m, q=q, bounds={names[0]: (k_max * 1e-6, k_max), "angle_deg": (0.0, 360.0)})
    misfit = DataMisfit(simulation, sp_mv, noise_mv)
    estimate = None if network is None else network(simulation, sp_mv)
    result, n_starts = _multistart(misfit, optimizer, rounds) if estimate is None else _hybrid(misfit, optimizer, rounds, estimate)
    # Jacobian of the weighted residuals at the optimum (central differences, relative step).
    step = 1e-4 * np.maximum(np.abs(result.model), simulation.upper - simulation.lower)
    trial = np.vstack([result.model + np.diag(step), result.model - np.diag(step)])
    weighted = misfit.residual(trial)
    jacobian = (weighted[: len(step)] - weighted[len(step):]).T / (2 * step)
    try:
        covariance = np.linalg.inv(jacobian.T @ jacobian) * max(result.misfit, 1.0)
        std = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    except np.linalg.LinAlgError:
        std = np.full(len(names), np.inf)  # a direction the window does not constrain
    out_names = ("k", *names[1:]) if generic else names
    shape = next(name for name, value in SHAPE_FACTORS.items() if value == q)
    beside = {}
    if estimate is not None:
        net_mv = simulation.predict(estimate[None, :])[0]
        beside = {**{f"net_{n}": v for n, v in zip(out_names, estimate)}, "net_rms_mv": float(np.sqrt(np.mean((net_mv - sp_mv) ** 2))),
                  "net_chi2": float(misfit(estimate[None, :])[0])}
    return {**dict(zip(out_names, result.model)), **{f"{n}_std": v for n, v in zip(out_names, std)}, "n_starts": n_starts, **beside,
            **({"k_units": names[0].replace("k_", "")} if generic else {}), "_k": float(result.model[0]),
            "q": q, "shape": shape, "noise_mv": noise_mv,
            "rms_mv": float(np.sqrt(np.mean((result.predicted - sp_mv) ** 2))), "rms_percent": result.rms_percent,
            "chi2": result.misfit}
