"""Simulations: map a batch of model vectors to predicted data, one small class per method.

SimPEG separates the survey and forward physics (a *simulation*) from the data misfit, the
optimiser and the inversion that composes them (Cockett et al. 2015, Computers & Geosciences 85,
142-154). These classes are the simulation part for the parametric 1-D problems of this project:
each holds the survey geometry, defines the model vector (its parameter names with units and its
bounds) and predicts the data of many models in one vectorised call, batch axis first.

Every simulation exposes

- ``n_params``, ``param_names`` (names carry units), ``lower`` and ``upper``: bounds in model space;
- ``predict(models)``: models of shape (batch, n_params) -> data of shape (batch, n_data);
- ``to_physical(models)``: a dict of physical parameter arrays, each of shape (batch,);
- ``rms_percent(predicted, observed)``: the data fit as a percentage, for reports.

Bounds are given in physical units (``bounds={"depth_m": (5, 80)}``) and override the defaults
parameter by parameter; for the layered-earth methods the model space is log10 of the physical
parameters, so the optimisers see resistivities and thicknesses on a scale where a step means a
ratio.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike

from geoprospect.geophysics.sp import sp_anomaly
from geoprospect.geophysics.tem import central_loop_step_off, rectangular_loop_step_off
from geoprospect.geophysics.ves import schlumberger_rhoa


class _Simulation:
    """Bounds, parameter names and the model <-> physical mapping shared by the simulations.

    Subclasses set ``param_names``, ``_log_params`` (bool per parameter: model value is log10 of the
    physical one) and call :meth:`_set_bounds` with their physical defaults.
    """

    param_names: tuple[str, ...]
    _log_params: np.ndarray

    @property
    def n_params(self) -> int:
        """Number of model parameters."""
        return len(self.param_names)

    def _set_bounds(self, defaults: dict[str, tuple[float, float]], bounds: Mapping[str, tuple[float, float]] | None) -> None:
        """Set ``lower``/``upper`` (model space) from physical defaults overridden by ``bounds``."""
        chosen = dict(defaults)
        for name, pair in (bounds or {}).items():
            if name not in chosen:
                raise ValueError(f"unknown parameter {name!r} in bounds; expected one of {self.param_names}")
            chosen[name] = pair
        physical = np.array([chosen[name] for name in self.param_names], dtype=float)  # (n_params, 2)
        if np.any(physical[:, 0] >= physical[:, 1]):
            raise ValueError("each bound must be (low, high) with low < high")
        if np.any(physical[self._log_params] <= 0):
            raise ValueError("bounds of resistivities and thicknesses must be positive")
        physical[self._log_params] = np.log10(physical[self._log_params])
        self.lower, self.upper = physical[:, 0], physical[:, 1]

    def _physical_matrix(self, models: ArrayLike) -> np.ndarray:
        """Physical parameters, shape (batch, n_params), from model vectors (batch, n_params)."""
        models = np.atleast_2d(np.asarray(models, dtype=float))
        if models.shape[1] != self.n_params:
            raise ValueError(f"models need {self.n_params} columns ({', '.join(self.param_names)}), got {models.shape[1]}")
        physical = models.copy()
        physical[:, self._log_params] = 10.0 ** models[:, self._log_params]
        return physical

    def to_physical(self, models: ArrayLike) -> dict[str, np.ndarray]:
        """Physical parameters by name.

        Parameters
        ----------
        models : array_like, shape (batch, n_params)
            Model vectors.

        Returns
        -------
        dict of str to numpy.ndarray
            One array of shape (batch,) per name in ``param_names``, in physical units.
        """
        physical = self._physical_matrix(models)
        return {name: physical[:, i] for i, name in enumerate(self.param_names)}

    def rms_percent(self, predicted: ArrayLike, observed: ArrayLike) -> np.ndarray:
        """RMS relative difference of the physical data (the log10 data undone), percent.

        Parameters
        ----------
        predicted, observed : array_like, shape (batch, n_data) or (n_data,)
            log10 data as ``predict`` returns them.

        Returns
        -------
        numpy.ndarray
            Shape (batch,), or a 0-d array for 1-D input.
        """
        ratio = 10.0 ** (np.asarray(predicted, dtype=float) - np.asarray(observed, dtype=float))
        return 100.0 * np.sqrt(np.mean((ratio - 1.0) ** 2, axis=-1))


class SPSimulation(_Simulation):
    """Self-potential anomaly of a polarised sphere or cylinder along a profile.

    Model vector ``[k, depth_m, angle_deg, x0_m]`` in linear units; data: SP in mV at the stations
    (:func:`geoprospect.geophysics.sp.sp_anomaly`, after Kaftan et al. 2014).

    The data are unchanged by ``(angle + 180 deg, -k)``, so the default bounds keep k positive and
    the angle inside the half turn 180..360 deg; the inversion then has one answer.

    Parameters
    ----------
    x_m : array_like, shape (n_stations,)
        Station positions along the profile, m.
    q : float, default 1.5
        Shape factor: 1.5 sphere, 1.0 horizontal cylinder, 0.5 vertical cylinder. It sets the unit of
        k, mV m^(2q - 1), and so its name (``k_mv_m2`` for a sphere).
    bounds : dict of str to (float, float), optional
        Physical (low, high) per parameter name, overriding the defaults: k 1 to 1e6, depth 0.5 m to
        the profile length, angle 180 to 360 deg, x0 over the profile.

    Attributes
    ----------
    param_names : tuple of str
    lower, upper : numpy.ndarray, shape (4,)
        Bounds in model space (here the physical units).
    """

    def __init__(self, x_m: ArrayLike, q: float = 1.5, bounds: Mapping[str, tuple[float, float]] | None = None):
        self.x_m = np.asarray(x_m, dtype=float)
        if self.x_m.ndim != 1 or len(self.x_m) < 4:
            raise ValueError("x_m needs at least 4 stations (one per parameter)")
        self.q = float(q)
        exponent = 2 * self.q - 1
        k_name = "k_mv" if exponent == 0 else "k_mv_m" if exponent == 1 else f"k_mv_m{exponent:g}"
        self.param_names = (k_name, "depth_m", "angle_deg", "x0_m")
        self._log_params = np.zeros(4, dtype=bool)
        length = float(np.ptp(self.x_m))
        defaults = {
            k_name: (1.0, 1e6),
            "depth_m": (0.5, length),
            "angle_deg": (180.0, 360.0),
            "x0_m": (float(self.x_m.min()), float(self.x_m.max())),
        }
        self._set_bounds(defaults, bounds)

    def predict(self, models: ArrayLike) -> np.ndarray:
        """SP in mV, shape (batch, n_stations), for models of shape (batch, 4)."""
        k, depth, angle, x0 = self._physical_matrix(models).T
        return sp_anomaly(self.x_m, k, depth, angle, x0, q=self.q)

    def rms_percent(self, predicted: ArrayLike, observed: ArrayLike) -> np.ndarray:
        """RMS difference over the RMS of the observed profile, percent.

        SP data cross zero, so a point-by-point relative error is undefined; the profile's RMS
        amplitude is the scale instead.
        """
        predicted, observed = np.asarray(predicted, dtype=float), np.asarray(observed, dtype=float)
        return 100.0 * np.sqrt(np.mean((predicted - observed) ** 2, axis=-1) / np.mean(observed**2, axis=-1))


def _layer_names(n_layers: int) -> tuple[str, ...]:
    if n_layers < 1:
        raise ValueError("n_layers must be at least 1")
    return tuple(f"rho_{i}_ohm_m" for i in range(1, n_layers + 1)) + tuple(f"h_{i}_m" for i in range(1, n_layers))


class VESSimulation(_Simulation):
    """Schlumberger sounding over an n-layer earth: log10 apparent resistivity per reading.

    Model vector: log10 of ``[rho_1 .. rho_n (ohm-m), h_1 .. h_{n-1} (m)]``; data: log10 of the
    apparent resistivity (ohm-m) at each AB/2 with that reading's own MN/2
    (:func:`geoprospect.geophysics.ves.schlumberger_rhoa`). Fitting log10 rho_a weighs every
    spacing by its relative error, as a sounding's errors are.

    Parameters
    ----------
    ab2_m : array_like, shape (n_data,)
        Half current-electrode spacings, m.
    mn2_m : float or array_like, shape (n_data,), optional
        Half potential-electrode spacings per reading, m; ``None`` or 0 for the ideal Schlumberger
        limit.
    n_layers : int, default 3
    bounds : dict of str to (float, float), optional
        Physical (low, high) per parameter name, overriding the defaults: resistivities 1 to 1e4
        ohm-m, thicknesses from min(AB/2) / 2 to max(AB/2).
    """

    def __init__(
        self,
        ab2_m: ArrayLike,
        mn2_m: ArrayLike | None = None,
        n_layers: int = 3,
        bounds: Mapping[str, tuple[float, float]] | None = None,
    ):
        self.ab2_m = np.asarray(ab2_m, dtype=float)
        self.mn2_m = None if mn2_m is None else np.broadcast_to(np.asarray(mn2_m, dtype=float), self.ab2_m.shape)
        self.n_layers = int(n_layers)
        self.param_names = _layer_names(self.n_layers)
        if len(self.ab2_m) < self.n_params:
            raise ValueError(f"{len(self.ab2_m)} readings cannot resolve {self.n_params} parameters of {self.n_layers} layers")
        self._log_params = np.ones(self.n_params, dtype=bool)
        defaults = {name: (1.0, 1e4) for name in self.param_names[: self.n_layers]}
        defaults |= {name: (float(self.ab2_m.min()) / 2, float(self.ab2_m.max())) for name in self.param_names[self.n_layers :]}
        self._set_bounds(defaults, bounds)

    def predict(self, models: ArrayLike) -> np.ndarray:
        """log10 apparent resistivity (ohm-m), shape (batch, n_data)."""
        physical = self._physical_matrix(models)
        rhoa = schlumberger_rhoa(self.ab2_m, physical[:, : self.n_layers], physical[:, self.n_layers :], self.mn2_m)
        return np.log10(rhoa)


class TEMSimulation(_Simulation):
    """Loop TEM over an n-layer earth: log10 of |dB_z/dt| or |H_z| after switch-off.

    Central loop by default; with ``loop_sides_m`` also an in-loop offset receiver or a receiver
    loop (the coincident single loop).

    Model vector: log10 of ``[rho_1 .. rho_n (ohm-m), h_1 .. h_{n-1} (m)]``; data: log10 |dB_z/dt|
    (T/s) or log10 |H_z| (A/m) at the loop centre
    (:func:`geoprospect.geophysics.tem.central_loop_step_off`), the log spreading the decades of
    a transient evenly, as in Li et al. (2019, Nonlinear Processes in Geophysics 26, 445-456).

    Parameters
    ----------
    times_s : array_like, shape (n_data,)
        Times after switch-off, s.
    loop_radius_m : float or None
        Radius of a circular loop; ``None`` with ``loop_sides_m``.
    current_a : float
    n_layers : int, default 3
    quantity : {"dbzdt", "hz"}, default "dbzdt"
    bounds : dict of str to (float, float), optional
        Physical (low, high) per parameter name, overriding the defaults: resistivities 1 to 1e4
        ohm-m, thicknesses 1 to 2000 m.
    ramp_s : float, default 0
        Duration of a linear turn-off ramp, s; 0 is the ideal step-off. Times count from the end of
        the ramp (a 1 us ramp changes |dB_z/dt| at 10 us by about 4 %).
    loop_sides_m : (float, float), optional
        Sides of a rectangular (or square) transmitter loop, m, with the receiver at its centre
        (:func:`geoprospect.geophysics.tem.rectangular_loop_step_off`), instead of a circle.
    receiver_m : (float, float), default (0, 0)
        With ``loop_sides_m``: an in-loop receiver's position (or a receiver loop's centre), m,
        relative to the loop's centre.
    receiver_sides_m : (float, float), optional
        With ``loop_sides_m``: sides of a receiver loop, m; the data are then the mean dB_z/dt
        over its area. The coincident (single) loop is ``receiver_sides_m=loop_sides_m``.
    """

    def __init__(
        self,
        times_s: ArrayLike,
        loop_radius_m: float,
        current_a: float,
        n_layers: int = 3,
        quantity: str = "dbzdt",
        bounds: Mapping[str, tuple[float, float]] | None = None,
        ramp_s: float = 0.0,
        loop_sides_m: tuple[float, float] | None = None,
        receiver_m: tuple[float, float] = (0.0, 0.0),
        receiver_sides_m: tuple[float, float] | None = None,
    ):
        if (loop_radius_m is None) == (loop_sides_m is None):
            raise ValueError("give either loop_radius_m (circle) or loop_sides_m (rectangle)")
        self.receiver_m = (float(receiver_m[0]), float(receiver_m[1]))
        self.receiver_sides_m = None if receiver_sides_m is None else (float(receiver_sides_m[0]), float(receiver_sides_m[1]))
        if loop_sides_m is None and (self.receiver_m != (0.0, 0.0) or self.receiver_sides_m is not None):
            raise ValueError("an offset receiver or a receiver loop needs the transmitter's loop_sides_m")
        self.loop_sides_m = None if loop_sides_m is None else (float(loop_sides_m[0]), float(loop_sides_m[1]))
        if quantity not in ("dbzdt", "hz"):
            raise ValueError("quantity must be 'dbzdt' or 'hz'")
        if not np.isfinite(ramp_s) or ramp_s < 0:
            raise ValueError(f"ramp_s must be a finite duration >= 0 s, got {ramp_s!r}")
        self.ramp_s = float(ramp_s)
        self.times_s = np.asarray(times_s, dtype=float)
        self.loop_radius_m = None if loop_radius_m is None else float(loop_radius_m)
        self.current_a = float(current_a)
        self.n_layers = int(n_layers)
        self.quantity = quantity
        self.param_names = _layer_names(self.n_layers)
        if len(self.times_s) < self.n_params:
            raise ValueError(f"{len(self.times_s)} times cannot resolve {self.n_params} parameters of {self.n_layers} layers")
        self._log_params = np.ones(self.n_params, dtype=bool)
        defaults = {name: (1.0, 1e4) for name in self.param_names[: self.n_layers]}
        defaults |= {name: (1.0, 2000.0) for name in self.param_names[self.n_layers :]}
        self._set_bounds(defaults, bounds)

    def predict(self, models: ArrayLike) -> np.ndarray:
        """log10 |dB_z/dt| (T/s) or log10 |H_z| (A/m) after switch-off, shape (batch, n_data)."""
        physical = self._physical_matrix(models)
        earth = (self.times_s, physical[:, : self.n_layers], physical[:, self.n_layers :])
        if self.loop_sides_m is None:
            response = central_loop_step_off(*earth, self.loop_radius_m, self.current_a, ramp_s=self.ramp_s)
        else:
            response = rectangular_loop_step_off(*earth, *self.loop_sides_m, self.current_a, ramp_s=self.ramp_s,
                                                 receiver_m=self.receiver_m, receiver_sides_m=self.receiver_sides_m)
        values = response.dbzdt_t_per_s if self.quantity == "dbzdt" else response.hz_a_per_m
        return np.log10(np.abs(values))
