"""Scores of an inversion: how close recovered parameters (or fitted data) are to the truth.

:func:`inversion_metrics` gives the comparison-table scores of the VES study (Stanley Raj et al. 2021:
MSE, PSNR, R, RMSE, NRMSE, MAPE); :func:`relative_errors` gives the per-parameter mean, min and max
relative errors of the TEM study's Tables 3-6 (Li et al. 2019).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def inversion_metrics(true: ArrayLike, predicted: ArrayLike) -> dict[str, float]:
    """Agreement scores between true and predicted values, pooled over every element.

    With ``t`` the true and ``p`` the predicted values (flattened, n elements):

    - ``mse``: mean squared error, ``mean((p - t)^2)``, in squared units of the values.
    - ``rmse``: ``sqrt(mse)``, in units of the values.
    - ``nrmse``: ``rmse / (max(t) - min(t))``, the RMSE normalised by the range of the true values
      (dimensionless; infinite when every true value is the same).
    - ``psnr_db``: peak signal-to-noise ratio ``10 log10(peak^2 / mse)`` with the peak
      ``max(|t|)``, the largest true magnitude, in dB (infinite for a perfect prediction).
    - ``r``: Pearson correlation coefficient between ``t`` and ``p`` (dimensionless, -1 to 1).
    - ``mape_pct``: mean absolute percentage error ``100 mean(|p - t| / |t|)``, in %.

    Parameters
    ----------
    true, predicted : array_like, same shape
        E.g. (n_soundings, n_params) parameters or (n_soundings, n_data) data. Pass log10 values
        to score on a log scale.

    Returns
    -------
    dict
        Keys ``mse``, ``psnr_db``, ``r``, ``rmse``, ``nrmse``, ``mape_pct``; float values.

    Raises
    ------
    ValueError
        If the shapes differ, a value is not finite, fewer than two values are given, or a true
        value is zero (MAPE undefined).
    """
    t, p = _check_pair(true, predicted)
    t, p = t.ravel(), p.ravel()
    if t.size < 2:
        raise ValueError("at least two values are needed (R is undefined for one)")
    if np.any(t == 0):
        raise ValueError("a true value is zero: the MAPE is undefined")
    mse = float(np.mean((p - t) ** 2))
    rmse = float(np.sqrt(mse))
    value_range = float(np.ptp(t))
    with np.errstate(divide="ignore"):
        psnr = float(10 * np.log10(np.max(np.abs(t)) ** 2 / mse)) if mse > 0 else np.inf
    return {
        "mse": mse,
        "psnr_db": psnr,
        "r": float(np.corrcoef(t, p)[0, 1]),
        "rmse": rmse,
        "nrmse": rmse / value_range if value_range > 0 else np.inf,
        "mape_pct": float(100 * np.mean(np.abs(p - t) / np.abs(t))),
    }


def relative_errors(true: ArrayLike, predicted: ArrayLike, names) -> pd.DataFrame:
    """Per-parameter relative errors ``100 |p - t| / |t|`` in %: mean, min and max over the rows.

    As Li et al. (2019, Nonlinear Processes in Geophysics 26, 445-456) Tables 3-6 report them for
    repeated inversions (e.g. 20 seeds) of one model or for a set of test models.

    Parameters
    ----------
    true : array_like, shape (n_params,) or (n_runs, n_params)
        True parameters; one row is compared with every predicted row.
    predicted : array_like, shape (n_runs, n_params)
    names : sequence of str, length n_params
        Parameter names (the index of the table).

    Returns
    -------
    pandas.DataFrame
        Index ``names`` (named ``parameter``); columns ``mean_rel_error_pct``,
        ``min_rel_error_pct``, ``max_rel_error_pct``.

    Raises
    ------
    ValueError
        If the shapes do not match, a value is not finite or a true value is zero.
    """
    p = np.atleast_2d(np.asarray(predicted, dtype=float))
    t = np.asarray(true, dtype=float)
    if t.ndim == 1 and t.shape == p.shape[1:]:
        t = np.broadcast_to(t, p.shape)
    t, p = _check_pair(t, p)
    names = list(names)
    if p.ndim != 2 or len(names) != p.shape[1]:
        raise ValueError(f"need one name per parameter column: {len(names)} names for shape {p.shape}")
    if np.any(t == 0):
        raise ValueError("a true value is zero: the relative error is undefined")
    error_pct = 100 * np.abs(p - t) / np.abs(t)
    return pd.DataFrame(
        {"mean_rel_error_pct": error_pct.mean(axis=0), "min_rel_error_pct": error_pct.min(axis=0),
         "max_rel_error_pct": error_pct.max(axis=0)},
        index=pd.Index(names, name="parameter"),
    )


def _check_pair(true: ArrayLike, predicted: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(true, dtype=float)
    p = np.asarray(predicted, dtype=float)
    if t.shape != p.shape:
        raise ValueError(f"true and predicted differ in shape: {t.shape} and {p.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        raise ValueError("true and predicted must be finite (no NaN or inf)")
    return t, p
