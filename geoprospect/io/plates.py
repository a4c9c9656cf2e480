"""Plate-model readers: rotation files checked line by line, feature files, plate ids without rotations.

pygplates reads rotation and GPML files leniently: a broken line of a ``.rot`` file or a truncated
GPML file is skipped without an error, and a feature whose plate id has no rotation silently stays
at its present-day position. These readers turn each of those into an :class:`InputError` that
names the file (and line, or plate id).

File layouts follow the GPlates global models (Müller et al. 2016, 2019): PLATES4 ``.rot`` or
GPlates ``.grot`` rotation files, ``.gpml``/``.gpmlz`` (or shapefile) topology, static-polygon and
coastline files, and optional age grids named by a ``{time}`` template.
"""

from __future__ import annotations

import gzip
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pygplates
import rasterio
import xarray as xr

from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path
from geoprospect.tectonics.kinematics import KINEMATICS_COLUMNS


class PlateModelWarning(UserWarning):
    """Something in a plate model that reconstruction does not need but a user should know about."""

_ROTATION_FIELDS = (
    ("moving plate id", int),
    ("time (Ma)", float),
    ("pole latitude", float),
    ("pole longitude", float),
    ("angle (deg)", float),
    ("fixed plate id", int),
)
_ROTATION_FIX = (
    "write each rotation as 'moving_plate_id time_Ma pole_lat_deg pole_lon_deg angle_deg fixed_plate_id' "
    "then an optional '!' comment, or export the file again from GPlates"
)


@dataclass(frozen=True)
class PlateModelFiles:
    """The files of one plate model.

    Parameters
    ----------
    rotations : tuple of Path
        Rotation files (``.rot``, ``.grot`` or rotation ``.gpml``).
    topologies : tuple of Path
        Topology files: closed plate polygons (and networks) together with the boundary sections
        they reference, all loaded together.
    static_polygons : tuple of Path
        Present-day plate outlines with plate ids, to assign plate ids to points.
    coastlines : tuple of Path
        Coastlines, for maps.
    age_grid_template : str or None
        Seafloor age grid path with a ``{time}`` field, e.g. ``".../agegrid_{time}.nc"``.

    A single path is accepted wherever a tuple is expected.
    """

    rotations: tuple[Path, ...]
    topologies: tuple[Path, ...]
    static_polygons: tuple[Path, ...] = ()
    coastlines: tuple[Path, ...] = ()
    age_grid_template: str | None = None

    def __post_init__(self):
        for name in ("rotations", "topologies", "static_polygons", "coastlines"):
            object.__setattr__(self, name, _as_paths(getattr(self, name)))
        if not self.rotations:
            raise InputError("plate model", "no rotation file given", "name at least one .rot/.grot file")
        if not self.topologies:
            raise InputError("plate model", "no topology file given", "name the topology (.gpml/.gpmlz) files")
        if self.age_grid_template is not None and "{time}" not in self.age_grid_template:
            raise InputError(
                self.age_grid_template,
                "the age grid template has no '{time}' field",
                "write the time as {time} in the file name, e.g. agegrid_{time}.nc",
            )

    def age_grid_path(self, time_ma: float) -> Path:
        """The age grid file at ``time_ma`` (Ma; whole numbers written without decimals).

        Raises
        ------
        InputError
            If the model has no age grids or the file for that time is missing.
        """
        if self.age_grid_template is None:
            raise InputError("plate model", "no age grid template given", "set age_grid_template")
        time = int(time_ma) if float(time_ma).is_integer() else time_ma
        path = Path(self.age_grid_template.format(time=time))
        if not path.is_file():
            raise InputError(path, f"no age grid for {time_ma:g} Ma", "check the template and the grid times")
        return path

    def nearest_age_grid_path(self, time_ma: float) -> Path:
        """The age grid of the available time nearest to ``time_ma`` (Ma; the older one on a tie).

        Age grids come at fixed steps (every 10 Myr in the demo, 1 Myr in the global models):
        kinematics at a time between two grids use the nearest grid. The available times are the
        files matching the template, whose ``{time}`` field must be in the file name.

        Raises
        ------
        InputError
            If the model has no age grids or no file matches the template.
        """
        if self.age_grid_template is None:
            raise InputError("plate model", "no age grid template given", "set age_grid_template")
        template = Path(self.age_grid_template)
        if "{time}" not in template.name:
            raise InputError(self.age_grid_template, "the '{time}' field is not in the file name",
                             "put the time in the grid file names, e.g. agegrids/agegrid_{time}.nc")
        before, after = template.name.split("{time}", 1)
        pattern = re.compile(re.escape(before) + r"(\d+(?:\.\d+)?)" + re.escape(after) + "$")
        times = {float(m.group(1)): template.parent / m.group(0)
                 for p in (template.parent.glob(before + "*" + after) if template.parent.is_dir() else ())
                 if (m := pattern.match(p.name))}
        if not times:
            raise InputError(self.age_grid_template, "no age grid file matches the template",
                             "check the folder and the template of the age grids")
        return times[min(times, key=lambda t: (abs(t - time_ma), -t))]


