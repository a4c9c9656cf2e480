"""Multispectral scenes: find each band's file, scale it to physical values, align it to the grid.

Two product layouts are read:

- a folder with one file per band, the band name ending the file name as products name them
  (``..._B4.TIF`` for Landsat, ``..._B3N.tif`` for ASTER, ``..._B8A_20m.jp2`` for Sentinel-2);
- one multi-band file whose bands are named by their descriptions, or by the catalog's ``bands``
  list in file order (``bands: [B2, B3, B4, B5, B6, B7]``).

The ``generic`` sensor reads any multi-band raster as digital numbers (scale 1, nodata from the
file), with band names from the catalog or ``band1, band2, ...``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

from geoprospect.catalog import SceneSource
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid
from geoprospect.io.rasters import BandSpec, align_raster, describe_raster
from geoprospect.sensors import Band, Sensor, get_sensor

RASTER_SUFFIXES = {".tif", ".tiff", ".jp2", ".img", ".vrt", ".nc", ".hdf"}
# Plausible mean reflectance of a scene after scaling: TOA or surface reflectance of land, water and
# cloud lies in about 0-1 (slightly below 0 after atmospheric correction, above 1 on bright cloud).
REFLECTANCE_RANGE = (-0.05, 1.5)

log = logging.getLogger(__name__)


def band_pattern(name: str) -> re.Pattern:
    """File-name pattern for a band: ``B4`` matches ``_B4.``, ``_B04_`` but not ``_B40`` or ``_B4A``."""
    match = re.fullmatch(r"([A-Za-z]+)0*(\d+)([A-Za-z]?)", name)
    if not match:
        return re.compile(rf"(^|[_\-.]){re.escape(name)}([_\-.]|$)", re.I)
    letters, number, suffix = match.groups()
    return re.compile(rf"(^|[_\-.]){letters}0*{number}{suffix}([_\-.]|$)", re.I)


def scene_bands(source: SceneSource, key: str = "") -> list[tuple[Path, Band, int]]:
    """Resolve a scene to ``(file, band, index in file)`` for each selected band.

    Raises :class:`InputError` for an unknown band name, a band file missing from the folder or
    present twice, or a multi-band file whose band count does not match the names given.
    """
    path = Path(source.path)
    where = key or str(path)
    if source.sensor == "generic":
        return _generic_bands(source, path)
    sensor = get_sensor(source.sensor, where)
    wanted = [sensor.band(name, where) for name in source.bands] if source.bands and path.is_dir() else list(sensor.reflective)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in RASTER_SUFFIXES)
        resolved = []
        for band in wanted:
            hits = [p for p in files if band_pattern(band.name).search(p.stem)]
            if not hits:
                raise InputError(path, f"no file for band {band.name} of {sensor.name}", f"add a file whose name ends in _{band.name} (e.g. SCENE_{band.name}.TIF) or drop the band from 'bands'")
            if len(hits) > 1:
                raise InputError(path, f"several files match band {band.name}: {', '.join(h.name for h in hits)}", "keep one file per band in the folder")
            resolved.append((hits[0], _override(band, source), 1))
        return resolved
    return _multiband(source, path, sensor)


def _multiband(source: SceneSource, path: Path, sensor: Sensor) -> list[tuple[Path, Band, int]]:
    info = describe_raster(path)
    names = source.bands or [d for d in info.descriptions]
    if any(n is None for n in names):
        raise InputError(path, f"the file's {info.count} bands have no descriptions", "name them in the catalog in file order, e.g. bands: [B2, B3, B4]")
    if len(names) != info.count:
        raise InputError(path, f"{len(names)} band names given for a file of {info.count} bands", "list one name per band, in file order")
    return [(path, _override(sensor.band(name, str(path)), source), i) for i, name in enumerate(names, start=1)]


def _generic_bands(source: SceneSource, path: Path) -> list[tuple[Path, Band, int]]:
    info = describe_raster(path)
    names = source.bands or [d or f"band{i}" for i, d in enumerate(info.descriptions, start=1)]
    if len(names) != info.count:
        raise InputError(path, f"{len(names)} band names given for a file of {info.count} bands", "list one name per band, in file order")
    nodata = info.nodata if info.nodata is not None else 0
    bands = [Band(name, float("nan"), info.resolution_m, 1.0, 0.0, "dn", nodata) for name in names]
    return [(path, _override(band, source), i) for i, band in enumerate(bands, start=1)]


def _override(band: Band, source: SceneSource) -> Band:
    """Apply a scene's own scale/offset (from its metadata) over the band table's."""
    return replace(band, scale=band.scale if source.scale is None else source.scale,
                   offset=band.offset if source.offset is None else source.offset)


def align_scene(source: SceneSource, grid: TargetGrid, destination: str | Path, name: str) -> dict[str, dict[str, float]]:
    """Align a scene's bands onto ``grid`` as one float32 GeoTIFF of physical values.

    Output bands are named ``<name>_<band>`` and carry their quantity as units.
    """
    bands = scene_bands(source, name)
    sources = [(file, BandSpec(index, f"{name}_{band.name}", band.quantity, band.scale, band.offset, band.nodata))
               for file, band, index in bands]
    stats = align_raster(sources, grid, destination)
    check_reflectance(stats, [band for _, band, _ in bands], name, source)
    return stats


def check_reflectance(stats: dict[str, dict[str, float]], bands: list[Band], name: str, source: SceneSource) -> None:
    """Refuse a scene whose reflectance bands, once scaled, are not reflectance.

    The mean of each band must lie in :data:`REFLECTANCE_RANGE`. Far outside it, the scaling is
    wrong: data already in reflectance given a Level-1 scale (every value near the offset, e.g.
    -0.1), or digital numbers read as reflectance (hundreds or thousands). The message says which
    ``scale``/``offset`` to set; values beyond the range in part of the scene (cloud, shadow) are only
    logged.
    """
    low, high = REFLECTANCE_RANGE
    key = f"scenes.{name}"
    for band in bands:
        stat = stats.get(f"{name}_{band.name}")
        if band.quantity != "reflectance" or not stat:
            continue
        mean = stat["mean"]
        if low <= mean <= high:
            if stat["min"] < low or stat["max"] > high:
                log.warning("%s band %s: reflectance from %.3f to %.3f (mean %.3f), partly outside %g..%g: cloud, "
                            "shadow or saturation?", key, band.name, stat["min"], stat["max"], mean, low, high)
            continue
        stored = (mean - band.offset) / band.scale if band.scale else float("nan")
        found = (f"band {band.name} has a mean of {mean:.4g} after scaling (value = stored * {band.scale:g} + {band.offset:g}; "
                 f"stored mean {stored:.4g}), outside the reflectance range {low:g}..{high:g}")
        if low <= stored <= high:
            fix = (f"the file already holds reflectance: set {key}.scale: 1 and {key}.offset: 0 in the catalog "
                   f"(the {source.sensor} band table assumes Level-1 digital numbers)")
        elif stored > high and band.scale >= 0.01:
            fix = (f"the file holds digital numbers: set {key}.scale and {key}.offset to the product's reflectance "
                   "scaling (Landsat MTL REFLECTANCE_MULT_BAND_n/REFLECTANCE_ADD_BAND_n, Sentinel-2 1/QUANTIFICATION_VALUE "
                   "and BOA_ADD_OFFSET), or remove them to use the sensor's table")
        else:
            fix = (f"set {key}.scale and {key}.offset to the product's reflectance scaling (its metadata file), "
                   "or check that 'sensor' names the right product level")
        raise InputError(key, found, fix)
