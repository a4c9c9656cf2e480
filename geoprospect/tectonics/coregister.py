"""Points on a plate model: plate ids, reconstruction to their ages, co-registration with trench kinematics.

The co-registration follows Diaz-Rodriguez, Müller and Chandra (2021, Ore Geology Reviews 137:104300):
a deposit, reconstructed to the time it formed, takes the subduction-zone kinematics of the trench
point nearest to it (great-circle distance) at the kinematics time step nearest to its age. The search
tries growing radii (5, 10, then 30 degrees by default); the radius that first held a trench point is
kept with the match, so that far matches (weak evidence) can be filtered or down-weighted later.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pygplates

from geoprospect.errors import InputError

EARTH_RADIUS_KM = pygplates.Earth.mean_radius_in_kms
DEFAULT_RADII_DEG = (5.0, 10.0, 30.0)
# Kinematics columns that describe the trench point itself, renamed so that they do not collide with
# the co-registered point's own position and time.
_TRENCH_POSITION = {"lon": "trench_lon", "lat": "trench_lat", "time_ma": "kinematics_time_ma"}


def assign_plate_ids(
    lon: np.ndarray,
    lat: np.ndarray,
    static_polygons: Sequence,
    rotation_model: pygplates.RotationModel,
) -> np.ndarray:
    """Plate id of each present-day point: the static polygon that holds it at 0 Ma.

    Parameters
    ----------
    lon, lat : array of shape (n,)
        Present-day positions (degrees, WGS 84).
    static_polygons : sequence of pygplates.FeatureCollection (or features)
        Present-day plate outlines with reconstruction plate ids.
    rotation_model : pygplates.RotationModel

    Returns
    -------
    ndarray of int, shape (n,)
        The plate id, 0 where no polygon holds the point (plate 0 is the anchor: such a point
        never moves when reconstructed).

    Raises
    ------
    InputError
        If the coordinates are not finite or outside their ranges.
    """
    lon, lat = _check_lon_lat(lon, lat, "points")
    partitioner = pygplates.PlatePartitioner(static_polygons, rotation_model, 0.0)
    plate_ids = np.zeros(lon.shape, dtype=np.int64)
    for i, (x, y) in enumerate(zip(lon, lat)):
        plate = partitioner.partition_point(pygplates.PointOnSphere(float(y), float(x)))
        if plate is not None:
            plate_ids[i] = plate.get_feature().get_reconstruction_plate_id()
    return plate_ids


def reconstruct_points(
    lon: np.ndarray,
    lat: np.ndarray,
    plate_ids: np.ndarray,
    time_ma: float | np.ndarray,
    rotation_model: pygplates.RotationModel,
    on_missing: str = "raise",
) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruct present-day points to their times with their plates' total rotations.

    Points are grouped by (plate id, time): one rotation per group is applied to all its points
    at once (a ``pygplates.MultiPointOnSphere``), so the cost grows with the number of distinct
    pairs, not of points.

    Parameters
    ----------
    lon, lat : array of shape (n,)
        Present-day positions (degrees).
    plate_ids : array of int, shape (n,)
        Reconstruction plate ids (:func:`assign_plate_ids`).
    time_ma : float or array of shape (n,)
        Reconstruction time (Ma), one for all points or one per point.
    rotation_model : pygplates.RotationModel
        Rotations to the model's anchor plate.
    on_missing : {"raise", "nan"}
        A missing rotation -- a plate id absent from the rotation files, or a time older than the
        plate's rotation sequence -- raises :class:`InputError` naming the plate ids and times
        (``"raise"``), or leaves NaN positions for those points (``"nan"``). pygplates itself would
        silently keep such points at their present-day positions.

    Returns
    -------
    lon_t, lat_t : ndarray of shape (n,)
        Positions at ``time_ma`` (degrees; longitude in [-180, 180]).

    Raises
    ------
    InputError
        Bad coordinates or times, or a missing rotation with ``on_missing="raise"``.
    """
    if on_missing not in ("raise", "nan"):
        raise InputError("reconstruct_points", f"on_missing={on_missing!r} is not an option", "use 'raise' or 'nan'")
    lon, lat = _check_lon_lat(lon, lat, "points")
    plate_ids = np.broadcast_to(np.asarray(plate_ids, dtype=np.int64), lon.shape)
    times = np.broadcast_to(np.asarray(time_ma, dtype=float), lon.shape)
    if not np.all(np.isfinite(times) & (times >= 0.0)):
        raise InputError("reconstruct_points", "reconstruction times must be finite and >= 0 Ma",
                         "drop undated points or fill their ages")
    lon_t, lat_t = np.full(lon.shape, np.nan), np.full(lon.shape, np.nan)
    groups = pd.DataFrame({"plate_id": plate_ids, "time_ma": times}).groupby(["plate_id", "time_ma"]).indices
    missing = []
    for (plate_id, time), rows in groups.items():
        rotation = rotation_model.get_rotation(float(time), int(plate_id), use_identity_for_missing_plate_ids=False)
        if rotation is None:
            missing.append((int(plate_id), float(time)))
            continue
        points = pygplates.MultiPointOnSphere(list(zip(lat[rows], lon[rows])))
        lat_lon = (rotation * points).to_lat_lon_array()
        lat_t[rows], lon_t[rows] = lat_lon[:, 0], lat_lon[:, 1]
    if missing and on_missing == "raise":
        listed = ", ".join(f"{p} at {t:g} Ma" for p, t in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise InputError(
            "rotation model",
            f"no rotation for plate id(s) {listed} (plate unknown or time older than its rotation sequence)",
            "extend the rotation file to these plates and times, or keep only points within the model's time range",
        )
    return lon_t, lat_t


def present_day_points(
    lon_t: np.ndarray,
    lat_t: np.ndarray,
    plate_ids: np.ndarray,
    time_ma: np.ndarray,
    rotation_model: pygplates.RotationModel,
) -> tuple[np.ndarray, np.ndarray]:
    """Present-day positions of points given at ``time_ma`` on their plates (the inverse of
    :func:`reconstruct_points`): NaN where the plate has no rotation at that time."""
    lon_t, lat_t = np.asarray(lon_t, dtype=float).ravel(), np.asarray(lat_t, dtype=float).ravel()
    plate_ids = np.broadcast_to(np.asarray(plate_ids, dtype=np.int64), lon_t.shape)
    times = np.broadcast_to(np.asarray(time_ma, dtype=float), lon_t.shape)
    lon0, lat0 = np.full(lon_t.shape, np.nan), np.full(lon_t.shape, np.nan)
    ok = np.isfinite(lon_t) & np.isfinite(lat_t) & np.isfinite(times)
    groups = pd.DataFrame({"plate_id": plate_ids[ok], "time_ma": times[ok]}).groupby(["plate_id", "time_ma"]).indices
    rows_ok = np.flatnonzero(ok)
    for (plate_id, time), positions in groups.items():
        rotation = rotation_model.get_rotation(float(time), int(plate_id), use_identity_for_missing_plate_ids=False)
        if rotation is None:
            continue
        rows = rows_ok[positions]
        points = pygplates.MultiPointOnSphere(list(zip(lat_t[rows], lon_t[rows])))
        lat_lon = (rotation.get_inverse() * points).to_lat_lon_array()
        lat0[rows], lon0[rows] = lat_lon[:, 0], lat_lon[:, 1]
    return lon0, lat0


def coregister(
    lon_t: np.ndarray,
    lat_t: np.ndarray,
    time_ma: float | np.ndarray,
    kinematics: pd.DataFrame,
    radii_deg: Sequence[float] = DEFAULT_RADII_DEG,
    max_time_gap_myr: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Match each reconstructed point to the nearest trench point at the kinematics step nearest its time.

    Parameters
    ----------
    lon_t, lat_t : array of shape (n,)
        Point positions at their times (degrees); NaN for points that could not be reconstructed.
    time_ma : float or array of shape (n,)
        Time of each point (Ma).
    kinematics : pandas.DataFrame
        Trench points concatenated over time steps: at least ``time_ma``, ``lon``, ``lat``
        (degrees, position at ``time_ma``), plus any kinematic columns, all carried over.
    radii_deg : sequence of float
        Search radii (degrees of arc), tried in increasing order; a point with no trench point
        within the largest is unmatched.
    max_time_gap_myr : float, optional
        The largest allowed gap (Myr) between a point's time and the nearest kinematics step.
        Default: half the largest spacing between consecutive steps (0 with a single step), so
        that points older or younger than the sampled time range are not matched to its ends.

    Returns
    -------
    matched : pandas.DataFrame
        One row per matched point: ``point_index`` (position in the inputs), ``time_ma``,
        ``lon``, ``lat`` (the point), the trench point's columns (its ``time_ma``, ``lon``, ``lat``
        renamed ``kinematics_time_ma``, ``trench_lon``, ``trench_lat``), ``match_radius_deg``
        (the first radius that held a trench point) and ``distance_to_trench_km``
        (great-circle distance on a sphere of radius 6371.009 km).
    unmatched : pandas.DataFrame
        ``point_index``, ``time_ma``, ``lon``, ``lat``, ``reason``.

    Raises
    ------
    InputError
        Missing kinematics columns, an empty kinematics table or bad radii.
    """
    _check_kinematics(kinematics)
    radii = np.asarray(radii_deg, dtype=float)
    if radii.ndim != 1 or radii.size == 0 or not np.all((radii > 0) & (radii <= 180)) or np.any(np.diff(radii) <= 0):
        raise InputError("coregistration radii", f"radii {list(radii_deg)} are not increasing angles in (0, 180] degrees",
                         "give increasing search radii in degrees, e.g. (5, 10, 30)")
    lon_t = np.asarray(lon_t, dtype=float).ravel()
    lat_t = np.asarray(lat_t, dtype=float).ravel()
    times = np.broadcast_to(np.asarray(time_ma, dtype=float), lon_t.shape)
    steps = np.unique(kinematics["time_ma"].to_numpy(dtype=float))
    if max_time_gap_myr is None:
        max_time_gap_myr = float(np.diff(steps).max()) / 2.0 if steps.size > 1 else 0.0

    nearest_step = steps[np.abs(times[:, None] - steps[None, :]).argmin(axis=1)] if times.size else times
    reasons = np.full(lon_t.shape, None, dtype=object)
    located = np.isfinite(lon_t) & np.isfinite(lat_t)
    reasons[~located] = "no reconstructed position (no rotation for its plate at its time)"
    off_range = located & ~(np.abs(times - nearest_step) <= max_time_gap_myr + 1e-9)
    reasons[off_range] = [f"time {t:g} Ma is more than {max_time_gap_myr:g} Myr from any kinematics time step"
                          for t in times[off_range]]
    pending = located & ~off_range

    trench_index = np.full(lon_t.shape, -1)
    angle_deg = np.full(lon_t.shape, np.nan)
    by_step = kinematics.groupby(kinematics["time_ma"].astype(float)).indices  # positional rows per step
    trench_lon, trench_lat = kinematics["lon"].to_numpy(float), kinematics["lat"].to_numpy(float)
    for step in np.unique(nearest_step[pending]):
        rows = np.flatnonzero(pending & (nearest_step == step))
        candidates = by_step[step]
        best, best_deg = _nearest(_xyz(lon_t[rows], lat_t[rows]), _xyz(trench_lon[candidates], trench_lat[candidates]))
        trench_index[rows] = candidates[best]
        angle_deg[rows] = best_deg

    found = trench_index >= 0
    too_far = found & (angle_deg > radii[-1])
    reasons[too_far] = [f"no trench point within {radii[-1]:g} degrees (nearest {a:.1f} degrees)"
                        for a in angle_deg[too_far]]
    ok = found & ~too_far

    points = pd.DataFrame({"point_index": np.arange(lon_t.size), "time_ma": times, "lon": lon_t, "lat": lat_t})
    trench = kinematics.iloc[trench_index[ok]].rename(columns=_TRENCH_POSITION).reset_index(drop=True)
    matched = pd.concat([points[ok].reset_index(drop=True), trench], axis=1)
    matched["match_radius_deg"] = radii[np.searchsorted(radii, angle_deg[ok])]
    matched["distance_to_trench_km"] = np.radians(angle_deg[ok]) * EARTH_RADIUS_KM
    unmatched = points[~ok].assign(reason=reasons[~ok]).reset_index(drop=True)
    return matched, unmatched


def great_circle_deg(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle angle (degrees) between points given in degrees (broadcasting)."""
    a, b = _xyz(lon1, lat1), _xyz(lon2, lat2)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return np.degrees(np.arctan2(cross, np.sum(a * b, axis=-1)))  # stable for tiny and near-antipodal angles


def _nearest(points_xyz: np.ndarray, targets_xyz: np.ndarray, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest target (largest dot product) and its angle (degrees), in chunks of points."""
    best = np.empty(len(points_xyz), dtype=np.int64)
    for start in range(0, len(points_xyz), chunk):
        block = points_xyz[start:start + chunk]
        best[start:start + chunk] = (block @ targets_xyz.T).argmax(axis=1)
    cross = np.linalg.norm(np.cross(points_xyz, targets_xyz[best]), axis=-1)
    angle = np.degrees(np.arctan2(cross, np.sum(points_xyz * targets_xyz[best], axis=-1)))
    return best, angle


def unit_vectors(lon_deg, lat_deg) -> np.ndarray:
    """Unit vectors (x, y, z) of points in degrees: shape (..., 3)."""
    return _xyz(lon_deg, lat_deg)


def _xyz(lon_deg, lat_deg) -> np.ndarray:
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _check_lon_lat(lon, lat, what: str) -> tuple[np.ndarray, np.ndarray]:
    lon = np.asarray(lon, dtype=float).ravel()
    lat = np.asarray(lat, dtype=float).ravel()
    if lon.shape != lat.shape:
        raise InputError(what, f"{lon.size} longitudes but {lat.size} latitudes", "give one of each per point")
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90.0) & (np.abs(lon) <= 360.0))
    if bad.any():
        raise InputError(what, f"{bad.sum()} point(s) have missing or out-of-range coordinates "
                         f"(first at position {np.flatnonzero(bad)[0]})",
                         "drop them or give latitude in [-90, 90] and longitude in [-360, 360] degrees")
    return lon, lat


def _check_kinematics(kinematics: pd.DataFrame) -> None:
    absent = [c for c in ("time_ma", "lon", "lat") if c not in kinematics.columns]
    if absent:
        raise InputError("kinematics table", f"missing column(s) {absent}",
                         "pass the trench-point table of geoprospect.tectonics.kinematics, concatenated over times")
    if kinematics.empty:
        raise InputError("kinematics table", "holds no trench point",
                         "check that the topologies contain subduction zones over the requested times")
