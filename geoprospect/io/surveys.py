"""Ground geophysical surveys (SP profiles, Schlumberger VES, central-loop TEM) and point surveys.

The only code that reads these files. Every reader validates what it reads and raises
:class:`~geoprospect.errors.InputError` naming the file, the problem and the fix.

File layouts (CSV, one header row; extra columns are kept unchanged):

* SP profile: ``station_m`` (distance along the profile, strictly increasing), ``sp_mv``;
  optional ``x_m``, ``y_m`` (projected station coordinates), ``profile_id``.
* VES: ``ab2_m``, ``mn2_m``, ``rhoa_ohm_m``; optional ``sounding_id`` (one file may hold several
  soundings; without it the file stem is the id), ``x_m``, ``y_m``. The common field layout
  ``AB/2 (m)``, ``MN/2 (m)``, ``App. Res. (Ohm m)`` (or ``apparent resistivity``) is accepted and
  renamed. Real soundings repeat AB/2 with a larger MN/2 where the potential electrodes were moved:
  a *segment* is a run of consecutive rows with one MN/2, AB/2 must strictly increase within a
  segment, and a new segment may overlap the previous one. ``mn2_m = 0`` marks an ideal
  (MN -> 0) reading; otherwise ``0 < MN/2 < AB/2``.
* TEM: ``time_s`` (strictly increasing, > 0), ``dbzdt_t_per_s`` (dB_z/dt in T/s, signed),
  ``loop_radius_m``, ``current_a`` (one value each per sounding); optional ``sounding_id``,
  ``x_m``, ``y_m``.
* True-model sidecars written by the demo: JSON beside each CSV (see :func:`sidecar_path`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from geoprospect.crs import same_crs
from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path
from geoprospect.io.tables import read_csv

# Column aliases by normalised name (lower case, letters and digits only).
_SP_ALIASES = {
    "station_m": {"stationm", "station", "distancem", "distance"},
    "sp_mv": {"spmv", "selfpotentialmv"},
    "x_m": {"xm", "x", "easting", "eastingm"},
    "y_m": {"ym", "y", "northing", "northingm"},
}
_VES_ALIASES = {
    "ab2_m": {"ab2m", "ab2"},
    "mn2_m": {"mn2m", "mn2"},
    "rhoa_ohm_m": {"rhoaohmm", "rhoa", "appresohmm", "appres", "apparentresistivity", "apparentresistivityohmm"},
    "x_m": _SP_ALIASES["x_m"],
    "y_m": _SP_ALIASES["y_m"],
}
_TEM_ALIASES = {
    "time_s": {"times", "time"},
    "dbzdt_t_per_s": {"dbzdttpers", "dbzdtts"},
    "loop_radius_m": {"loopradiusm"},
    "current_a": {"currenta"},
    "x_m": _SP_ALIASES["x_m"],
    "y_m": _SP_ALIASES["y_m"],
}
_LON_NAMES = {"lon", "long", "longitude", "londeg", "longitudedeg"}
_LAT_NAMES = {"lat", "latitude", "latdeg", "latitudedeg"}


def read_sp_profile(path: str | Path) -> pd.DataFrame:
    """Read a self-potential profile.

    Parameters
    ----------
    path : str or Path
        CSV with ``station_m`` and ``sp_mv`` (optional ``x_m``, ``y_m``, ``profile_id``).

    Returns
    -------
    pandas.DataFrame
        One row per station in file order; ``profile_id`` is the file stem when absent.

    Raises
    ------
    InputError
        Unreadable or empty file, missing column, non-numeric or NaN values, stations not
        strictly increasing.
    """
    path = Path(path)
    table = _canonical(path, read_csv(path), _SP_ALIASES)
    _require_numeric(path, table, ["station_m", "sp_mv"], optional=["x_m", "y_m"])
    table = _with_id(table, "profile_id", path)
    _require_increasing(path, table, "profile_id", "station_m", "station distances station_m",
                        "sort the stations along the profile and remove repeats")
    return table


def read_ves(path: str | Path) -> pd.DataFrame:
    """Read one or more Schlumberger VES soundings.

    Parameters
    ----------
    path : str or Path
        CSV in the demo layout (``ab2_m``, ``mn2_m``, ``rhoa_ohm_m``, ...) or the common field
        layout (``AB/2 (m)``, ``MN/2 (m)``, ``App. Res. (Ohm m)``, ...).

    Returns
    -------
    pandas.DataFrame
        Columns ``sounding_id``, ``ab2_m``, ``mn2_m``, ``rhoa_ohm_m`` (plus any others in the
        file), in file order, overlapping MN/2 segments kept.

    Raises
    ------
    InputError
        Unreadable or empty file, missing column, non-numeric or NaN values, non-positive
        resistivity or AB/2, MN/2 negative or not below AB/2, AB/2 not increasing within a segment.
    """
    path = Path(path)
    table = _canonical(path, read_csv(path), _VES_ALIASES)
    _require_numeric(path, table, ["ab2_m", "mn2_m", "rhoa_ohm_m"], optional=["x_m", "y_m"])
    table = _with_id(table, "sounding_id", path)
    _reject_rows(path, table, table["rhoa_ohm_m"] <= 0, "non-positive apparent resistivity",
                 "remove those readings or correct their sign (a negative V/I usually means swapped M and N)")
    _reject_rows(path, table, table["ab2_m"] <= 0, "non-positive AB/2", "correct the electrode spacings")
    bad_mn = (table["mn2_m"] < 0) | (table["mn2_m"] >= table["ab2_m"])
    _reject_rows(path, table, bad_mn, "MN/2 negative or not below AB/2",
                 "correct the spacings (Schlumberger needs 0 < MN/2 < AB/2; use MN/2 = 0 only for ideal readings)")
    segment = (table["mn2_m"] != table["mn2_m"].shift()) | (table["sounding_id"] != table["sounding_id"].shift())
    table_seg = table.assign(_segment=segment.cumsum())
    _require_increasing(path, table_seg, "_segment", "ab2_m", "AB/2 within one MN/2 segment",
                        "list each MN/2 segment in increasing AB/2 "
                        "(segments may overlap; give a repeated reading its own segment)")
    return table


def read_tem(path: str | Path) -> pd.DataFrame:
    """Read one or more central-loop TEM soundings.

    Parameters
    ----------
    path : str or Path
        CSV with ``time_s``, ``dbzdt_t_per_s``, ``loop_radius_m``, ``current_a`` (optional
        ``sounding_id``, ``x_m``, ``y_m``).

    Returns
    -------
    pandas.DataFrame
        One row per gate in file order; ``sounding_id`` is the file stem when absent.

    Raises
    ------
    InputError
        Unreadable or empty file, missing column, non-numeric or NaN values, non-positive time,
        times not strictly increasing, loop radius or current not positive or not constant.
    """
    path = Path(path)
    table = _canonical(path, read_csv(path), _TEM_ALIASES)
    _require_numeric(path, table, ["time_s", "dbzdt_t_per_s", "loop_radius_m", "current_a"], optional=["x_m", "y_m"])
    table = _with_id(table, "sounding_id", path)
    _reject_rows(path, table, table["time_s"] <= 0, "non-positive gate time",
                 "give times after the current switch-off, in seconds")
    _require_increasing(path, table, "sounding_id", "time_s", "gate times time_s",
                        "list the gates in increasing time, each once")
    for column, what in (("loop_radius_m", "loop radius"), ("current_a", "current")):
        _reject_rows(path, table, table[column] <= 0, f"non-positive {what}", f"correct {column}")
        varies = table.groupby("sounding_id", sort=False)[column].transform("nunique") > 1
        _reject_rows(path, table, varies, f"{what} changes within a sounding",
                     f"give each sounding one {column} or split it into soundings with their own sounding_id")
    return table


def read_point_survey(path: str | Path, columns: list[str] | None = None, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read point samples (geochemistry, ...) as a GeoDataFrame.

    Parameters
    ----------
    path : str or Path
        A CSV with ``x``/``y`` (or ``x_m``/``y_m``, ``easting``/``northing``) or ``lon``/``lat``
        (``longitude``/``latitude``) columns, or a point shapefile / GeoPackage / GeoJSON.
    columns : list of str, optional
        Value columns the caller needs: each must exist, be numeric (text numbers are converted
        to float) and hold no missing values.
    crs : str, optional
        CRS of the coordinates when the file carries none (a CSV, a shapefile without .prj).
        A CSV with x/y needs it; lon/lat default to EPSG:4326. A file that has a CRS must agree.

    Returns
    -------
    geopandas.GeoDataFrame
        All rows and columns of the file, point geometry, CRS set.

    Raises
    ------
    InputError
        Unreadable or empty file, no coordinate columns, coordinates missing or out of range,
        geometries that are not points, no CRS, a CRS that contradicts ``crs``, a requested
        column missing, non-numeric or with missing values.
    """
    path = Path(path)
    if path.suffix.lower() in {".csv", ".txt"}:
        gdf = _points_from_csv(path, read_csv(path), crs)
    else:
        gdf = _read_vector(path)
        if gdf.crs is None:
            if crs is None:
                raise InputError(path, "the file has no CRS", "add one (a .prj beside a shapefile) or pass crs=")
            gdf = gdf.set_crs(crs)
        elif crs is not None and not same_crs(gdf.crs, crs):
            raise InputError(path, f"the file's CRS {gdf.crs.to_string()} differs from crs={crs!r}",
                             "drop the crs argument or reproject the file")
    missing = gdf.geometry.isna() | gdf.geometry.is_empty
    _reject_rows(path, gdf, missing, "features without geometry", "delete or locate those samples")
    kinds = set(gdf.geom_type) - {"Point"}
    if kinds:
        raise InputError(path, f"expected point geometries, found {', '.join(sorted(kinds))}",
                         "give a point layer (one point per sample)")
    for column in columns or []:
        if column not in gdf.columns:
            available = ", ".join(c for c in gdf.columns if c != "geometry")
            raise InputError(path, f"column {column!r} not found", f"use one of {available}")
    _require_numeric(path, gdf, list(columns or []))
    return gdf