def read_rotation_model(paths: Path | str | Sequence[Path | str], anchor_plate_id: int = 0) -> pygplates.RotationModel:
    """Read rotation files into one rotation model, after checking every text rotation line.

    Parameters
    ----------
    paths : path or sequence of paths
        ``.rot`` (PLATES4: ``moving_plate_id time_Ma pole_lat pole_lon angle_deg fixed_plate_id
        !comment``), ``.grot`` (the same lines with ``@`` attributes, plus ``@`` header lines,
        ``>`` plate-sequence headers and ``#`` disabled poles) or rotation ``.gpml`` files.
    anchor_plate_id : int
        The default anchor plate of the model.

    Returns
    -------
    pygplates.RotationModel

    Raises
    ------
    InputError
        A file is missing or unreadable, a rotation line is malformed or out of range (the
        message gives the file and line number), or the files hold no rotation at all.
    """
    paths = _as_paths(paths)
    if not paths:
        raise InputError("rotation files", "no rotation file given", "name at least one .rot/.grot file")
    collections = []
    for path in paths:
        _require_file(path, "rotation")
        if path.suffix.lower() in (".rot", ".grot"):
            check_rotation_text(path)
        collection = _load(path, "rotation")
        sequence = pygplates.FeatureType.gpml_total_reconstruction_sequence
        if not any(f.get_feature_type() == sequence for f in collection):
            raise InputError(path, "holds no rotation sequence", _ROTATION_FIX)
        collections.append(collection)
    return pygplates.RotationModel(collections, default_anchor_plate_id=anchor_plate_id)


def check_rotation_text(path: Path) -> int:
    """Check each line of a plain-text ``.rot``/``.grot`` file; return the number of rotation lines.

    Accepted besides rotation lines: blank lines and, in ``.grot`` files, ``@`` header attributes
    (possibly spanning lines inside triple quotes), ``>`` moving-plate sequence headers and ``#``
    disabled poles (which GPlates keeps but does not use). Checked on each rotation line: six
    fields before the comment (``!`` or ``@``), integer plate ids >= 0, time >= 0 Ma, pole latitude
    in [-90, 90], longitude in [-360, 360], finite angle.

    Raises
    ------
    InputError
        Naming the file, the line number and what is expected.
    """
    path = Path(path)
    grot = path.suffix.lower() == ".grot"
    text = _read_text(path)
    n_rotations = 0
    poles: list[tuple[int, int, float, int]] = []  # (moving, fixed, time, line number)
    in_quoted_attribute = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_quoted_attribute:
            in_quoted_attribute = line.count('"""') % 2 == 0
            continue
        if not line:
            continue
        if grot and line[0] in "@>":
            in_quoted_attribute = line.count('"""') % 2 == 1
            continue
        if grot and line[0] == "#":
            continue
        problem = _rotation_line_problem(line, grot)
        if problem:
            raise InputError(path, f"line {number}: {problem} (got {raw.strip()[:80]!r})", _ROTATION_FIX)
        fields = line.split("!", 1)[0].split("@", 1)[0].split()
        poles.append((int(fields[0]), int(fields[5]), float(fields[1]), number))
        n_rotations += 1
    if n_rotations == 0:
        raise InputError(path, "holds no rotation line", _ROTATION_FIX)
    cycle = rotation_cycle(poles)
    if cycle:
        plates, time_ma, lines = cycle
        raise InputError(path, f"rotation cycle {' -> '.join(map(str, plates))} around {time_ma:g} Ma (lines "
                         f"{', '.join(map(str, lines))}): each plate is rotated relative to the next, so the pole "
                         "pygplates uses depends on the path it takes",
                         "make one of these plates move relative to a plate outside the cycle over that time")
    return n_rotations


