"""Plate ids, reconstruction of points and co-registration with trench kinematics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoprospect.demo.plates import CONTINENT_PLATE_ID, SLAB_PLATE_ID, write_plate_model
from geoprospect.errors import InputError
from geoprospect.io.deposits import read_deposit_table
from geoprospect.io.plates import read_features, read_rotation_model
from geoprospect.tectonics.coregister import (
    EARTH_RADIUS_KM,
    assign_plate_ids,
    coregister,
    reconstruct_points,
)

USGS = "/work/shared/realdata/porphyry_usgs/PorCuEX2008.csv"


def _xyz(lon, lat):
    lon, lat = np.radians(lon), np.radians(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def _rodrigues(lon, lat, pole_lon, pole_lat, angle_deg):
    """Right-handed rotation of points about a pole, closed form (independent of pygplates)."""
    v, k = _xyz(lon, lat), _xyz(pole_lon, pole_lat)
    theta = np.radians(np.asarray(angle_deg, dtype=float))[..., None]
    rotated = v * np.cos(theta) + np.cross(k, v) * np.sin(theta) + np.outer(v @ k, k) * (1.0 - np.cos(theta))
    return np.degrees(np.arctan2(rotated[:, 1], rotated[:, 0])), np.degrees(np.arcsin(rotated[:, 2]))


def _angle_deg(lon1, lat1, lon2, lat2):
    a, b = _xyz(lon1, lat1), _xyz(lon2, lat2)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    paths = write_plate_model(tmp_path_factory.mktemp("demo"), np.random.default_rng(0))
    rotation_model = read_rotation_model(paths["rotations"])
    static = read_features(paths["static_polygons"], "static polygon", rotation_model)
    return paths, rotation_model, static


def test_reconstruct_matches_a_closed_form_rotation(tmp_path):
    # one pole for the whole sequence: at time t the angle is 25 * t / 50 degrees
    rot = tmp_path / "one_pole.rot"
    rot.write_text("101 0.0 90.0 0.0 0.0 000 !test\n101 50.0 40.0 -30.0 25.0 000 !test\n")
    model = read_rotation_model(rot)
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-180, 180, 40), rng.uniform(-80, 80, 40)
    times = rng.choice([0.0, 10.0, 20.0, 50.0], 40)
    plates = np.where(np.arange(40) % 4 == 0, 0, 101)  # every fourth point on the anchor plate
    lon_t, lat_t = reconstruct_points(lon, lat, plates, times, model)
    expected_lon, expected_lat = _rodrigues(lon, lat, -30.0, 40.0, 25.0 * times / 50.0 * (plates == 101))
    assert _angle_deg(lon_t, lat_t, expected_lon, expected_lat).max() < 1e-6
    assert _angle_deg(lon_t, lat_t, lon, lat)[(plates == 101) & (times == 50.0)].min() > 0.5


def test_reconstruct_with_one_time_for_all(tmp_path):
    rot = tmp_path / "one_pole.rot"
    rot.write_text("101 0.0 90.0 0.0 0.0 000 !test\n101 50.0 0.0 0.0 30.0 000 !test\n")
    lon_t, lat_t = reconstruct_points([90.0], [0.0], [101], 50.0, read_rotation_model(rot))
    # 90 E on the equator rotated 30 degrees about 0N 0E moves north along the 90 E meridian
    np.testing.assert_allclose([lon_t[0], lat_t[0]], [90.0, 30.0], atol=1e-9)


def test_reconstruct_against_the_demo_rotation_file(demo):
    paths, rotation_model, _ = demo
    # an exact pole of plate 201 in the file: no interpolation involved
    lines = [line.split("!")[0].split() for line in paths["rotations"][0].read_text().splitlines()]
    poles = [(float(t), float(la), float(lo), float(a)) for p, t, la, lo, a, fixed in lines
             if int(p) == CONTINENT_PLATE_ID and int(fixed) == 0 and float(t) > 0]
    time_ma, pole_lat, pole_lon, angle = poles[1]
    lon, lat = np.array([-60.0, -50.0, -65.0]), np.array([-20.0, -35.0, 0.0])
    lon_t, lat_t = reconstruct_points(lon, lat, CONTINENT_PLATE_ID, time_ma, rotation_model)
    expected_lon, expected_lat = _rodrigues(lon, lat, pole_lon, pole_lat, angle)
    assert _angle_deg(lon_t, lat_t, expected_lon, expected_lat).max() < 1e-6


def test_assign_plate_ids_on_the_demo_model(demo):
    _, rotation_model, static = demo
    ids = assign_plate_ids([-55.0, -90.0, 10.0], [-20.0, -20.0, 45.0], static, rotation_model)
    assert ids.tolist() == [CONTINENT_PLATE_ID, SLAB_PLATE_ID, 0]


def test_real_usgs_deposits_reconstruct_with_the_demo_model(demo):
    _, rotation_model, static = demo
    deposits, _ = read_deposit_table(USGS, encoding="latin-1")
    dated = deposits[np.isfinite(deposits["age_ma"])]
    lon, lat, age = dated.geometry.x.to_numpy(), dated.geometry.y.to_numpy(), dated["age_ma"].to_numpy()
    plates = assign_plate_ids(lon, lat, static, rotation_model)
    assert len(dated) > 550 and (plates == CONTINENT_PLATE_ID).sum() > 20 and (plates == 0).sum() > 300
    has_rotation = np.array([rotation_model.get_rotation(float(t), int(p), use_identity_for_missing_plate_ids=False)
                             is not None for t, p in zip(age, plates)])
    assert (~has_rotation).any()  # Palaeozoic Andean deposits are older than the demo model
    with pytest.raises(InputError, match="no rotation for plate id"):
        reconstruct_points(lon, lat, plates, age, rotation_model)

    lon_t, lat_t = reconstruct_points(lon, lat, plates, age, rotation_model, on_missing="nan")
    assert lon_t.shape == lat_t.shape == lon.shape
    assert np.isfinite(lon_t[has_rotation]).all() and np.isnan(lon_t[~has_rotation]).all()
    assert np.all(np.abs(lat_t[has_rotation]) <= 90.0) and np.all(np.abs(lon_t[has_rotation]) <= 180.0)
    moved = _angle_deg(lon, lat, lon_t, lat_t)
    still = plates == 0
    assert np.all(moved[still] < 1e-9)  # outside every plate polygon: the anchor plate, no motion
    rotating = has_rotation & ~still & (age > 5.0)
    for i in np.flatnonzero(rotating):
        pole_lat, pole_lon, angle = rotation_model.get_rotation(float(age[i]), int(plates[i])).get_lat_lon_euler_pole_and_angle_degrees()
        # a point at arc distance a from the pole, rotated by w, moves by d with sin(d/2) = sin(a) sin(w/2)
        a = np.radians(_angle_deg(lon[i], lat[i], pole_lon, pole_lat))
        expected = np.degrees(2.0 * np.arcsin(np.sin(a) * np.abs(np.sin(np.radians(angle) / 2.0))))
        assert moved[i] == pytest.approx(expected, abs=1e-6)
        assert moved[i] > 0.05


def test_missing_rotation_can_give_nan(tmp_path):
    rot = tmp_path / "short.rot"
    rot.write_text("101 0.0 90.0 0.0 0.0 000 !test\n101 20.0 0.0 0.0 10.0 000 !test\n")
    model = read_rotation_model(rot)
    lon_t, _ = reconstruct_points([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [101, 101, 555], [10.0, 30.0, 5.0], model,
                                  on_missing="nan")
    assert np.isfinite(lon_t[0]) and np.isnan(lon_t[1:]).all()
    with pytest.raises(InputError, match="555 at 5 Ma"):
        reconstruct_points([0.0], [0.0], [555], 5.0, model)
    with pytest.raises(InputError, match="on_missing"):
        reconstruct_points([0.0], [0.0], [101], 5.0, model, on_missing="skip")


@pytest.mark.parametrize(
    ("lon", "lat", "times", "match"),
    [
        ([0.0, 1.0], [0.0], 0.0, "2 longitudes but 1 latitudes"),
        ([0.0], [95.0], 0.0, "out-of-range coordinates"),
        ([np.nan], [0.0], 0.0, "missing or out-of-range"),
        ([0.0], [0.0], -1.0, "finite and >= 0 Ma"),
    ],
)
def test_reconstruct_refuses_bad_points(tmp_path, lon, lat, times, match):
    rot = tmp_path / "r.rot"
    rot.write_text("101 0.0 90.0 0.0 0.0 000 !test\n101 20.0 0.0 0.0 10.0 000 !test\n")
    with pytest.raises(InputError, match=match):
        reconstruct_points(lon, lat, [101] * len(lon), times, read_rotation_model(rot))


def _kinematics():
    """A north-south trench on the equator's side: at 0 Ma along 75 W, at 10 Ma along 70 W."""
    lats = np.arange(-30.0, 0.5, 1.0)
    rows = []
    for time_ma, lon in ((0.0, -75.0), (10.0, -70.0)):
        rows.append(pd.DataFrame({"time_ma": time_ma, "lon": lon, "lat": lats,
                                  "convergence_rate_cm_yr": 5.0 + time_ma + np.arange(lats.size) / 100.0}))
    return pd.concat(rows, ignore_index=True)


