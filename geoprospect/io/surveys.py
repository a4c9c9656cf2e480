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
  Optional ``rhoa_error_ohm_m``: the standard deviation of each reading (weights the misfit).
* TEM (CSV): ``time_s`` (strictly increasing, > 0), ``current_a`` and the data, either
  ``dbzdt_t_per_s`` (dB_z/dt in T/s, signed) or ``voltage_v_per_a`` (receiver voltage over the
  current, V/A, converted with ``rx_area_m2`` and ``rx_turns``, default 1 m2 and 1 turn, to
  dB_z/dt = -V I / (A n)); the loop as ``loop_radius_m`` (circle), ``loop_side_m`` (square) or
  ``loop_side_x_m`` and ``loop_side_y_m`` (rectangle); optional ``configuration`` (``central``
  the default, ``coincident`` (one loop as transmitter and receiver: the data are its mean
  dB_z/dt) or ``offset`` (a receiver inside the loop at ``rx_offset_x_m``, ``rx_offset_y_m`` from
  its centre)), ``rx_loop_side_m`` (a square receiver loop at the centre: the data are its
  mean dB_z/dt, not the field at the centre point), ``ramp_s`` (turn-off ramp, s, default 0),
  ``dbzdt_error_t_per_s`` or ``voltage_error_v_per_a`` (standard deviation per gate),
  ``sounding_id``, ``x_m``, ``y_m``. Loop, current, configuration and ramp are one value per
  sounding.
* TEM-FAST ``.tem`` (AEMR TEM-FAST 48 text export, :func:`read_tem_fast`) and USF, the
  Universal Sounding Format (``.usf``, :func:`read_usf`), are read into the same TEM table.