def rotation_cycle(poles: Sequence[tuple[int, int, float, int]]) -> tuple[list[int], float, list[int]] | None:
    """A cycle of moving -> fixed plates active at one time, or None.

    ``poles`` are ``(moving, fixed, time_ma, line)``; consecutive poles of one (moving, fixed) pair
    form a sequence active between its youngest and oldest time. Self-references (``999 ... 999``
    comment lines of PLATES4 files) are ignored. Cycles are looked for only among plates that form a
    cycle ignoring time (scipy's strongly connected components, nearly always none), then at the
    midpoints between those sequences' times, so that a crossover (A on B until 50 Ma, B on A before)
    is not a cycle.

    Returns
    -------
    (plates, time_ma, lines) or None
        The plates of the cycle in order (the first repeated at the end), a time when it is active
        and the line numbers of its sequences' first poles.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    spans: dict[tuple[int, int], list[float]] = {}  # (moving, fixed) -> [youngest, oldest, first line]
    for moving, fixed, time_ma, line in poles:
        if moving == fixed:
            continue
        span = spans.setdefault((moving, fixed), [time_ma, time_ma, line])
        span[0], span[1] = min(span[0], time_ma), max(span[1], time_ma)
    if not spans:
        return None
    plates = sorted({p for pair in spans for p in pair})
    index = {p: i for i, p in enumerate(plates)}
    rows, cols = zip(*((index[m], index[f]) for m, f in spans))
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(plates), len(plates)))
    _, component = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(component)
    suspects = {(m, f): span for (m, f), span in spans.items()
                if component[index[m]] == component[index[f]] and sizes[component[index[m]]] > 1}
    if not suspects:
        return None
    times = sorted({t for span in suspects.values() for t in span[:2]})
    for time_ma in (np.array(times[:-1]) + np.array(times[1:])) / 2.0:
        edges = {m: f for (m, f), (young, old, _) in suspects.items() if young < time_ma < old}
        for start in edges:
            path = [start]
            while path[-1] in edges and edges[path[-1]] not in path:
                path.append(edges[path[-1]])
            if path[-1] in edges and edges[path[-1]] == start:
                lines = [int(suspects[(a, b)][2]) for a, b in zip(path, path[1:] + [start])]
                return path + [start], float(time_ma), lines
    return None


def _rotation_line_problem(line: str, grot: bool) -> str | None:
    """What is wrong with one rotation line, or None."""
    data = line.split("!", 1)[0]
    if grot:
        data = data.split("@", 1)[0]
    fields = data.split()
    if len(fields) != len(_ROTATION_FIELDS):
        return f"expected 6 fields before the comment, found {len(fields)}"
    values = []
    for text, (name, kind) in zip(fields, _ROTATION_FIELDS):
        try:
            values.append(kind(text))
        except ValueError:
            return f"{name} {text!r} is not {'an integer' if kind is int else 'a number'}"
    moving, time_ma, lat, lon, angle, fixed = values
    if moving < 0 or fixed < 0:
        return "plate ids must be >= 0"
    if not (math.isfinite(time_ma) and time_ma >= 0):
        return f"time {fields[1]} Ma must be a number >= 0"
    if not -90.0 <= lat <= 90.0:
        return f"pole latitude {fields[2]} is outside [-90, 90] degrees"
    if not -360.0 <= lon <= 360.0:
        return f"pole longitude {fields[3]} is outside [-360, 360] degrees"
    if not math.isfinite(angle):
        return f"angle {fields[4]} is not a finite number of degrees"
    return None


def read_features(
    paths: Path | str | Sequence[Path | str],
    what: str,
    rotation_model: pygplates.RotationModel | None = None,
    time_range: tuple[float, float] | None = None,
) -> list[pygplates.FeatureCollection]:
    """Read feature files (GPML, GPMLZ, shapefile...) with pygplates, one collection per file.

    Parameters
    ----------
    paths : path or sequence of paths
    what : str
        What the files are ("topology", "static polygon", "coastline"), for messages.
    rotation_model : pygplates.RotationModel, optional
        If given, the reconstruction plate ids of the features must have a rotation where
        reconstruction needs one (see :func:`plate_id_check`); plate ids that only label a boundary's
        sides (left/right) or features outside ``time_range`` are reported as a
        :class:`PlateModelWarning`, as GPlates accepts them.
    time_range : (young_ma, old_ma), optional
        The times the features will be reconstructed to; default: each feature's youngest time.

    Raises
    ------
    InputError
        No file given, a file missing, not in a format pygplates reads, a GPML file that is
        truncated (incomplete XML), holding no feature, or a reconstruction plate id with no rotation
        at a time it is needed.
    """
    paths = _as_paths(paths)
    if not paths:
        raise InputError(f"{what} files", f"no {what} file given", f"name at least one {what} file")
    collections = []
    for path in paths:
        _require_file(path, what)
        collection = _load(path, what)
        if len(collection) == 0:
            raise InputError(
                path,
                f"no feature could be read from this {what} file (empty, truncated or not valid GPML)",
                "open it in GPlates and save it again, or point to the right file",
            )
        if rotation_model is not None:
            check_plate_ids(path, collection, what, rotation_model, time_range)
        collections.append(collection)
    return collections


def check_plate_ids(path: Path, features: Iterable[pygplates.Feature], what: str,
                    rotation_model: pygplates.RotationModel, time_range: tuple[float, float] | None = None) -> None:
    """Refuse reconstruction plate ids without a rotation where needed; warn (:class:`PlateModelWarning`)
    about the others (see :func:`plate_id_check`).

    Raises
    ------
    InputError
        Naming the file, the plate ids and the first time each lacks a rotation.
    """
    needed, other = plate_id_check(features, rotation_model, time_range)
    if needed:
        listed = ", ".join(f"{pid} (at {t:g} Ma)" for pid, t in sorted(needed.items()))
        raise InputError(
            path,
            f"reconstruction plate id(s) {listed} have no rotation to the anchor plate: these features "
            "would stay at their present-day position",
            "use the rotation file of the same plate model, or correct the features' plate ids",
        )
    if other:
        listed = ", ".join(f"{pid} ({why})" for pid, why in sorted(other.items())[:20])
        warnings.warn(PlateModelWarning(
            f"{Path(path).name}: {len(other)} plate id(s) without a rotation, not needed to reconstruct the {what} "
            f"features over the requested times: {listed}{' ...' if len(other) > 20 else ''}"), stacklevel=3)


def plate_id_check(
    features: Iterable[pygplates.Feature],
    rotation_model: pygplates.RotationModel,
    time_range: tuple[float, float] | None = None,
) -> tuple[dict[int, float], dict[int, str]]:
    """Plate ids without a rotation: those reconstruction needs, and the others.

    A feature is reconstructed with its reconstruction plate id at the times of ``time_range``
    within its valid time; it needs a rotation at the youngest and the oldest such time (where a
    missing rotation would silently leave it at its present-day position). Without ``time_range``
    the feature's youngest time (the end of its valid time, or 0 Ma) is checked. Left and right
    plate ids only label the plates on either side of a boundary (pygplates resolves topologies
    without them), and features outside ``time_range`` are never reconstructed: their missing
    rotations are the "other" ones.

    Returns
    -------
    needed : dict
        Reconstruction plate id -> the first time (Ma) without a rotation.
    other : dict
        Plate id -> why it does not matter ("left/right plate id", "feature outside ... Ma").
    """
    cache: dict[tuple[int, float], bool] = {}

    def rotates(plate_id: int, time_ma: float) -> bool:
        if (plate_id, time_ma) not in cache:
            rotation = rotation_model.get_rotation(time_ma, plate_id, use_identity_for_missing_plate_ids=False)
            cache[(plate_id, time_ma)] = rotation is not None
        return cache[(plate_id, time_ma)]

    needed: dict[int, float] = {}
    other: dict[int, str] = {}
    for feature in features:
        begin, end = (float(t) for t in feature.get_valid_time())
        young = end if math.isfinite(end) and end > 0 else 0.0
        old = begin if math.isfinite(begin) else math.inf
        if time_range is None:
            times, inside = [young], True
        else:
            lo, hi = max(young, float(time_range[0])), min(old, float(time_range[1]))
            inside = lo <= hi
            times = [lo, hi] if inside else [young]
        plate_id = feature.get_reconstruction_plate_id(None)
        if plate_id is not None:
            gap = next((t for t in times if not rotates(plate_id, t)), None)
            if gap is not None and inside:
                needed.setdefault(plate_id, gap)
            elif gap is not None:
                other.setdefault(plate_id, f"feature valid {begin:g}-{young:g} Ma, outside {time_range[0]:g}-{time_range[1]:g} Ma")
        for side in (feature.get_left_plate(None), feature.get_right_plate(None)):
            if side is not None and not any(rotates(side, t) for t in times):
                other.setdefault(side, "left/right plate id only")
    for plate_id in needed:
        other.pop(plate_id, None)
    return needed, other


def plate_ids_without_rotation(
    features: Iterable[pygplates.Feature], rotation_model: pygplates.RotationModel,
    time_range: tuple[float, float] | None = None,
) -> dict[int, float]:
    """Reconstruction plate ids that reconstruction needs and the rotation model lacks (see
    :func:`plate_id_check`): plate id -> the first time (Ma) without a rotation."""
    return plate_id_check(features, rotation_model, time_range)[0]


def _as_paths(paths) -> tuple[Path, ...]:
    if paths is None:
        return ()
    if isinstance(paths, (str, Path)):
        return (Path(paths),)
    return tuple(Path(p) for p in paths)


def _require_file(path: Path, what: str) -> None:
    if not path.is_file():
        raise InputError(path, f"{what} file not found", "check the path in the catalog")


def _read_text(path: Path) -> str:
    """Rotation files are ASCII in practice; comments may hold UTF-8 or Latin-1 names."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _load(path: Path, what: str) -> pygplates.FeatureCollection:
    try:
        collection = pygplates.FeatureCollection(str(path))
    except pygplates.FileFormatNotSupportedError:
        raise InputError(
            path,
            f"pygplates cannot read a {what} file with suffix '{path.suffix}'",
            "use .rot/.grot for rotations and .gpml/.gpmlz/.shp/.geojson/.gpkg for features",
        ) from None
    except (pygplates.OpenFileForReadingError, pygplates.GPlatesError, RuntimeError) as exc:
        raise InputError(path, f"pygplates could not read this {what} file: {exc}", "check the file") from None
    if len(collection) and path.suffix.lower() in (".gpml", ".gpmlz"):  # an empty one is reported by the caller
        _require_complete_xml(path, what)
    return collection


