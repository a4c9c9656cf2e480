"""The target grid of a study area, and the pure parts of putting data onto it.

Every layer of a study area is resampled onto one :class:`TargetGrid` (north-up, square cells, a
projected CRS). Resampling rules follow the layer's nature: categorical layers take the nearest
class (the majority when the source is much finer); continuous layers are interpolated bilinearly
when the source is as coarse or coarser than the grid and averaged when it is finer, so that a 10 m
band put on a 30 m grid is the mean of its nine pixels rather than one of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor used by TargetGrid.data_array)
import xarray as xr
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.features import rasterize

from geoprospect.catalog import GridSpec


@dataclass(frozen=True)
class TargetGrid:
    """A north-up grid of square cells.

    Attributes
    ----------
    crs : str
        Projected CRS (``EPSG:...`` or WKT).
    xmin, ymax : float
        Upper-left corner in CRS units (metres).
    resolution_m : float
        Cell size.
    width, height : int
        Columns and rows.
    """

    crs: str
    xmin: float
    ymax: float
    resolution_m: float
    width: int
    height: int

    @classmethod
    def from_spec(cls, spec: GridSpec) -> "TargetGrid":
        """Snap the spec's bounds outwards to whole cells."""
        xmin, ymin, xmax, ymax = spec.bounds
        res = spec.resolution_m
        width = int(np.ceil((xmax - xmin) / res - 1e-9))
        height = int(np.ceil((ymax - ymin) / res - 1e-9))
        return cls(spec.crs, float(xmin), float(ymax), float(res), width, height)

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution_m, 0.0, self.xmin, 0.0, -self.resolution_m, self.ymax)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (
            self.xmin,
            self.ymax - self.height * self.resolution_m,
            self.xmin + self.width * self.resolution_m,
            self.ymax,
        )

    @property
    def x(self) -> np.ndarray:
        """Cell-centre x coordinates, shape (width,)."""
        return self.xmin + (np.arange(self.width) + 0.5) * self.resolution_m

    @property
    def y(self) -> np.ndarray:
        """Cell-centre y coordinates, shape (height,), decreasing (north-up)."""
        return self.ymax - (np.arange(self.height) + 0.5) * self.resolution_m

    def data_array(self, values: np.ndarray, name: str, units: str = "", **attrs) -> xr.DataArray:
        """Wrap a (height, width) array as a georeferenced DataArray on this grid."""
        da = xr.DataArray(values, dims=("y", "x"), coords={"y": self.y, "x": self.x}, name=name)
        da.attrs.update(units=units, **attrs)
        return da.rio.write_crs(self.crs).rio.write_transform(self.transform)


CUBE_BYTES_PER_VALUE = 4  # float32 cube and features


def cube_size_problem(spec: GridSpec, layers: int) -> tuple[str, str] | None:
    """(problem, fix) when a grid's feature cube of ``layers`` bands would exceed ``spec.max_cube_gb``.

    The estimate is cells x layers x 4 bytes: a lower bound, since features add bands. It is checked
    when the catalog is read, so that a typo in the bounds or resolution fails in a second rather than
    in a MemoryError (or a full disk) hours later.
    """
    xmin, ymin, xmax, ymax = spec.bounds
    width, height = math.ceil((xmax - xmin) / spec.resolution_m - 1e-9), math.ceil((ymax - ymin) / spec.resolution_m - 1e-9)
    size = width * height * max(layers, 1) * CUBE_BYTES_PER_VALUE
    limit = spec.max_cube_gb * 1e9
    if size <= limit:
        return None
    fits = spec.resolution_m * math.sqrt(size / limit)
    fits = float(f"{fits:.2g}") if float(f"{fits:.2g}") >= fits else float(f"{fits * 1.05:.2g}")  # round up, two digits
    return (f"grid of {width:,} x {height:,} cells x {max(layers, 1)} layer(s) makes a feature cube of about "
            f"{_human_bytes(size)} (float32), over grid.max_cube_gb = {spec.max_cube_gb:g}",
            f"use a coarser grid.resolution_m (about {fits:g} m or more fits) or smaller grid.bounds "
            "(are they in metres of the grid CRS?); raise grid.max_cube_gb only if the machine has that memory and disk")


def _human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000 or unit == "PB":
            return f"{size:.3g} {unit}"
        size /= 1000
    return f"{size:.3g} EB"


def resampling_for(kind: str, source_resolution: float, target_resolution: float) -> Resampling:
    """The resampling rule for a layer of ``kind`` going from one cell size to another.

    ``source_resolution`` and ``target_resolution`` must be in the same units (metres).
    """
    finer = source_resolution < 0.75 * target_resolution
    if kind == "categorical":
        return Resampling.mode if finer else Resampling.nearest
    return Resampling.average if finer else Resampling.bilinear


def native_resolution_m(transform: Affine, crs, latitude: float = 0.0) -> float:
    """A raster's cell size in metres (geographic degrees converted at ``latitude``)."""
    crs = CRS.from_user_input(crs)
    dx, dy = abs(transform.a), abs(transform.e)
    if crs.is_geographic:  # metres per degree of longitude shrink with latitude
        dx, dy = dx * 111_320.0 * np.cos(np.radians(latitude)), dy * 110_574.0
    else:
        dx, dy = (d * crs.axis_info[0].unit_conversion_factor for d in (dx, dy))
    return float(np.sqrt(dx * dy))


def rasterize_classes(geometries, codes: np.ndarray, grid: TargetGrid, fill: int = 0) -> np.ndarray:
    """Burn polygon class codes onto the grid (cell centres inside a polygon take its code).

    Returns an int16 array of shape ``grid.shape``; cells outside every polygon hold ``fill``.
    """
    shapes = ((geom, int(code)) for geom, code in zip(geometries, codes) if geom is not None and not geom.is_empty)
    return rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=fill, dtype="int16")
