"""Synthetic multispectral scenes of the demo region, sampled at each sensor's native resolution.

Each lithology has a parametric reflectance spectrum (0.4-2.5 um): a brightness and a spectral slope
minus Gaussian absorptions at the wavelengths of its diagnostic minerals: ferric iron (0.87 um, with
a fall-off towards the blue), ferrous iron (1.05 um), Al-OH in clays and micas (2.20 um), Mg-OH and
carbonate (2.33 um). Hydrothermal alteration adds clay/OH (brighter, deep 2.20 um feature) and iron
oxide (gossan: strong 0.87 um feature and blue fall-off). Vegetation is mixed in linearly. In the
thermal infrared, emissivity drops in the 8-9.5 um quartz reststrahlen band for quartz-rich units
and near 11.3 um for carbonate; TIRS radiance follows Planck's law at a temperature set by albedo
and elevation. Sensor noise is Gaussian. Values are stored as the products store them
(:mod:`geoprospect.sensors`: scale, offset, nodata) so that ingestion is exercised for real.
"""

from __future__ import annotations

import numpy as np

from geoprospect.demo.region import Region
from geoprospect.sensors import Band

# code: albedo, slope (1/um), ferric, ferrous, Al-OH, Mg-OH/CO3 depths, quartz and carbonate TIR depths
SIGNATURES = {
    1: (0.22, 0.06, 0.05, 0.02, 0.05, 0.03, 0.06, 0.01),
    2: (0.30, 0.05, 0.06, 0.00, 0.04, 0.00, 0.15, 0.00),
    3: (0.18, 0.03, 0.03, 0.03, 0.06, 0.03, 0.04, 0.00),
    4: (0.38, 0.02, 0.00, 0.00, 0.00, 0.15, 0.00, 0.06),
    5: (0.32, 0.04, 0.03, 0.00, 0.06, 0.00, 0.10, 0.00),
    6: (0.16, 0.02, 0.03, 0.06, 0.02, 0.06, 0.02, 0.00),
    7: (0.09, 0.01, 0.02, 0.08, 0.00, 0.05, 0.00, 0.00),
    8: (0.20, 0.03, 0.02, 0.04, 0.08, 0.05, 0.05, 0.00),
    9: (0.28, 0.03, 0.02, 0.00, 0.04, 0.00, 0.08, 0.00),
    10: (0.20, 0.02, 0.02, 0.04, 0.03, 0.04, 0.04, 0.00),
}
# green vegetation, sampled at a few wavelengths and interpolated
_VEG_WL = np.array([0.40, 0.48, 0.55, 0.67, 0.72, 0.80, 1.00, 1.20, 1.45, 1.65, 1.95, 2.20, 2.50])
_VEG_R = np.array([0.04, 0.05, 0.10, 0.04, 0.25, 0.45, 0.45, 0.40, 0.18, 0.28, 0.08, 0.14, 0.05])


def _gauss(wl: float, centre: float, width: float) -> float:
    return float(np.exp(-0.5 * ((wl - centre) / width) ** 2))


def _table(codes_max: int, column: int) -> np.ndarray:
    table = np.zeros(codes_max + 1)
    for code, sig in SIGNATURES.items():
        table[code] = sig[column]
    return table


class SceneFields:
    """The fields that drive the spectra, evaluated once on one native grid."""

    def __init__(self, region: Region, x: np.ndarray, y: np.ndarray, elevation_m: np.ndarray):
        self.units = region.units(x, y)
        alteration = region.alteration(x, y)
        self.clay = alteration
        self.iron = alteration * (0.5 + 0.5 * np.exp(-region.fault_distance(x, y) / 500.0))
        self.vegetation = np.where(self.units == 1, 0.35, 0.08) * (1 + 0.5 * np.tanh(region.cover(x, y)))
        self.elevation_m = elevation_m

    def reflectance(self, wavelength_um: float) -> np.ndarray:
        """Surface reflectance at one wavelength, shape of the grid."""
        wl = wavelength_um
        top = max(SIGNATURES)
        albedo, slope, fe3, fe2, aloh, mgoh = (_table(top, c)[self.units] for c in range(6))
        rock = albedo + slope * (wl - 0.4)
        rock = rock - fe3 * (_gauss(wl, 0.87, 0.08) + 1.5 * (wl < 0.55) * (0.55 - wl) / 0.15)
        rock = rock - fe2 * _gauss(wl, 1.05, 0.15) - aloh * _gauss(wl, 2.20, 0.04) - mgoh * _gauss(wl, 2.33, 0.04)
        rock = rock + self.clay * (0.08 - 0.18 * _gauss(wl, 2.20, 0.04))
        rock = rock - self.iron * (0.12 * _gauss(wl, 0.87, 0.08) + 0.25 * (wl < 0.6) * (0.6 - wl) / 0.2)
        veg = float(np.interp(wl, _VEG_WL, _VEG_R))
        return np.clip((1 - self.vegetation) * rock + self.vegetation * veg, 0.005, 0.95)

    def emissivity(self, wavelength_um: float) -> np.ndarray:
        """Thermal-infrared emissivity at one wavelength."""
        top = max(SIGNATURES)
        quartz, carbonate = _table(top, 6)[self.units], _table(top, 7)[self.units]
        quartz = quartz + 0.03 * self.clay
        eps = 0.975 - quartz * _gauss(wavelength_um, 8.9, 0.5) - carbonate * _gauss(wavelength_um, 11.3, 0.25)
        return (1 - self.vegetation) * eps + self.vegetation * 0.985

    def temperature_k(self) -> np.ndarray:
        """Surface temperature: darker rock is warmer; 6.5 K/km lapse rate."""
        albedo = _table(max(SIGNATURES), 0)[self.units]
        return 305.0 + 25.0 * (0.25 - albedo) - 0.0065 * (self.elevation_m - 1000.0) - 6.0 * self.vegetation


def planck_radiance(wavelength_um: float, temperature_k: np.ndarray) -> np.ndarray:
    """Black-body spectral radiance, W/(m^2 sr um)."""
    h, c, k = 6.62607015e-34, 2.99792458e8, 1.380649e-23
    wl = wavelength_um * 1e-6
    return 2 * h * c**2 / wl**5 / np.expm1(h * c / (wl * k * temperature_k)) * 1e-6


def band_values(fields: SceneFields, band: Band, rng: np.random.Generator) -> np.ndarray:
    """The physical quantity ``band`` measures (reflectance, radiance, emissivity...) with sensor noise."""
    if band.quantity == "reflectance":
        value = fields.reflectance(band.wavelength_um)
        return value + rng.normal(0, 0.004, value.shape)
    if band.quantity == "emissivity":
        value = fields.emissivity(band.wavelength_um)
        return np.clip(value + rng.normal(0, 0.003, value.shape), 0.7, 1.0)
    temperature = fields.temperature_k() + rng.normal(0, 0.3, fields.units.shape)
    if band.quantity == "temperature_k":
        return temperature
    return fields.emissivity(band.wavelength_um) * planck_radiance(band.wavelength_um, temperature)


def encode(values: np.ndarray, band: Band, valid: np.ndarray) -> np.ndarray:
    """Store physical values as the product's digital numbers (uint16), nodata outside ``valid``."""
    dn = np.rint((values - band.offset) / band.scale)
    dn = np.clip(dn, 1, np.iinfo("uint16").max)
    return np.where(valid, dn, band.nodata).astype("uint16")