def _require_complete_xml(path: Path, what: str) -> None:
    """Refuse a truncated GPML file: pygplates reads one without error, keeping the features it got to
    (with no geometry and plate id 0), so the check is that the XML document is complete."""
    try:
        with (gzip.open(path) if path.suffix.lower() == ".gpmlz" else open(path, "rb")) as stream:
            for _ in ElementTree.iterparse(stream):
                pass
    except (ElementTree.ParseError, OSError, EOFError) as exc:
        raise InputError(path, f"this {what} file is truncated or not well-formed XML ({exc})",
                         "copy or export the file again (GPlates: File > Save)") from None


_LON_NAMES = ("lon", "longitude", "x")
_LAT_NAMES = ("lat", "latitude", "y")
_AGE_GRID_FIX = "give a lon/lat grid of seafloor age in Myr (NetCDF with lon/lat coordinates, or a GeoTIFF in EPSG:4326)"


def read_age_grid(path: Path | str) -> xr.DataArray:
    """Read a seafloor age grid (Myr) on a longitude/latitude grid.

    Parameters
    ----------
    path : path
        NetCDF (``.nc``, ``.grd``: one data variable over ``lon``/``lat``, ``longitude``/``latitude``
        or ``x``/``y`` coordinates, as the GPlates/EarthByte age grids) or GeoTIFF (``.tif``,
        geographic coordinates; nodata read as NaN). NetCDF-4 (HDF5) files are read with
        ``netCDF4``, NetCDF-3 files with scipy.

    Returns
    -------
    xarray.DataArray
        float, dims ``(lat, lon)`` in degrees, both ascending; NaN where there is no oceanic
        lithosphere; name ``seafloor_age_myr``.

    Raises
    ------
    InputError
        The file is missing, unreadable, has no longitude/latitude coordinates or no finite value.
    """
    path = Path(path)
    _require_file(path, "age grid")
    suffix = path.suffix.lower()
    if suffix in (".nc", ".grd", ".nc4", ".cdf"):
        grid = _read_netcdf_grid(path)
    elif suffix in (".tif", ".tiff"):
        grid = _read_geotiff_grid(path)
    else:
        raise InputError(path, f"cannot read an age grid with suffix '{path.suffix}'", _AGE_GRID_FIX)
    grid = grid.sortby("lat").sortby("lon").astype(float)
    if not np.isfinite(grid.values).any():
        raise InputError(path, "the age grid holds no finite value", _AGE_GRID_FIX)
    return grid.rename("seafloor_age_myr").assign_attrs(units="Myr", source=str(path))