def test_coregister_falls_back_through_the_radii():
    kinematics = _kinematics()
    # degrees east of the trench at 10 S: 3 (radius 5), 7 (10), 20 (30), 40 (none)
    offsets = np.array([3.0, 7.0, 20.0, 40.0])
    lon = -75.0 + offsets
    matched, unmatched = coregister(lon, np.full(4, -10.0), 0.0, kinematics, radii_deg=(5, 10, 30))
    assert matched["point_index"].tolist() == [0, 1, 2]
    assert matched["match_radius_deg"].tolist() == [5.0, 10.0, 30.0]
    assert (matched["trench_lon"] == -75.0).all()
    trench = kinematics[kinematics["time_ma"] == 0.0]
    for i, row in matched.iterrows():  # the nearest trench point, by brute force
        angles = _angle_deg(lon[i], -10.0, trench["lon"].to_numpy(), trench["lat"].to_numpy())
        assert row["trench_lat"] == trench["lat"].iloc[angles.argmin()]
        assert row["distance_to_trench_km"] == pytest.approx(np.radians(angles.min()) * EARTH_RADIUS_KM, rel=1e-9)
    assert unmatched["point_index"].tolist() == [3]
    assert "no trench point within 30 degrees" in unmatched["reason"].iloc[0]


def test_coregister_uses_the_time_step_nearest_each_point():
    kinematics = _kinematics()
    matched, unmatched = coregister([-72.0, -72.0, -72.0, np.nan], [-5.0, -5.0, -5.0, -5.0],
                                    [1.0, 8.0, 30.0, 0.0], kinematics)
    assert matched["kinematics_time_ma"].tolist() == [0.0, 10.0]
    assert matched["trench_lon"].tolist() == [-75.0, -70.0]
    assert matched["time_ma"].tolist() == [1.0, 8.0]
    np.testing.assert_allclose(matched["convergence_rate_cm_yr"], [5.25, 15.25])
    reasons = dict(zip(unmatched["point_index"], unmatched["reason"]))
    assert "more than 5 Myr from any kinematics time step" in reasons[2]
    assert "no reconstructed position" in reasons[3]


@pytest.mark.parametrize(
    ("kinematics", "radii", "match"),
    [
        (pd.DataFrame({"time_ma": [0.0], "lon": [0.0]}), (5,), r"missing column\(s\) \['lat'\]"),
        (pd.DataFrame({"time_ma": [], "lon": [], "lat": []}), (5,), "holds no trench point"),
        (None, (10, 5), "not increasing angles"),
        (None, (), "not increasing angles"),
        (None, (5, 200), "not increasing angles"),
    ],
)
def test_coregister_refuses_bad_input(kinematics, radii, match):
    with pytest.raises(InputError, match=match):
        coregister([0.0], [0.0], 0.0, _kinematics() if kinematics is None else kinematics, radii_deg=radii)
