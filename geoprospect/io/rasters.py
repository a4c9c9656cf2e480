"""Raster reading, validation and alignment onto the target grid, block by block.

Alignment streams through a GDAL warped VRT one output block at a time, so memory stays bounded
whatever the size of the source or of the grid, and nodata is honoured by the resampler (a 10 m
band averaged onto 30 m ignores its nodata pixels instead of mixing them in). Cells outside a
source's footprint are nodata whatever the file declares; the catalog's ``nodata:`` marks fill
values a file does not declare (0 around an airborne survey).
"""

from __future__ import annotations

import errno
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid, native_resolution_m, resampling_for
from geoprospect.io.files import atomic_path

class _OncePerMessage(logging.Filter):
    """Let each distinct GDAL message through once per process: GDAL repeats a file's warning (e.g.
    "the definition of projected CRS EPSG:3067 got from GeoTIFF keys is not the same as the one from
    the EPSG registry") each time the file is opened, three times or more per file and run."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


logging.getLogger("rasterio._env").addFilter(_OncePerMessage())
log = logging.getLogger(__name__)
ZERO_FILL_WARNING = 0.05  # share of exact zeros, in a continuous band with no nodata, that looks like a fill

GTIFF_PROFILE = dict(driver="GTiff", dtype="float32", nodata=np.nan, tiled=True, blockxsize=256, blockysize=256,
                     compress="deflate", predictor=3, BIGTIFF="IF_SAFER")


@dataclass(frozen=True)
class RasterInfo:
    """What a raster file declares about itself."""

    path: str
    crs: str
    count: int
    width: int
    height: int
    bounds: tuple[float, float, float, float]
    resolution_m: float
    dtype: str
    nodata: float | None
    descriptions: tuple[str | None, ...]


@dataclass(frozen=True)
class BandSpec:
    """One band to align: 1-based index in its file, output name and units, linear scaling to values."""

    index: int
    name: str
    units: str = ""
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = None


def describe_raster(path: str | Path, nodata: float | None = None, grid: TargetGrid | None = None) -> RasterInfo:
    """Open a raster and check what every later step relies on.

    Raises :class:`InputError` for an unreadable or truncated file, a missing CRS, a non-numeric
    dtype, or (when ``grid`` is given) a raster that does not overlap the grid.
    """
    path = Path(path)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(path, "the raster has no CRS", "assign one, e.g. `gdal_edit.py -a_srs EPSG:32611 FILE`, or export it again with its projection")
            dtype = np.dtype(src.dtypes[0])
            if dtype.kind not in "uif":
                raise InputError(path, f"unsupported data type {dtype}", "store the raster as integers or floats")
            lat = 0.0
            if src.crs.is_geographic:
                lat = (src.bounds.bottom + src.bounds.top) / 2
            info = RasterInfo(
                path=str(path), crs=src.crs.to_string(), count=src.count, width=src.width, height=src.height,
                bounds=tuple(src.bounds), resolution_m=native_resolution_m(src.transform, src.crs, lat),
                dtype=str(dtype), nodata=src.nodata if nodata is None else nodata, descriptions=tuple(src.descriptions),
            )
    except RasterioError as exc:
        raise InputError(path, f"cannot be read as a raster ({exc})", "check that the file is a complete GeoTIFF (or another GDAL format); download or export it again") from None
    if grid is not None:
        _check_overlap(info, grid)
    return info


def _check_overlap(info: RasterInfo, grid: TargetGrid) -> None:
    left, bottom, right, top = transform_bounds(info.crs, grid.crs, *info.bounds, densify_pts=21)
    gxmin, gymin, gxmax, gymax = grid.bounds
    if right <= gxmin or left >= gxmax or top <= gymin or bottom >= gymax:
        raise InputError(
            info.path,
            f"does not overlap the target grid (raster bounds in {grid.crs}: {left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}; "
            f"grid: {gxmin:.0f}, {gymin:.0f}, {gxmax:.0f}, {gymax:.0f})",
            "check the raster's CRS and the catalog's grid bounds",
        )


def align_raster(
    sources: list[tuple[str | Path, BandSpec]],
    grid: TargetGrid,
    destination: str | Path,
    kind: str = "continuous",
    block: int = 1024,
) -> dict[str, dict[str, float]]:
    """Resample bands onto ``grid`` and write them together as one float32 GeoTIFF.

    Each band comes from ``(file, BandSpec)``; bands may come from different files at different
    native resolutions (a scene's 10, 20 and 60 m bands), each resampled by its own rule. Values are
    ``dn * scale + offset``; nodata becomes NaN. The output is written to a temporary file and moved to
    ``destination`` only when complete.

    Returns
    -------
    dict
        Per band name: ``valid_fraction``, ``min``, ``max``, ``mean`` over the grid.

    Raises
    ------
    InputError
        If a file is unreadable, lacks a CRS or misses the grid, a band index is out of range, or a
        band has no valid cell on the grid.
    """
    infos = {}
    for path, band in sources:
        if path not in infos:
            infos[path] = describe_raster(path, nodata=band.nodata, grid=grid)
        if not 1 <= band.index <= infos[path].count:
            raise InputError(path, f"band {band.index} requested but the file has {infos[path].count} band(s)", "fix the band list in the catalog")
    stats = {band.name: dict(n=0, sum=0.0, min=np.inf, max=-np.inf, zeros=0) for _, band in sources}
    profile = dict(GTIFF_PROFILE, crs=grid.crs, transform=grid.transform, width=grid.width, height=grid.height, count=len(sources))
    current = None
    try:
        with ExitStack() as stack, atomic_path(destination) as tmp:
            vrts = {}
            for path, info in infos.items():
                current = path
                src = stack.enter_context(rasterio.open(path))
                vrts[path] = stack.enter_context(WarpedVRT(
                    src, crs=grid.crs, transform=grid.transform, width=grid.width, height=grid.height,
                    resampling=resampling_for(kind, info.resolution_m, grid.resolution_m), src_nodata=info.nodata,
                    # warp to float with a NaN destination nodata: cells outside the source's footprint
                    # stay nodata even when the file declares none (otherwise GDAL fills them with 0)
                    nodata=np.nan, dtype="float32", init_dest_nodata=True,
                    UNIFIED_SRC_NODATA="NO",  # each band's own nodata: a 0 DN in one band is nodata in that band only
                ))
            current = None  # from here on a failure with no input named is the output's (a full disk)
            with rasterio.open(tmp, "w", **profile) as dst:
                for i, (_, band) in enumerate(sources, start=1):
                    dst.set_band_description(i, band.name)
                    dst.update_tags(i, units=band.units)
                for row in range(0, grid.height, block):
                    for col in range(0, grid.width, block):
                        window = Window(col, row, min(block, grid.width - col), min(block, grid.height - row))
                        for i, (path, band) in enumerate(sources, start=1):
                            current = path
                            data = vrts[path].read(band.index, window=window, masked=True)
                            values = data.astype("float64").filled(np.nan) * band.scale + band.offset
                            current = None
                            dst.write(values.astype("float32"), i, window=window)
                            _accumulate(stats[band.name], values)
            for path, band in sources:
                if stats[band.name]["n"] == 0:
                    raise InputError(path, f"band {band.name} holds no valid data over the target grid (all nodata)",
                                     "check the nodata value and that the raster covers the study area")
                zeros = stats[band.name]["zeros"] / stats[band.name]["n"]
                if kind == "continuous" and infos[path].nodata is None and zeros >= ZERO_FILL_WARNING:
                    # e.g. an airborne survey grid whose outside is 0-filled: silently modelled as data
                    log.warning("%s: band %s is exactly 0 in %.0f %% of the grid's cells and declares no nodata: if 0 "
                                "fills the area outside the survey, set nodata: 0 on its catalog entry (else the fill "
                                "is used as data)", path, band.name, 100 * zeros)
    except RasterioError as exc:
        if current is None:
            raise OSError(errno.EIO, f"writing failed part-way ({exc}): is the disk full or the folder read-only? "
                                     "Free space or choose another outputs folder, then rerun (finished tasks are cached)",
                          str(destination)) from None
        raise InputError(current, f"reading failed part-way ({exc}): the file is probably truncated or corrupt", "download or export it again") from None
    cells = grid.width * grid.height
    return {
        name: dict(valid_fraction=s["n"] / cells, min=float(s["min"]), max=float(s["max"]), mean=s["sum"] / max(s["n"], 1))
        for name, s in stats.items()
    }


def _accumulate(stat: dict, values: np.ndarray) -> None:
    valid = values[np.isfinite(values)]
    if valid.size:
        stat["n"] += valid.size
        stat["sum"] += float(valid.sum())
        stat["min"] = min(stat["min"], float(valid.min()))
        stat["max"] = max(stat["max"], float(valid.max()))
        stat["zeros"] += int(np.count_nonzero(valid == 0))


def read_preview(path: str | Path, max_size: int = 800) -> tuple[np.ndarray, tuple[float, float, float, float], list[str], list[str]]:
    """A decimated read of every band for quicklooks: (array (band, y, x), bounds, names, units)."""
    with rasterio.open(path) as src:
        step = max(1, int(np.ceil(max(src.width, src.height) / max_size)))
        shape = (src.count, int(np.ceil(src.height / step)), int(np.ceil(src.width / step)))
        data = src.read(out_shape=shape, masked=True, resampling=rasterio.enums.Resampling.nearest)
        names = [d or f"band{i + 1}" for i, d in enumerate(src.descriptions)]
        units = [src.tags(i + 1).get("units", "") for i in range(src.count)]
        return data.astype("float32").filled(np.nan), tuple(src.bounds), names, units


def read_band(path: str | Path, band: int = 1) -> np.ndarray:
    """One band as a float array, nodata as NaN (for rasters that fit in memory, e.g. a truth map)."""
    with rasterio.open(path) as src:
        return src.read(band, masked=True).astype("float64").filled(np.nan)


def write_geotiff(array: np.ndarray, destination: str | Path, crs: str, transform, names: list[str],
                  units: list[str] | None = None, dtype: str = "float32", nodata: float | None = np.nan) -> Path:
    """Write an in-memory (band, y, x) or (y, x) array as a tiled GeoTIFF, atomically."""
    data = array[None] if array.ndim == 2 else array
    units = units or [""] * data.shape[0]
    profile = dict(GTIFF_PROFILE, dtype=dtype, nodata=nodata, crs=crs, transform=transform,
                   width=data.shape[2], height=data.shape[1], count=data.shape[0])
    if np.dtype(dtype).kind != "f":
        profile["predictor"] = 2
    with atomic_path(destination) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data.astype(dtype))
            for i, (name, unit) in enumerate(zip(names, units), start=1):
                dst.set_band_description(i, name)
                dst.update_tags(i, units=unit)
    return Path(destination)
