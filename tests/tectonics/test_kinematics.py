"""Subduction kinematics per time step, checked against hand-computed plate motions; age grids and tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pygplates
import pytest
import rasterio
import xarray as xr
from affine import Affine

from geoprospect.demo.plates import CONTINENT_PLATE_ID, SLAB_PLATE_ID, write_plate_model
from geoprospect.errors import InputError
from geoprospect.io.plates import (
    PlateModelFiles,
    read_age_grid,
    read_features,
    read_kinematics,
    read_rotation_model,
    write_kinematics,
)
from geoprospect.tectonics.kinematics import (
    AGE_SAMPLE_OFFSET_KM,
    KINEMATICS_COLUMNS,
    subduction_kinematics,
    time_steps,
)

R_KM = pygplates.Earth.mean_radius_in_kms


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    paths = write_plate_model(tmp_path_factory.mktemp("kinematics"), np.random.default_rng(7))
    rotation_model = read_rotation_model(paths["rotations"])
    topologies = read_features(paths["topologies"], "topology", rotation_model)
    files = PlateModelFiles(paths["rotations"], paths["topologies"], age_grid_template=paths["age_grid"])
    return rotation_model, topologies, files


def _xyz(lon_deg, lat_deg):
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _rotate(rotation: pygplates.FiniteRotation, vectors: np.ndarray) -> np.ndarray:
    """Rodrigues' rotation of (n, 3) vectors, from the rotation's pole and angle."""
    lat, lon, angle = rotation.get_lat_lon_euler_pole_and_angle_degrees()
    axis, angle = _xyz(lon, lat)[0], math.radians(angle)
    return (vectors * math.cos(angle) + np.cross(axis, vectors) * math.sin(angle)
            + np.outer(vectors @ axis, axis) * (1 - math.cos(angle)))


def _unit_normal(table: pd.DataFrame) -> np.ndarray:
    """Unit vector at each point along ``trench_normal_azimuth_deg`` (clockwise from north)."""
    lon, lat, az = (np.radians(table[c].to_numpy()) for c in ("lon", "lat", "trench_normal_azimuth_deg"))
    north = np.column_stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
    east = np.column_stack([-np.sin(lon), np.cos(lon), np.zeros_like(lon)])
    return np.sin(az)[:, None] * east + np.cos(az)[:, None] * north


@pytest.mark.parametrize("time_ma", [0.0, 40.0, 115.0, 200.0])
def test_demo_convergence_equals_the_hand_computed_stage_rotation(demo, time_ma):
    rotation_model, topologies, _ = demo
    dt = 1.0
    table = subduction_kinematics(topologies, rotation_model, time_ma, velocity_delta_myr=dt)
    # Stage rotation of the slab relative to the continent over [t + dt, t], its pole in the
    # continent's present-day frame: omega x r there, rotated back to the anchor frame at t.
    stage = rotation_model.get_rotation(time_ma, SLAB_PLATE_ID, time_ma + dt, CONTINENT_PLATE_ID)
    pole_lat, pole_lon, angle_deg = stage.get_lat_lon_euler_pole_and_angle_degrees()
    omega = _xyz(pole_lon, pole_lat)[0] * math.radians(angle_deg) / dt  # rad/Myr
    to_continent = rotation_model.get_rotation(time_ma, CONTINENT_PLATE_ID)
    points = _rotate(to_continent.get_inverse(), _xyz(table["lon"], table["lat"]))
    velocity_cm_yr = _rotate(to_continent, np.cross(omega, points) * R_KM / 10.0)  # km/Myr -> cm/yr
    np.testing.assert_allclose(table["convergence_rate_cm_yr"], np.linalg.norm(velocity_cm_yr, axis=1), rtol=0.01)
    orthogonal = np.sum(velocity_cm_yr * _unit_normal(table), axis=1)
    np.testing.assert_allclose(table["convergence_orthogonal_cm_yr"], orthogonal, rtol=0.01)
    assert (table["convergence_orthogonal_cm_yr"] > 1.0).all()


def _two_plate_model(tmp_path, pole=(60.0, -90.0), angle_100_ma=-50.0, trench_type=None, reverse=False):
    """Plate 2 subducts eastward under plate 1 at a trench along the Greenwich meridian; plate 1 is
    fixed to the anchor and plate 2 turns about a constant pole (``angle_100_ma`` degrees at 100 Ma)."""
    rot = tmp_path / "two_plates.rot"
    rot.write_text(
        "1 0.0 90.0 0.0 0.0 000 !overriding plate, fixed\n1 100.0 90.0 0.0 0.0 000 !\n"
        f"2 0.0 90.0 0.0 0.0 001 !subducting plate\n2 100.0 {pole[0]} {pole[1]} {angle_100_ma} 001 !\n"
    )
    lats = np.linspace(40.0, -40.0, 81)
    trench_line = [(lat, 0.0) for lat in (lats[::-1] if reverse else lats)]
    trench = pygplates.Feature.create_tectonic_section(
        trench_type or pygplates.FeatureType.gpml_subduction_zone,
        pygplates.PolylineOnSphere(trench_line), reconstruction_plate_id=1,
    )
    # digitised north to south the overriding plate (east) is on the left
    trench.set_enumeration(pygplates.PropertyName.gpml_subduction_polarity, "Right" if reverse else "Left")
    lines = {
        "north": ([(30.0, lon) for lon in range(-25, 26)], 0),
        "south": ([(-30.0, lon) for lon in range(-25, 26)], 0),
        "east": ([(lat, 20.0) for lat in lats], 1),
        "west": ([(lat, -20.0) for lat in lats], 2),
    }
    sections = {"trench": trench}
    for key, (points, plate_id) in lines.items():
        sections[key] = pygplates.Feature.create_reconstructable_feature(
            pygplates.FeatureType.gpml_unclassified_feature, pygplates.PolylineOnSphere(points),
            reconstruction_plate_id=plate_id)
    plates = []
    for plate_id, ring in ((1, ("north", "east", "south", "trench")), (2, ("north", "trench", "south", "west"))):
        feature = pygplates.Feature(pygplates.FeatureType.gpml_topological_closed_plate_boundary)
        feature.set_topological_geometry(pygplates.GpmlTopologicalPolygon([
            pygplates.GpmlTopologicalSection.create(sections[k], topological_geometry_type=pygplates.GpmlTopologicalPolygon)
            for k in ring]))
        feature.set_reconstruction_plate_id(plate_id)
        plates.append(feature)
    gpml = tmp_path / "two_plates.gpml"
    pygplates.FeatureCollection(list(sections.values()) + plates).write(str(gpml))
    rotation_model = read_rotation_model(rot)
    return read_features(gpml, "topology", rotation_model), rotation_model


@pytest.mark.parametrize("reverse", [False, True])
def test_constant_pole_gives_the_closed_form_speed(tmp_path, reverse):
    topologies, rotation_model = _two_plate_model(tmp_path, reverse=reverse)
    table = subduction_kinematics(topologies, rotation_model, 10.0, spacing_deg=2.0)
    assert len(table) == 30  # 60 degrees of trench between the model edges at 30 N and 30 S
    assert (table["trench_plate_id"] == 1).all() and (table["subducting_plate_id"] == 2).all()
    # speed = omega * R * sin(angular distance to the pole), omega = 0.5 deg/Myr
    pole = _xyz(-90.0, 60.0)[0]
    distance = np.arccos(_xyz(table["lon"], table["lat"]) @ pole)
    expected_cm_yr = math.radians(0.5) * R_KM * np.sin(distance) / 10.0
    np.testing.assert_allclose(table["convergence_rate_cm_yr"], expected_cm_yr, rtol=1e-6)
    np.testing.assert_allclose(table["subducting_velocity_cm_yr"], expected_cm_yr, rtol=1e-6)
    # on the meridian, pole x r = (-sin(lat) / 2, cos(lat) sqrt(3) / 2, cos(lat) / 2): east (towards
    # the trench) cos(lat) sqrt(3) / 2, north 1 / 2 (so the parallel component, positive 90 degrees
    # clockwise of east, i.e. southwards, is -1/2)
    lat = np.radians(table["lat"])
    np.testing.assert_allclose(table["convergence_orthogonal_cm_yr"],
                               math.radians(0.5) * R_KM / 10.0 * np.sqrt(3) / 2 * np.cos(lat), rtol=1e-6)
    np.testing.assert_allclose(table["convergence_parallel_cm_yr"], -math.radians(0.5) * R_KM / 10.0 * 0.5, rtol=1e-6)
    np.testing.assert_allclose(table["trench_normal_azimuth_deg"], 90.0, atol=1e-6)  # towards plate 1, east
    np.testing.assert_allclose(table[["trench_velocity_cm_yr", "trench_velocity_orthogonal_cm_yr"]], 0.0, atol=1e-9)
    np.testing.assert_allclose(table["arc_length_km"], math.radians(2.0) * R_KM, rtol=1e-6)
    assert table["distance_to_trench_edge_km"].min() == pytest.approx(math.radians(1.0) * R_KM, rel=1e-6)
    assert table["distance_to_trench_edge_km"].max() <= math.radians(30.0) * R_KM + 1e-6
    assert table["seafloor_age_ma"].isna().all() and table["subduction_volume_rate_km3_yr"].isna().all()


def test_trench_retreat_sign(tmp_path):
    """The trench moves with plate 1; plate 1 moving west (oceanward) is a retreating trench."""
    topologies, rotation_model = _two_plate_model(tmp_path)
    (tmp_path / "two_plates.rot").write_text(
        (tmp_path / "two_plates.rot").read_text().replace("1 100.0 90.0 0.0 0.0 000", "1 100.0 90.0 0.0 20.0 000"))
    rotation_model = read_rotation_model(tmp_path / "two_plates.rot")  # plate 1 turns west at 0.2 deg/Myr
    table = subduction_kinematics(topologies, rotation_model, 10.0, spacing_deg=2.0)
    np.testing.assert_allclose(table["trench_velocity_orthogonal_cm_yr"],
                               math.radians(0.2) * R_KM / 10.0 * np.cos(np.radians(table["lat"])), rtol=1e-6)
    assert (table["trench_velocity_orthogonal_cm_yr"] > 0).all()
    # convergence = subducting-plate velocity + trench retreat (Schellart 2008)
    np.testing.assert_allclose(table["convergence_orthogonal_cm_yr"],
                               table["subducting_velocity_orthogonal_cm_yr"] + table["trench_velocity_orthogonal_cm_yr"],
                               rtol=1e-9)


def test_no_subduction_gives_an_empty_table(tmp_path):
    topologies, rotation_model = _two_plate_model(tmp_path, trench_type=pygplates.FeatureType.gpml_unclassified_feature)
    table = subduction_kinematics(topologies, rotation_model, 5.0)
    assert table.empty and tuple(table.columns) == KINEMATICS_COLUMNS
    assert table["trench_plate_id"].dtype == np.int64 and table["lon"].dtype == float


def test_columns_carry_units():
    assert len(KINEMATICS_COLUMNS) == 20
    units = ("_ma", "_cm_yr", "_km", "_deg", "_km3_yr", "_id")
    assert all(c.endswith(units) or c in ("lon", "lat") for c in KINEMATICS_COLUMNS)


def test_age_sampling_and_volume_rate(tmp_path):
    topologies, rotation_model = _two_plate_model(tmp_path)
    lon = np.arange(-10.0, 10.01, 0.1).round(1)
    lat = np.arange(-40.0, 40.01, 0.1).round(1)
    # age rises 0.5 Myr per degree northwards on the subducting (west) side; NaN on the overriding plate
    age = np.where(lon[None, :] < 0, 30.0 + 0.5 * (lat[:, None] + 40.0), np.nan)
    grid = xr.DataArray(age, coords={"lat": lat, "lon": lon}, dims=("lat", "lon"))
    table = subduction_kinematics(topologies, rotation_model, 10.0, spacing_deg=2.0, age_grid=grid)
    np.testing.assert_allclose(table["seafloor_age_ma"], 30.0 + 0.5 * (table["lat"] + 40.0), atol=0.06)
    assert AGE_SAMPLE_OFFSET_KM > 0

    flat = grid.where(np.isnan(grid), 100.0)
    table = subduction_kinematics(topologies, rotation_model, 10.0, spacing_deg=2.0, age_grid=flat)
    # half-space cooling: 2.32 sqrt(1e-6 m2/s x 100 Myr) = 130.3 km thick plate (Turcotte and Schubert)
    thickness_km = table["subduction_volume_rate_km3_yr"] / (table["convergence_orthogonal_cm_yr"] * 1e-5 * table["arc_length_km"])
    np.testing.assert_allclose(thickness_km, 130.35, rtol=1e-3)
    expected = 130.35 * 1e-5 * np.sum(table["convergence_orthogonal_cm_yr"] * table["arc_length_km"])
    assert table["subduction_volume_rate_km3_yr"].sum() == pytest.approx(expected, rel=1e-3)

    away = grid.assign_coords(lon=grid.lon + 90.0)  # the trench is off this grid: no age
    assert subduction_kinematics(topologies, rotation_model, 10.0, spacing_deg=2.0, age_grid=away)["seafloor_age_ma"].isna().all()


@pytest.mark.parametrize("time_ma", [0.0, 115.0, 230.0])
def test_demo_resolves_with_trench_points_and_ages(demo, time_ma):
    rotation_model, topologies, files = demo
    grid = read_age_grid(files.nearest_age_grid_path(time_ma))
    table = subduction_kinematics(topologies, rotation_model, time_ma, age_grid=grid)
    assert 120 <= len(table) <= 140  # about 66 degrees of trench at 0.5 degree spacing
    assert (table["trench_plate_id"] == CONTINENT_PLATE_ID).all() and (table["subducting_plate_id"] == SLAB_PLATE_ID).all()
    assert (table["time_ma"] == time_ma).all() and table["section_id"].nunique() == 1
    assert table["convergence_orthogonal_cm_yr"].between(1.5, 8.0).all()
    assert table["seafloor_age_ma"].between(20.0, 200.0).all()
    assert (table["subduction_volume_rate_km3_yr"] > 0).all()
    assert table["trench_normal_azimuth_deg"].between(60.0, 120.0).all()  # subduction towards the east


def test_determinism_and_parquet_round_trip(demo, tmp_path):
    rotation_model, topologies, files = demo
    grid = read_age_grid(files.age_grid_path(50))
    first = subduction_kinematics(topologies, rotation_model, 50.0, age_grid=grid)
    pd.testing.assert_frame_equal(first, subduction_kinematics(topologies, rotation_model, 50.0, age_grid=grid))
    path = write_kinematics(first, tmp_path / "kinematics_50ma.parquet")
    pd.testing.assert_frame_equal(read_kinematics(path), first)
    assert not list(tmp_path.glob(".*tmp*"))


def test_time_steps():
    assert time_steps(0, 30, 10) == [0.0, 10.0, 20.0, 30.0]
    assert time_steps(0, 1, 0.1)[-1] == 1.0 and len(time_steps(0, 1, 0.1)) == 11
    assert time_steps(5, 12, 5) == [5.0, 10.0]
    for args, problem in (((10, 0, 1), "younger than start_ma"), ((0, 10, 0), "step_myr = 0"),
                          ((-1, 10, 1), "before the present"), ((0, float("nan"), 1), "not a finite number")):
        with pytest.raises(InputError, match=problem) as error:
            time_steps(*args)
        assert error.value.source == "tectonics"


def test_bad_arguments(demo):
    rotation_model, topologies, _ = demo
    with pytest.raises(InputError, match="spacing_deg = 0"):
        subduction_kinematics(topologies, rotation_model, 0.0, spacing_deg=0.0)
    with pytest.raises(InputError, match="time_ma = -5"):
        subduction_kinematics(topologies, rotation_model, -5.0)
    with pytest.raises(InputError, match="lack lon/lat"):
        subduction_kinematics(topologies, rotation_model, 0.0, age_grid=xr.DataArray(np.ones((2, 2)), dims=("y", "x")))


def _netcdf(path, dims=("lat", "lon"), values=None):
    values = np.arange(6.0).reshape(2, 3) if values is None else values
    xr.DataArray(values, coords={dims[0]: [0.0, 1.0], dims[1]: [0.0, 1.0, 2.0]}, dims=dims, name="z").to_netcdf(path, engine="scipy")
    return path


def test_age_grid_readers(tmp_path):
    grid = read_age_grid(_netcdf(tmp_path / "ages.nc", dims=("latitude", "longitude")))
    assert grid.dims == ("lat", "lon") and float(grid.sel(lat=1.0, lon=2.0)) == 5.0
    tif = tmp_path / "ages.tif"
    with rasterio.open(tif, "w", driver="GTiff", height=2, width=3, count=1, dtype="float32", crs="EPSG:4326",
                       transform=Affine(1.0, 0, -0.5, 0, -1.0, 1.5), nodata=-9999.0) as dst:
        dst.write(np.array([[3.0, 4.0, -9999.0], [0.0, 1.0, 2.0]], dtype="float32"), 1)
    grid = read_age_grid(tif)
    assert list(grid.lat.values) == [0.0, 1.0] and list(grid.lon.values) == [0.0, 1.0, 2.0]
    assert float(grid.sel(lat=1.0, lon=1.0)) == 4.0 and np.isnan(grid.sel(lat=1.0, lon=2.0))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("no_coords.nc", "no longitude/latitude coordinates"),
        ("all_nan.nc", "holds no finite value"),
        ("garbage.nc", "could not read this NetCDF age grid"),
        ("ages.csv", "cannot read an age grid with suffix '.csv'"),
        ("projected.tif", "projected CRS"),
        ("missing.nc", "age grid file not found"),
    ],
)
def test_bad_age_grid_files(tmp_path, name, expected):
    path = tmp_path / name
    if name == "no_coords.nc":
        _netcdf(path, dims=("a", "b"))
    elif name == "all_nan.nc":
        _netcdf(path, values=np.full((2, 3), np.nan))
    elif name in ("garbage.nc", "ages.csv"):
        path.write_text("lon,lat,age\n1,2,3\n")
    elif name == "projected.tif":
        with rasterio.open(path, "w", driver="GTiff", height=1, width=1, count=1, dtype="float32",
                           crs="EPSG:32719", transform=Affine(1000.0, 0, 0, 0, -1000.0, 0)) as dst:
            dst.write(np.ones((1, 1, 1), dtype="float32"))
    with pytest.raises(InputError, match=expected) as error:
        read_age_grid(path)
    assert name in str(error.value)


def test_bad_kinematics_files(tmp_path, demo):
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    with pytest.raises(InputError, match="not a readable Parquet file") as error:
        read_kinematics(broken)
    assert "broken.parquet" in str(error.value)
    partial = tmp_path / "partial.parquet"
    pd.DataFrame({"time_ma": [0.0], "lon": [1.0]}).to_parquet(partial)
    with pytest.raises(InputError, match=r"partial\.parquet: missing kinematics columns \['lat'"):
        read_kinematics(partial)
    with pytest.raises(InputError, match=r"agegrid_\{time\}\.nc: no age grid file matches"):
        PlateModelFiles(demo[2].rotations, demo[2].topologies,
                        age_grid_template=str(tmp_path / "agegrid_{time}.nc")).nearest_age_grid_path(10.0)


def test_gplates_formats_of_global_models_give_the_same_kinematics(demo, tmp_path):
    # Global models (Müller et al. 2016/2019) ship .grot rotations and compressed .gpmlz topologies.
    rotation_model, topologies, files = demo
    grot, gpmlz = tmp_path / "rotations.grot", tmp_path / "topologies.gpmlz"
    pygplates.FeatureCollection(str(files.rotations[0])).write(str(grot))
    merged = pygplates.FeatureCollection([f for path in files.topologies for f in pygplates.FeatureCollection(str(path))])
    merged.write(str(gpmlz))
    converted = read_rotation_model([grot])
    table = subduction_kinematics(read_features([gpmlz], "topology", converted), converted, 40.0)
    pd.testing.assert_frame_equal(table, subduction_kinematics(topologies, rotation_model, 40.0))
