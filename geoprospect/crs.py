"""Comparing coordinate reference systems by meaning, never by text.

The same CRS reaches the pipeline as different text: GDAL writes WKT1, pyproj WKT2, a shapefile's
``.prj`` an ESRI dialect, a catalog ``EPSG:3067``. Comparing those strings (or pyproj objects with
``==``, which is strict about names and axis order) refuses a valid national grid such as
ETRS-TM35FIN. :func:`same_crs` is the one comparison every module uses.
"""

from __future__ import annotations

import warnings

from pyproj import CRS


def as_crs(value) -> CRS:
    """A pyproj CRS from an EPSG string, WKT, PROJ string, pyproj or rasterio CRS."""
    if isinstance(value, CRS):
        return value
    if hasattr(value, "to_wkt") and not isinstance(value, str):  # rasterio.crs.CRS
        value = value.to_wkt()
    return CRS.from_user_input(value)


def same_crs(a, b) -> bool:
    """Whether ``a`` and ``b`` describe the same CRS (axis order ignored: x/y data are always easting first).

    pyproj's ``equals`` first. Then two more cases that are the same CRS to every coordinate:
    both declare the same authority code (GDAL's newer EPSG database calls EPSG:3067's datum
    EUREF-FIN, pyproj's ETRS89), or their PROJ definitions are identical (an ESRI ``.prj`` names
    datums its own way, ``D_ETRS_1989``; a custom CRS known only by its WKT; EPSG:3067 and 25835,
    both UTM zone 35 on GRS80), so that reprojecting between them would move no point.
    """
    if a is None or b is None:
        return a is None and b is None
    a, b = as_crs(a), as_crs(b)
    if a.equals(b, ignore_axis_order=True):
        return True
    id_a, id_b = a.to_json_dict().get("id"), b.to_json_dict().get("id")
    if id_a is not None and id_a == id_b:
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "you will likely lose important projection information"
        return a.to_dict() == b.to_dict()


def crs_name(value) -> str:
    """A short human name: ``EPSG:3067`` when the CRS has a code, otherwise its name."""
    crs = as_crs(value)
    declared = crs.to_json_dict().get("id") or {}
    if declared.get("authority") and declared.get("code"):
        return f"{declared['authority']}:{declared['code']}"
    code = crs.to_epsg(min_confidence=70)
    return f"EPSG:{code}" if code else crs.name
