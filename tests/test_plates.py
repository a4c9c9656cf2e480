"""The demo plate model, the plate-model readers and the plate quicklook."""

from __future__ import annotations

import math

import numpy as np
import pygplates
import pytest
from matplotlib.figure import Figure

from geoprospect.demo.plates import (
    CONTINENT_PLATE_ID,
    FAR_OCEAN_PLATE_ID,
    MODEL_MAX_AGE_MA,
    SLAB_PLATE_ID,
    write_plate_model,
)
from geoprospect.errors import InputError
from geoprospect.io.deposits import read_deposit_table
from geoprospect.io.plates import (
    PlateModelFiles,
    PlateModelWarning,
    plate_id_check,
    plate_ids_without_rotation,
    read_age_grid,
    read_features,
    read_rotation_model,
)
from geoprospect.render.plates import plot_plate_model

PLATE_IDS = {CONTINENT_PLATE_ID, SLAB_PLATE_ID, FAR_OCEAN_PLATE_ID}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    paths = write_plate_model(tmp_path_factory.mktemp("demo"), np.random.default_rng(3))
    rotation_model = read_rotation_model(paths["rotations"])
    topologies = read_features(paths["topologies"], "topology", rotation_model)
    return paths, rotation_model, pygplates.TopologicalModel(topologies, rotation_model)


def test_demo_writer_is_deterministic(tmp_path):
    first = write_plate_model(tmp_path / "a", np.random.default_rng(11))
    second = write_plate_model(tmp_path / "b", np.random.default_rng(11))
    other = write_plate_model(tmp_path / "c", np.random.default_rng(12))
    folder = tmp_path / "a" / "plates"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert len(files) == 6 + 24  # and an age grid every 10 Myr from 0 to 230 Ma
    for path in files:
        relative = path.relative_to(folder)
        assert path.read_bytes() == (tmp_path / "b" / "plates" / relative).read_bytes(), relative
    assert first["deposits"].read_bytes() != other["deposits"].read_bytes()
    assert second["rotations"][0].name == "demo_rotations.rot"


def test_demo_files_read_back(demo):
    paths, rotation_model, _ = demo
    sections, plates = read_features(paths["topologies"], "topology", rotation_model)
    assert len(sections) == 6 and len(plates) == 3
    assert {f.get_reconstruction_plate_id() for f in plates} == PLATE_IDS
    assert all(f.get_feature_type() == pygplates.FeatureType.gpml_topological_closed_plate_boundary for f in plates)
    (trench,) = [f for f in sections if f.get_feature_type() == pygplates.FeatureType.gpml_subduction_zone]
    assert trench.get_enumeration(pygplates.PropertyName.gpml_subduction_polarity) == "Left"
    assert trench.get_reconstruction_plate_id() == CONTINENT_PLATE_ID
    (static,) = read_features(paths["static_polygons"], "static polygon", rotation_model)
    assert {f.get_reconstruction_plate_id() for f in static} == PLATE_IDS
    (coast,) = read_features(paths["coastlines"], "coastline", rotation_model)
    assert [f.get_feature_type() for f in coast] == [pygplates.FeatureType.gpml_coastline]
    deposits, report = read_deposit_table(paths["deposits"])
    assert 30 <= len(deposits) <= 60 and not report["skipped"].any()


@pytest.mark.parametrize("time_ma", [0.0, 10.0, 40.0])
def test_trench_converges_with_the_slab_under_the_continent(demo, time_ma):
    _, _, model = demo
    snapshot = model.topological_snapshot(time_ma)
    stats = snapshot.calculate_plate_boundary_statistics(
        math.radians(1.0), boundary_section_filter=pygplates.FeatureType.gpml_subduction_zone
    )
    convergence_km_per_myr = np.array([s.convergence_velocity_signed_magnitude for s in stats])
    assert len(stats) > 40  # about 65 degrees of trench at 1-degree spacing
    assert np.all((convergence_km_per_myr > 15.0) & (convergence_km_per_myr < 120.0))
    for section in snapshot.get_resolved_topological_sections():
        if section.get_topological_section_feature().get_feature_type() == pygplates.FeatureType.gpml_subduction_zone:
            for sub_segment in section.get_shared_sub_segments():
                over, under = sub_segment.get_overriding_and_subducting_plates()
                assert over.get_feature().get_reconstruction_plate_id() == CONTINENT_PLATE_ID
                assert under.get_feature().get_reconstruction_plate_id() == SLAB_PLATE_ID


