"""Band ratios and spectral indices for hydrothermal alteration, from any sensor's bands.

Bands are chosen by centre wavelength from :mod:`geoprospect.sensors`, so one definition serves
Landsat 8/9, Sentinel-2 and ASTER alike: each *role* below is the band nearest its target
wavelength among those whose centre lies in the role's window (a sensor without such a band lacks
the role, e.g. ASTER has no blue band).

=========  =============  ===================  =======================  ==============  ============
role       target (um)    window (um)          Landsat 8/9 OLI          Sentinel-2 MSI  ASTER
=========  =============  ===================  =======================  ==============  ============
blue       0.48           0.45 - 0.52          B2                       B02             --
green      0.56           0.52 - 0.60          B3                       B03             B1
red        0.66           0.62 - 0.70          B4                       B04             B2
nir        0.865          0.76 - 0.90          B5                       B8A             B3N
swir1      1.61           1.55 - 1.75          B6                       B11             B4
swir2      2.20           2.08 - 2.35          B7                       B12             B6
=========  =============  ===================  =======================  ==============  ============

Indices of every sensor (reflectance in, dimensionless out):

- ``clay_oh_ratio = swir1 / swir2``: clays, micas and other OH-bearing minerals absorb near
  2.2 um and not at 1.6 um (Landsat TM 5/7 of Sabins 1999, *Ore Geology Reviews* 14).
- ``ferric_iron_ratio = red / blue``: ferric oxides (hematite, goethite, jarosite) absorb in the
  blue (TM 3/1, Sabins 1999). A sensor without a blue band uses ``red / green``, the ASTER ferric
  iron index B2/B1 of Kalinowski and Oliver (2004), *ASTER Mineral Index Processing Manual*,
  Geoscience Australia.
- ``ferrous_iron_index = swir1 / nir + green / red``: ferrous iron absorbs broadly around 1 um,
  so SWIR1 over NIR rises with Fe2+; green over red adds the weaker charge-transfer contrast. This
  is the Landsat form of the ASTER ferrous iron index (B5/B3 + B1/B2) of Kalinowski and Oliver
  (2004), with SWIR1 (1.6 um) in place of ASTER B5 (2.17 um) so that every sensor has it.
- ``ndvi = (nir - red) / (nir + red)`` (Rouse et al. 1974): vegetation masks rock; the model
  learns to discount alteration indices where it is high.

ASTER only, from its published band definitions:

- ``aloh_group_index = (B5 + B7) / B6``: Al-OH (white mica, illite, smectite: phyllic
  alteration) absorption at 2.20 um (Kalinowski and Oliver 2004; Cudahy 2012, CSIRO ASTER
  Geoscience Products "AlOH group content").
- ``advanced_argillic_index = (B4 + B6) / B5``: alunite, kaolinite, pyrophyllite absorb at
  2.17 um (Kalinowski and Oliver 2004).
- ``mgoh_carbonate_index = (B7 + B9) / B8``: chlorite, epidote, calcite absorb at 2.33 um
  (propylitic alteration; Kalinowski and Oliver 2004).
- ``oh_index = (B7 / B6) * (B4 / B6)``, ``kaolinite_index = (B4 / B5) * (B8 / B6)``,
  ``alunite_index = (B7 / B5) * (B7 / B8)``, ``calcite_index = (B6 / B8) * (B9 / B8)``:
  Ninomiya (2003), "A stabilized vegetation index and several mineralogic indices defined for
  ASTER VNIR and SWIR data", IGARSS 2003.

A ratio is NaN where its denominator is not positive (no reflectance) or an input is NaN.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import xarray as xr

from geoprospect.features.distances import feature_like
from geoprospect.sensors import Band, get_sensor

log = logging.getLogger(__name__)

# role -> (target, window low, window high), micrometres
ROLES: dict[str, tuple[float, float, float]] = {
    "blue": (0.48, 0.45, 0.52),
    "green": (0.56, 0.52, 0.60),
    "red": (0.66, 0.62, 0.70),
    "nir": (0.865, 0.76, 0.90),
    "swir1": (1.61, 1.55, 1.75),
    "swir2": (2.20, 2.08, 2.35),
}

UNITS = "dimensionless"


def choose_bands(sensor: str, available: Iterable[str] | None = None) -> dict[str, str]:
    """Role -> band name for a sensor, by centre wavelength (see the module's table).

    Parameters
    ----------
    sensor : str
        A name of :data:`geoprospect.sensors.SENSORS` (``landsat8``, ``sentinel2``, ``aster``...).
    available : iterable of str, optional
        Band names present (a scene may hold only some bands); default every reflective band.

    Returns
    -------
    dict
        Only the roles that the sensor (and ``available``) can fill.
    """
    spec = get_sensor(sensor)
    names = None if available is None else {str(a).upper() for a in available}
    bands: list[Band] = [b for b in spec.reflective if names is None or b.name.upper() in names]
    chosen = {}
    for role, (target, low, high) in ROLES.items():
        inside = [b for b in bands if low <= b.wavelength_um <= high]
        if inside:
            chosen[role] = min(inside, key=lambda b: abs(b.wavelength_um - target)).name
    return chosen


def _ratio(numerator: xr.DataArray, denominator: xr.DataArray) -> xr.DataArray:
    return numerator / denominator.where(denominator > 0)


def spectral_indices(scene: xr.DataArray, name: str, sensor: str) -> list[xr.DataArray]:
    """Alteration ratios and indices of one scene.

    Parameters
    ----------
    scene : DataArray, shape (band, y, x)
        The scene's reflectance bands, named ``<name>_<band>`` along ``band`` (as in the cube);
        other bands are ignored.
    name : str
        The scene's catalog key (``landsat8``): prefix of the input and output names.
    sensor : str
        The scene's sensor (``landsat8``, ``sentinel2``, ``aster``...). ``generic`` scenes have no
        wavelengths and give no index.

    Returns
    -------
    list of DataArray, each (y, x) float32, dimensionless, named ``<name>_<index>``
    (``landsat8_clay_oh_ratio``). An index whose bands the scene lacks is left out (logged).
    """
    if sensor == "generic":
        log.info("scene %s: generic sensor without wavelengths, no spectral index", name)
        return []
    prefix = f"{name}_"
    present = {str(b)[len(prefix):]: str(b) for b in scene.band.values if str(b).startswith(prefix)}
    bands = {key.upper(): full for key, full in present.items()}
    roles = choose_bands(sensor, bands)

    def role(r: str) -> xr.DataArray:
        return scene.sel(band=bands[roles[r].upper()]).astype("float64")

    def band(b: str) -> xr.DataArray:
        return scene.sel(band=bands[b]).astype("float64")

    formulas = {
        "clay_oh_ratio": (("swir1", "swir2"), lambda: _ratio(role("swir1"), role("swir2"))),
        "ferric_iron_ratio": (("red", "blue" if "blue" in roles else "green"),
                              lambda: _ratio(role("red"), role("blue" if "blue" in roles else "green"))),
        "ferrous_iron_index": (("swir1", "nir", "green", "red"),
                               lambda: _ratio(role("swir1"), role("nir")) + _ratio(role("green"), role("red"))),
        "ndvi": (("nir", "red"), lambda: _ratio(role("nir") - role("red"), role("nir") + role("red"))),
    }
    out = []
    for index, (needs, formula) in formulas.items():
        if all(r in roles for r in needs):
            out.append(feature_like(scene, formula().data.astype("float32"), f"{name}_{index}", UNITS))
        else:
            log.info("scene %s: no %s (needs %s bands)", name, index, ", ".join(r for r in needs if r not in roles))
    if sensor == "aster":
        aster = {
            "aloh_group_index": (("B5", "B6", "B7"), lambda: _ratio(band("B5") + band("B7"), band("B6"))),
            "advanced_argillic_index": (("B4", "B5", "B6"), lambda: _ratio(band("B4") + band("B6"), band("B5"))),
            "mgoh_carbonate_index": (("B7", "B8", "B9"), lambda: _ratio(band("B7") + band("B9"), band("B8"))),
            "oh_index": (("B4", "B6", "B7"), lambda: _ratio(band("B7"), band("B6")) * _ratio(band("B4"), band("B6"))),
            "kaolinite_index": (("B4", "B5", "B6", "B8"), lambda: _ratio(band("B4"), band("B5")) * _ratio(band("B8"), band("B6"))),
            "alunite_index": (("B5", "B7", "B8"), lambda: _ratio(band("B7"), band("B5")) * _ratio(band("B7"), band("B8"))),
            "calcite_index": (("B6", "B8", "B9"), lambda: _ratio(band("B6"), band("B8")) * _ratio(band("B9"), band("B8"))),
        }
        for index, (needs, formula) in aster.items():
            if all(b in bands for b in needs):
                out.append(feature_like(scene, formula().data.astype("float32"), f"{name}_{index}", UNITS))
            else:
                log.info("scene %s: no %s (needs ASTER %s)", name, index, ", ".join(b for b in needs if b not in bands))
    return out
