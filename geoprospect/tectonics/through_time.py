"""Prospectivity of a margin through time: candidate arc points scored at every kinematics time step.

After Diaz-Rodriguez, Müller and Chandra (2021, Ore Geology Reviews 137:104300), who applied their
trained classifier to points along the Andean margin at each time step and mapped the probability of
porphyry formation through time. Candidates are fixed present-day points: a regular grid over the
study region (:func:`grid_candidates`; scored where it lies on the overriding plate near a trench at
that time) or distances inland of the present trench (:func:`margin_candidates`); each is
reconstructed to every time step with its plate, co-registered with that step's trench kinematics
and scored.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pygplates

from geoprospect.errors import InputError
from geoprospect.tectonics.coregister import (
    DEFAULT_RADII_DEG,
    assign_plate_ids,
    coregister,
    great_circle_deg,
    reconstruct_points,
    unit_vectors,
)

DEFAULT_WINDOWS_MA = ((0.0, 20.0), (20.0, 40.0), (40.0, 60.0))


def margin_candidates(
    kinematics: pd.DataFrame,
    trench_plate_ids: Sequence[int],
    spacing_deg: float = 1.0,
    inland_offsets_deg: Sequence[float] = (1.0, 2.0, 3.0),
) -> pd.DataFrame:
    """Present-day candidate points inland of the trenches of ``trench_plate_ids``.

    Trench points are thinned to about ``spacing_deg`` along each section (in the table's order
    along the section), then each is moved ``inland_offsets_deg`` along the trench normal. The
    normal azimuth ``trench_normal_azimuth_deg`` is taken to point from the trench towards the
    overriding plate (the convention of the kinematics table).

    Parameters
    ----------
    kinematics : pandas.DataFrame
        Trench points at 0 Ma (one time step): ``time_ma``, ``lon``, ``lat``, ``trench_plate_id``,
        ``trench_normal_azimuth_deg`` (degrees clockwise from north) and, if the table has several
        sections, ``section_id``.
    trench_plate_ids : sequence of int
        Plate ids of the trenches (the overriding plates) to place candidates along.
    spacing_deg : float
        Along-trench spacing (degrees of arc).
    inland_offsets_deg : sequence of float
        Distances from the trench (degrees of arc; 1 degree is about 111 km).

    Returns
    -------
    pandas.DataFrame
        ``candidate_id`` (0..n-1), ``lon``, ``lat`` (present day, degrees), ``plate_id`` (the
        trench's plate), ``inland_offset_deg``, ``trench_lon``, ``trench_lat``, ``section_id``.

    Raises
    ------
    InputError
        Missing columns, several time steps, bad spacing or offsets, or no trench of those plates.
    """
    required = ["time_ma", "lon", "lat", "trench_plate_id", "trench_normal_azimuth_deg"]
    absent = [c for c in required if c not in kinematics.columns]
    if absent:
        raise InputError("kinematics table", f"missing column(s) {absent}", "pass the kinematics table at 0 Ma")
    if kinematics["time_ma"].nunique() != 1:
        raise InputError("kinematics table", f"holds {kinematics['time_ma'].nunique()} time steps, expected one",
                         "pass only the rows at 0 Ma: kinematics[kinematics.time_ma == 0]")
    offsets = np.asarray(inland_offsets_deg, dtype=float)
    if not (np.isfinite(spacing_deg) and spacing_deg > 0) or offsets.size == 0 or not np.all((offsets > 0) & (offsets < 90)):
        raise InputError("margin candidates", f"spacing {spacing_deg} and offsets {list(inland_offsets_deg)}",
                         "use a positive spacing and inland offsets in (0, 90) degrees")
    trench = kinematics[kinematics["trench_plate_id"].isin(list(trench_plate_ids))].reset_index(drop=True)
    if trench.empty:
        raise InputError("margin candidates", f"no trench point on plate(s) {list(trench_plate_ids)}",
                         f"use trench plate ids present: {sorted(kinematics['trench_plate_id'].unique())[:20]}")
    sections = trench["section_id"] if "section_id" in trench.columns else pd.Series(0, index=trench.index)
    kept = np.concatenate([_thin(group, spacing_deg) for _, group in trench.groupby(sections.to_numpy(), sort=False)])
    trench = trench.loc[kept]
    lon0, lat0 = trench["lon"].to_numpy(float), trench["lat"].to_numpy(float)
    azimuth = trench["trench_normal_azimuth_deg"].to_numpy(float)
    lon, lat = _destination(lon0[:, None], lat0[:, None], azimuth[:, None], offsets[None, :])
    n = offsets.size
    return pd.DataFrame({
        "candidate_id": np.arange(lon.size),
        "lon": lon.ravel(),
        "lat": lat.ravel(),
        "plate_id": np.repeat(trench["trench_plate_id"].to_numpy(np.int64), n),
        "inland_offset_deg": np.tile(offsets, len(trench)),
        "trench_lon": np.repeat(lon0, n),
        "trench_lat": np.repeat(lat0, n),
        "section_id": np.repeat(sections.loc[kept].to_numpy(), n),
    })


def grid_candidates(
    box: tuple[float, float, float, float],
    spacing_deg: float,
    static_polygons: Sequence,
    rotation_model: pygplates.RotationModel,
    inside=None,
) -> pd.DataFrame:
    """Present-day candidate points on a regular lon/lat grid over ``box`` (lon_min, lat_min, lon_max,
    lat_max; degrees, cell centres every ``spacing_deg``), on a plate of the static polygons.

    Scored through time with ``overriding_only`` (:func:`score_through_time`), each point counts at
    the times when its plate is the overriding plate of a trench within the co-registration radius:
    the margin moves over the grid with time, so interior arcs (e.g. the North American Cordillera)
    are scored when they were arcs. ``inside``: optional ``f(lon, lat) -> bool array`` keeping the
    points of a region polygon. Points on no plate (plate id 0) are left out.

    Raises
    ------
    InputError
        A spacing <= 0, or no grid point on a plate.
    """
    if not (np.isfinite(spacing_deg) and spacing_deg > 0):
        raise InputError("tectonics.candidate_spacing_deg", f"{spacing_deg} must be > 0", "give a spacing in degrees, e.g. 1")
    lon0, lat0, lon1, lat1 = box
    lon = np.arange(lon0 + spacing_deg / 2, lon1, spacing_deg)
    lat = np.arange(max(lat0, -90.0) + spacing_deg / 2, min(lat1, 90.0), spacing_deg)
    lon, lat = (a.ravel() for a in np.meshgrid(lon, lat))
    if inside is not None:
        keep = np.asarray(inside(lon, lat), dtype=bool)
        lon, lat = lon[keep], lat[keep]
    plate_ids = assign_plate_ids(lon, lat, static_polygons, rotation_model) if lon.size else np.zeros(0, dtype=np.int64)
    on_plate = plate_ids != 0
    if not on_plate.any():
        raise InputError("plate_model.region_box", f"no candidate point of the {spacing_deg:g} degree grid over {list(box)} "
                         "lies on a plate of the static polygons", "check the region (lon_min, lat_min, lon_max, lat_max)")
    return pd.DataFrame({"candidate_id": np.arange(int(on_plate.sum())), "lon": lon[on_plate], "lat": lat[on_plate],
                         "plate_id": plate_ids[on_plate]})


def score_through_time(
    candidates: pd.DataFrame,
    kinematics: pd.DataFrame,
    rotation_model: pygplates.RotationModel,
    model,
    features: Sequence[str],
    radii: Sequence[float] = DEFAULT_RADII_DEG,
    overriding_only: bool = False,
) -> pd.DataFrame:
    """Probability of porphyry formation at each candidate and kinematics time step.

    Parameters
    ----------
    candidates : pandas.DataFrame
        ``candidate_id``, ``lon``, ``lat`` (present day, degrees), ``plate_id`` (e.g. from
        :func:`margin_candidates`).
    kinematics : pandas.DataFrame
        Trench-point kinematics concatenated over time steps; must hold the ``features``.
    rotation_model : pygplates.RotationModel
    model : fitted classifier
        With ``predict_proba`` on the ``features`` in that order (e.g.
        :func:`geoprospect.tectonics.validation.fit_final`).
    features : sequence of str
    radii : sequence of float
        Co-registration search radii (degrees).
    overriding_only : bool
        Score only candidates on the overriding side of their trench point (along its normal
        ``trench_normal_azimuth_deg``); the others are left unscored (a grid over both plates).

    Returns
    -------
    pandas.DataFrame
        One row per candidate and time step, sorted by time then candidate: ``time_ma``,
        ``candidate_id``, ``present_lon``, ``present_lat``, ``reconstructed_lon``,
        ``reconstructed_lat`` (degrees; NaN where the plate has no rotation at that time),
        ``probability`` (NaN where the candidate was not co-registered or a feature is NaN),
        ``match_radius_deg``, ``distance_to_trench_km``.

    Raises
    ------
    InputError
        Missing candidate or feature columns.
    """
    absent = [c for c in ("candidate_id", "lon", "lat", "plate_id") if c not in candidates.columns]
    if absent:
        raise InputError("candidates", f"missing column(s) {absent}", "build them with margin_candidates")
    absent = [f for f in features if f not in kinematics.columns]
    if absent:
        raise InputError("kinematics table", f"lacks the model's feature(s) {absent}",
                         "compute the kinematics with the same options as for training")
    times = np.unique(kinematics["time_ma"].to_numpy(dtype=float))
    n = len(candidates)
    point_time = np.repeat(times, n)
    lon, lat = np.tile(candidates["lon"].to_numpy(float), times.size), np.tile(candidates["lat"].to_numpy(float), times.size)
    plate_ids = np.tile(candidates["plate_id"].to_numpy(np.int64), times.size)
    lon_t, lat_t = reconstruct_points(lon, lat, plate_ids, point_time, rotation_model, on_missing="nan")
    matched, _ = coregister(lon_t, lat_t, point_time, kinematics, radii)

    probability = np.full(point_time.size, np.nan)
    radius, distance = np.full(point_time.size, np.nan), np.full(point_time.size, np.nan)
    if overriding_only and len(matched):
        matched = matched[_on_overriding_side(matched)]
    rows = matched["point_index"].to_numpy()
    X = matched[list(features)].to_numpy(float)
    complete = np.isfinite(X).all(axis=1)
    if complete.any():
        probability[rows[complete]] = model.predict_proba(X[complete])[:, 1]
    radius[rows] = matched["match_radius_deg"].to_numpy()
    distance[rows] = matched["distance_to_trench_km"].to_numpy()
    return pd.DataFrame({
        "time_ma": point_time,
        "candidate_id": np.tile(candidates["candidate_id"].to_numpy(), times.size),
        "present_lon": lon,
        "present_lat": lat,
        "reconstructed_lon": lon_t,
        "reconstructed_lat": lat_t,
        "probability": probability,
        "match_radius_deg": radius,
        "distance_to_trench_km": distance,
    })


def window_summary(scores: pd.DataFrame, windows: Sequence[tuple[float, float]] = DEFAULT_WINDOWS_MA) -> pd.DataFrame:
    """Maximum and mean probability of each candidate within each time window.

    Parameters
    ----------
    scores : pandas.DataFrame
        From :func:`score_through_time`.
    windows : sequence of (start_ma, end_ma)
        Half-open windows ``start_ma <= time_ma < end_ma`` (Ma).

    Returns
    -------
    pandas.DataFrame
        One row per candidate and window: ``window_start_ma``, ``window_end_ma``, ``candidate_id``,
        ``present_lon``, ``present_lat``, ``max_probability``, ``mean_probability`` (NaN scores
        left out; NaN if none) and ``n_scored`` (time steps with a score).

    Raises
    ------
    InputError
        A window with start >= end.
    """
    parts = []
    for start, end in windows:
        if not start < end:
            raise InputError("time windows", f"window ({start}, {end}) is empty", "give (start_ma, end_ma) with start < end")
        inside = scores[(scores["time_ma"] >= start) & (scores["time_ma"] < end)]
        grouped = inside.groupby("candidate_id", sort=True)
        part = grouped.agg(present_lon=("present_lon", "first"), present_lat=("present_lat", "first"),
                           max_probability=("probability", "max"), mean_probability=("probability", "mean"),
                           n_scored=("probability", "count")).reset_index()
        parts.append(part.assign(window_start_ma=float(start), window_end_ma=float(end)))
    summary = pd.concat(parts, ignore_index=True)
    front = ["window_start_ma", "window_end_ma", "candidate_id"]
    return summary[front + [c for c in summary.columns if c not in front]]


def window_points(summary: pd.DataFrame) -> gpd.GeoDataFrame:
    """The window summary as present-day points (EPSG:4326), e.g. for a GeoPackage layer."""
    return gpd.GeoDataFrame(summary, geometry=gpd.points_from_xy(summary["present_lon"], summary["present_lat"]),
                            crs="EPSG:4326")


def _on_overriding_side(matched: pd.DataFrame) -> np.ndarray:
    """Whether each matched point lies on the side its trench normal points to (the overriding plate)."""
    trench = unit_vectors(matched["trench_lon"].to_numpy(float), matched["trench_lat"].to_numpy(float))
    point = unit_vectors(matched["lon"].to_numpy(float), matched["lat"].to_numpy(float))
    lon, lat = np.radians(matched["trench_lon"].to_numpy(float)), np.radians(matched["trench_lat"].to_numpy(float))
    east = np.stack([-np.sin(lon), np.cos(lon), np.zeros_like(lon)], axis=-1)
    north = np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)], axis=-1)
    azimuth = np.radians(matched["trench_normal_azimuth_deg"].to_numpy(float))
    normal = np.sin(azimuth)[:, None] * east + np.cos(azimuth)[:, None] * north
    return np.sum((point - trench) * normal, axis=1) > 0.0


def _thin(group: pd.DataFrame, spacing_deg: float) -> np.ndarray:
    """Index labels of the points of one section kept greedily at least ``spacing_deg`` apart along it."""
    lon, lat = group["lon"].to_numpy(float), group["lat"].to_numpy(float)
    along = np.concatenate([[0.0], np.cumsum(great_circle_deg(lon[:-1], lat[:-1], lon[1:], lat[1:]))])
    keep, last = [0], 0.0
    for i in range(1, along.size):
        if along[i] - last >= spacing_deg * (1.0 - 1e-9):  # tolerance: sums of rounded segment lengths
            keep.append(i)
            last = along[i]
    return group.index.to_numpy()[keep]


def _destination(lon_deg, lat_deg, azimuth_deg, distance_deg) -> tuple[np.ndarray, np.ndarray]:
    """Point reached from (lon, lat) along a great circle at ``azimuth_deg`` after ``distance_deg``."""
    lat1, lon1 = np.radians(lat_deg), np.radians(lon_deg)
    azimuth, delta = np.radians(azimuth_deg), np.radians(distance_deg)
    lat2 = np.arcsin(np.sin(lat1) * np.cos(delta) + np.cos(lat1) * np.sin(delta) * np.cos(azimuth))
    lon2 = lon1 + np.arctan2(np.sin(azimuth) * np.sin(delta) * np.cos(lat1), np.cos(delta) - np.sin(lat1) * np.sin(lat2))
    return (np.degrees(lon2) + 180.0) % 360.0 - 180.0, np.degrees(lat2)