def test_convergence_follows_the_rotation_stages(demo):
    _, _, model = demo

    def mean_convergence(time_ma):
        stats = model.topological_snapshot(time_ma).calculate_plate_boundary_statistics(
            math.radians(1.0), boundary_section_filter=pygplates.FeatureType.gpml_subduction_zone
        )
        return np.mean([s.convergence_velocity_orthogonal for s in stats])

    assert mean_convergence(40.0) > 1.5 * mean_convergence(20.0)  # fast stage 25-45 Ma, slow 10-25 Ma


def test_plate_polygons_resolve_and_the_trench_subducts_over_the_model_time(demo):
    _, _, model = demo
    for time_ma in range(0, int(MODEL_MAX_AGE_MA) + 1, 10):
        snapshot = model.topological_snapshot(float(time_ma))
        topologies = snapshot.get_resolved_topologies()
        assert {t.get_feature().get_reconstruction_plate_id() for t in topologies} == PLATE_IDS, time_ma
        stats = snapshot.calculate_plate_boundary_statistics(
            math.radians(1.0), boundary_section_filter=pygplates.FeatureType.gpml_subduction_zone
        )
        assert len(stats) > 60, time_ma  # the whole trench, 8 N to 58 S
        assert all(s.convergence_velocity_orthogonal > 15.0 for s in stats), time_ma  # km/Myr


def test_older_convergence_stages_alternate(demo):
    _, _, model = demo

    def mean_convergence(time_ma):
        stats = model.topological_snapshot(time_ma).calculate_plate_boundary_statistics(
            math.radians(1.0), boundary_section_filter=pygplates.FeatureType.gpml_subduction_zone
        )
        return np.mean([s.convergence_velocity_orthogonal for s in stats])

    fast, slow = [mean_convergence(t) for t in (120.0, 160.0, 200.0)], [mean_convergence(t) for t in (140.0, 180.0, 220.0)]
    assert min(fast) > 1.5 * max(slow)


def test_deposits_reconstruct_to_the_arc_at_their_age(demo):
    paths, rotation_model, _ = demo
    partitioner = pygplates.PlatePartitioner(
        read_features(paths["static_polygons"], "static polygon", rotation_model), rotation_model
    )
    (sections,) = read_features(paths["topologies"][:1], "topology", rotation_model)
    trench = next(f for f in sections if f.get_feature_type() == pygplates.FeatureType.gpml_subduction_zone)
    deposits, _ = read_deposit_table(paths["deposits"])
    dated = deposits[np.isfinite(deposits["age_ma"])]
    assert len(dated) >= 30
    for point, age_ma in zip(dated.geometry, dated["age_ma"]):
        present = pygplates.PointOnSphere(point.y, point.x)
        plate = partitioner.partition_point(present).get_feature().get_reconstruction_plate_id()
        assert plate == CONTINENT_PLATE_ID
        rotation = rotation_model.get_rotation(age_ma, plate)
        at_age = rotation * present
        moved_deg = math.degrees(pygplates.GeometryOnSphere.distance(present, at_age))
        if age_ma > 5.0:
            assert moved_deg > 0.3
        trench_at_age = rotation_model.get_rotation(age_ma, CONTINENT_PLATE_ID) * trench.get_geometry()
        gap_deg = math.degrees(pygplates.GeometryOnSphere.distance(at_age, trench_at_age))
        assert 1.0 < gap_deg < 3.6  # the arc: 2.6 deg inland today, 0.012 deg/Myr nearer per Myr of age


def _write(path, text):
    path.write_text(text)
    return path


