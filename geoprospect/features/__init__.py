"""Evidence features of the prospectivity flow, assembled from the ingested cube and vectors.

:func:`build_features` turns a study area's cube (every layer aligned on the target grid) and its
vector layers into the feature stack the models see, as in the EIS Toolkit and the EarthByte /
Farahbakhsh et al. (2023) prospectivity workflows:

- every continuous band as it is (geophysics, radiometrics, DEM, scene reflectances);
- distance to each vector layer given (faults, intrusions: :mod:`.distances`);
- for each categorical band (geology): distance to contacts and one indicator per class
  (:mod:`.categorical`);
- focal mean, standard deviation and range of the potential-field bands (:mod:`.focal`) and their
  THDR, first vertical derivative and tilt derivative (:mod:`.potential`);
- alteration ratios and indices of each multispectral scene (:mod:`.spectral`).

These are deterministic transforms of one grid cell's surroundings, so they are computed once on the
whole area. Everything fitted on data (correlation drop :class:`.selection.SpearmanDrop`, PCA,
scaling, autoencoders) belongs in the model pipeline and is fitted inside cross-validation folds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from geoprospect.errors import InputError
from geoprospect.features.categorical import one_hot
from geoprospect.features.distances import (
    cell_size_m,
    distance_to_contacts,
    distance_to_lines,
    feature_like,
)
from geoprospect.features.focal import check_window, focal_range, focal_stats
from geoprospect.features.potential import potential_field_derivatives
from geoprospect.features.selection import SpearmanDrop, spearman_matrix
from geoprospect.features.spectral import choose_bands, spectral_indices
from geoprospect.grid import TargetGrid

__all__ = [
    "FeatureOptions", "SpearmanDrop", "build_features", "cell_size_m", "choose_bands", "distance_to_contacts",
    "distance_to_lines", "focal_range", "focal_stats", "one_hot", "potential_field_derivatives", "spearman_matrix",
    "spectral_indices",
]


@dataclass(frozen=True)
class FeatureOptions:
    """Choices of :func:`build_features`.

    Attributes
    ----------
    window_cells : int
        Focal window width in cells (odd, >= 3).
    focal_patterns : tuple of str
        Continuous bands whose name contains one of these (case-insensitive) get focal mean, standard
        deviation and range: the potential-field grids.
    derivative_bands : tuple of str, optional
        Bands that get THDR, VDR and tilt derivatives; each must be a continuous band of the cube.
        None: the bands matched by ``focal_patterns`` (``magnetics_tmi`` and ``gravity_bouguer`` on
        the demo).
    background_categorical : tuple of str
        Categorical bands whose NaN means "outside every polygon" rather than "unmapped" (an
        intrusion layer rasterized from a few polygons): their NaN cells form a class ``none``.
        Names absent from the cube are ignored.
    pad_fraction : float
        Mirror padding of the FFT derivatives, as a fraction of the grid size on each side.
    """

    window_cells: int = 5
    focal_patterns: tuple[str, ...] = ("magnetic", "gravity")
    derivative_bands: tuple[str, ...] | None = None
    background_categorical: tuple[str, ...] = ("intrusions",)
    pad_fraction: float = 0.25


def _check_grid(cube: xr.DataArray, grid: TargetGrid) -> None:
    if tuple(cube.dims) != ("band", "y", "x"):
        raise InputError("cube", f"has dimensions {tuple(cube.dims)}, not (band, y, x)", "open it with geoprospect.io.cube.open_cube")
    if (cube.sizes["y"], cube.sizes["x"]) != grid.shape or not (
            np.allclose(cube.x.values, grid.x) and np.allclose(cube.y.values, grid.y)):
        raise InputError("cube", f"its {cube.sizes['y']} x {cube.sizes['x']} cells are not the target grid's {grid.shape[0]} x {grid.shape[1]}",
                         "ingest the study area again so that the cube is built on the catalog's grid")


def build_features(cube: xr.DataArray, grid: TargetGrid, lines: Mapping[str, gpd.GeoDataFrame],
                   scenes: Mapping[str, str], options: FeatureOptions = FeatureOptions()) -> xr.DataArray:
    """The feature stack of a study area.

    Parameters
    ----------
    cube : DataArray, shape (band, y, x)
        The ingested cube (:func:`geoprospect.io.cube.open_cube`): string band names, ``units`` and
        ``kind`` coordinates along ``band``, ``attrs["classes"]`` = {band: {code: name}} for the
        categorical bands, CRS attached. Numpy- or dask-backed.
    grid : TargetGrid
        The study area's grid; the cube must lie on it.
    lines : mapping
        Layer name -> GeoDataFrame (faults, intrusions...): one ``distance_to_<name>_m`` each.
    scenes : mapping
        Scene name (the prefix of its bands in the cube, ``landsat8``) -> sensor name.
    options : FeatureOptions

    Returns
    -------
    DataArray ``features``, shape (feature band, y, x), float32, with string ``band`` names, a
    ``units`` coordinate along ``band`` and the cube's CRS and transform. Lazy (dask) where the
    cube is, with the cube's chunks; distances and FFT derivatives are computed in memory.

    Raises
    ------
    InputError
        A cube off the grid, a band that is all nodata, a categorical band without class names, a
        derivative band that is not a continuous band, a scene without bands in the cube, two
        features of the same name.
    """
    _check_grid(cube, grid)
    check_window(options.window_cells)
    names = [str(b) for b in cube.band.values]
    kinds = dict(zip(names, (str(k) for k in cube.kind.values), strict=True)) if "kind" in cube.coords else dict.fromkeys(names, "continuous")
    units = dict(zip(names, (str(u) for u in cube.units.values), strict=True)) if "units" in cube.coords else dict.fromkeys(names, "")
    classes = cube.attrs.get("classes", {})
    continuous = [b for b in names if kinds[b] != "categorical"]
    categorical = [b for b in names if kinds[b] == "categorical"]
    focal = [b for b in continuous if any(p.lower() in b.lower() for p in options.focal_patterns)]
    derivative = focal if options.derivative_bands is None else list(options.derivative_bands)
    # every check before any work: a bad option fails at once, not after the distances are computed
    for band in categorical:
        if band not in classes:
            raise InputError("cube", f"categorical band {band} has no class names", "ingest it from a vector layer with a class column")
    for band in derivative:
        if band not in continuous:
            raise InputError("features.derivative_bands", f"{band!r} is not a continuous band of the cube", f"use some of {', '.join(continuous)}")
    for scene in scenes:
        if not any(b.startswith(f"{scene}_") for b in names):
            raise InputError(f"scenes.{scene}", "the cube holds no band of this scene", "ingest the scene, or name it as in the catalog")
    empty = cube.isnull().all(("y", "x")).compute()
    if bool(empty.any()):
        raise InputError("cube", f"bands {', '.join(np.asarray(names)[empty.values])} are all nodata",
                         "check those sources (extent, CRS, nodata value) or leave them out of the catalog")

    def layer(band: str) -> xr.DataArray:
        return feature_like(cube, cube.sel(band=band).data, band, units[band])

    parts: list[xr.DataArray] = [layer(b) for b in continuous]
    parts += [distance_to_lines(gdf, grid, name) for name, gdf in lines.items()]
    for band in categorical:
        background = band in options.background_categorical
        parts.append(distance_to_contacts(layer(band), background=background))
        indicators = one_hot(layer(band), classes[band], background="none" if background else None)
        parts += [feature_like(cube, indicators.sel(feature=f).data, f, "indicator") for f in indicators.feature.values]
    for band in focal:
        parts += [*focal_stats(layer(band), options.window_cells), focal_range(layer(band), options.window_cells)]
    for band in derivative:
        parts += potential_field_derivatives(layer(band), options.pad_fraction)
    for scene, sensor in scenes.items():
        parts += spectral_indices(cube, scene, sensor)
    feature_names = [str(p.name) for p in parts]
    duplicated = sorted({n for n in feature_names if feature_names.count(n) > 1})
    if duplicated:
        raise InputError("features", f"feature names {duplicated} occur twice", "rename the vector layers or scenes that produce them")
    features = xr.concat([p.astype("float32") for p in parts], dim="band", coords="minimal", compat="override", join="override")
    features = features.assign_coords(band=feature_names, units=("band", [p.attrs.get("units", "") for p in parts])).rename("features")
    features.attrs = {}
    if cube.chunks is not None:
        features = features.chunk({"band": 1, "y": cube.chunksizes["y"][0], "x": cube.chunksizes["x"][0]})
    return features.rio.write_crs(cube.rio.crs).rio.write_transform(grid.transform)