def sidecar_path(path: str | Path) -> Path:
    """JSON sidecar (true model and metadata) of a survey CSV: ``name.csv`` -> ``name.json``."""
    return Path(path).with_suffix(".json")


def read_sidecar(path: str | Path) -> dict:
    """Read the JSON sidecar of a survey CSV (or the sidecar itself).

    Raises
    ------
    InputError
        If the sidecar is missing or not a JSON object.
    """
    path = Path(path)
    path = path if path.suffix == ".json" else sidecar_path(path)
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "sidecar not found",
                         "write the survey with its sidecar (geoprospect.demo.surveys) or score without a true model") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not valid JSON ({exc})", "rewrite the sidecar") from None
    if not isinstance(content, dict):
        raise InputError(path, "the sidecar is not a JSON object", "rewrite the sidecar")
    return content


def write_survey(table: pd.DataFrame, path: str | Path, sidecar: dict | None = None) -> Path:
    """Write a survey table as CSV (and its JSON sidecar), each atomically.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns in one of the layouts of this module.
    path : str or Path
        Destination ``.csv``.
    sidecar : dict, optional
        JSON-serialisable true model / metadata, written to :func:`sidecar_path`.

    Returns
    -------
    Path
        The CSV path.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")
    if sidecar is not None:
        with atomic_path(sidecar_path(path)) as tmp:
            tmp.write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return path


def _read_vector(path: Path) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path, engine="pyogrio")
    except (DataLayerError, DataSourceError, OSError, ValueError, pyogrio.errors.GeometryError) as exc:
        raise InputError(path, f"cannot be read as a vector file ({exc})",
                         "check that it is a complete shapefile (.shp/.shx/.dbf), GeoPackage or GeoJSON") from None
    if gdf.empty:
        raise InputError(path, "the layer has no features", "point at a layer that holds the samples")
    return gdf


def _points_from_csv(path: Path, table: pd.DataFrame, crs: str | None) -> gpd.GeoDataFrame:
    names = {_normalise(c): c for c in table.columns}
    x_col = next((names[n] for n in ("x", "xm", "easting", "eastingm") if n in names), None)
    y_col = next((names[n] for n in ("y", "ym", "northing", "northingm") if n in names), None)
    lon_col = next((names[n] for n in _LON_NAMES if n in names), None)
    lat_col = next((names[n] for n in _LAT_NAMES if n in names), None)
    if x_col and y_col:
        if crs is None:
            raise InputError(path, f"projected coordinates {x_col!r}/{y_col!r} but no CRS",
                             "pass crs= (e.g. 'EPSG:32755')")
        columns, geographic = (x_col, y_col), False
    elif lon_col and lat_col:
        columns, geographic, crs = (lon_col, lat_col), True, crs or "EPSG:4326"
    else:
        raise InputError(path, "no coordinate columns (x/y, easting/northing or lon/lat)",
                         "add them or export the points with coordinates")
    _require_numeric(path, table, list(columns))
    if geographic:
        out = (table[columns[0]].abs() > 180) | (table[columns[1]].abs() > 90)
        _reject_rows(path, table, out, "longitude/latitude out of range",
                     "check for swapped columns or projected values in lon/lat columns")
    return gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table[columns[0]], table[columns[1]]), crs=crs)


def _normalise(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _canonical(path: Path, table: pd.DataFrame, aliases: dict[str, set[str]]) -> pd.DataFrame:
    """Rename alias columns to their unit-named form; refuse two columns for one quantity."""
    renames: dict[str, str] = {}
    for column in table.columns:
        target = next((name for name, names in aliases.items() if _normalise(column) in names or column == name), None)
        if target is None:
            continue
        if target in renames.values():
            raise InputError(path, f"two columns give {target}", "keep one of them")
        renames[column] = target
    table = table.rename(columns=renames)
    return table


def _require_numeric(path: Path, table: pd.DataFrame, required: list[str], optional: list[str] | tuple = ()) -> None:
    """Check presence (required), numeric type and no NaN; converts text numbers in place."""
    for column in required:
        if column not in table.columns:
            found = ", ".join(map(str, table.columns))
            raise InputError(path, f"missing column {column!r} (found: {found})", f"add a {column!r} column or rename the matching one")
    for column in [*required, *(c for c in optional if c in table.columns)]:
        values = pd.to_numeric(table[column], errors="coerce")
        text = values.isna() & table[column].notna()
        _reject_rows(path, table, text, f"non-numeric values in {column!r}",
                     "use plain numbers (dot decimal separator, no units in cells)")
        _reject_rows(path, table, values.isna(), f"missing values (NaN) in {column!r}",
                     f"fill in {column!r} or delete those rows")
        table[column] = values.astype(float)


def _with_id(table: pd.DataFrame, column: str, path: Path) -> pd.DataFrame:
    if column not in table.columns:
        return table.assign(**{column: path.stem})[[column, *table.columns]]
    _reject_rows(path, table, table[column].isna(), f"missing {column}", f"give every row a {column}")
    return table.astype({column: str})


def _require_increasing(path: Path, table: pd.DataFrame, group: str, column: str, what: str, fix: str) -> None:
    step = table.groupby(group, sort=False)[column].diff()
    _reject_rows(path, table, step <= 0, f"{what} not strictly increasing", fix)


def _reject_rows(path: Path, table: pd.DataFrame, bad: pd.Series, problem: str, fix: str) -> None:
    """Raise naming the data rows (1 = first row under the header) where ``bad`` holds."""
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        rows = np.flatnonzero(bad) + 1
        shown = ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "")
        raise InputError(path, f"{problem} in {len(rows)} row(s) (data rows {shown})", fix)
