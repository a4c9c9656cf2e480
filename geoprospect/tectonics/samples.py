"""Training samples for spatio-temporal porphyry prospectivity: deposits and non-deposits at their times.

After Diaz-Rodriguez, Müller and Chandra (2021, Ore Geology Reviews 137:104300).

Positives
    Each dated deposit, reconstructed to its age on its plate and co-registered with the trench
    kinematics of that time (:func:`geoprospect.tectonics.coregister.coregister`).

Negatives (the paper's approach)
    The *same deposit locations* at times when no deposit formed there: each dated deposit location
    is reconstructed to a random kinematics time step at least ``min_gap_myr`` away from the age of
    every dated deposit within ``region_radius_deg`` of it (present-day distance), and co-registered
    at that time. Optionally, user-supplied barren samples (location and time known not to host a
    deposit) are added as negatives.

    Why: a margin is not prospective at every time, and the question the model answers is *when* a
    margin segment had the kinematics that made porphyries. Taking negatives at deposit locations
    holds the place fixed and varies only the time, so the model cannot separate the classes by
    location (or by anything that is constant along a margin) and must learn from the kinematics.

    Bias: the negatives are labels by absence. Deposits that were never found, have been eroded (old
    arcs preserve fewer deposits) or are undated all make a "negative" time a false negative; undated
    deposits here neither give locations nor rule out times. The negatives are spread uniformly over
    the kinematics time range while the positives cluster in young, well-preserved times, so any
    feature that drifts with time (plate speeds of a model's stages) separates the classes partly by
    age alone. Neighbouring samples share margins and times, so shuffled cross-validation is
    optimistic; see :mod:`geoprospect.tectonics.validation` for leave-region-out and
    leave-age-bin-out checks.

Feature columns
    :data:`FEATURES`, all taken from the kinematics table, and any ``raster_<name>`` column it carries
    (a raster through time sampled at the trench points, added by the tectonics pipeline). ``seafloor_age_ma`` and
    ``subduction_volume_rate_km3_yr`` need a seafloor age grid: when a model has none they are NaN
    for every sample and are dropped from the table (use :func:`feature_columns` for the columns
    kept). Samples with a NaN in a kept feature are moved to the report.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pygplates

from geoprospect.errors import InputError
from geoprospect.tectonics.coregister import (
    coregister,
    great_circle_deg,
    present_day_points,
    reconstruct_points,
    unit_vectors,
)

FEATURES = [
    "convergence_rate_cm_yr",
    "convergence_orthogonal_cm_yr",
    "convergence_parallel_cm_yr",
    "trench_velocity_cm_yr",
    "trench_velocity_orthogonal_cm_yr",
    "trench_velocity_parallel_cm_yr",
    "subducting_velocity_cm_yr",
    "subducting_velocity_orthogonal_cm_yr",
    "subducting_velocity_parallel_cm_yr",
    "distance_to_trench_edge_km",
    "seafloor_age_ma",
    "subduction_volume_rate_km3_yr",
]
# Need an age grid: dropped when NaN for every sample.
OPTIONAL_FEATURES = ("seafloor_age_ma", "subduction_volume_rate_km3_yr")
_MATCH_COLUMNS = ["kinematics_time_ma", "trench_lon", "trench_lat", "trench_plate_id", "match_radius_deg",
                  "distance_to_trench_km"]
RASTER_PREFIX = "raster_"  # columns of rasters through time: features too
MARGIN_COLUMNS = ["margin_lon", "margin_lat", "margin_x", "margin_y", "margin_z"]
_REPORT_COLUMNS = ["source", "deposit_id", "present_lon", "present_lat", "time_ma", "reason"]


def feature_columns(table: pd.DataFrame) -> list[str]:
    """The :data:`FEATURES` present in ``table`` (optional ones may have been dropped), in order, then its
    ``raster_*`` columns (sorted)."""
    return [f for f in FEATURES if f in table.columns] + sorted(c for c in table.columns if str(c).startswith(RASTER_PREFIX))


def deposit_points(deposits: gpd.GeoDataFrame, id_column: str | None = "DepositID",
                   region_column: str | None = None) -> pd.DataFrame:
    """Deposits as read by :func:`geoprospect.io.deposits.read_deposit_table`, in the layout of
    :func:`training_samples`: ``deposit_id``, ``lon``, ``lat`` (degrees), ``age_ma`` (NaN if undated),
    and ``region_label`` (str) with a ``region_column``.

    ``id_column`` None numbers the deposits by their row in the file.

    Raises
    ------
    InputError
        If ``id_column`` or ``region_column`` is not a column.
    """
    for name, column in (("id_column", id_column), ("region_column", region_column)):
        if column is not None and column not in deposits.columns:
            raise InputError("deposit table", f"no column '{column}'", f"pass {name}= naming a column of the table")
    age = deposits["age_ma"] if "age_ma" in deposits.columns else pd.Series(np.nan, index=deposits.index)
    if isinstance(age, pd.DataFrame):  # the table's own "age_ma" column, then the one the reader parsed
        age = age.iloc[:, -1]
    points = pd.DataFrame({
        "deposit_id": (deposits[id_column] if id_column else deposits["row_number"]).to_numpy(),
        "lon": deposits.geometry.x.to_numpy(),
        "lat": deposits.geometry.y.to_numpy(),
        "age_ma": age.to_numpy(dtype=float),
    })
    if region_column:
        points["region_label"] = deposits[region_column].astype(str).to_numpy()
    return points


def training_samples(
    deposits: pd.DataFrame,
    kinematics: pd.DataFrame,
    plate_ids: np.ndarray,
    rotation_model: pygplates.RotationModel,
    radii: Sequence[float],
    rng: np.random.Generator,
    barren: pd.DataFrame | None = None,
    min_gap_myr: float = 10.0,
    region_radius_deg: float = 5.0,
    region_size_deg: float = 10.0,
    age_bin_myr: float = 10.0,
    require_negatives: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Labelled, co-registered samples for spatio-temporal prospectivity (see the module notes).

    Parameters
    ----------
    deposits : pandas.DataFrame
        ``deposit_id``, ``lon``, ``lat`` (present day, degrees) and ``age_ma`` (NaN if undated);
        see :func:`deposit_points`.
    kinematics : pandas.DataFrame
        Trench-point kinematics concatenated over time steps (``time_ma``, ``lon``, ``lat`` and the
        :data:`FEATURES` columns), from :mod:`geoprospect.tectonics.kinematics`.
    plate_ids : array of int, shape (n_deposits,)
        Plate id of each deposit (:func:`geoprospect.tectonics.coregister.assign_plate_ids`).
    rotation_model : pygplates.RotationModel
    radii : sequence of float
        Co-registration search radii (degrees), e.g. ``(5, 10, 30)``.
    rng : numpy.random.Generator
        Draws the negatives' times.
    barren : pandas.DataFrame, optional
        Known barren samples: ``lon``, ``lat`` (present day, degrees), ``age_ma`` and ``plate_id``.
    min_gap_myr : float
        Smallest gap (Myr) between a negative's time and the age of any deposit near its location.
    region_radius_deg : float
        "Near" for ``min_gap_myr``: present-day great-circle distance (degrees).
    region_size_deg : float
        Cell size (degrees) of the present-day lon/lat grid whose cells are the ``region`` groups.
    age_bin_myr : float
        Width (Myr) of the ``age_bin`` groups.
    require_negatives : bool
        Refuse a table without label-0 rows. False where the caller adds negatives of its own
        (time-matched or unlabelled margin points) and checks each design's classes itself.

    Returns
    -------
    samples : pandas.DataFrame
        One row per sample: ``label`` (1 deposit, 0 not), ``region`` (int id of the present-day grid
        cell: row * n_columns + column, counted from 90 S, 180 W), ``age_bin`` (lower edge of the
        age bin, Ma, int), the kept :data:`FEATURES`, then ``source`` (``deposit``,
        ``deposit_location`` or ``barren``), ``deposit_id`` (the deposit, or whose location a
        negative reuses; missing for barren samples), ``present_lon``, ``present_lat``,
        ``plate_id``, ``time_ma``, ``reconstructed_lon``, ``reconstructed_lat`` (degrees, at
        ``time_ma``), ``kinematics_time_ma``, ``trench_lon``, ``trench_lat``, ``match_radius_deg``
        and ``distance_to_trench_km``.
    report : pandas.DataFrame
        Deposits, locations and barren samples not used: ``source``, ``deposit_id``,
        ``present_lon``, ``present_lat``, ``time_ma``, ``reason``.

    Raises
    ------
    InputError
        Missing columns, plate ids not matching the deposits, bad parameters, or no sample of one
        of the classes.
    """
    _require_columns(deposits, ("deposit_id", "lon", "lat", "age_ma"), "deposit table",
                     "build it with geoprospect.tectonics.samples.deposit_points")
    plate_ids = np.asarray(plate_ids, dtype=np.int64).ravel()
    if plate_ids.size != len(deposits):
        raise InputError("plate ids", f"{plate_ids.size} plate ids for {len(deposits)} deposits",
                         "assign one plate id per deposit with assign_plate_ids")
    for name, value in (("min_gap_myr", min_gap_myr), ("region_radius_deg", region_radius_deg),
                        ("region_size_deg", region_size_deg), ("age_bin_myr", age_bin_myr)):
        if not (np.isfinite(value) and value > 0):
            raise InputError("training samples", f"{name} = {value} must be a positive number", f"set {name} > 0")
    if "time_ma" not in kinematics.columns or kinematics.empty:
        raise InputError("kinematics table", "no trench point with a time_ma column",
                         "pass the kinematics concatenated over the model's time steps")
    steps = np.unique(kinematics["time_ma"].to_numpy(dtype=float))
    tolerance_myr = float(np.diff(steps).max()) / 2.0 if steps.size > 1 else 0.0

    ids = deposits["deposit_id"].to_numpy()
    lon, lat = deposits["lon"].to_numpy(float), deposits["lat"].to_numpy(float)
    ages = deposits["age_ma"].to_numpy(float)
    dated = np.isfinite(ages)
    in_range = dated & (ages >= steps[0] - tolerance_myr) & (ages <= steps[-1] + tolerance_myr)
    parts, reports = [], [_report("deposit", ids[~dated], lon[~dated], lat[~dated], ages[~dated], "no age")]
    outside = dated & ~in_range
    reports.append(_report("deposit", ids[outside], lon[outside], lat[outside], ages[outside],
                           f"age outside the kinematics time range {steps[0]:g}-{steps[-1]:g} Ma"))

    # positives: each dated deposit at its age
    parts.append(_coregistered("deposit", 1, ids[in_range], lon[in_range], lat[in_range], plate_ids[in_range],
                               ages[in_range], kinematics, rotation_model, radii, reports))

    # negatives: the dated deposit locations at times far from every nearby deposit's age
    near = great_circle_deg(lon[dated, None], lat[dated, None], lon[None, dated], lat[None, dated]) <= region_radius_deg
    times = np.full(dated.sum(), np.nan)
    for i, neighbours in enumerate(near):
        gap_myr = np.abs(steps[:, None] - ages[dated][neighbours][None, :]).min(axis=1)
        if (gap_myr >= min_gap_myr).any():
            times[i] = rng.choice(steps[gap_myr >= min_gap_myr])
    has_time = np.isfinite(times)
    d_ids, d_lon, d_lat, d_plates = ids[dated], lon[dated], lat[dated], plate_ids[dated]
    reports.append(_report("deposit_location", d_ids[~has_time], d_lon[~has_time], d_lat[~has_time], times[~has_time],
                           f"no kinematics time step at least {min_gap_myr:g} Myr from the ages of deposits "
                           f"within {region_radius_deg:g} degrees"))
    parts.append(_coregistered("deposit_location", 0, d_ids[has_time], d_lon[has_time], d_lat[has_time],
                               d_plates[has_time], times[has_time], kinematics, rotation_model, radii, reports))

    if barren is not None:
        _require_columns(barren, ("lon", "lat", "age_ma", "plate_id"), "barren samples",
                         "give present-day lon, lat (degrees), age_ma and plate_id (from assign_plate_ids)")
        b_ages = barren["age_ma"].to_numpy(float)
        if not np.all(np.isfinite(b_ages)):
            raise InputError("barren samples", "some barren samples have no age_ma", "drop them or fill their ages")
        parts.append(_coregistered("barren", 0, np.full(len(barren), None), barren["lon"].to_numpy(float),
                                   barren["lat"].to_numpy(float), barren["plate_id"].to_numpy(np.int64), b_ages,
                                   kinematics, rotation_model, radii, reports))

    samples = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    report = _concat(reports)
    samples, report = _drop_missing_features(samples, report)
    counts = samples["label"].value_counts()
    if counts.get(1, 0) == 0 or (require_negatives and counts.get(0, 0) == 0):
        raise InputError("training samples", f"{counts.get(1, 0)} positive and {counts.get(0, 0)} negative samples",
                         "check that the deposits' ages fall in the kinematics time range and lie near trenches "
                         "(see the report), or widen the radii")
    samples.insert(1, "region", region_ids(samples["present_lon"], samples["present_lat"], region_size_deg))
    samples.insert(2, "age_bin", (np.floor(samples["time_ma"] / age_bin_myr) * age_bin_myr).astype(int))
    return with_margin_location(samples, rotation_model), report


