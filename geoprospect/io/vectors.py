"""Vector layers: geology polygons, fault lines, deposit points. Reading, validation, writing."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError
from shapely.geometry import box

from geoprospect.catalog import DepositSource
from geoprospect.crs import same_crs
from geoprospect.errors import InputError, one_of
from geoprospect.grid import TargetGrid
from geoprospect.io.files import atomic_path
from geoprospect.io.tables import read_csv

log = logging.getLogger(__name__)

GEOMETRY_TYPES = {
    "point": {"Point", "MultiPoint"},
    "line": {"LineString", "MultiLineString"},
    "polygon": {"Polygon", "MultiPolygon"},
}


def read_vector(path: str | Path, geometry: str, layer: str | None = None, class_column: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector layer and check its CRS, geometry type, emptiness and class column.

    Invalid polygons (self-intersections, common in digitised maps) are repaired with
    ``make_valid``; null geometries are an error, not silently dropped.
    """
    path = Path(path)
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except DataLayerError as exc:
        layers = ", ".join(str(n) for n, _ in pyogrio.list_layers(path))
        raise InputError(path, f"layer problem ({exc})", f"name one of its layers: {layers}") from None
    except (DataSourceError, OSError, ValueError) as exc:
        raise InputError(path, f"cannot be read as a vector file ({exc})", "check that it is a complete GeoPackage, shapefile (with .shx/.dbf) or GeoJSON") from None
    if gdf.empty:
        raise InputError(path, "the layer has no features", "point the catalog at a layer that holds data")
    if gdf.crs is None:
        raise InputError(path, "the layer has no CRS", "define it (e.g. a .prj beside a shapefile, or `ogr2ogr -a_srs EPSG:xxxx`)")
    if gdf.geometry.isna().any() or gdf.geometry.is_empty.any():
        bad = int((gdf.geometry.isna() | gdf.geometry.is_empty).sum())
        raise InputError(path, f"{bad} feature(s) have no geometry", "delete or fix those features")
    found = set(gdf.geom_type)
    if not found <= GEOMETRY_TYPES[geometry]:
        raise InputError(path, f"expected {geometry} geometries, found {', '.join(sorted(found))}",
                         f"point the catalog at a {geometry} layer (a layer under 'vectors:' may instead declare the "
                         "geometry it holds with its 'geometry' key)")
    if geometry == "polygon" and not gdf.is_valid.all():
        # "structure" keeps only the polygonal parts: "linework" would turn a digitised spike into a
        # GeometryCollection holding a LineString, which is no longer a polygon layer
        gdf = gdf.set_geometry(gdf.make_valid(method="structure", keep_collapsed=False))
        collapsed = gdf.geometry.is_empty | (gdf.geometry.area == 0)
        if collapsed.all():
            raise InputError(path, f"every polygon ({len(gdf)}) has zero area (its vertices lie on a line or a point)",
                             "redigitise the polygons, or set geometry: line in the catalog if they are lines")
        if collapsed.any():
            log.warning("%s: %d zero-area polygon(s) dropped (features %s)", path, int(collapsed.sum()),
                        ", ".join(map(str, gdf.index[collapsed][:10])))
            gdf = gdf[~collapsed]
    if class_column is not None:
        if class_column not in gdf.columns:
            raise InputError(path, f"column {class_column!r} not found", one_of(class_column, gdf.columns))
        if gdf[class_column].isna().any():
            raise InputError(path, f"{int(gdf[class_column].isna().sum())} feature(s) have no {class_column!r} value", "fill in the class of every polygon")
    return gdf