GOOD_ROT = "201 0.0 90.0 0.0 0.0 000 !a\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("201 10.0 80.0 0.0 1.0 !six fields missing", "expected 6 fields"),
        ("201 10.0 80.0 abc 1.0 000 !x", "pole longitude 'abc' is not a number"),
        ("201.5 10.0 80.0 0.0 1.0 000 !x", "moving plate id '201.5' is not an integer"),
        ("-201 10.0 80.0 0.0 1.0 000 !x", "plate ids must be >= 0"),
        ("201 -10.0 80.0 0.0 1.0 000 !x", "time -10.0 Ma must be a number >= 0"),
        ("201 10.0 95.0 0.0 1.0 000 !x", "pole latitude 95.0 is outside"),
        ("201 10.0 80.0 400.0 1.0 000 !x", "pole longitude 400.0 is outside"),
        ("201 10.0 80.0 0.0 nan 000 !x", "angle nan is not a finite number"),
    ],
)
def test_broken_rotation_line_names_file_and_line(tmp_path, line, expected):
    path = _write(tmp_path / "broken.rot", GOOD_ROT + line + "\n")
    with pytest.raises(InputError, match=expected) as error:
        read_rotation_model(path)
    assert "broken.rot" in str(error.value) and "line 2" in str(error.value)


def test_grot_headers_are_accepted_and_its_lines_checked(tmp_path):
    header = (
        '@GPLATESROTATIONFILE:version"1.0"\n'
        '@DC:title"Demo"\n'
        '@DC:description"""A description\nover two lines"""\n'
        '> @MPRS:pid"201" @MPRS:code"DEM" @MPRS:name"Demo continent"\n'
        '201 0.0 90.0 0.0 0.0 000 @C"present day"\n'
        "#201 10.0 80.0 0.0 9.0 000\n"
        '201 20.0 80.0 0.0 2.0 000 @C"x" @REF"y"\n'
    )
    model = read_rotation_model(_write(tmp_path / "ok.grot", header))
    rotation = model.get_rotation(10.0, 201)  # the disabled pole is skipped: halfway to 20 Ma
    assert rotation.get_lat_lon_euler_pole_and_angle_degrees()[2] == pytest.approx(1.0)
    with pytest.raises(InputError, match=r"bad\.grot: line 9: expected 6 fields"):
        read_rotation_model(_write(tmp_path / "bad.grot", header + '201 30.0 80.0 0.0 3.0 @C"no fixed plate"\n'))


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("empty.rot", "\n\n", "holds no rotation line"),
        ("notes.txt", GOOD_ROT, "cannot read a rotation file with suffix '.txt'"),
        ("coast.gpml", None, "holds no rotation sequence"),
    ],
)
def test_unusable_rotation_files(tmp_path, demo, name, text, expected):
    path = tmp_path / name
    if text is None:
        path.write_bytes(demo[0]["coastlines"].read_bytes())
    else:
        path.write_text(text)
    with pytest.raises(InputError, match=expected) as error:
        read_rotation_model(path)
    assert name in str(error.value)


def test_missing_rotation_file(tmp_path):
    with pytest.raises(InputError, match=r"nowhere\.rot: rotation file not found"):
        read_rotation_model(tmp_path / "nowhere.rot")
    with pytest.raises(InputError, match="no rotation file given"):
        read_rotation_model([])


def _feature(plate_id, **valid_time):
    return pygplates.Feature.create_reconstructable_feature(
        pygplates.FeatureType.gpml_coastline,
        pygplates.PolylineOnSphere([(0.0, 0.0), (1.0, 1.0)]),
        reconstruction_plate_id=plate_id,
        **valid_time,
    )


def test_plate_id_without_rotation_is_named(tmp_path, demo):
    _, rotation_model, _ = demo
    path = tmp_path / "orphans.gpml"
    pygplates.FeatureCollection([_feature(201), _feature(555)]).write(str(path))
    with pytest.raises(InputError, match=r"orphans\.gpml: reconstruction plate id\(s\) 555 \(at 0 Ma\) have no rotation"):
        read_features(path, "coastline", rotation_model)
    assert read_features(path, "coastline")[0].get(lambda f: f.get_reconstruction_plate_id() == 555)
    # a feature that ended at 250 Ma needs a rotation at 250 Ma; the demo's stop at 240 Ma
    assert plate_ids_without_rotation([_feature(201, valid_time=(300.0, 250.0)), _feature(0)], rotation_model) == {201: 250.0}