def _read_netcdf_grid(path: Path, variable: str | None = None, at: tuple[str, float] | None = None,
                      fix: str = _AGE_GRID_FIX, what: str = "age grid") -> xr.DataArray:
    """The (lat, lon) grid of ``variable`` (default: the first over lon/lat); ``at``: (dimension, value)
    to select first (only that slice is read)."""
    try:
        with xr.open_dataset(path) as dataset:
            lon = next((n for n in _LON_NAMES if n in dataset.coords or n in dataset.dims), None)
            lat = next((n for n in _LAT_NAMES if n in dataset.coords or n in dataset.dims), None)
            if lon is None or lat is None:
                raise InputError(path, f"no longitude/latitude coordinates (found {sorted(map(str, dataset.coords)) or 'none'})", fix)
            variables = [name for name, var in dataset.data_vars.items() if {lon, lat} <= set(var.dims)]
            if variable is not None and variable not in variables:
                raise InputError(path, f"no variable '{variable}' over ({lat}, {lon}) (found {variables})", fix)
            if not variables:
                raise InputError(path, f"no data variable over ({lat}, {lon})", fix)
            grid = dataset[variable or variables[0]]
            grid = (grid.sel({at[0]: at[1]}) if at else grid).load().squeeze(drop=True)
    except InputError:
        raise
    except (ValueError, OSError, TypeError, KeyError) as exc:
        raise InputError(path, f"could not read this NetCDF {what} ({exc})",
                         "check that the file is a complete NetCDF grid, or convert it to GeoTIFF (gdal_translate)") from None
    if grid.ndim != 2:
        raise InputError(path, f"the variable '{grid.name}' has dims {grid.dims}, expected ({lat}, {lon})", fix)
    return grid.rename({lon: "lon", lat: "lat"}).transpose("lat", "lon")


