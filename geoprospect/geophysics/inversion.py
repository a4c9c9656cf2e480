"""Inversion: a data misfit and an optimiser composed, as in SimPEG's ``BaseInversion``.

The misfit brings the simulation (and through it the model's bounds and parameter names) and the
observed data; the optimiser brings the search. :class:`Inversion` runs one against the other and
packs the answer, so Levenberg-Marquardt, particle swarm, chaotic swarm and bargain optimisation are
all used, timed and reported the same way::

    simulation = VESSimulation(ab2_m, mn2_m, n_layers=3)
    misfit = DataMisfit(simulation, np.log10(rhoa_ohm_m), standard_deviation=0.02)
    result = Inversion(misfit, LevenbergMarquardt(random_state=0)).run()
    result.physical["rho_2_ohm_m"], result.rms_percent
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from geoprospect.geophysics.misfit import DataMisfit
from geoprospect.geophysics.optimize import OptimizeResult


@dataclass(frozen=True)
class InversionResult:
    """The recovered model and how well it fits.

    Attributes
    ----------
    model : numpy.ndarray, shape (n_params,)
        Best model vector (model space of the simulation, e.g. log10 values for layered earths).
    physical : dict of str to float
        The same model in physical units, keyed by the simulation's ``param_names``.
    predicted : numpy.ndarray, shape (n_data,)
        Data the model predicts, in the simulation's data space.
    misfit : float
        Reduced chi-square of the fit (about 1 when fitting to the noise level).
    rms_percent : float
        RMS data difference in percent, as the simulation defines it (relative for resistivity
        and TEM data, relative to the profile's RMS for SP).
    elapsed_s : float
        Wall time of the optimisation, s.
    optimization : OptimizeResult
        The optimiser's own result (number of evaluations, convergence history).
    """

    model: np.ndarray
    physical: dict[str, float]
    predicted: np.ndarray
    misfit: float
    rms_percent: float
    elapsed_s: float
    optimization: OptimizeResult


class Inversion:
    """Minimise a data misfit with an optimiser inside the simulation's bounds.

    Parameters
    ----------
    misfit : DataMisfit
        Holds the simulation (``lower``, ``upper``, ``predict``, ``to_physical``) and the data.
    optimizer : object
        Has ``minimize(function, lower, upper, x0=None) -> OptimizeResult``. Optimisers with a true
        ``needs_residual`` attribute (least squares) get ``misfit.residual``; the others get the
        misfit itself.
    x0 : array_like, shape (n_params,), optional
        Starting model handed to the optimiser.
    """

    def __init__(self, misfit: DataMisfit, optimizer, x0: ArrayLike | None = None):
        self.misfit = misfit
        self.optimizer = optimizer
        self.x0 = x0

    def run(self) -> InversionResult:
        """Run the optimiser and evaluate the best model.

        Returns
        -------
        InversionResult
        """
        simulation = self.misfit.simulation
        function = self.misfit.residual if getattr(self.optimizer, "needs_residual", False) else self.misfit
        start = time.perf_counter()
        outcome = self.optimizer.minimize(function, simulation.lower, simulation.upper, x0=self.x0)
        elapsed_s = time.perf_counter() - start
        model = np.asarray(outcome.x, dtype=float)
        predicted = simulation.predict(model[None, :])[0]
        return InversionResult(
            model=model,
            physical={name: float(values[0]) for name, values in simulation.to_physical(model[None, :]).items()},
            predicted=predicted,
            misfit=float(self.misfit(model[None, :])[0]),
            rms_percent=float(simulation.rms_percent(predicted, self.misfit.observed)),
            elapsed_s=elapsed_s,
            optimization=outcome,
        )