def test_only_what_reconstruction_needs_is_refused(tmp_path, demo):
    """GPlates accepts plate ids that only label a boundary's sides, and features older than the times
    asked for: those are a warning; a reconstruction plate id missing within the time range is refused."""
    _, rotation_model, _ = demo
    old = _feature(201, valid_time=(300.0, 250.0))  # the demo's rotations stop at 240 Ma
    labelled = pygplates.Feature.create_reconstructable_feature(
        pygplates.FeatureType.gpml_mid_ocean_ridge, pygplates.PolylineOnSphere([(0.0, 0.0), (1.0, 1.0)]),
        reconstruction_plate_id=201)
    labelled.set_left_plate(777)
    labelled.set_right_plate(201)
    needed, other = plate_id_check([old, labelled], rotation_model, (0.0, 100.0))
    assert needed == {} and set(other) == {201, 777} and "left/right" in other[777] and "outside 0-100 Ma" in other[201]
    path = tmp_path / "model.gpml"
    pygplates.FeatureCollection([old, labelled]).write(str(path))
    with pytest.warns(PlateModelWarning, match=r"model\.gpml: 2 plate id\(s\) without a rotation, not needed"):
        read_features(path, "coastline", rotation_model, time_range=(0.0, 100.0))
    # asked for 0-260 Ma, the old feature needs a rotation at 250 Ma
    assert plate_ids_without_rotation([old], rotation_model, (0.0, 260.0)) == {201: 250.0}
    with pytest.raises(InputError, match=r"reconstruction plate id\(s\) 201 \(at 250 Ma\) have no rotation"):
        read_features(path, "coastline", rotation_model, time_range=(0.0, 260.0))


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("truncated.gpml", '<?xml version="1.0"?>\n<gpml:FeatureCollection xmlns:gpml="x"><broken', "no feature could be read"),
        ("blank.gpml", "", "no feature could be read"),
        ("table.csv", "a,b\n1,2\n", "cannot read a topology file with suffix '.csv'"),
    ],
)
def test_unreadable_feature_files(tmp_path, name, content, expected):
    path = _write(tmp_path / name, content)
    with pytest.raises(InputError, match=expected) as error:
        read_features([path], "topology")
    assert name in str(error.value)


def test_feature_files_missing_or_none(tmp_path):
    with pytest.raises(InputError, match=r"gone\.gpml: coastline file not found"):
        read_features(tmp_path / "gone.gpml", "coastline")
    with pytest.raises(InputError, match="no coastline file given"):
        read_features([], "coastline")


def test_plate_model_files(tmp_path, demo):
    paths = demo[0]
    grid = _write(tmp_path / "agegrid_10.nc", "")
    files = PlateModelFiles(paths["rotations"], paths["topologies"], paths["static_polygons"],
                            age_grid_template=str(tmp_path / "agegrid_{time}.nc"))
    assert files.static_polygons == (paths["static_polygons"],) and files.coastlines == ()
    assert files.age_grid_path(10.0) == grid
    with pytest.raises(InputError, match=r"agegrid_20\.nc: no age grid for 20 Ma"):
        files.age_grid_path(20)
    with pytest.raises(InputError, match=r"agegrid\.nc: the age grid template has no '\{time\}' field"):
        PlateModelFiles(paths["rotations"], paths["topologies"], age_grid_template="agegrid.nc")
    with pytest.raises(InputError, match="no topology file given"):
        PlateModelFiles(paths["rotations"], [])


def test_plate_quicklook(demo):
    paths, rotation_model, model = demo
    snapshot = model.topological_snapshot(10.0)
    coastlines = []
    pygplates.reconstruct(str(paths["coastlines"]), rotation_model, coastlines, 10.0)
    fig = plot_plate_model(
        snapshot.get_resolved_topological_sections(), 10.0,
        np.array([-70.0, -68.0]), np.array([-20.0, -30.0]), np.array([12.0, np.nan]), coastlines,
    )
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # map and age colour bar
    assert ax.get_title() == "Plate model at 10 Ma"
    assert "Longitude" in ax.get_xlabel() and "Latitude" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"subduction zone", "mid-ocean ridge", "other plate boundary", "coastline", "deposit, no age"} <= set(labels)
    from matplotlib.colors import to_hex

    colours = {to_hex(c) for collection in ax.collections for c in np.atleast_2d(collection.get_edgecolor())}
    assert to_hex("crimson") in colours
    assert -90 <= ax.get_ylim()[0] < ax.get_ylim()[1] <= 90 and -180 <= ax.get_xlim()[0] < ax.get_xlim()[1] <= 180
    static = []
    pygplates.reconstruct(str(paths["static_polygons"]), rotation_model, static, 10.0)
    assert len(plot_plate_model(static, 10.0).axes) == 1  # no deposits: no colour bar
    with pytest.raises(TypeError, match="cannot draw a str"):
        plot_plate_model(["trench"], 0.0)