def _read_geotiff_grid(path: Path) -> xr.DataArray:
    try:
        with rasterio.open(path) as source:
            if source.crs is not None and not source.crs.is_geographic:
                raise InputError(path, f"the age grid is in a projected CRS ({source.crs})", _AGE_GRID_FIX)
            values = source.read(1).astype(float)
            if source.nodata is not None:
                values[values == source.nodata] = np.nan
            transform, (height, width) = source.transform, source.shape
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(path, f"could not read this GeoTIFF age grid ({exc})", _AGE_GRID_FIX) from None
    lon = transform.c + transform.a * (np.arange(width) + 0.5)
    lat = transform.f + transform.e * (np.arange(height) + 0.5)
    return xr.DataArray(values, coords={"lat": lat, "lon": lon}, dims=("lat", "lon"))


_SERIES_FIX = ("give a NetCDF with a time dimension in Ma (plate_model.rasters.<name>.time_dim), or a folder of lon/lat "
               "grids named by plate_model.rasters.<name>.pattern, e.g. crust_{time}Ma.nc")


def raster_series_times(path: Path | str, pattern: str | None = None, time_dim: str = "time") -> dict[float, tuple[Path, float | None]]:
    """The times (Ma) of a raster series: a folder of grids named by ``pattern`` (``{time}`` in the name)
    or one NetCDF with a ``time_dim`` dimension. Returns time -> (file, time to select in it or None).

    Raises
    ------
    InputError
        No grid matches the pattern, a folder without a pattern, or a NetCDF without that dimension.
    """
    path = Path(path)
    if path.is_dir():
        if pattern is None:
            raise InputError(path, "is a folder of grids but no file name pattern is given", _SERIES_FIX)
        before, after = pattern.split("{time}", 1)
        match = re.compile(re.escape(before) + r"(\d+(?:\.\d+)?)" + re.escape(after) + "$")
        times = {float(m.group(1)): (p, None) for p in sorted(path.iterdir()) if (m := match.match(p.name))}
        if not times:
            raise InputError(path, f"no file matches the pattern {pattern!r}", _SERIES_FIX)
        return times
    _require_file(path, "raster series")
    try:
        with xr.open_dataset(path) as dataset:
            if time_dim not in dataset.coords:
                raise InputError(path, f"no '{time_dim}' coordinate (found {sorted(map(str, dataset.coords))})", _SERIES_FIX)
            values = dataset[time_dim].to_numpy()
    except InputError:
        raise
    except (ValueError, OSError, TypeError) as exc:
        raise InputError(path, f"could not read this NetCDF ({exc})", _SERIES_FIX) from None
    if not np.issubdtype(values.dtype, np.number) or not np.isfinite(values).all():
        raise InputError(path, f"the '{time_dim}' values are not finite numbers of Ma ({values[:3]})",
                         "store the time as ages in Ma (numbers), not dates")
    return {float(t): (path, float(t)) for t in values}