* Every table holds at least 2 readings per sounding (SP: 4 stations per profile, one per source
  parameter); values must be finite (``inf`` is refused).
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
from geoprospect.errors import InputError, one_of
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
    "rhoa_error_ohm_m": {"rhoaerrorohmm", "rhoaerr", "rhoaerrorohm"},
    "x_m": _SP_ALIASES["x_m"],
    "y_m": _SP_ALIASES["y_m"],
}
_TEM_ALIASES = {
    "time_s": {"times", "time"},
    "dbzdt_t_per_s": {"dbzdttpers", "dbzdtts"},
    "dbzdt_error_t_per_s": {"dbzdterrortpers", "dbzdterrts"},
    "voltage_v_per_a": {"voltagevpera", "eivpera", "eiva", "ei"},
    "voltage_error_v_per_a": {"voltageerrorvpera", "errvpera", "errva"},
    "loop_radius_m": {"loopradiusm"},
    "loop_side_m": {"loopsidem"},
    "loop_side_x_m": {"loopsidexm"},
    "loop_side_y_m": {"loopsideym"},
    "rx_area_m2": {"rxaream2", "receiveraream2"},
    "rx_turns": {"rxturns", "receiverturns", "turns"},
    "ramp_s": {"ramps", "rampts"},
    "current_a": {"currenta"},
    "x_m": _SP_ALIASES["x_m"],
    "y_m": _SP_ALIASES["y_m"],
}
CONFIGURATIONS = ("central", "coincident", "offset")
_MIN_SP_STATIONS = 4  # one per source parameter (k, depth, angle, x0)
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
        Unreadable or empty file, missing column, non-numeric, NaN or infinite values, stations not
        strictly increasing, a profile with fewer than 4 stations.
    """
    path = Path(path)
    table = _canonical(path, read_csv(path), _SP_ALIASES)
    _require_numeric(path, table, ["station_m", "sp_mv"], optional=["x_m", "y_m"])
    table = _with_id(table, "profile_id", path)
    _require_increasing(path, table, "profile_id", "station_m", "station distances station_m",
                        "sort the stations along the profile and remove repeats")
    _require_count(path, table, "profile_id", _MIN_SP_STATIONS, "station(s)",
                   f"measure at least {_MIN_SP_STATIONS} stations per profile (one per source parameter)")
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
        Unreadable or empty file, missing column, non-numeric, NaN or infinite values, non-positive
        resistivity or AB/2, MN/2 negative or not below AB/2, AB/2 not increasing within a segment,
        a sounding with fewer than 2 readings.
    """
    path = Path(path)
    table = _canonical(path, read_csv(path), _VES_ALIASES)
    _require_numeric(path, table, ["ab2_m", "mn2_m", "rhoa_ohm_m"], optional=["x_m", "y_m", "rhoa_error_ohm_m"])
    table = _with_id(table, "sounding_id", path)
    _require_count(path, table, "sounding_id", 2, "reading(s)", "measure at least 2 spacings per sounding")
    if "rhoa_error_ohm_m" in table.columns:
        _reject_rows(path, table, table["rhoa_error_ohm_m"] <= 0, "non-positive rhoa_error_ohm_m",
                     "give each reading's standard deviation in ohm m (> 0), or drop the column")
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
    """Read one or more TEM soundings: a CSV, a TEM-FAST ``.tem`` or a USF ``.usf`` file.

    Parameters
    ----------
    path : str or Path
        CSV in the layout of the module docstring; ``.tem`` and ``.usf`` go to
        :func:`read_tem_fast` and :func:`read_usf`.

    Returns
    -------
    pandas.DataFrame
        One row per gate in file order: ``sounding_id`` (the file stem when absent), ``time_s``,
        ``dbzdt_t_per_s``, ``current_a``, ``configuration``, ``ramp_s``, one loop geometry
        (``loop_radius_m``, or ``loop_side_x_m`` and ``loop_side_y_m``), optional
        ``dbzdt_error_t_per_s``, ``x_m``, ``y_m``.

    Raises
    ------
    InputError
        Unreadable or empty file, missing column, non-numeric, NaN or infinite values,
        non-positive time, times not strictly increasing, fewer than 2 gates, no loop size, loop
        size, current, ramp or configuration not positive/known or not constant in a sounding.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".tem":
        return read_tem_fast(path)
    if suffix == ".usf":
        return read_usf(path)
    table = _canonical(path, read_csv(path), _TEM_ALIASES)
    return _tem_table(path, table)


def read_tem_fast(path: str | Path) -> pd.DataFrame:
    """Read a TEM-FAST 48 ``.tem`` text export (one or more soundings) into the TEM table.

    Each sounding is a 7-line tab-separated header (instrument and ``Date:``, ``Place:``,
    ``#Set`` name, ``Time-Range ... Stacks ... deff= N us  I=C A ...``, ``T-LOOP (m) L
    R-LOOP (m) R  TURN= n``, ``Comments:``, ``Location:x= .. y= .. z= ..``), a column row
    (``Channel, Time (us), E/I [V/A], Err [V/A], Res [ohm m]``) and one row per channel. Loops are
    square: T-LOOP and R-LOOP are their sides. The same side for both is the single (coincident)
    loop; otherwise the receiver loop lies at the centre of the transmitter loop (``rx_loop_side_m``,
    modelled as a loop, not a point). ``deff`` is taken
    as the turn-off ramp, as pyGIMLi's reader does. E/I becomes dB_z/dt = -(E/I) I / (R^2 n).

    Raises
    ------
    InputError
        As :func:`read_tem`, plus a header line that is missing or does not parse.
    """
    path = Path(path)
    lines = _text_lines(path)
    starts = [i for i, line in enumerate(lines) if "Date:" in line]
    if not starts:
        raise InputError(path, "no TEM-FAST sounding header (a line with 'Date:')",
                         "give a TEM-FAST 48 text export (.tem), or a CSV in the TEM layout")
    tables = []
    for number, (first, last) in enumerate(zip(starts, [*starts[1:], len(lines)]), start=1):
        block = lines[first:last]
        header = "\n".join(block[:8])
        name = _header_value(path, r"#Set\s+(\S+)", header, "the '#Set' name line", str, f"{path.stem}-{number}")
        current = _header_value(path, r"I=\s*([-+\d.eE]+)\s*A", header, "the current 'I= .. A'", float)
        ramp_us = _header_value(path, r"deff=\s*([-+\d.eE]+)\s*us", header, "the turn-off time 'deff= .. us'", float, 0.0)
        t_loop = _header_value(path, r"T-LOOP \(m\)\s+([-+\d.eE]+)", header, "the transmitter loop side 'T-LOOP (m)'", float)
        r_loop = _header_value(path, r"R-LOOP \(m\)\s+([-+\d.eE]+)", header, "the receiver loop side 'R-LOOP (m)'", float)
        turns = _header_value(path, r"TURN=\s*([-+\d.eE]+)", header, "the receiver turns 'TURN='", float, 1.0)
        x = _header_value(path, r"x=\s*([-+\d.eE]+)", header, "", float, np.nan)
        y = _header_value(path, r"y=\s*([-+\d.eE]+)", header, "", float, np.nan)
        rows = [line.split("\t") for line in block[8:] if line.strip()]
        rows = [[cell.strip() for cell in row] for row in rows if len(row) >= 4]
        if not rows:
            raise InputError(path, f"sounding {name!r} has no channel rows", "export the sounding with its data")
        try:
            values = np.array([[float(row[1]), float(row[2]), float(row[3])] for row in rows])
        except ValueError:
            raise InputError(path, f"non-numeric channel values in sounding {name!r}",
                             "export the channels as Channel, Time (us), E/I [V/A], Err [V/A], Res rows") from None
        tables.append(pd.DataFrame({
            "sounding_id": name, "time_s": values[:, 0] * 1e-6, "voltage_v_per_a": values[:, 1],
            "voltage_error_v_per_a": values[:, 2], "current_a": current, "loop_side_x_m": t_loop,
            "loop_side_y_m": t_loop, "rx_area_m2": r_loop**2, "rx_loop_side_m": r_loop, "rx_turns": turns, "ramp_s": ramp_us * 1e-6,
            "configuration": "coincident" if r_loop == t_loop else "central", "x_m": x, "y_m": y,
        }))
    return _tem_table(path, _drop_missing_positions(pd.concat(tables, ignore_index=True)))


_USF_UNITS = {"V/A": 1.0, "V/AMP": 1.0, "MV/A": 1e-3, "MV/AMP": 1e-3, "UV/A": 1e-6, "UV/AMP": 1e-6,
              "NV/A": 1e-9, "NV/AMP": 1e-9}


def read_usf(path: str | Path) -> pd.DataFrame:
    """Read a Universal Sounding Format (``.usf``) TEM file into the TEM table.

    ``//KEY: value`` lines are file keys; each sounding has ``/KEY: value`` lines and data rows
    between two ``/END`` lines (a column row ``INDEX TIME VOLTAGE ST_DEV``, then one row per gate,
    times in s). Keys used (file keys are the defaults of every sounding): ``/SOUNDING_NAME``,
    ``/LOC_X``, ``/LOC_Y``, ``/ARRAY`` (``COINCIDENT``/``SINGLE`` loop, ``CENTRAL``/``IN-LOOP``,
    ``OFFSET``), ``/CURRENT`` (A), ``/LOOP_SIZE`` (side in m, or two sides of a rectangle),
    ``/COIL_SIZE`` (receiver area, m2; default the loop's area), ``/TURNS``, ``/RAMP_TIME`` (s),
    ``/VOLTAGE_UNITS`` (``V/AMP``, ``mV/A``, ``uV/A``, ``nV/A`` or ``V``, then divided by the
    current). Sweeps marked ``/SWEEP_IS_NOISE: 1`` are skipped.

    Raises
    ------
    InputError
        As :func:`read_tem`, plus a sounding without ``/LOOP_SIZE`` or ``/CURRENT``, an unknown
        array or voltage unit, data rows that do not parse or do not match ``/POINTS``.
    """
    path = Path(path)
    file_keys: dict[str, str] = {}
    keys: dict[str, str] = {}
    columns: list[str] | None = None
    rows: list[list[float]] = []
    in_data = False
    tables = []
    for number, raw in enumerate(_text_lines(path), start=1):
        line = raw.strip().replace(",", " ")
        if not line:
            continue
        if line.startswith("//"):
            key, _, value = line[2:].partition(":")
            file_keys[key.strip().upper()] = value.strip()
        elif line.upper().startswith("/END"):
            if in_data:
                if columns is None or not rows:
                    raise InputError(path, f"a sounding ending at line {number} has no data rows",
                                     "give a column row (INDEX TIME VOLTAGE ST_DEV) and the gates before /END")
                if not keys.get("SWEEP_IS_NOISE", "0").startswith("1"):
                    tables.append(_usf_sounding(path, file_keys | keys, columns, rows, len(tables) + 1))
                keys, columns, rows = {}, None, []
            in_data = not in_data
        elif line.startswith("/"):
            key, _, value = line[1:].partition(":")
            keys[key.strip().upper()] = value.strip()
        elif in_data:
            cells = line.split()
            if columns is None:
                columns = [c.upper() for c in cells]
                continue
            try:
                rows.append([float(c) for c in cells])
            except ValueError:
                raise InputError(path, f"non-numeric data row at line {number}", "give plain numbers in the data rows") from None
    if not tables:
        raise InputError(path, "no USF sounding (data between two /END lines)", "give a USF file with its soundings")
    return _tem_table(path, _drop_missing_positions(pd.concat(tables, ignore_index=True)))


def _usf_sounding(path: Path, keys: dict[str, str], columns: list[str], rows: list[list[float]], number: int) -> pd.DataFrame:
    name = keys.get("SOUNDING_NAME") or f"{path.stem}-{number}"
    where = f"sounding {name!r}"
    missing = [c for c in ("TIME", "VOLTAGE") if c not in columns]
    if missing:
        raise InputError(path, f"{where} has no {' or '.join(missing)} column (found {', '.join(columns)})",
                         "give the columns INDEX TIME VOLTAGE ST_DEV")
    if any(len(row) != len(columns) for row in rows):
        raise InputError(path, f"{where}: data rows with a different number of values than the column row",
                         "give one value per column in every row")
    if "POINTS" in keys and _float_or_nan(keys["POINTS"]) != len(rows):
        raise InputError(path, f"{where}: /POINTS says {keys['POINTS']} but {len(rows)} data rows follow",
                         "correct /POINTS or the data rows")
    data = np.asarray(rows, dtype=float)
    if "LOOP_SIZE" not in keys:
        raise InputError(path, f"{where} has no /LOOP_SIZE, and the format does not imply one",
                         "add '/LOOP_SIZE: side_m' (square) or '/LOOP_SIZE: side_x_m side_y_m' (rectangle)")
    sides = [_float_or_nan(v) for v in keys["LOOP_SIZE"].split()]
    if len(sides) not in (1, 2) or not np.all(np.isfinite(sides)):
        raise InputError(path, f"{where}: /LOOP_SIZE {keys['LOOP_SIZE']!r} is not one or two sides in m",
                         "write '/LOOP_SIZE: 50' or '/LOOP_SIZE: 50 100'")
    side_x, side_y = sides[0], sides[-1]
    if "CURRENT" not in keys:
        raise InputError(path, f"{where} has no /CURRENT", "add '/CURRENT: amperes'")
    current = _float_or_nan(keys["CURRENT"])
    array = keys.get("ARRAY", "").upper()
    if "COINCIDENT" in array or "SINGLE" in array:
        configuration = "coincident"
    elif "CENTRAL" in array or "IN-LOOP" in array or "INLOOP" in array:
        configuration = "central"
    elif "OFFSET" in array or "SEPARATE" in array:
        configuration = "offset"
    else:
        raise InputError(path, f"{where}: /ARRAY {keys.get('ARRAY', '(missing)')!r} names no known loop configuration",
                         "use COINCIDENT LOOP TEM, CENTRAL LOOP TEM or OFFSET LOOP TEM")
    units = keys.get("VOLTAGE_UNITS", "V/AMP").upper().replace(" ", "")
    scale = 1.0 / current if units == "V" and current > 0 else _USF_UNITS.get(units)
    if scale is None:
        raise InputError(path, f"{where}: unknown /VOLTAGE_UNITS {keys['VOLTAGE_UNITS']!r}",
                         f"use one of {', '.join(sorted(_USF_UNITS))} or V")
    table = pd.DataFrame({
        "sounding_id": name, "time_s": data[:, columns.index("TIME")],
        "voltage_v_per_a": data[:, columns.index("VOLTAGE")] * scale,
        "current_a": current, "loop_side_x_m": side_x, "loop_side_y_m": side_y,
        "rx_area_m2": _float_or_nan(keys["COIL_SIZE"]) if "COIL_SIZE" in keys else side_x * side_y,
        "rx_turns": _float_or_nan(keys.get("TURNS", "1")), "ramp_s": _float_or_nan(keys.get("RAMP_TIME", "0")),
        "configuration": configuration,
        "x_m": _float_or_nan(keys.get("LOC_X", "nan")), "y_m": _float_or_nan(keys.get("LOC_Y", "nan")),
    })
    if "ST_DEV" in columns:
        table["voltage_error_v_per_a"] = data[:, columns.index("ST_DEV")] * scale
    return table


def _tem_table(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    """Validate a TEM table (CSV columns or a parsed instrument file) and bring it to dB_z/dt."""
    data = "dbzdt_t_per_s" if "dbzdt_t_per_s" in table.columns else "voltage_v_per_a"
    error = {"dbzdt_t_per_s": "dbzdt_error_t_per_s", "voltage_v_per_a": "voltage_error_v_per_a"}[data]
    loop = _loop_columns(path, table)
    optional = ["x_m", "y_m", "ramp_s", "rx_area_m2", "rx_turns", "rx_loop_side_m", "rx_offset_x_m", "rx_offset_y_m", error]
    _require_numeric(path, table, ["time_s", data, "current_a", *loop], optional=optional)
    table = _with_id(table, "sounding_id", path)
    if "loop_side_m" in table.columns:
        table = table.rename(columns={"loop_side_m": "loop_side_x_m"}).assign(loop_side_y_m=lambda t: t["loop_side_x_m"])
        loop = ["loop_side_x_m", "loop_side_y_m"]
    table["configuration"] = table["configuration"].astype(str).str.strip().str.lower() if "configuration" in table.columns else "central"
    _reject_rows(path, table, ~table["configuration"].isin(CONFIGURATIONS), "unknown configuration",
                 f"use one of {', '.join(CONFIGURATIONS)}")
    table["ramp_s"] = table["ramp_s"] if "ramp_s" in table.columns else 0.0
    _reject_rows(path, table, table["time_s"] <= 0, "non-positive gate time",
                 "give times after the current switch-off, in seconds")
    _require_increasing(path, table, "sounding_id", "time_s", "gate times time_s",
                        "list the gates in increasing time, each once")
    _require_count(path, table, "sounding_id", 2, "gate(s)", "give at least 2 gates per sounding (a decay needs several)")
    _reject_rows(path, table, table["ramp_s"] < 0, "negative ramp_s", "give the turn-off ramp in seconds (>= 0)")
    if data == "voltage_v_per_a":
        for column, default in (("rx_area_m2", 1.0), ("rx_turns", 1.0)):
            table[column] = table[column] if column in table.columns else default
            _reject_rows(path, table, table[column] <= 0, f"non-positive {column}", f"correct {column}")
        per_volt = table["current_a"] / (table["rx_area_m2"] * table["rx_turns"])
        table["dbzdt_t_per_s"] = -table["voltage_v_per_a"] * per_volt  # EMF = -n A dB/dt
        if error in table.columns:
            table["dbzdt_error_t_per_s"] = table[error] * per_volt
    if "dbzdt_error_t_per_s" in table.columns:
        _reject_rows(path, table, table["dbzdt_error_t_per_s"] <= 0, "non-positive standard deviation of a gate",
                     "give each gate's standard deviation (> 0), or drop the error column")
    words = {"loop_radius_m": "loop radius", "loop_side_x_m": "loop side", "loop_side_y_m": "loop side", "current_a": "current"}
    for column in [*loop, "current_a"]:
        _reject_rows(path, table, table[column] <= 0, f"non-positive {words[column]}", f"correct {column}")
    for column in [*loop, "current_a", "ramp_s", "configuration"]:
        varies = table.groupby("sounding_id", sort=False)[column].transform("nunique") > 1
        _reject_rows(path, table, varies, f"{words.get(column, column)} changes within a sounding",
                     f"give each sounding one {column} or split it into soundings with their own sounding_id")
    return table.drop(columns=["voltage_v_per_a", "voltage_error_v_per_a"], errors="ignore")


def _drop_missing_positions(table: pd.DataFrame) -> pd.DataFrame:
    """Instrument files without a location: no x_m/y_m columns rather than NaN (partly located files are refused later)."""
    return table.drop(columns=["x_m", "y_m"]) if table[["x_m", "y_m"]].isna().all().all() else table


def _loop_columns(path: Path, table: pd.DataFrame) -> list[str]:
    """The loop geometry columns present: exactly one of radius, square side or rectangle sides."""
    choices = [["loop_radius_m"], ["loop_side_m"], ["loop_side_x_m", "loop_side_y_m"]]
    present = [c for c in choices if all(name in table.columns for name in c)]
    if len(present) != 1:
        found = "none" if not present else " and ".join("/".join(c) for c in present)
        raise InputError(path, f"the loop size must be given once (found: {found})",
                         "add one of loop_radius_m (circle), loop_side_m (square) or loop_side_x_m and loop_side_y_m (rectangle)")
    return present[0]


def _text_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(path, "file not found (or not a regular file)", "check the path (and the catalog entry that names it)")
    raw = path.read_bytes()
    if b"\0" in raw[:8192]:
        raise InputError(path, "a binary file, not an instrument text export", "export the soundings as text")
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return raw.decode(encoding).splitlines()
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def _header_value(path: Path, pattern: str, header: str, what: str, kind, default=None):
    match = re.search(pattern, header)
    if match is None:
        if default is not None:
            return default
        raise InputError(path, f"the TEM-FAST header has no {what}", "export the sounding with its full header")
    try:
        return kind(match.group(1))
    except ValueError:
        raise InputError(path, f"cannot read {what} in the TEM-FAST header", "correct the header line") from None


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


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
            raise InputError(path, f"column {column!r} not found", one_of(column, gdf.columns))
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
        _reject_rows(path, table, np.isinf(values), f"infinite values in {column!r}",
                     "replace them by the measured value or delete those rows (inf is not a measurement)")
        table[column] = values.astype(float)


def _with_id(table: pd.DataFrame, column: str, path: Path) -> pd.DataFrame:
    if column not in table.columns:
        return table.assign(**{column: path.stem})[[column, *table.columns]]
    _reject_rows(path, table, table[column].isna(), f"missing {column}", f"give every row a {column}")
    return table.astype({column: str})


def _require_count(path: Path, table: pd.DataFrame, group: str, minimum: int, what: str, fix: str) -> None:
    counts = table.groupby(group, sort=False).size()
    short = counts[counts < minimum]
    if len(short):
        shown = ", ".join(f"{name!r} ({n})" for name, n in short.head(5).items())
        raise InputError(path, f"fewer than {minimum} {what} in {len(short)} of {len(counts)}: {shown}", fix)


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
