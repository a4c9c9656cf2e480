"""Band tables of the multispectral sensors the pipeline reads.

Each band carries its product's name, centre wavelength, native resolution and the linear scaling
from stored digital numbers to a physical quantity::

    value = dn * scale + offset        (dn == nodata is missing)

Sources (product guides):
- Landsat 8/9 OLI-TIRS Collection 2 Level-1 (USGS LSDS-1822): OLI top-of-atmosphere reflectance
  ``REFLECTANCE_MULT = 2.0e-5``, ``REFLECTANCE_ADD = -0.1``; TIRS radiance ``RADIANCE_MULT = 3.342e-4``,
  ``RADIANCE_ADD = 0.1`` W/(m^2 sr um); nodata 0.
- Landsat 8/9 Collection 2 Level-2 (USGS LSDS-1619): surface reflectance ``2.75e-5``, ``-0.2``;
  surface temperature ``0.00341802``, ``149.0`` K; nodata 0.
- ASTER AST_07XT surface reflectance (VNIR, SWIR) and AST_05 surface emissivity (TIR): scale 0.001,
  nodata 0 here (the demo's convention; a catalog may override nodata and scaling per scene).
- Sentinel-2 MSI Level-2A, processing baseline >= 04.00: ``(dn + BOA_ADD_OFFSET) / QUANTIFICATION_VALUE``
  with ``BOA_ADD_OFFSET = -1000`` and ``QUANTIFICATION_VALUE = 10000``; nodata 0.

A scene's own metadata (an MTL file, a product XML) may differ; the catalog can override ``scale``
and ``offset`` per scene.
"""

from __future__ import annotations

from dataclasses import dataclass

from geoprospect.errors import InputError


@dataclass(frozen=True)
class Band:
    """One band of a sensor product.

    Attributes
    ----------
    name : str
        The product's band name (``B4``, ``B3N``, ``B8A``).
    wavelength_um : float
        Centre wavelength in micrometres.
    resolution_m : float
        Native ground sampling distance in metres.
    scale, offset : float
        ``value = dn * scale + offset``.
    quantity : str
        What ``value`` is, with units: ``reflectance``, ``radiance_w_m2_sr_um``, ``temperature_k``,
        ``emissivity``.
    nodata : float
        The stored value that marks missing pixels.
    """

    name: str
    wavelength_um: float
    resolution_m: float
    scale: float
    offset: float
    quantity: str = "reflectance"
    nodata: float = 0


@dataclass(frozen=True)
class Sensor:
    """A sensor product: an ordered band table."""

    name: str
    description: str
    bands: tuple[Band, ...]

    def band(self, name: str, source: str = "") -> Band:
        """The band called ``name``; an unknown name is an :class:`InputError` listing valid names."""
        for band in self.bands:
            if band.name.upper() == name.upper():
                return band
        raise InputError(
            source or self.name,
            f"unknown band {name!r} for sensor {self.name}",
            f"use one of {', '.join(b.name for b in self.bands)}",
        )

    @property
    def reflective(self) -> tuple[Band, ...]:
        """The bands measuring reflectance (the default inputs of lithology mapping)."""
        return tuple(b for b in self.bands if b.quantity == "reflectance")


def _landsat_l1(name: str, platform: str) -> Sensor:
    oli = dict(scale=2.0e-5, offset=-0.1)
    tirs = dict(scale=3.342e-4, offset=0.1, quantity="radiance_w_m2_sr_um")
    return Sensor(
        name,
        f"{platform} OLI-TIRS Collection 2 Level-1 (TOA reflectance, TIRS radiance)",
        (
            Band("B1", 0.443, 30, **oli),
            Band("B2", 0.482, 30, **oli),
            Band("B3", 0.561, 30, **oli),
            Band("B4", 0.655, 30, **oli),
            Band("B5", 0.865, 30, **oli),
            Band("B6", 1.609, 30, **oli),
            Band("B7", 2.201, 30, **oli),
            Band("B8", 0.590, 15, **oli),
            Band("B9", 1.373, 30, **oli),
            Band("B10", 10.895, 30, **tirs),  # TIRS acquires at 100 m; products deliver 30 m
            Band("B11", 12.005, 30, **tirs),
        ),
    )