def read_raster_series_grid(path: Path | str, time_ma: float | None = None, variable: str | None = None,
                            time_dim: str = "time") -> xr.DataArray:
    """One grid of a raster series (see :func:`raster_series_times`): float, dims ``(lat, lon)`` ascending,
    NaN at nodata. ``time_ma`` selects the slice of a NetCDF with a time dimension."""
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        grid = _read_geotiff_grid(path)
    else:
        grid = _read_netcdf_grid(path, variable, (time_dim, time_ma) if time_ma is not None else None, _SERIES_FIX, "raster")
    return grid.sortby("lat").sortby("lon").astype(float)


def write_age_grid(grid: xr.DataArray, path: Path | str) -> Path:
    """Write a ``(lat, lon)`` seafloor age grid (Myr) as classic NetCDF (scipy engine), atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        grid.to_netcdf(tmp, engine="scipy")
    return path


def write_kinematics(table: pd.DataFrame, path: Path | str) -> Path:
    """Write a subduction-kinematics table (:data:`KINEMATICS_COLUMNS`) as Parquet, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return path


def read_kinematics(path: Path | str) -> pd.DataFrame:
    """Read a subduction-kinematics table written by :func:`write_kinematics`.

    Raises
    ------
    InputError
        The file is missing, not Parquet, or lacks some of :data:`KINEMATICS_COLUMNS`.
    """
    path = Path(path)
    _require_file(path, "kinematics table")
    try:
        table = pd.read_parquet(path)
    except (ValueError, OSError) as exc:  # pyarrow's ArrowInvalid and ArrowIOError derive from these
        raise InputError(path, f"not a readable Parquet file ({type(exc).__name__})",
                         "write it again with geoprospect.io.plates.write_kinematics") from None
    missing = [c for c in KINEMATICS_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(path, f"missing kinematics columns {missing}", "write it again with write_kinematics")
    return table[list(KINEMATICS_COLUMNS)]