def read_deposits(source: DepositSource) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read known deposits from a point layer or a CSV of coordinates.

    Rows whose coordinates are missing or unparseable, and exact duplicates, are skipped and returned
    in the second frame with a ``reason`` column, so the user sees what was left out. ``row`` there,
    like the index of the deposits returned, is the 0-based row (feature) number in the source.
    """
    path = Path(source.path)
    if path.suffix.lower() not in (".csv", ".txt"):
        gdf = read_vector(path, "point", layer=source.layer)
        gdf = gdf.explode(index_parts=False)
        skipped = pd.DataFrame(columns=["row", "reason"])
    else:
        gdf, skipped = _read_point_csv(path, source)
    xy = pd.DataFrame({"x": gdf.geometry.x.round(6), "y": gdf.geometry.y.round(6)})
    dup = xy.duplicated().to_numpy()
    if dup.any():
        skipped = pd.concat([skipped, pd.DataFrame({"row": gdf.index[dup], "reason": "duplicate coordinates"})], ignore_index=True)
        gdf = gdf[~dup]
    if gdf.empty:
        swapped = skipped["reason"].str.contains("swapped").any()
        raise InputError(path, "no usable deposit (all rows were skipped: " + "; ".join(skipped["reason"].unique()) + ")",
                         "exchange x_column and y_column in the catalog (x is the longitude)" if swapped else "check the coordinate columns")
    return gdf, skipped


def _read_point_csv(path: Path, source: DepositSource) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    if not source.x_column or not source.y_column:
        raise InputError(path, "a CSV of deposits needs x_column and y_column in the catalog", "add them (e.g. x_column: LongitudeDecimal, y_column: LatitudeDecimal)")
    table = read_csv(path)
    missing = [c for c in (source.x_column, source.y_column) if c not in table.columns]
    if missing:
        raise InputError(path, f"column(s) {', '.join(missing)} not found", f"use one of {', '.join(table.columns)}")
    x = pd.to_numeric(table[source.x_column], errors="coerce")
    y = pd.to_numeric(table[source.y_column], errors="coerce")
    crs = source.crs or "EPSG:4326"
    bad = x.isna() | y.isna() | ~np.isfinite(x) | ~np.isfinite(y)
    reason = pd.Series("missing, unparseable or out-of-range coordinates", index=table.index)
    if same_crs(crs, "EPSG:4326"):
        swapped = ~bad & (y.abs() > 90) & (y.abs() <= 180) & (x.abs() <= 90)
        reason[swapped] = f"latitude ({source.y_column}) beyond ±90 but a valid longitude: x_column and y_column swapped?"
        bad |= (x.abs() > 180) | (y.abs() > 90)
    skipped = pd.DataFrame({"row": np.flatnonzero(bad), "reason": reason[bad].to_numpy()})
    gdf = gpd.GeoDataFrame(table[~bad], geometry=gpd.points_from_xy(x[~bad], y[~bad]), crs=crs)
    return gdf, skipped


def to_grid_crs(gdf: gpd.GeoDataFrame, grid: TargetGrid, source: str | Path, clip: bool = False) -> gpd.GeoDataFrame:
    """Reproject to the grid CRS; a layer with nothing inside the grid is an :class:`InputError`.

    With ``clip`` the features are cut to the grid's extent.
    """
    if same_crs(gdf.crs, grid.crs):  # the same CRS spelled differently: relabel, move no point
        out = gdf.set_crs(grid.crs, allow_override=True)
    else:
        log.info("%s: reprojected from %s to the grid's %s", source, gdf.crs.to_string(), grid.crs)
        out = gdf.to_crs(grid.crs)
    extent = box(*grid.bounds)
    inside = out.intersects(extent)
    if not inside.any():
        fix = "check the layer's CRS and the catalog's grid bounds"
        if gdf.crs.is_geographic and set(gdf.geom_type) <= {"Point"}:
            swapped = gpd.GeoSeries(gpd.points_from_xy(gdf.geometry.y, gdf.geometry.x), crs=gdf.crs).to_crs(grid.crs)
            if swapped.intersects(extent).any():
                fix = ("longitude and latitude look swapped: with them exchanged the points fall inside the grid; "
                       "exchange x_column and y_column (x is the longitude)")
        raise InputError(source, f"no feature lies inside the target grid ({grid.crs} bounds {tuple(round(b) for b in grid.bounds)})", fix)
    return out.clip(extent) if clip else out


def write_vector(gdf: gpd.GeoDataFrame, path: str | Path, layer: str | None = None) -> Path:
    """Write a GeoPackage atomically; the same data give the same bytes (content hashes stay stable)."""
    path = Path(path)
    # GDAL stamps the write time into gpkg_contents.last_change: a fixed stamp (a process-wide GDAL
    # config option, the same for every writer) keeps equal content byte-identical
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    with atomic_path(path) as tmp:
        gdf.to_file(tmp, layer=layer or path.stem, driver="GPKG", engine="pyogrio")
    return path
