"""Write result maps as Cloud-Optimized GeoTIFFs, streamed block by block from lazy arrays.

A map is computed into a plain tiled GeoTIFF one dask block at a time (each block written as it
finishes, so memory is bounded by the blocks in flight, whatever the map size), then GDAL's COG
driver copies it into a Cloud-Optimized GeoTIFF (deflate, overviews, tiles in COG order) that QGIS and
HTTP range readers open directly. The final file appears atomically; the intermediate is removed.
"""

from __future__ import annotations

from pathlib import Path

import dask.array as dsa
import numpy as np
import rasterio
import rasterio.shutil
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from dask.utils import SerializableLock
from rasterio.windows import Window

from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path

GDAL_CACHE_MB = 256  # GDAL's default (5 % of RAM) would dominate the memory of a streamed write


def write_cog(da: xr.DataArray, path: str | Path, nodata: float = np.nan, overviews: bool = True,
              description: str | list[str] | None = None, tags: dict[str, str] | None = None,
              units: str | None = None, resampling: str = "average", blocksize: int = 512) -> Path:
    """Write a (y, x) or (band, y, x) DataArray as a Cloud-Optimized GeoTIFF, streaming its blocks.

    Parameters
    ----------
    da : DataArray (y, x) or (band, y, x)
        Lazy (dask) or in-memory map with a CRS (rioxarray) and regular ``x``/``y`` coordinates.
        NaN (or ``nodata``) marks cells without a value.
    path : str or Path
        Destination ``.tif``; written atomically.
    nodata : float
        Nodata value stored in the file (NaN for float maps).
    overviews : bool
        Build internal overviews (halvings down to one tile).
    description : str or list of str, optional
        Band description(s); default the array's name, or the ``band`` coordinate.
    tags : dict, optional
        Dataset-level metadata (e.g. model name, run hash).
    units : str, optional
        Per-band ``units`` tag; default ``da.attrs["units"]``.
    resampling : str
        Overview resampling (``average`` for continuous maps, ``nearest`` for class maps).
    blocksize : int
        Tile side in pixels (a multiple of 16).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if da.rio.crs is None:
        raise InputError(path, "the map to write has no CRS", "attach one with `.rio.write_crs(...)` (the feature cube's CRS)")
    data = da.data if da.ndim == 3 else da.data[None]
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(data, chunks=(1, blocksize, blocksize))
    count, height, width = data.shape
    if description is None:
        description = [str(b) for b in da.band.values] if da.ndim == 3 else [str(da.name or "value")]
    descriptions = [description] if isinstance(description, str) else list(description)
    units = da.attrs.get("units", "") if units is None else units
    # whole tiles per block: a tile shared by two blocks would be written (and read back) twice
    step = blocksize * max(1, min(data.chunks[1][0], data.chunks[2][0]) // blocksize)
    data = data.rechunk({1: step, 2: step})
    profile = dict(driver="GTiff", dtype=str(data.dtype), nodata=nodata, count=count, width=width, height=height,
                   crs=da.rio.crs, transform=da.rio.transform(recalc=True), tiled=True, blockxsize=blocksize,
                   blockysize=blocksize, BIGTIFF="IF_SAFER")
    options = dict(COMPRESS="DEFLATE", PREDICTOR="YES", BLOCKSIZE=blocksize, BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS",
                   OVERVIEWS="IGNORE_EXISTING" if overviews else "NONE", RESAMPLING=resampling.upper())
    with atomic_path(path) as final, rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        staging = final.with_name(final.name + ".stream.tif")
        try:
            with rasterio.open(staging, "w", **profile) as dst:
                for i, text in enumerate(descriptions, start=1):
                    dst.set_band_description(i, text)
                    if units:
                        dst.update_tags(i, units=units)
                if tags:
                    dst.update_tags(**{k: str(v) for k, v in tags.items()})
            dsa.store(data, _WindowWriter(str(staging)), lock=_lock(path), compute=True)
            rasterio.shutil.copy(staging, final, driver="COG", **options)
        finally:
            staging.unlink(missing_ok=True)
    return path


class _WindowWriter:
    """A dask ``store`` target that writes each (band, y, x) block into its window of a GeoTIFF.

    It holds only the path (so it pickles to distributed workers) and opens the file per block
    under the store's lock.
    """

    def __init__(self, path: str):
        self.path = path

    def __setitem__(self, key: tuple[slice, slice, slice], block: np.ndarray) -> None:
        bands, rows, cols = key
        window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), rasterio.open(self.path, "r+") as dst:
            dst.write(block, indexes=list(range(bands.start + 1, bands.stop + 1)), window=window)


def _lock(path: Path):
    """A lock good for the active scheduler: a cluster-wide one under a distributed Client."""
    try:
        from distributed import Lock, default_client

        default_client()
        return Lock(f"geoprospect-write-cog-{path}")
    except (ImportError, ValueError):
        return SerializableLock()
