"""Data misfit: how well a batch of models fits the observed data.

The weighted L2 misfit of SimPEG's ``L2DataMisfit`` (data weights W_d = 1 / standard deviation),
normalised by the number of data so that a model fitting to the noise level scores about 1:

    phi_d(m) / N = (1 / N) sum_i ((F(m)_i - d_i) / sigma_i)^2

(the reduced chi-square; Aster, Borchers and Thurber 2013, *Parameter Estimation and Inverse
Problems*, ch. 2). ``residual`` returns the weighted residual vector that least-squares optimisers
need; ``__call__`` its mean square, the scalar objective that global optimisers need. Both are
batched over models so a swarm costs one forward call.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


class DataMisfit:
    """Reduced chi-square of a simulation's predictions against observed data.

    Parameters
    ----------
    simulation : object
        Has ``predict(models (batch, n_params)) -> (batch, n_data)`` (see
        :mod:`geoprospect.geophysics.simulation`).
    observed : array_like, shape (n_data,)
        Observed data, in the simulation's data space (e.g. log10 rho_a for a VES).
    standard_deviation : float or array_like, shape (n_data,)
        Standard deviation of each datum, same units as ``observed`` (> 0).

    Raises
    ------
    ValueError
        If the observed data are not finite, the standard deviations are not positive and finite,
        or their shapes disagree.
    """

    def __init__(self, simulation, observed: ArrayLike, standard_deviation: ArrayLike):
        self.simulation = simulation
        self.observed = np.asarray(observed, dtype=float)
        if self.observed.ndim != 1:
            raise ValueError("observed must be one sounding or profile, shape (n_data,)")
        if not np.all(np.isfinite(self.observed)):
            raise ValueError("observed data contain NaN or infinite values")
        try:
            self.standard_deviation = np.broadcast_to(np.asarray(standard_deviation, dtype=float), self.observed.shape)
        except ValueError:
            raise ValueError("standard_deviation must be a scalar or one value per datum") from None
        if not np.all(np.isfinite(self.standard_deviation) & (self.standard_deviation > 0)):
            raise ValueError("standard deviations must be positive and finite")

    @property
    def n_data(self) -> int:
        """Number of data."""
        return len(self.observed)

    def residual(self, models: ArrayLike) -> np.ndarray:
        """Weighted residuals (F(m) - d) / sigma, shape (batch, n_data), dimensionless.

        Parameters
        ----------
        models : array_like, shape (batch, n_params)
        """
        predicted = self.simulation.predict(models)
        if predicted.shape[-1] != self.n_data:
            raise ValueError(f"the simulation predicts {predicted.shape[-1]} data but {self.n_data} were observed")
        return (predicted - self.observed) / self.standard_deviation

    def __call__(self, models: ArrayLike) -> np.ndarray:
        """Reduced chi-square, shape (batch,): about 1 for a fit to the noise level.

        Parameters
        ----------
        models : array_like, shape (batch, n_params)
        """
        return np.mean(self.residual(models) ** 2, axis=1)