def with_margin_location(samples: pd.DataFrame, rotation_model: pygplates.RotationModel) -> pd.DataFrame:
    """Add the present-day position of each sample's trench point (moved back with the overriding plate,
    ``trench_plate_id``): ``margin_lon``, ``margin_lat`` (degrees) and ``margin_x/y/z`` (unit vector,
    the location-only control's input, continuous across the dateline)."""
    samples = samples.drop(columns=[c for c in MARGIN_COLUMNS if c in samples.columns])
    if "trench_plate_id" not in samples.columns or samples["trench_plate_id"].isna().all():
        return samples
    plates = samples["trench_plate_id"].fillna(-1).to_numpy(np.int64)
    lon, lat = present_day_points(samples["trench_lon"], samples["trench_lat"], plates,
                                  samples["kinematics_time_ma"], rotation_model)
    xyz = unit_vectors(lon, lat)
    return samples.assign(margin_lon=lon, margin_lat=lat, margin_x=xyz[:, 0], margin_y=xyz[:, 1], margin_z=xyz[:, 2])


def margin_samples(
    positives: pd.DataFrame,
    kinematics: pd.DataFrame,
    rotation_model: pygplates.RotationModel,
    rng: np.random.Generator,
    per_positive: float = 1.0,
    exclusion_deg: float = 2.0,
    min_gap_myr: float = 10.0,
    source: str = "time_matched",
    region_size_deg: float = 10.0,
    age_bin_myr: float = 10.0,
) -> pd.DataFrame:
    """Label-0 samples at other places of the margin, at the same times as the positives.

    For each kinematics time step holding ``k`` positives, ``round(k * per_positive)`` trench points of
    that step with every feature of the positives (no NaN: e.g. off the age grid) are drawn without
    replacement, away from the deposits: more than ``exclusion_deg``
    (present-day margin positions) from every positive whose time is within ``min_gap_myr``. Their
    features are the trench point's kinematics; their location is the trench point, moved back to
    the present with the overriding plate.

    Why: negatives at the positives' times hold the time distribution fixed, so that a model cannot
    separate the classes by age (a time-only control scores about 0.5) and must tell the places of
    the margin apart by their kinematics at that time. ``source="time_matched"`` gives negatives
    (margins are taken as barren away from known deposits); ``source="unlabelled"`` with
    ``exclusion_deg=0`` gives the unlabelled set of positive-unlabelled learning, where some points
    may hide undiscovered deposits.

    Parameters
    ----------
    positives : pandas.DataFrame
        Label-1 rows of :func:`training_samples` (``kinematics_time_ma``, ``time_ma``, ``margin_lon``,
        ``margin_lat``).
    kinematics : pandas.DataFrame
        Trench-point kinematics over time steps (with ``trench_plate_id``).

    Returns
    -------
    pandas.DataFrame
        Rows in the layout of :func:`training_samples` (``source`` as given, ``deposit_id`` missing,
        ``match_radius_deg`` and ``distance_to_trench_km`` 0).
    """
    if not (np.isfinite(per_positive) and per_positive > 0) or not (np.isfinite(exclusion_deg) and exclusion_deg >= 0):
        raise InputError("training samples", f"per_positive = {per_positive}, exclusion_deg = {exclusion_deg}",
                         "give per_positive > 0 and exclusion_deg >= 0")
    _require_columns(positives, ("kinematics_time_ma", "time_ma", "margin_lon", "margin_lat"), "positive samples",
                     "build them with training_samples")
    _require_columns(kinematics, ("time_ma", "lon", "lat", "trench_plate_id"), "kinematics table",
                     "pass the kinematics concatenated over the model's time steps")
    counts = positives["kinematics_time_ma"].value_counts().sort_index()
    by_step = kinematics.groupby(kinematics["time_ma"].astype(float)).indices
    features = [f for f in feature_columns(positives) if f in kinematics.columns]
    parts = []
    for step, k in counts.items():
        rows = by_step.get(float(step))
        if rows is None:
            continue
        at = kinematics.iloc[rows]
        lon0, lat0 = present_day_points(at["lon"], at["lat"], at["trench_plate_id"].to_numpy(np.int64),
                                        np.full(len(at), float(step)), rotation_model)
        eligible = np.isfinite(lon0) & at[features].notna().all(axis=1).to_numpy()  # a missing feature cannot be learnt
        near = positives[(positives["time_ma"] - step).abs() < max(min_gap_myr, 1e-9)]
        if exclusion_deg > 0 and len(near):
            distance = great_circle_deg(lon0[:, None], lat0[:, None], near["margin_lon"].to_numpy(float)[None, :],
                                        near["margin_lat"].to_numpy(float)[None, :])
            eligible &= ~(distance <= exclusion_deg).any(axis=1)
        n = min(int(round(k * per_positive)), int(eligible.sum()))
        if n == 0:
            continue
        chosen = np.sort(rng.choice(np.flatnonzero(eligible), size=n, replace=False))
        picked = at.iloc[chosen]
        xyz = unit_vectors(lon0[chosen], lat0[chosen])
        part = pd.DataFrame({"label": 0, **{f: picked[f].to_numpy(float) for f in feature_columns(picked)}})
        part["source"], part["deposit_id"] = source, None
        part["present_lon"], part["present_lat"] = lon0[chosen], lat0[chosen]
        part["plate_id"] = picked["trench_plate_id"].to_numpy(np.int64)
        part["time_ma"] = float(step)
        part["reconstructed_lon"], part["reconstructed_lat"] = picked["lon"].to_numpy(float), picked["lat"].to_numpy(float)
        part["kinematics_time_ma"] = float(step)
        part["trench_lon"], part["trench_lat"] = picked["lon"].to_numpy(float), picked["lat"].to_numpy(float)
        part["trench_plate_id"] = picked["trench_plate_id"].to_numpy(np.int64)
        part["match_radius_deg"], part["distance_to_trench_km"] = 0.0, 0.0
        part["margin_lon"], part["margin_lat"] = lon0[chosen], lat0[chosen]
        part["margin_x"], part["margin_y"], part["margin_z"] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=list(positives.columns))
    out = pd.concat(parts, ignore_index=True)
    out.insert(1, "region", region_ids(out["present_lon"], out["present_lat"], region_size_deg))
    out.insert(2, "age_bin", (np.floor(out["time_ma"] / age_bin_myr) * age_bin_myr).astype(int))
    return out.drop(columns=[c for c in feature_columns(out) if c not in features])


