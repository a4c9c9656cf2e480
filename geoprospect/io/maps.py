"""Write result maps as Cloud-Optimized GeoTIFFs, streamed block by block from lazy arrays.

A map is computed into a plain tiled GeoTIFF one dask block at a time (each block written as it
finishes, so memory is bounded by the blocks in flight, whatever the map size), then GDAL's COG
driver copies it into a Cloud-Optimized GeoTIFF (deflate, overviews, tiles in COG order) that QGIS and
HTTP range readers open directly. The final file appears atomically; the intermediate is removed.
Class maps are written the same way as uint8 COGs, with their class names, colours and attribute
table in GDAL's ``.aux.xml`` beside them.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import dask.array as dsa
import numpy as np
import rasterio
import rasterio.shutil
import rioxarray
import xarray as xr
from dask.utils import SerializableLock
from rasterio.windows import Window

from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path

GDAL_CACHE_MB = 256  # GDAL's default (5 % of RAM) would dominate the memory of a streamed write


def write_cog(da: xr.DataArray, path: str | Path, nodata: float = np.nan, overviews: bool = True,
              description: str | list[str] | None = None, tags: dict[str, str] | None = None,
              units: str | None = None, resampling: str = "average", blocksize: int = 256) -> Path:
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
        Tile side in pixels (a multiple of 16); overviews halve the map until it fits one tile.

    Returns
    -------
    Path
        ``path``.
    """
    if description is None:
        description = [str(b) for b in da.band.values] if da.ndim == 3 else [str(da.name or "value")]
    descriptions = [description] if isinstance(description, str) else list(description)
    units = da.attrs.get("units", "") if units is None else units
    return _stream_cog(da, Path(path), nodata, overviews, descriptions, tags, units, resampling, blocksize)


def _stream_cog(da: xr.DataArray, path: Path, nodata: float, overviews: bool, descriptions: list[str],
                tags: dict[str, str] | None, units: str, resampling: str, blocksize: int,
                colormap: dict[int, tuple[int, int, int, int]] | None = None) -> Path:
    """The body of :func:`write_cog` (arguments resolved), plus an optional colour table for band 1 (the TIFF palette)."""
    if da.rio.crs is None:
        raise InputError(path, "the map to write has no CRS", "attach one with `.rio.write_crs(...)` (the feature cube's CRS)")
    data = da.data if da.ndim == 3 else da.data[None]
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(data, chunks=(1, blocksize, blocksize))
    count, height, width = data.shape
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
                        dst.set_band_unit(i, units)  # GDAL's own field: QGIS and gdalinfo show it
                if tags:
                    dst.update_tags(**{k: str(v) for k, v in tags.items()})
                if colormap:
                    dst.write_colormap(1, colormap)  # GDAL's COG driver copies the colour table with the band
            dsa.store(data, _WindowWriter(str(staging)), lock=_lock(path), compute=True)
            rasterio.shutil.copy(staging, final, driver="COG", **options)
        finally:
            staging.unlink(missing_ok=True)
    return path


def make_cog(path: str | Path, resampling: str = "average", blocksize: int = 256) -> Path:
    """Rewrite a GeoTIFF in place (atomically) as a Cloud-Optimized GeoTIFF with internal overviews.

    For GeoTIFFs written whole (aligned layers, scenes): GDAL's COG driver orders the header, the
    overviews (halvings until one tile; the 256-pixel tiles give a few-km grid at least one) and the
    tiles as readers expect. A band's ``units`` tag becomes GDAL's own band unit where that is empty, so
    QGIS and ``gdalinfo`` show it. ``resampling``: ``average`` for values, ``nearest`` for codes.
    """
    path = Path(path)
    with rasterio.open(path, "r+") as dst:
        for i in dst.indexes:
            unit = dst.tags(i).get("units")
            if unit and not dst.units[i - 1]:
                dst.set_band_unit(i, unit)
    options = dict(COMPRESS="DEFLATE", PREDICTOR="YES", BLOCKSIZE=blocksize, BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS",
                   OVERVIEWS="IGNORE_EXISTING", RESAMPLING=resampling.upper())
    with atomic_path(path) as final, rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB):
        rasterio.shutil.copy(path, final, driver="COG", **options)
    return path


