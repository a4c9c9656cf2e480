"""Self-potential (SP) anomaly of a polarised sphere or cylinder, batched over models.

Follows the simple-geometry SP model used for metaheuristic inversion by Kaftan, Sındırgı and
Dondurur (2014, Journal of Geophysics and Engineering 11, 035007) after Yüngül (1950):

    V(x) = K ((x - x0) cos(a) - h sin(a)) / ((x - x0)^2 + h^2)^q

with K the electric dipole moment (mV m^(2q-1)), h the depth to the centre (m), a the
polarisation angle (degrees), x0 the horizontal position of the centre (m) and q the shape factor:
1.5 sphere, 1.0 horizontal cylinder, 0.5 vertical cylinder.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

SHAPE_FACTORS = {"sphere": 1.5, "horizontal_cylinder": 1.0, "vertical_cylinder": 0.5}


def sp_anomaly(
    x_m: ArrayLike,
    k: ArrayLike,
    depth_m: ArrayLike,
    angle_deg: ArrayLike,
    x0_m: ArrayLike,
    q: ArrayLike = 1.5,
) -> np.ndarray:
    """SP anomaly (mV) of polarised spheres/cylinders along a profile.

    Parameters
    ----------
    x_m : array_like, shape (n_stations,)
        Station positions along the profile, m.
    k : float or array_like, shape (batch,)
        Electric dipole moment (amplitude factor), mV m^(2q-1).
    depth_m : float or array_like, shape (batch,)
        Depth to the centre of the body, m (> 0).
    angle_deg : float or array_like, shape (batch,)
        Polarisation angle, degrees.
    x0_m : float or array_like, shape (batch,)
        Horizontal position of the body's centre along the profile, m.
    q : float or array_like, shape (batch,), default 1.5
        Shape factor: 1.5 sphere, 1.0 horizontal cylinder, 0.5 vertical cylinder
        (see ``SHAPE_FACTORS``).

    Returns
    -------
    numpy.ndarray
        SP in mV, shape (batch, n_stations); shape (n_stations,) when every parameter is a scalar.

    Raises
    ------
    ValueError
        If a depth is not positive or the parameter batches do not broadcast to one length.
    """
    x = np.asarray(x_m, dtype=float)
    params = [np.asarray(p, dtype=float) for p in (k, depth_m, angle_deg, x0_m, q)]
    scalar = all(p.ndim == 0 for p in params)
    k_, h, a_deg, x0, q_ = (p[:, None] for p in np.broadcast_arrays(*(np.atleast_1d(p) for p in params)))
    if np.any(h <= 0):
        raise ValueError("depth_m must be positive")
    a = np.deg2rad(a_deg)
    dx = x[None, :] - x0
    v = k_ * (dx * np.cos(a) - h * np.sin(a)) / (dx**2 + h**2) ** q_
    return v[0] if scalar else v