def region_ids(lon: np.ndarray, lat: np.ndarray, size_deg: float) -> np.ndarray:
    """Id of the ``size_deg`` lon/lat grid cell holding each point: row * n_columns + column,
    rows counted from 90 S and columns from 180 W."""
    lon = (np.asarray(lon, dtype=float) + 180.0) % 360.0
    lat = np.clip(np.asarray(lat, dtype=float) + 90.0, 0.0, 180.0 - 1e-9)
    n_columns = int(np.ceil(360.0 / size_deg))
    return (np.floor(lat / size_deg) * n_columns + np.floor(lon / size_deg)).astype(np.int64)


def _coregistered(source, label, ids, lon, lat, plate_ids, times, kinematics, rotation_model, radii, reports):
    """Samples at (lon, lat) reconstructed to ``times`` and co-registered; failures go to ``reports``."""
    lon_t, lat_t = reconstruct_points(lon, lat, plate_ids, times, rotation_model, on_missing="nan")
    matched, unmatched = coregister(lon_t, lat_t, times, kinematics, radii)
    rows = unmatched["point_index"].to_numpy()
    reports.append(_report(source, ids[rows], lon[rows], lat[rows], times[rows], unmatched["reason"].to_numpy()))
    rows = matched["point_index"].to_numpy()
    features = feature_columns(matched)
    out = pd.DataFrame({"label": label, **{f: matched[f].to_numpy(float) for f in features}})
    out["source"] = source
    out["deposit_id"] = ids[rows]
    out["present_lon"], out["present_lat"], out["plate_id"] = lon[rows], lat[rows], plate_ids[rows]
    out["time_ma"] = times[rows]
    out["reconstructed_lon"], out["reconstructed_lat"] = matched["lon"].to_numpy(), matched["lat"].to_numpy()
    for column in _MATCH_COLUMNS:
        out[column] = matched[column].to_numpy() if column in matched.columns else np.nan
    return out