CLASS_NAMES_TAG = "CLASS_NAMES"  # dataset tag: JSON object {"code": "name"} of a class map


def write_class_cog(codes: xr.DataArray, path: str | Path, class_names: dict[int, str],
                    colours: dict[int, tuple[int, int, int]], description: str = "class",
                    tags: dict[str, str] | None = None, blocksize: int = 512) -> Path:
    """Write a class map as a Cloud-Optimized GeoTIFF of uint8 codes (0 = nodata) that QGIS shows with its legend.

    The COG holds the codes, a band description, the class names as the JSON dataset tag
    ``CLASS_NAMES`` (``{"1": "granite", ...}``), the colour table as a TIFF palette, and overviews
    resampled by ``nearest`` (averaging codes would invent classes). Beside it, GDAL's auxiliary file
    ``<name>.tif.aux.xml`` (read by GDAL, hence QGIS and rasterio, with the file) holds what a GeoTIFF
    cannot: GDAL's GTiff and COG drivers write category names and raster attribute tables only to this
    PAM sidecar (checked with GDAL 3.10). It holds the band's category names, a colour table of exactly
    ``max code + 1`` entries (code 0 transparent), which GDAL reads in place of the in-file palette (a
    TIFF palette always has 256 entries, the unused ones black), and a thematic raster attribute table
    with one row per class: ``Value``, ``Class``, ``Red``, ``Green``, ``Blue``, ``Count`` (pixels in the
    map). Publish both files together; a COG copied alone keeps its codes, colours and ``CLASS_NAMES``
    tag, and loses the legend's names and the attribute table.

    Parameters
    ----------
    codes : DataArray (y, x)
        Class codes 1-255 with a CRS (rioxarray) and regular ``x``/``y`` coordinates; 0 or NaN marks
        cells without a class. Integer or float (whole numbers) dtype; numpy or dask backed.
    path : str or Path
        Destination ``.tif``; written atomically, then its ``.aux.xml``.
    class_names : dict of int to str
        Name of every code present in the map (codes 1-255).
    colours : dict of int to (r, g, b)
        0-255 colour per code (e.g. :func:`geoprospect.render.lithology.class_colours`).
    description : str
        Band description.
    tags : dict, optional
        Further dataset tags (e.g. model, sensor, run hash).
    blocksize : int
        Tile side in pixels (a multiple of 16).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    if codes.ndim != 2:
        raise InputError(path, f"a class map must be one (y, x) layer, got dimensions {codes.dims}",
                         "write one layer of class codes")
    bad_keys = [k for k in class_names if not isinstance(k, (int, np.integer)) or not 1 <= k <= 255]
    if bad_keys:
        raise InputError(path, f"class codes {bad_keys} outside 1-255 (0 is nodata)", "number the classes 1 to 255")
    if np.issubdtype(codes.dtype, np.floating):
        codes = codes.fillna(0)
    elif not np.issubdtype(codes.dtype, np.integer):
        raise InputError(path, f"class codes of dtype {codes.dtype}", "pass integer codes (or floats with NaN for nodata)")
    flat = codes.data.ravel()
    outside = (flat < 0) | (flat > 255) | (flat != np.floor(flat))  # uint8 would wrap or truncate these
    outside = bool(outside.any().compute() if isinstance(flat, dsa.Array) else outside.any())
    # one pass over the (possibly lazy) map: the pixel count of every code, for the attribute table
    counts = dsa.bincount(flat.clip(0, 255).astype(np.int64), minlength=256).compute() if isinstance(flat, dsa.Array) \
        else np.bincount(flat.clip(0, 255).astype(np.int64), minlength=256)
    present = np.flatnonzero(counts)
    if outside or not np.all(np.isin(present, [0, *class_names])):
        unnamed = sorted(int(v) for v in present if v != 0 and v not in class_names) or ["not whole numbers in 0-255"]
        raise InputError(path, f"codes {unnamed[:10]} in the map have no class name",
                         "name every code in class_names (whole numbers 1-255; 0 or NaN for nodata)")
    if set(class_names) - set(colours):
        raise InputError(path, f"no colour for classes {sorted(set(class_names) - set(colours))}",
                         "give a colour for every named class (geoprospect.render.lithology.class_colours makes a palette)")
    if any(len(colours[k]) != 3 or not all(0 <= c <= 255 for c in colours[k]) for k in class_names):
        raise InputError(path, "colours must be (r, g, b) with each component 0-255", "correct the colours")
    names = json.dumps({str(int(k)): str(v) for k, v in sorted(class_names.items())})
    classes = {int(k): (str(v), tuple(int(c) for c in colours[k]), int(counts[int(k)])) for k, v in sorted(class_names.items())}
    palette = {0: (0, 0, 0, 0), **{code: (*colour, 255) for code, (_, colour, _) in classes.items()}}
    _stream_cog(codes.astype(np.uint8), path, 0, True, [description], {**(tags or {}), CLASS_NAMES_TAG: names}, "", "nearest",
                blocksize, palette)
    with atomic_path(path.with_name(path.name + ".aux.xml")) as aux:
        aux.write_text(_class_pam(classes, description))
    return path


def _class_pam(classes: dict[int, tuple[str, tuple[int, int, int], int]], description: str) -> str:
    """GDAL's PAM XML for band 1 of a class map: category names, colour table, thematic attribute table.

    ``classes``: code -> (name, (r, g, b), pixel count). Field types and usages are GDAL's
    ``GDALRATFieldType`` (0 integer, 2 string) and ``GDALRATFieldUsage`` (5 min-max: the value,
    2 name, 6/7/8 red/green/blue, 1 pixel count).
    """
    top = max(classes)
    band = ET.Element("PAMRasterBand", band="1")
    ET.SubElement(band, "Description").text = description
    ET.SubElement(band, "ColorInterp").text = "Palette"
    categories = ET.SubElement(band, "CategoryNames")
    for code in range(top + 1):
        ET.SubElement(categories, "Category").text = classes[code][0] if code in classes else ""
    table = ET.SubElement(band, "ColorTable")
    for code in range(top + 1):
        r, g, b = classes[code][1] if code in classes else (0, 0, 0)
        ET.SubElement(table, "Entry", c1=str(r), c2=str(g), c3=str(b), c4="255" if code in classes else "0")
    rat = ET.SubElement(band, "GDALRasterAttributeTable", tableType="thematic")
    fields = (("Value", 0, 5), ("Class", 2, 2), ("Red", 0, 6), ("Green", 0, 7), ("Blue", 0, 8), ("Count", 0, 1))
    for index, (name, kind, usage) in enumerate(fields):
        definition = ET.SubElement(rat, "FieldDefn", index=str(index))
        ET.SubElement(definition, "Name").text = name
        ET.SubElement(definition, "Type").text = str(kind)
        ET.SubElement(definition, "Usage").text = str(usage)
    for row, (code, (name, (r, g, b), count)) in enumerate(classes.items()):
        entry = ET.SubElement(rat, "Row", index=str(row))
        for value in (code, name, r, g, b, count):
            ET.SubElement(entry, "F").text = str(value)
    dataset = ET.Element("PAMDataset")
    dataset.append(band)
    ET.indent(dataset)
    return ET.tostring(dataset, encoding="unicode") + "\n"


def read_class_map(path: str | Path) -> tuple[xr.DataArray, dict[int, str], dict[int, tuple[int, int, int]]]:
    """Read a class map written by :func:`write_class_cog`.

    Returns
    -------
    codes : DataArray (y, x) of uint8
        Class codes, 0 = nodata, with the file's CRS and transform (rioxarray).
    class_names : dict of int to str
    colours : dict of int to (r, g, b)
        Colour of every named class, from the colour table.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such class map", "check the path (write it with write_class_cog)")
    with rasterio.open(path) as src:
        names = src.tags().get(CLASS_NAMES_TAG)
        if src.count != 1 or names is None:
            raise InputError(path, f"not a class map (needs one band and a {CLASS_NAMES_TAG} tag)",
                             "pass a map written by write_class_cog")
        table = src.colormap(1)
    class_names = {int(k): v for k, v in json.loads(names).items()}
    colours = {k: tuple(table[k][:3]) for k in class_names}
    codes = rioxarray.open_rasterio(path).squeeze("band", drop=True).load()
    return codes, class_names, colours


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
