"""Dated deposit tables (CSV with latitude, longitude and age), in the USGS PorCuEX2008 layout by default.

The USGS global porphyry copper table (Singer, Berger and Moring 2008) gives decimal coordinates,
a numeric age ``AgeMY`` (Ma) and the age as logged, ``Deposit Age``: a number, a range written with
an en dash, older bound first ("6–5"), a range with uncertainties ("8.02±0.14 to 6.75±0.09"), a
period name ("Miocene?") or "n.d.". Numeric ranges are read; period names are not guessed at.
Its ``AgeMY`` is 0 for 54 undated deposits ("n.d.", "Archean", "probably Laramide"): a numeric age of
exactly 0 is read as no age wherever the text column does not itself give an age of 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geoprospect.errors import InputError
from geoprospect.io.tables import read_csv

EARTH_AGE_MA = 4567.0
AGE_COLUMNS = ["age_ma", "age_min_ma", "age_max_ma", "age_source"]
_NUM = r"\d+(?:\.\d+)?"
_ERR = rf"(?:\s*±\s*{_NUM})?"  # an analytical uncertainty, ignored
_AGE_TEXT = re.compile(
    rf"^\s*(?P<a>{_NUM}){_ERR}\s*(?:(?:-|–|—|to)\s*(?P<b>{_NUM}){_ERR})?\s*(?:Ma)?\s*$", re.IGNORECASE
)


def read_deposit_table(
    path: str | Path,
    lon_column: str = "LongitudeDecimal",
    lat_column: str = "LatitudeDecimal",
    age_column: str | None = "AgeMY",
    age_text_column: str | None = "Deposit Age",
    encoding: str | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read a deposit CSV into points with ages; report the rows that could not be used fully.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    lon_column, lat_column : str
        Decimal-degree longitude and latitude columns (WGS 84).
    age_column : str or None
        Numeric age column (Ma). None for an undated table.
    age_text_column : str or None
        Age as text; a number or a numeric range ("5-7", "6–5", "12 to 10 Ma") is used where the
        numeric age is empty. None if the table has none.
    encoding : str or None
        Text encoding; by default UTF-8 is tried, then Latin-1.

    Returns
    -------
    deposits : geopandas.GeoDataFrame
        One row per deposit with usable coordinates, in EPSG:4326: the table's columns plus
        ``row_number`` (1-based data row in the file), ``age_ma``, ``age_min_ma``, ``age_max_ma``
        (the text range where one is given, else the age itself; NaN if no age) and
        ``age_source`` (the column the age came from, or ``"none"``).
    report : pandas.DataFrame
        The rows skipped (no or invalid coordinates) and the rows kept without an age: the table's
        columns plus ``row_number``, ``reason`` and ``skipped`` (bool).

    Raises
    ------
    InputError
        The file is missing, is not a readable CSV, lacks a named column, or has no row with valid
        coordinates.
    """
    path = Path(path)
    table = read_csv(path, encoding=encoding, skipinitialspace=True)
    wanted = {"coordinate": [lon_column, lat_column], "age": [c for c in (age_column, age_text_column) if c]}
    for kind, columns in wanted.items():
        absent = [c for c in columns if c not in table.columns]
        if absent:
            fix = {
                "coordinate": "pass lon_column= and lat_column=",
                "age": "pass age_column= / age_text_column= (None if absent)",
            }[kind]
            raise InputError(
                path,
                f"missing {kind} column(s) {absent}; the columns are {list(table.columns)[:20]}",
                f"{fix} naming the table's columns",
            )
    table.insert(0, "row_number", np.arange(1, len(table) + 1))

    reason = _coordinate_problems(table, lon_column, lat_column)
    skipped = reason.notna()
    if skipped.all():
        raise InputError(path, "no row has valid coordinates", f"fill {lat_column} and {lon_column} in decimal degrees")

    if age_column or age_text_column:
        ages = _ages(table, age_column, age_text_column)
        table = pd.concat([table, ages.drop(columns="problem")], axis=1)
        reason = reason.where(skipped, ages["problem"])

    kept = table.loc[~skipped].reset_index(drop=True)
    deposits = gpd.GeoDataFrame(
        kept,
        geometry=gpd.points_from_xy(
            pd.to_numeric(kept[lon_column]), pd.to_numeric(kept[lat_column])
        ),
        crs="EPSG:4326",
    )
    flagged = reason.notna()
    report = table.loc[flagged, [c for c in table.columns if c not in AGE_COLUMNS]]
    report = report.assign(reason=reason[flagged], skipped=skipped[flagged]).reset_index(drop=True)
    return deposits, report