def _landsat_l2(name: str, platform: str) -> Sensor:
    sr = dict(scale=2.75e-5, offset=-0.2)
    return Sensor(
        name,
        f"{platform} OLI-TIRS Collection 2 Level-2 (surface reflectance, surface temperature)",
        (
            Band("B1", 0.443, 30, **sr),
            Band("B2", 0.482, 30, **sr),
            Band("B3", 0.561, 30, **sr),
            Band("B4", 0.655, 30, **sr),
            Band("B5", 0.865, 30, **sr),
            Band("B6", 1.609, 30, **sr),
            Band("B7", 2.201, 30, **sr),
            Band("B10", 10.895, 30, 0.00341802, 149.0, "temperature_k"),
        ),
    )


_ASTER_REFL = dict(scale=0.001, offset=0.0)
_ASTER_EMIS = dict(scale=0.001, offset=0.0, quantity="emissivity")
_S2 = dict(scale=1e-4, offset=-0.1)

SENSORS: dict[str, Sensor] = {
    s.name: s
    for s in (
        _landsat_l1("landsat8", "Landsat 8"),
        _landsat_l1("landsat9", "Landsat 9"),
        _landsat_l2("landsat8_l2", "Landsat 8"),
        _landsat_l2("landsat9_l2", "Landsat 9"),
        Sensor(
            "aster",
            "Terra ASTER AST_07XT surface reflectance (VNIR, SWIR) and AST_05 emissivity (TIR)",
            (
                Band("B1", 0.556, 15, **_ASTER_REFL),
                Band("B2", 0.661, 15, **_ASTER_REFL),
                Band("B3N", 0.807, 15, **_ASTER_REFL),
                Band("B4", 1.656, 30, **_ASTER_REFL),
                Band("B5", 2.167, 30, **_ASTER_REFL),
                Band("B6", 2.209, 30, **_ASTER_REFL),
                Band("B7", 2.262, 30, **_ASTER_REFL),
                Band("B8", 2.336, 30, **_ASTER_REFL),
                Band("B9", 2.400, 30, **_ASTER_REFL),
                Band("B10", 8.291, 90, **_ASTER_EMIS),
                Band("B11", 8.634, 90, **_ASTER_EMIS),
                Band("B12", 9.075, 90, **_ASTER_EMIS),
                Band("B13", 10.657, 90, **_ASTER_EMIS),
                Band("B14", 11.318, 90, **_ASTER_EMIS),
            ),
        ),
        Sensor(
            "sentinel2",
            "Sentinel-2 MSI Level-2A surface reflectance (processing baseline >= 04.00)",
            (
                Band("B01", 0.443, 60, **_S2),
                Band("B02", 0.490, 10, **_S2),
                Band("B03", 0.560, 10, **_S2),
                Band("B04", 0.665, 10, **_S2),
                Band("B05", 0.705, 20, **_S2),
                Band("B06", 0.740, 20, **_S2),
                Band("B07", 0.783, 20, **_S2),
                Band("B08", 0.842, 10, **_S2),
                Band("B8A", 0.865, 20, **_S2),
                Band("B09", 0.945, 60, **_S2),
                Band("B11", 1.610, 20, **_S2),
                Band("B12", 2.190, 20, **_S2),
            ),
        ),
    )
}


def get_sensor(name: str, source: str = "") -> Sensor:
    """The sensor called ``name``; an unknown sensor is an :class:`InputError` listing known ones."""
    try:
        return SENSORS[name.lower()]
    except KeyError:
        raise InputError(
            source or name,
            f"unknown sensor {name!r}",
            f"use one of {', '.join(SENSORS)}, or 'generic' with explicit band names",
        ) from None
