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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pygplates

from geoprospect.errors import InputError

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
        n_rotations += 1
    if n_rotations == 0:
        raise InputError(path, "holds no rotation line", _ROTATION_FIX)
    return n_rotations


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
) -> list[pygplates.FeatureCollection]:
    """Read feature files (GPML, GPMLZ, shapefile...) with pygplates, one collection per file.

    Parameters
    ----------
    paths : path or sequence of paths
    what : str
        What the files are ("topology", "static polygon", "coastline"), for messages.
    rotation_model : pygplates.RotationModel, optional
        If given, every plate id the features use must have a rotation in it.

    Raises
    ------
    InputError
        No file given, a file missing, not in a format pygplates reads, a GPML file that is
        truncated (incomplete XML), holding no feature, or using a plate id with
        no rotation.
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
            missing = plate_ids_without_rotation(collection, rotation_model)
            if missing:
                listed = ", ".join(f"{pid} (at {t:g} Ma)" for pid, t in sorted(missing.items()))
                raise InputError(
                    path,
                    f"plate id(s) {listed} have no rotation to the anchor plate",
                    "add these plate ids to the rotation file or correct the features' plate ids",
                )
        collections.append(collection)
    return collections


def plate_ids_without_rotation(
    features: Iterable[pygplates.Feature], rotation_model: pygplates.RotationModel
) -> dict[int, float]:
    """Plate ids used by ``features`` that the rotation model cannot rotate to its anchor plate.

    Each feature's reconstruction, left and right plate ids are looked up at the youngest time the
    feature exists (the end of its valid time, or 0 Ma), where a feature with a missing rotation
    would silently stay at its present-day position.

    Returns
    -------
    dict
        Missing plate id -> the time (Ma) at which it was looked up.
    """
    found: dict[tuple[int, float], bool] = {}
    missing: dict[int, float] = {}
    for feature in features:
        end_ma = feature.get_valid_time()[1]
        time_ma = float(end_ma) if math.isfinite(end_ma) and end_ma > 0 else 0.0
        for plate_id in (
            feature.get_reconstruction_plate_id(None),
            feature.get_left_plate(None),
            feature.get_right_plate(None),
        ):
            if plate_id is None:
                continue
            key = (plate_id, time_ma)
            if key not in found:
                rotation = rotation_model.get_rotation(time_ma, plate_id, use_identity_for_missing_plate_ids=False)
                found[key] = rotation is not None
            if not found[key]:
                missing.setdefault(plate_id, time_ma)
    return missing


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