def parse_age_text(text: object) -> tuple[float, float] | None:
    """(min, max) age in Ma from text such as "12", "5-7", "6–5", "8.02±0.14 to 6.75±0.09", "3 Ma".

    Returns None for anything else (period names, "n.d.", empty). Uncertainties are dropped.
    """
    if not isinstance(text, str):
        return None
    match = _AGE_TEXT.match(text)
    if not match:
        return None
    a = float(match["a"])
    b = float(match["b"]) if match["b"] else a
    return min(a, b), max(a, b)


def _coordinate_problems(table: pd.DataFrame, lon_column: str, lat_column: str) -> pd.Series:
    """Per row: why its coordinates are unusable, or NaN."""
    raw_lon, raw_lat = table[lon_column], table[lat_column]
    lon = pd.to_numeric(raw_lon, errors="coerce")
    lat = pd.to_numeric(raw_lat, errors="coerce")
    reason = pd.Series(np.nan, index=table.index, dtype=object)
    reason[~lat.between(-90.0, 90.0)] = f"{lat_column} outside [-90, 90] degrees"
    reason[~lon.between(-180.0, 180.0)] = f"{lon_column} outside [-180, 180] degrees"
    reason[lon.isna() | lat.isna()] = f"{lat_column}/{lon_column} not a number"
    reason[raw_lon.isna() | raw_lat.isna()] = "missing coordinates"
    table[lon_column] = lon
    table[lat_column] = lat
    return reason


def _ages(table: pd.DataFrame, age_column: str | None, text_column: str | None) -> pd.DataFrame:
    """Ages (Ma) per row: the numeric column first, else a number or range parsed from text."""
    numeric = pd.to_numeric(table[age_column], errors="coerce") if age_column else pd.Series(np.nan, index=table.index)
    rows = []
    for i in table.index:
        texts = [(c, table.at[i, c]) for c in (age_column, text_column) if c]
        ranges = [(c, parse_age_text(str(v).strip())) for c, v in texts if pd.notna(v)]
        ranges = [(c, r) for c, r in ranges if r is not None]
        value = numeric.at[i]
        placeholder = value == 0 and text_column and not any(r[0] == 0 for c, r in ranges if c == text_column)
        if placeholder:  # PorCuEX2008 writes AgeMY 0 for undated deposits ('n.d.', 'Archean', ...)
            value = np.nan
            ranges = [(c, r) for c, r in ranges if c != age_column]
        if np.isfinite(value):
            # keep a logged range only if it brackets the number
            lo, hi = next((r for _, r in reversed(ranges) if r[0] <= value <= r[1]), (value, value))
            row = (value, lo, hi, age_column)
        elif ranges:
            column, (lo, hi) = ranges[0]
            row = ((lo + hi) / 2.0, lo, hi, column)
        else:
            given = ", ".join(f"{c} {'empty' if pd.isna(v) else repr(str(v))}" for c, v in texts)
            note = f" ({age_column} 0 read as the table's placeholder for no age)" if placeholder else ""
            rows.append((np.nan, np.nan, np.nan, "none", f"no age: no number or numeric range in {given}{note}"))
            continue
        if not (0.0 <= row[1] and row[2] <= EARTH_AGE_MA):
            rows.append((np.nan, np.nan, np.nan, "none", f"age {row[0]:g} Ma outside [0, {EARTH_AGE_MA:g}] Ma"))
            continue
        rows.append((*row, np.nan))
    return pd.DataFrame(rows, index=table.index, columns=[*AGE_COLUMNS, "problem"])
