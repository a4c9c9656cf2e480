"""Subduction-zone kinematics at a time step, from a plate model's resolved topologies (pyGPlates).

After Diaz-Rodriguez, Müller and Chandra (2021, Ore Geology Reviews 137:104300), who relate porphyry
Cu deposits to the kinematics of the subduction zone at their time of formation: convergence rate
and obliquity, trench and subducting-plate motion, distance to the trench edge, age of the
subducting seafloor and the volume of lithosphere subducted per year.

Points are sampled uniformly along every subduction zone shared by two resolved plates
(``TopologicalSnapshot.calculate_plate_boundary_statistics``); each gets its plates from the
subduction polarity of its section. Sign conventions, with the trench normal pointing from the
subducting towards the overriding plate (the direction of subduction):

- ``convergence_orthogonal_cm_yr`` > 0 when the plates converge (the subducting plate moves
  towards the overriding plate), < 0 when they diverge;
- ``trench_velocity_orthogonal_cm_yr`` > 0 when the trench *retreats* (moves towards the
  subducting plate, oceanward: slab roll-back), < 0 when it *advances* towards the overriding plate;
- ``subducting_velocity_orthogonal_cm_yr`` > 0 when the subducting plate moves towards the trench;

so that, for a trench moving with the overriding plate, convergence = subducting velocity + trench
retreat (Schellart 2008's ``vC = vSP + vT``). Parallel components are positive 90 degrees clockwise
of the normal (seen from above). Plate and trench velocities are absolute, in the anchor plate's
frame, like ``lon, lat``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pygplates
import xarray as xr

from geoprospect.errors import InputError

KINEMATICS_COLUMNS = (
    "time_ma",
    "lon",
    "lat",
    "trench_plate_id",
    "subducting_plate_id",
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
    "arc_length_km",
    "trench_normal_azimuth_deg",
    "seafloor_age_ma",
    "subduction_volume_rate_km3_yr",
    "section_id",
)
EARTH_RADIUS_KM = pygplates.Earth.mean_radius_in_kms
# Seafloor age is read this far seaward of the trench, on the subducting plate: about one cell of a
# 1-degree grid, so that the nearest grid node lies on oceanic lithosphere rather than on the NaN
# cells of the margin, and 1-2 Myr of subduction at 5-10 cm/yr (an age difference below that).
AGE_SAMPLE_OFFSET_KM = 100.0
# Plate thickness from half-space cooling, 2.32 * sqrt(kappa * age): the depth of the isotherm at 90 %
# of the mantle temperature (Turcotte and Schubert 2014, Geodynamics, eq. 4.115), kappa = 1e-6 m2/s.
THERMAL_DIFFUSIVITY_M2_S = 1.0e-6
_SECONDS_PER_MYR = 1.0e6 * 365.25 * 86400.0
_INTEGER_COLUMNS = ("trench_plate_id", "subducting_plate_id")


def time_steps(start_ma: float, stop_ma: float, step_myr: float) -> list[float]:
    """Reconstruction times from ``start_ma`` to ``stop_ma`` (both Ma, inclusive) every ``step_myr``.

    Times are ``start_ma + i * step_myr`` (no accumulated rounding); the last is the largest one
    not beyond ``stop_ma``.

    Raises
    ------
    InputError
        (source ``tectonics``) for a non-finite value, a negative start, a stop before the start or
        a step that is not positive.
    """
    values = {"start_ma": start_ma, "stop_ma": stop_ma, "step_myr": step_myr}
    for name, value in values.items():
        if not math.isfinite(value):
            raise InputError("tectonics", f"{name} = {value} is not a finite number", "give times in Ma as numbers")
    if start_ma < 0:
        raise InputError("tectonics", f"start_ma = {start_ma:g} is before the present", "start at 0 Ma or later")
    if stop_ma < start_ma:
        raise InputError("tectonics", f"stop_ma = {stop_ma:g} is younger than start_ma = {start_ma:g}",
                         "give the younger time first: time_steps(0, 100, 1)")
    if step_myr <= 0:
        raise InputError("tectonics", f"step_myr = {step_myr:g} is not positive", "give a step > 0 Myr")
    count = math.floor((stop_ma - start_ma) / step_myr + 1e-9) + 1
    return [float(start_ma + i * step_myr) for i in range(count)]


def subduction_kinematics(
    topologies: Sequence[pygplates.FeatureCollection],
    rotation_model: pygplates.RotationModel,
    time_ma: float,
    spacing_deg: float = 0.5,
    velocity_delta_myr: float = 1.0,
    age_grid: xr.DataArray | None = None,
) -> pd.DataFrame:
    """Kinematics of every subduction zone at ``time_ma``, one row per point along the trenches.

    Parameters
    ----------
    topologies : sequence of pygplates.FeatureCollection
        The plate model's topology files (closed plate polygons with their boundary sections).
    rotation_model : pygplates.RotationModel
        Positions and velocities are in the frame of its default anchor plate.
    time_ma : float
        Reconstruction time (Ma, >= 0).
    spacing_deg : float
        Spacing of the points along the trenches (degrees of arc).
    velocity_delta_myr : float
        Velocities are the displacement over [time_ma + velocity_delta_myr, time_ma] (Myr).
    age_grid : xarray.DataArray, optional
        Seafloor age (Myr) at ``time_ma`` over ``lon``/``lat`` (degrees), e.g. from
        :func:`geoprospect.io.plates.read_age_grid`. Sampled at the nearest grid node
        ``AGE_SAMPLE_OFFSET_KM`` seaward of each trench point; without it ``seafloor_age_ma`` and
        ``subduction_volume_rate_km3_yr`` are NaN.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KINEMATICS_COLUMNS` (signs: see the module docstring): ``lon, lat``
        (degrees), plate ids (int; ``trench_plate_id`` the overriding plate), velocities in cm/yr
        (``*_rate``/``*_velocity`` magnitudes >= 0), ``distance_to_trench_edge_km`` (along the
        trench to its nearer end), ``arc_length_km`` (trench length the point stands for),
        ``trench_normal_azimuth_deg`` (clockwise from north, towards the overriding plate),
        ``seafloor_age_ma`` (the age of the subducting seafloor, Myr), and
        ``subduction_volume_rate_km3_yr`` = plate thickness(age) x orthogonal convergence x arc
        length (negative where the plates diverge), ``section_id`` (the subduction zone's feature
        id). Points whose section has no Left/Right polarity or not exactly one plate on each side
        are left out. No subduction at that time gives an empty frame with these columns.

    Raises
    ------
    InputError
        (source ``tectonics``) for a negative or non-finite time or a non-positive spacing or
        velocity interval; (source ``age grid``) for a grid without ``lon``/``lat`` coordinates.
    """
    if not (math.isfinite(time_ma) and time_ma >= 0):
        raise InputError("tectonics", f"time_ma = {time_ma} is not a time >= 0 Ma", "give the reconstruction time in Ma")
    for name, value in (("spacing_deg", spacing_deg), ("velocity_delta_myr", velocity_delta_myr)):
        if not (math.isfinite(value) and value > 0):
            raise InputError("tectonics", f"{name} = {value} is not positive", f"give {name} > 0")
    if age_grid is not None and not {"lon", "lat"} <= set(age_grid.dims):
        raise InputError("age grid", f"dims {tuple(age_grid.dims)} lack lon/lat", "read it with geoprospect.io.plates.read_age_grid")

    snapshot = pygplates.TopologicalSnapshot(topologies, rotation_model, float(time_ma))
    by_sub_segment = snapshot.calculate_plate_boundary_statistics(
        math.radians(spacing_deg),
        velocity_delta_time=float(velocity_delta_myr),
        velocity_delta_time_type=pygplates.VelocityDeltaTimeType.t_plus_delta_t_to_t,
        velocity_units=pygplates.VelocityUnits.cms_per_yr,
        boundary_section_filter=pygplates.FeatureType.gpml_subduction_zone,
        return_shared_sub_segment_dict=True,
    )
    rows, normals = [], []
    for sub_segment, statistics in by_sub_segment.items():
        plates = sub_segment.get_overriding_and_subducting_plates()
        if plates is None:
            continue
        over_id, sub_id = (p.get_feature().get_reconstruction_plate_id() for p in plates)
        for stat in statistics:
            found = _point_row(stat, over_id, sub_id)
            if found is not None:
                rows.append(found[0])
                normals.append(found[1])
    if not rows:
        return _empty_table()
    table = pd.DataFrame(rows)
    table.insert(0, "time_ma", float(time_ma))
    table["seafloor_age_ma"] = np.nan
    if age_grid is not None:
        table["seafloor_age_ma"] = sample_age(age_grid, *_seaward(table["lon"], table["lat"], np.array(normals)))
    thickness_km = plate_thickness_km(table["seafloor_age_ma"].to_numpy())
    table["subduction_volume_rate_km3_yr"] = thickness_km * table["convergence_orthogonal_cm_yr"] * 1e-5 * table["arc_length_km"]
    return table[list(KINEMATICS_COLUMNS)]


def plate_thickness_km(age_myr: np.ndarray) -> np.ndarray:
    """Oceanic plate thickness (km) at ``age_myr`` from half-space cooling: 2.32 sqrt(kappa t).

    With kappa = ``THERMAL_DIFFUSIVITY_M2_S`` (Turcotte and Schubert 2014); NaN for a NaN or
    negative age. About 130 km at 100 Myr.
    """
    age = np.asarray(age_myr, dtype=float)
    seconds = np.where(age >= 0, age, np.nan) * _SECONDS_PER_MYR
    return 2.32 * np.sqrt(THERMAL_DIFFUSIVITY_M2_S * seconds) / 1e3


def sample_age(age_grid: xr.DataArray, lon_deg: np.ndarray, lat_deg: np.ndarray) -> np.ndarray:
    """Seafloor age (Myr) at the nearest node of ``age_grid`` to each point; NaN beyond the grid.

    Longitudes are wrapped into the grid's convention (-180..180 or 0..360). A point farther than
    half a cell from the grid's outermost nodes gets NaN rather than the edge value.
    """
    lons, lats = age_grid["lon"].to_numpy(), age_grid["lat"].to_numpy()
    lon = np.mod(lon_deg, 360.0) if lons.max() > 180.0 else (np.asarray(lon_deg) + 180.0) % 360.0 - 180.0
    lat = np.asarray(lat_deg, dtype=float)
    values = age_grid.sel(lon=xr.DataArray(lon), lat=xr.DataArray(lat), method="nearest").to_numpy().astype(float)
    half_lon = abs(lons[1] - lons[0]) / 2.0 if len(lons) > 1 else 0.0
    half_lat = abs(lats[1] - lats[0]) / 2.0 if len(lats) > 1 else 0.0
    outside = ((lon < lons.min() - half_lon) | (lon > lons.max() + half_lon)
               | (lat < lats.min() - half_lat) | (lat > lats.max() + half_lat))
    values[outside] = np.nan
    return values


def _point_row(stat: pygplates.PlateBoundaryStatistic, over_id: int, sub_id: int) -> tuple[dict, np.ndarray] | None:
    """One trench point's row and its unit normal towards the overriding plate (xyz); None where
    the plates on its two sides are not the sub-segment's overriding and subducting plates."""
    left, right = _plate_id(stat.left_plate), _plate_id(stat.right_plate)
    normal = np.array(stat.boundary_normal.to_xyz())  # unit, to the left of the sub-segment
    if (left, right) == (over_id, sub_id):
        v_over, v_sub = stat.left_plate_velocity, stat.right_plate_velocity
    elif (left, right) == (sub_id, over_id):
        v_over, v_sub, normal = stat.right_plate_velocity, stat.left_plate_velocity, -normal
    else:
        return None
    point = np.array(stat.boundary_point.to_xyz())
    along = np.cross(normal, point)  # 90 degrees clockwise of the normal, seen from above
    v_over, v_sub = np.array(v_over.to_xyz()), np.array(v_sub.to_xyz())
    v_trench = np.array(stat.boundary_velocity.to_xyz())
    convergence = v_sub - v_over
    lat, lon = stat.boundary_point.to_lat_lon()
    north = np.array([-math.sin(math.radians(lat)) * math.cos(math.radians(lon)),
                      -math.sin(math.radians(lat)) * math.sin(math.radians(lon)),
                      math.cos(math.radians(lat))])
    east = np.cross(north, point)
    row = {
        "lon": lon,
        "lat": lat,
        "trench_plate_id": over_id,
        "subducting_plate_id": sub_id,
        "convergence_rate_cm_yr": float(np.linalg.norm(convergence)),
        "convergence_orthogonal_cm_yr": float(convergence @ normal),
        "convergence_parallel_cm_yr": float(convergence @ along),
        "trench_velocity_cm_yr": float(np.linalg.norm(v_trench)),
        "trench_velocity_orthogonal_cm_yr": float(-(v_trench @ normal)),
        "trench_velocity_parallel_cm_yr": float(v_trench @ along),
        "subducting_velocity_cm_yr": float(np.linalg.norm(v_sub)),
        "subducting_velocity_orthogonal_cm_yr": float(v_sub @ normal),
        "subducting_velocity_parallel_cm_yr": float(v_sub @ along),
        "distance_to_trench_edge_km": EARTH_RADIUS_KM * min(stat.distance_from_start_of_topological_section,
                                                            stat.distance_to_end_of_topological_section),
        "arc_length_km": EARTH_RADIUS_KM * stat.boundary_length,
        "trench_normal_azimuth_deg": math.degrees(math.atan2(normal @ east, normal @ north)) % 360.0,
        "section_id": stat.boundary_feature.get_feature_id().get_string(),
    }
    return row, normal


def _plate_id(location: pygplates.TopologyPointLocation) -> int | None:
    topology = location.located_in_resolved_boundary() or location.located_in_resolved_network()
    return None if topology is None else topology.get_feature().get_reconstruction_plate_id()


def _seaward(lon_deg: pd.Series, lat_deg: pd.Series, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (degrees) ``AGE_SAMPLE_OFFSET_KM`` from each trench point towards the
    subducting plate, along the great circle of its (n, 3) unit ``normal`` towards the overriding plate."""
    lon, lat = np.radians(lon_deg.to_numpy()), np.radians(lat_deg.to_numpy())
    point = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    angle = AGE_SAMPLE_OFFSET_KM / EARTH_RADIUS_KM
    seaward = np.cos(angle) * point - np.sin(angle) * normal
    return (np.degrees(np.arctan2(seaward[:, 1], seaward[:, 0])),
            np.degrees(np.arcsin(np.clip(seaward[:, 2], -1.0, 1.0))))


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({
        name: pd.Series(dtype="int64" if name in _INTEGER_COLUMNS else object if name == "section_id" else float)
        for name in KINEMATICS_COLUMNS
    })
