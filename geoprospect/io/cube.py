"""The feature cube: every aligned layer of a study area in one chunked Zarr store.

The cube is one DataArray ``cube`` with dims ``(band, y, x)``, string band names, a ``units``
coordinate along ``band``, a ``kind`` coordinate (``continuous``/``categorical``), class names of
categorical layers in the attributes, and the CRS as a ``spatial_ref`` coordinate (CF grid mapping),
so that ``xr.open_zarr(path, decode_coords="all")`` and GDAL both see it georeferenced.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from geoprospect.catalog import CUBE_SOURCES
from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path


def write_cube(layers: list[str | Path], destination: str | Path, kinds: dict[str, str] | None = None,
               classes: dict[str, dict[int, str]] | None = None, chunk: int = 512, mask: str | Path | None = None) -> Path:
    """Stack aligned GeoTIFFs (all on one grid) into a Zarr cube, streaming chunk by chunk.

    Parameters
    ----------
    layers : list of paths
        Aligned float32 GeoTIFFs; every band of every file becomes one band of the cube, named by
        the band's description.
    kinds : dict, optional
        Band name -> ``categorical`` for class layers (default ``continuous``).
    classes : dict, optional
        Band name -> {code: class name} for categorical layers.
    mask : path, optional
        The study-area mask (``grid.mask``, finite inside): every band is NaN outside it, so no
        pipeline reading the cube classifies or samples cells outside the study area.
    """
    if not layers:  # a catalog of vectors, surveys or waveforms only: nothing to stack
        raise InputError(destination, f"no layer to stack into a feature cube: the catalog has no {CUBE_SOURCES}",
                         "add a raster under `rasters:` (or a scene, a vector with class_column, a point survey with gridding); "
                         "inversion, seismic and tectonics run without a cube")
    kinds, classes = kinds or {}, classes or {}
    arrays = []
    for path in layers:
        # names and units per band from the file itself: rioxarray keeps only band 1's tags
        with rasterio.open(path) as src:
            names = [d or f"{Path(path).stem}_b{i}" for i, d in enumerate(src.descriptions, start=1)]
            units = [src.tags(i).get("units") or src.units[i - 1] or "" for i in src.indexes]
        da = rioxarray.open_rasterio(path, chunks={"band": 1, "y": chunk, "x": chunk}, masked=True)
        da = da.assign_coords(band=names, units=("band", units))
        arrays.append(da)
    first = arrays[0]
    for da, path in zip(arrays[1:], layers[1:]):
        if da.sizes["x"] != first.sizes["x"] or da.sizes["y"] != first.sizes["y"] or not np.allclose(da.x, first.x) or not np.allclose(da.y, first.y):
            raise InputError(path, "is not on the cube's grid", "align every layer onto the target grid before stacking")
    cube = xr.concat(arrays, dim="band", coords="minimal", compat="override", join="override").astype("float32")
    if mask is not None:
        inside = rioxarray.open_rasterio(mask, chunks={"band": 1, "y": chunk, "x": chunk}, masked=True).isel(band=0, drop=True)
        if inside.shape != (first.sizes["y"], first.sizes["x"]):
            raise InputError(mask, "is not on the cube's grid", "rasterize the study-area mask onto the target grid")
        cube = cube.where(np.isfinite(inside.data))
    cube = cube.assign_coords(kind=("band", [kinds.get(str(b), "continuous") for b in cube.band.values]))
    cube.attrs = {"classes": classes}
    cube = cube.rio.write_crs(first.rio.crs).rio.write_transform(first.rio.transform())
    return save_cube(cube, destination, chunk)


def save_cube(cube: xr.DataArray, destination: str | Path, chunk: int = 512) -> Path:
    """Write a (band, y, x) DataArray with ``units``/``kind`` coords, CRS and ``attrs["classes"]`` as a
    cube store (atomically, chunk by chunk when it is dask-backed)."""
    cube = cube.copy()
    for name, default in (("units", ""), ("kind", "continuous")):
        if name not in cube.coords:
            cube = cube.assign_coords({name: ("band", [default] * cube.sizes["band"])})
    classes = cube.attrs.get("classes", {})
    crs = cube.rio.crs
    cube.attrs = {"classes": json.dumps({k: {str(c): n for c, n in v.items()} for k, v in classes.items()})}
    cube.encoding = {}
    cube = cube.astype("float32")
    if crs is not None:
        # CF's grid_mapping for xarray/rioxarray, GDAL's own _CRS for GDAL and QGIS (they read no CF in Zarr)
        cube = cube.rio.write_crs(crs)
        cube.attrs["_CRS"] = {"wkt": crs.to_wkt()}  # write_crs keeps grid_mapping in the encoding
    ds = cube.chunk({"band": 1, "y": chunk, "x": chunk}).to_dataset(name="cube")
    with atomic_path(destination) as tmp:
        ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=2)  # v2: read by GDAL, QGIS and every zarr library
    return Path(destination)


def open_cube(path: str | Path) -> xr.DataArray:
    """Open a cube lazily (dask-backed), with its CRS and class names."""
    try:
        cube = xr.open_zarr(path, decode_coords="all")["cube"]
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise InputError(path, f"not a geoprospect feature cube ({exc})", "run the ingest flow to build it") from None
    # the per-band coordinates are tiny: load them so that they index and compare like numpy arrays
    cube = cube.assign_coords({name: cube[name].compute() for name in ("units", "kind") if name in cube.coords})
    cube.attrs.pop("_CRS", None)  # GDAL's copy of the CRS; rioxarray reads spatial_ref
    cube.attrs["classes"] = {k: {int(c): n for c, n in v.items()} for k, v in json.loads(cube.attrs.get("classes", "{}")).items()}
    return cube
