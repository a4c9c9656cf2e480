"""Geophysical grids of the demo region: magnetics, gravity, radiometrics and a DEM.

Potential fields come from a single layer of laterally varying physical property (susceptibility,
density contrast) between depths ``z_top`` and ``z_top + thickness`` under the sensor, computed in the
Fourier domain (Parker 1973; Blakely 1995, ch. 11-12)::

    dT(k) = 2 pi Cm M(k) exp(-|k| z_top) (1 - exp(-|k| t))           (vertical field, at the pole)
    dg(k) = 2 pi G drho(k) exp(-|k| z_top) (1 - exp(-|k| t)) / |k|

with ``M = susceptibility * F / mu0`` for an inducing field F = 50,000 nT and ``Cm = mu0 / 4 pi``.
The upward continuation term ``exp(-|k| z)`` is what smooths the fields with depth. Alteration
destroys magnetite (lower susceptibility) and adds potassium.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from geoprospect.demo.region import Region, unit_property

MU0 = 4e-7 * np.pi
G = 6.674e-11


def layer_response(prop: np.ndarray, spacing_m: float, z_top_m: float, thickness_m: float, gravity: bool) -> np.ndarray:
    """Field of a property layer on a regular grid (mirror-padded FFT to limit edge effects).

    ``prop`` is magnetisation (A/m) for magnetics, giving tesla; density contrast (kg/m^3) for
    gravity, giving m/s^2.
    """
    ny, nx = prop.shape
    padded = np.pad(prop, ((ny // 2, ny // 2), (nx // 2, nx // 2)), mode="reflect")
    ky = 2 * np.pi * np.fft.fftfreq(padded.shape[0], spacing_m)
    kx = 2 * np.pi * np.fft.fftfreq(padded.shape[1], spacing_m)
    k = np.hypot(*np.meshgrid(ky, kx, indexing="ij"))
    slab = np.exp(-k * z_top_m) * -np.expm1(-k * thickness_m)
    if gravity:
        with np.errstate(divide="ignore", invalid="ignore"):
            kernel = 2 * np.pi * G * np.where(k > 0, slab / k, thickness_m)
    else:
        kernel = 2 * np.pi * (MU0 / (4 * np.pi)) * slab
    field = np.real(np.fft.ifft2(np.fft.fft2(padded) * kernel))
    return field[ny // 2 : ny // 2 + ny, nx // 2 : nx // 2 + nx]


def magnetics_nt(region: Region, x: np.ndarray, y: np.ndarray, spacing_m: float, rng: np.random.Generator) -> np.ndarray:
    """Total magnetic intensity anomaly (nT) on a regular grid of cell centres ``x``, ``y`` (2-D)."""
    units = region.units(x, y)
    susceptibility = unit_property(units, 2) * (1 - 0.85 * region.alteration(x, y))
    magnetisation = susceptibility * 50_000e-9 / MU0
    field = layer_response(magnetisation, spacing_m, z_top_m=80.0, thickness_m=2000.0, gravity=False) * 1e9
    return field + rng.normal(0, 1.0, field.shape)


def gravity_mgal(region: Region, x: np.ndarray, y: np.ndarray, spacing_m: float, rng: np.random.Generator) -> np.ndarray:
    """Bouguer gravity anomaly (mGal) on a regular grid of cell centres."""
    density = unit_property(region.units(x, y), 3)
    field = layer_response(density, spacing_m, z_top_m=150.0, thickness_m=1500.0, gravity=True) * 1e5
    return field + rng.normal(0, 0.05, field.shape)


def radiometrics(region: Region, x: np.ndarray, y: np.ndarray, spacing_m: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Potassium (%), equivalent thorium and uranium (ppm), smoothed by an airborne footprint (~120 m)."""
    units = region.units(x, y)
    potassic = region.alteration(x, y)
    sigma = 120.0 / spacing_m / 2.355
    out = {}
    for name, column, gain, noise in (("k_pct", 4, 2.0, 0.08), ("eth_ppm", 5, 0.0, 0.6), ("eu_ppm", 6, 0.5, 0.3)):
        value = gaussian_filter(unit_property(units, column) + gain * potassic, sigma)
        out[name] = np.clip(value + rng.normal(0, noise, value.shape), 0, None)
    return out


def elevation_m(region: Region, x: np.ndarray, y: np.ndarray, spacing_m: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Terrain (m): resistant units stand high, faults are eroded into valleys, plus rough noise."""
    resistance = unit_property(region.units(x, y), 7)
    relief = gaussian_filter(resistance, 300.0 / spacing_m) * 350.0
    valleys = -40.0 * np.exp(-region.fault_distance(x, y) / 150.0)
    dem = 900.0 + relief + valleys + 60.0 * region.cover(x, y) + 8.0 * region.texture(x, y)
    if rng is not None:
        dem = dem + rng.normal(0, 1.0, dem.shape)
    return dem
