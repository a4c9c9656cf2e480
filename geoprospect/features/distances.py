"""Proximity evidence: distance to mapped structures and to lithological contacts.

Distance to faults and to contacts between rock units are the classic proximity layers of
knowledge- and data-driven prospectivity mapping (EIS Toolkit ``distance_computation``; Carranza
2009, *Geochemical anomaly and mineral prospectivity mapping in GIS*, ch. 8; Farahbakhsh et al. 2023,
*Ore Geology Reviews*). Both are computed on the raster grid with scipy's exact Euclidean distance
transform (Maurer et al. 2003), so their cost is linear in the number of cells and independent of
the number of vertices. They are global operations: the whole grid is held in memory (float64).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import xarray as xr
from rasterio.features import rasterize
from scipy.ndimage import distance_transform_edt

from geoprospect.crs import same_crs
from geoprospect.errors import InputError
from geoprospect.grid import TargetGrid

log = logging.getLogger(__name__)


def cell_size_m(da: xr.DataArray, signed: bool = False) -> tuple[float, float]:
    """The (x, y) cell size of a DataArray on a regular grid, from its ``x`` and ``y`` coordinates.

    In CRS units (metres on the projected grids of this pipeline); positive, or with ``signed`` the
    step between successive coordinates (``y`` decreases on a north-up grid). An irregular or
    single-cell axis is an :class:`InputError`.
    """
    sizes = []
    for axis in ("x", "y"):
        coord = np.asarray(da[axis].values, dtype=float)
        steps = np.diff(coord)
        if coord.size < 2 or not np.allclose(steps, steps[0], rtol=1e-6, atol=0) or steps[0] == 0:
            raise InputError(str(da.name), f"the {axis} coordinate is not a regular grid of at least two cells",
                             "align the layer onto the target grid first")
        sizes.append(float(steps[0]) if signed else abs(float(steps[0])))
    return sizes[0], sizes[1]


def feature_like(template: xr.DataArray, data, name: str, units: str) -> xr.DataArray:
    """A (y, x) feature on ``template``'s grid: its ``x``, ``y`` (and ``spatial_ref``) coordinates
    only, so that per-band coordinates of a cube slice do not leak into derived features."""
    coords = {k: template[k] for k in ("y", "x", "spatial_ref") if k in template.coords}
    return xr.DataArray(data, dims=("y", "x"), coords=coords, name=name, attrs={"units": units})


def distance_to_lines(lines: gpd.GeoDataFrame, grid: TargetGrid, name: str = "lines") -> xr.DataArray:
    """Distance in metres from each cell centre to the nearest feature of a vector layer.

    The features are burnt onto the grid with ``all_touched=True`` (every cell a line passes through
    is marked; a polygon marks its whole area, a point its cell), then the Euclidean distance
    transform gives, for every other cell, the distance between its centre and the centre of the
    nearest marked cell, times the cell size. Marked cells are at 0 m. The error against the exact
    distance to the geometry is at most half a cell diagonal (``resolution_m / sqrt(2)``).
    Features outside the grid are ignored (as after ingestion, which clips vectors to the grid).

    Parameters
    ----------
    lines : GeoDataFrame
        Lines (faults, dykes), polygons (intrusions) or points; reprojected to the grid CRS when in
        another one.
    grid : TargetGrid
        The target grid.
    name : str
        The layer's name (``faults``): the result is ``distance_to_<name>_m``.

    Returns
    -------
    DataArray, shape (height, width), float32, metres
    """
    if lines.crs is None:
        raise InputError(name, "the vector layer has no CRS", "define its CRS before computing distances")
    if not same_crs(lines.crs, grid.crs):
        log.info("reprojecting %s from %s to the grid CRS %s", name, lines.crs, grid.crs)
        lines = lines.to_crs(grid.crs)
    shapes = [geom for geom in lines.geometry if geom is not None and not geom.is_empty]
    marked = np.zeros(grid.shape, dtype=bool)
    if shapes:
        marked = rasterize(((g, 1) for g in shapes), out_shape=grid.shape, transform=grid.transform,
                           fill=0, all_touched=True, dtype="uint8").astype(bool)
    if not marked.any():
        raise InputError(name, "no feature of the layer lies on the grid", "check the layer's extent and CRS, or leave it out of the features")
    distance = distance_transform_edt(~marked, sampling=grid.resolution_m)
    return grid.data_array(distance.astype("float32"), f"distance_to_{name}_m", units="m")


def distance_to_contacts(classes: xr.DataArray, background: bool = False) -> xr.DataArray:
    """Distance in metres from each cell centre to the nearest contact between two classes.

    A contact is a cell edge between two 4-neighbours of different classes. The edges' midpoints
    and the cell corners they meet at are marked on a lattice of half-cell spacing, and the exact
    Euclidean distance transform of that lattice is read at the cell centres. A straight contact
    along the grid is reproduced exactly (cells beside it are at half a cell); in general the error
    is at most half a cell.

    Parameters
    ----------
    classes : DataArray, shape (y, x)
        Class codes (float, NaN where unmapped), on a regular grid with ``x``/``y`` coordinates.
    background : bool
        False: a NaN cell has no class, its edges are never contacts, and its distance is NaN
        (unmapped ground). True: NaN means "outside every polygon" (an intrusion layer), a class
        of its own whose edges with the other classes are contacts.

    Returns
    -------
    DataArray, shape (y, x), float32, metres, named ``distance_to_<name>_contacts_m``.
    """
    dx, dy = cell_size_m(classes)
    codes = np.asarray(classes.values, dtype=float)
    valid = np.isfinite(codes)
    if background:
        codes, valid = np.where(valid, codes, -np.inf), np.ones_like(valid)
    height, width = codes.shape
    # horizontal neighbours (i, j)|(i, j+1) meet at lattice (2i+1, 2j+2); vertical ones at (2i+2, 2j+1)
    across_x = valid[:, :-1] & valid[:, 1:] & (codes[:, :-1] != codes[:, 1:])
    across_y = valid[:-1] & valid[1:] & (codes[:-1] != codes[1:])
    lattice = np.zeros((2 * height + 1, 2 * width + 1), dtype=bool)
    lattice[1:-1:2, 2:-2:2] = across_x
    lattice[2:-2:2, 1:-1:2] = across_y
    lattice[2:-2:2, 2:-2:2] = across_x[:-1] | across_x[1:] | across_y[:, :-1] | across_y[:, 1:]
    name = str(classes.name)
    if not lattice.any():
        raise InputError(name, "the class layer has no contact between two classes", "leave it out of the contact distances, or check its classes")
    distance = distance_transform_edt(~lattice, sampling=(dy / 2, dx / 2))[1::2, 1::2]
    distance[~valid] = np.nan
    return feature_like(classes, distance.astype("float32"), f"distance_to_{name}_contacts_m", "m")