def test_demo_age_grids(demo):
    paths, _, model = demo
    files = PlateModelFiles(paths["rotations"], paths["topologies"], age_grid_template=paths["age_grid"])
    assert files.age_grid_path(230).name == "agegrid_230.nc"
    assert files.nearest_age_grid_path(114.0).name == "agegrid_110.nc"
    assert files.nearest_age_grid_path(115.0).name == "agegrid_120.nc"  # the older one on a tie
    assert files.nearest_age_grid_path(400.0).name == "agegrid_230.nc"

    today = read_age_grid(files.age_grid_path(0))
    assert today.dims == ("lat", "lon") and today.attrs["units"] == "Myr"
    # Today each plate is in its present-day frame and spreading (0.7 deg/Myr full rate about the
    # north pole, constant) gives age = 2 x longitude offset from the ridge / 0.7 deg/Myr.
    ridge = next(s.get_topological_section_geometry() for s in model.topological_snapshot(0.0).get_resolved_topological_sections()
                 if s.get_topological_section_feature().get_feature_type() == pygplates.FeatureType.gpml_mid_ocean_ridge)
    ridge_lat, ridge_lon = ridge.to_lat_lon_array().T
    row = today.sel(lat=-20.5)
    order = np.argsort(ridge_lat)
    ridge_here = np.interp(-20.5, ridge_lat[order], ridge_lon[order])
    ocean = row.lon.values < -80.0  # west of the trench (75 W), within the model (east of 172 W)
    ocean &= row.lon.values > -171.0
    np.testing.assert_allclose(row.values[ocean], 2.0 * np.abs(row.lon.values[ocean] - ridge_here) / 0.7, rtol=1e-4, atol=1e-3)
    assert np.isnan(today.sel(lat=-20.5, lon=-60.5)) and np.isnan(today.sel(lat=-20.5, lon=-175.5))

    for time_ma in (50, 150, 230):
        grid = read_age_grid(files.age_grid_path(time_ma))
        finite = grid.values[np.isfinite(grid.values)]
        assert finite.min() < 1.0 and 100.0 < finite.max() < 400.0, time_ma  # young at the ridge


def test_quicklook_is_the_same_whatever_the_order_of_the_sections(demo):
    """pygplates returns resolved sections in an order that varies between runs: the picture must not."""
    from geoprospect.render.tectonics import figure_rgb

    _, _, model = demo
    sections = list(model.topological_snapshot(30.0).get_resolved_topological_sections())
    first = figure_rgb(plot_plate_model(sections, 30.0))
    again = figure_rgb(plot_plate_model(sections[::-1], 30.0))
    assert np.array_equal(first, again)


def test_a_polygon_round_the_pole_draws_no_stray_line():
    """An Antarctica-like outline crossing the dateline: cut there, no line along the pole or across the map."""
    from geoprospect.render.plates import draw_plate_boundaries

    ring = pygplates.PolygonOnSphere([(-70.0, lon) for lon in range(-180, 180, 10)])
    feature = pygplates.Feature.create_reconstructable_feature(pygplates.FeatureType.gpml_coastline, ring,
                                                               reconstruction_plate_id=0)
    coastline = []
    rotations = pygplates.RotationModel(pygplates.FeatureCollection())
    pygplates.reconstruct([feature], rotations, coastline, 0.0)
    fig = Figure()
    ax = fig.add_subplot()
    draw_plate_boundaries(ax, [], coastline)
    parts = ax.collections[0].get_segments()
    points = np.concatenate(parts)
    assert np.allclose(points[:, 1], -70.0, atol=0.5)  # nothing drawn towards -90
    assert all(np.abs(np.diff(part[:, 0])).max() < 180 for part in parts)