def _drop_missing_features(samples: pd.DataFrame, report: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Drop optional features that are NaN everywhere; move samples with other NaN features to the report."""
    empty = [f for f in OPTIONAL_FEATURES if f in samples.columns and samples[f].isna().all()]
    samples = samples.drop(columns=empty)
    features = feature_columns(samples)
    gaps = samples[features].isna()
    bad = gaps.any(axis=1).to_numpy()
    if bad.any():
        reasons = ["missing kinematic value(s): " + ", ".join(gaps.columns[row]) for row in gaps.to_numpy()[bad]]
        dropped = samples.loc[bad]
        report = _concat([report, _report(dropped["source"].to_numpy(), dropped["deposit_id"].to_numpy(),
                                            dropped["present_lon"].to_numpy(), dropped["present_lat"].to_numpy(),
                                            dropped["time_ma"].to_numpy(), reasons)])
        samples = samples.loc[~bad].reset_index(drop=True)
    return samples, report


def _report(source, ids, lon, lat, times, reason) -> pd.DataFrame:
    values = (source, ids, lon, lat, times, reason)
    return pd.DataFrame(dict(zip(_REPORT_COLUMNS, values)), index=pd.RangeIndex(len(ids)))


def _concat(reports: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate report parts, skipping empty ones (pandas warns on empty frames in a concat)."""
    filled = [r for r in reports if len(r)]
    return pd.concat(filled, ignore_index=True) if filled else pd.DataFrame(columns=_REPORT_COLUMNS)


def _require_columns(table: pd.DataFrame, columns: Sequence[str], what: str, fix: str) -> None:
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise InputError(what, f"missing column(s) {absent}", fix)
