"""Resistivity sections as GeoTIFF rasters in distance x depth, with their stations beside them.

A section is not a map: its raster axes are distance along the survey line (x, m) and minus the
depth below the surface (y, m, so that row 0 is at the surface and depth grows downwards as in any
raster viewer). The file therefore has no CRS, only a transform in metres, and says so in its tags.
The stations, with their map coordinates, go both into a JSON tag and into a sidecar CSV
``<name>.stations.csv`` (columns ``station``, ``distance_m``, ``x_m``, ``y_m``, ``inverted``), so
that a GIS user can place the line on a map.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from rasterio.transform import Affine

from geoprospect.io.files import atomic_path

AXES_TAG = "x: distance along the survey line (m); y: minus the depth below the surface (m)"


def stations_path(path: str | Path) -> Path:
    """Sidecar CSV of a section GeoTIFF: ``name.tif`` -> ``name.stations.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.stations.csv")


def write_section(section: xr.DataArray, path: str | Path, station_crs: str | None = None) -> Path:
    """Write a section (from :func:`geoprospect.geophysics.sections.resistivity_section`) atomically.

    Parameters
    ----------
    section : xarray.DataArray
        Dims ``(depth_m, distance_m)`` on regular cell centres, with the station attributes of
        ``resistivity_section`` (``station_ids``, ``station_distance_m``, ``station_x_m``,
        ``station_y_m``, ``station_inverted``) and ``dx_m``, ``dz_m``.
    path : str or Path
        Destination ``.tif``; the stations go to :func:`stations_path` beside it.
    station_crs : str, optional
        CRS of the stations' ``x_m``/``y_m`` (e.g. ``"EPSG:32633"``), recorded in the tags.

    Returns
    -------
    Path
        The GeoTIFF path. Band 1: float32 values of ``section`` (NaN nodata), described by its name
        with a ``units`` tag. Dataset tags: ``SECTION_AXES``, ``SECTION_CRS`` (none: local
        engineering frame), ``STATION_CRS``, ``METHOD``, ``N_LAYERS``, ``STATIONS`` (JSON list),
        ``STATIONS_CSV`` (the sidecar's file name).

    Raises
    ------
    ValueError
        If the dims are not ``(depth_m, distance_m)`` or the cell centres are not regular.
    """
    path = Path(path)
    if section.dims != ("depth_m", "distance_m"):
        raise ValueError(f"section dims must be ('depth_m', 'distance_m'), got {section.dims}")
    dx_m, dz_m = float(section.attrs["dx_m"]), float(section.attrs["dz_m"])
    distance, depth = section["distance_m"].to_numpy(), section["depth_m"].to_numpy()
    for centres, step, name in ((distance, dx_m, "distance_m"), (depth, dz_m, "depth_m")):
        if len(centres) > 1 and not np.allclose(np.diff(centres), step, rtol=1e-6):
            raise ValueError(f"{name} cell centres are not regular with step {step} m")
    transform = Affine(dx_m, 0.0, distance[0] - dx_m / 2, 0.0, -dz_m, -(depth[0] - dz_m / 2))
    stations = pd.DataFrame({
        "station": section.attrs["station_ids"],
        "distance_m": section.attrs["station_distance_m"],
        "x_m": section.attrs["station_x_m"],
        "y_m": section.attrs["station_y_m"],
        "inverted": section.attrs["station_inverted"],
    })
    profile = {"driver": "GTiff", "dtype": "float32", "nodata": np.nan, "count": 1, "width": len(distance),
               "height": len(depth), "crs": None, "transform": transform, "compress": "deflate", "predictor": 3}
    # The sidecar first: a GeoTIFF on disk always has the stations its tags point to.
    with atomic_path(stations_path(path)) as tmp:
        stations.to_csv(tmp, index=False, float_format="%.6f")
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(section.to_numpy().astype("float32"), 1)
        dst.set_band_description(1, str(section.name or "value"))
        dst.update_tags(1, units=str(section.attrs.get("units", "")))
        dst.update_tags(
            SECTION_AXES=AXES_TAG,
            SECTION_CRS="none: a local engineering frame (distance along the line x depth), not a map projection",
            STATION_CRS=station_crs or "unknown",
            METHOD=str(section.attrs.get("method", "")),
            N_LAYERS=str(section.attrs.get("n_layers", "")),
            STATIONS=json.dumps(stations.astype(object).where(stations.notna(), None).to_dict("records")),
            STATIONS_CSV=stations_path(path).name,
        )
    return path
