"""Evidence features: closed-form checks of every transform, and the assembled stack on the demo."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.special import hyp1f1
from shapely.geometry import LineString, Point
from sklearn.utils.estimator_checks import check_estimator

from geoprospect.errors import InputError
from geoprospect.features import (
    FeatureOptions,
    SpearmanDrop,
    build_features,
    choose_bands,
    distance_to_contacts,
    distance_to_lines,
    focal_range,
    focal_stats,
    one_hot,
    potential_field_derivatives,
    spectral_indices,
)
from geoprospect.grid import TargetGrid
from geoprospect.pipelines.ingest import ingest_raster, ingest_scene, ingest_vector
from geoprospect.io.catalog import read_catalog
from geoprospect.io.cube import open_cube, write_cube
from geoprospect.io.vectors import read_vector

GRID = TargetGrid("EPSG:32612", 500_000.0, 3_600_000.0, 50.0, 96, 80)  # 80 rows x 96 columns


def _layer(values, name="field", units="nT", grid=GRID):
    return grid.data_array(np.asarray(values, dtype=float), name, units)


def _xy(grid=GRID):
    return np.meshgrid(grid.x, grid.y)


# --- potential-field derivatives (Blakely 1995) ---------------------------------------------------

def test_derivatives_of_a_periodic_field_are_exact():
    x, y = _xy()
    kx, ky = 2 * np.pi * 3 / (GRID.width * 50), 2 * np.pi * 2 / (GRID.height * 50)
    f = np.sin(kx * (x - GRID.x[0])) * np.cos(ky * (y - GRID.y[0]))
    thdr, vdr, tilt = potential_field_derivatives(_layer(f), pad_fraction=0)
    np.testing.assert_allclose(vdr, np.hypot(kx, ky) * f, atol=1e-6 * kx)  # VDR = |k| f
    dfdx = kx * np.cos(kx * (x - GRID.x[0])) * np.cos(ky * (y - GRID.y[0]))
    dfdy = -ky * np.sin(kx * (x - GRID.x[0])) * np.sin(ky * (y - GRID.y[0]))
    np.testing.assert_allclose(thdr, np.hypot(dfdx, dfdy), atol=1e-6 * kx)
    np.testing.assert_allclose(tilt, np.arctan2(vdr, thdr), atol=1e-6)
    assert (thdr.name, thdr.attrs["units"], tilt.name, tilt.attrs["units"]) == ("field_thdr", "nT/m", "field_tilt", "rad")


def _gaussian(sigma=250.0, amplitude=100.0):
    x, y = _xy()
    r2 = (x - GRID.x.mean()) ** 2 + (y - GRID.y.mean()) ** 2
    g = amplitude * np.exp(-r2 / (2 * sigma**2))
    thdr = np.sqrt(r2) / sigma**2 * g
    # VDR = inverse Hankel transform of |k| * 2 pi s^2 A exp(-s^2 k^2 / 2) (z down), in closed form
    vdr = amplitude * np.sqrt(np.pi / 2) / sigma * hyp1f1(1.5, 1.0, -r2 / (2 * sigma**2))
    return g, thdr, vdr


def test_derivatives_of_a_gaussian_match_the_analytic_ones():
    g, thdr_true, vdr_true = _gaussian()
    thdr, vdr, tilt = potential_field_derivatives(_layer(g))  # default mirror padding and taper
    assert float(np.abs(thdr - thdr_true).max()) < 1e-3 * thdr_true.max()
    assert float(np.abs(vdr - vdr_true).max()) < 1e-2 * vdr_true.max()
    assert float(np.abs(tilt - np.arctan2(vdr_true, thdr_true)).max()) < 0.03
    assert float(vdr.max()) > 0  # positive over the source: z is down


def test_derivatives_keep_nodata_and_stay_finite_elsewhere():
    g, _, vdr_true = _gaussian()
    g[:10, :15] = np.nan
    thdr, vdr, tilt = potential_field_derivatives(_layer(g))
    for out in (thdr, vdr, tilt):
        assert np.isnan(out.values[:10, :15]).all() and np.isfinite(out.values[10:, 15:]).all()
    centre = (GRID.height // 2, GRID.width // 2)
    assert abs(float(vdr[centre]) - vdr_true[centre]) < 0.02 * vdr_true.max()
    with pytest.raises(InputError, match="all nodata"):
        potential_field_derivatives(_layer(np.full(GRID.shape, np.nan)))


# --- distances --------------------------------------------------------------------------------------

def test_distance_to_a_line_along_cell_centres_is_exact():
    x_line = GRID.x[30]
    lines = gpd.GeoDataFrame(geometry=[LineString([(x_line, GRID.bounds[1]), (x_line, GRID.bounds[3])])], crs=GRID.crs)
    distance = distance_to_lines(lines, GRID, "faults")
    x, _ = _xy()
    np.testing.assert_allclose(distance, np.abs(x - x_line))
    assert distance.name == "distance_to_faults_m" and distance.attrs["units"] == "m" and distance.dtype == np.float32
    # the same line given in geographic coordinates is reprojected to the grid
    again = distance_to_lines(lines.to_crs("EPSG:4326"), GRID, "faults")
    np.testing.assert_allclose(again, distance, atol=GRID.resolution_m)


def test_distance_to_an_oblique_line_is_within_half_a_cell_diagonal():
    line = LineString([(GRID.xmin + 130, GRID.bounds[1] + 70), (GRID.xmin + 4300, GRID.ymax - 90)])
    distance = distance_to_lines(gpd.GeoDataFrame(geometry=[line], crs=GRID.crs), GRID)
    x, y = _xy()
    exact = np.vectorize(lambda a, b: line.distance(Point(a, b)))(x, y)
    error = np.abs(distance.values - exact)
    assert error.max() <= GRID.resolution_m / np.sqrt(2) + 1e-6
    assert np.corrcoef(distance.values.ravel(), exact.ravel())[0, 1] > 0.999


def test_lines_off_the_grid_are_an_input_error():
    far = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (10, 10)])], crs=GRID.crs)
    with pytest.raises(InputError, match="faults"):
        distance_to_lines(far, GRID, "faults")


def test_distance_to_a_straight_contact_and_nodata():
    x, _ = _xy()
    codes = np.where(x < GRID.x[40], 1.0, 2.0)  # contact on the edge between columns 39 and 40
    codes[:, :5] = np.nan  # unmapped strip: its edge with class 1 is no contact
    distance = distance_to_contacts(_layer(codes, "geology", "class"))
    contact_x = GRID.x[40] - GRID.resolution_m / 2
    np.testing.assert_allclose(distance.values[:, 5:], np.abs(x - contact_x)[:, 5:])
    assert np.isnan(distance.values[:, :5]).all()
    assert distance.name == "distance_to_geology_contacts_m"
    # a background layer (NaN = outside every polygon): its edges are contacts, every cell has a value
    inside = np.full(GRID.shape, np.nan)
    inside[20:30, 20:30] = 3.0
    ring = distance_to_contacts(_layer(inside, "intrusions", "class"), background=True)
    assert np.isfinite(ring.values).all()
    assert float(ring[25, 25]) == pytest.approx(4.5 * GRID.resolution_m)
    assert float(ring[25, 40]) == pytest.approx(10.5 * GRID.resolution_m)
    with pytest.raises(InputError, match="no contact"):
        distance_to_contacts(_layer(np.ones(GRID.shape), "geology", "class"))


# --- one-hot --------------------------------------------------------------------------------------------

def test_one_hot_indicators_and_nodata():
    codes = np.array([[1, 2, np.nan], [2, 2, 1]], dtype=float)
    grid = TargetGrid("EPSG:32612", 0.0, 100.0, 10.0, 3, 2)
    layer = _layer(codes, "geology", "class", grid)
    out = one_hot(layer, {1: "Diorite porphyry", 2: "basalt"})
    assert list(out.feature.values) == ["geology_diorite_porphyry", "geology_basalt"]
    assert out.dtype == np.float32 and list(out.units.values) == ["indicator", "indicator"]
    np.testing.assert_array_equal(out.sel(feature="geology_basalt"), [[0, 1, np.nan], [1, 1, 0]])
    np.testing.assert_array_equal(out.sum("feature", skipna=False), [[1, 1, np.nan], [1, 1, 1]])
    lazy = one_hot(layer.chunk({"x": 2}), {1: "a", 2: "b"}, background="none")
    assert lazy.chunks is not None
    np.testing.assert_array_equal(lazy.sel(feature="geology_none"), [[0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(lazy.sum("feature"), np.ones((2, 3)))
    with pytest.raises(InputError, match=r"class codes \[2\]"):
        one_hot(layer, {1: "a"})


# --- focal statistics -----------------------------------------------------------------------------

def _brute_force(values, size, stat):
    half = size // 2
    out = np.full(values.shape, np.nan)
    for i, j in np.ndindex(values.shape):
        if np.isfinite(values[i, j]):
            window = values[max(i - half, 0):i + half + 1, max(j - half, 0):j + half + 1]
            out[i, j] = stat(window[np.isfinite(window)])
    return out


@pytest.mark.parametrize("chunked", [False, True])
def test_focal_stats_match_a_brute_force_window(chunked):
    rng = np.random.default_rng(3)
    grid = TargetGrid("EPSG:32612", 0.0, 1000.0, 10.0, 23, 19)
    values = 50_000 + 30 * rng.normal(size=grid.shape)  # a TMI-like offset
    values[rng.random(grid.shape) < 0.15] = np.nan
    layer = _layer(values, "magnetics_tmi", "nT", grid)
    if chunked:
        layer = layer.chunk({"y": 7, "x": 8})
    mean, std = focal_stats(layer, 5)
    local = focal_range(layer, 5)
    assert (mean.name, std.name, local.name) == ("magnetics_tmi_mean_w5", "magnetics_tmi_std_w5", "magnetics_tmi_range_w5")
    np.testing.assert_allclose(mean, _brute_force(values, 5, np.mean), rtol=1e-6)
    np.testing.assert_allclose(std, _brute_force(values, 5, np.std), atol=1e-3)
    np.testing.assert_allclose(local, _brute_force(values, 5, np.ptp), atol=1e-2)
    assert mean.attrs["units"] == "nT"
    with pytest.raises(InputError, match="window_cells"):
        focal_stats(layer, 4)


# --- spectral ratios ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sensor", "expected"), [
    ("landsat8", {"blue": "B2", "green": "B3", "red": "B4", "nir": "B5", "swir1": "B6", "swir2": "B7"}),
    ("sentinel2", {"blue": "B02", "green": "B03", "red": "B04", "nir": "B8A", "swir1": "B11", "swir2": "B12"}),
    ("aster", {"green": "B1", "red": "B2", "nir": "B3N", "swir1": "B4", "swir2": "B6"}),
])
def test_bands_are_chosen_by_wavelength(sensor, expected):
    assert choose_bands(sensor) == expected


def _scene(name, values: dict[str, float]):
    grid = TargetGrid("EPSG:32612", 0.0, 40.0, 10.0, 4, 4)
    data = np.stack([np.full(grid.shape, v, dtype="float32") for v in values.values()])
    return xr.DataArray(data, dims=("band", "y", "x"), coords={"band": [f"{name}_{b}" for b in values], "y": grid.y, "x": grid.x})


def test_landsat_and_sentinel2_ratios_have_known_values():
    reflectance = {"B2": 0.08, "B3": 0.10, "B4": 0.16, "B5": 0.30, "B6": 0.36, "B7": 0.24}
    out = {str(d.name): float(d[0, 0]) for d in spectral_indices(_scene("l8", reflectance), "l8", "landsat8")}
    assert out == pytest.approx({"l8_clay_oh_ratio": 0.36 / 0.24, "l8_ferric_iron_ratio": 0.16 / 0.08,
                                 "l8_ferrous_iron_index": 0.36 / 0.30 + 0.10 / 0.16,
                                 "l8_ndvi": (0.30 - 0.16) / (0.30 + 0.16)}, rel=1e-6)
    s2 = {"B02": 0.08, "B03": 0.10, "B04": 0.16, "B08": 0.9, "B8A": 0.30, "B11": 0.36, "B12": 0.24}  # B8A, not B08, is the NIR
    out2 = {str(d.name)[3:]: float(d[0, 0]) for d in spectral_indices(_scene("s2", s2), "s2", "sentinel2")}
    assert out2 == pytest.approx({k[3:]: v for k, v in out.items()}, rel=1e-6)


def test_aster_indices_follow_their_published_band_definitions():
    r = {"B1": 0.10, "B2": 0.20, "B3N": 0.40, "B4": 0.50, "B5": 0.30, "B6": 0.25, "B7": 0.35, "B8": 0.28, "B9": 0.32}
    out = {str(d.name): float(d[0, 0]) for d in spectral_indices(_scene("aster", r), "aster", "aster")}
    assert out == pytest.approx({
        "aster_clay_oh_ratio": 0.50 / 0.25,                   # B4 / B6
        "aster_ferric_iron_ratio": 0.20 / 0.10,               # B2 / B1: no blue band
        "aster_ferrous_iron_index": 0.50 / 0.40 + 0.10 / 0.20,
        "aster_ndvi": (0.40 - 0.20) / (0.40 + 0.20),
        "aster_aloh_group_index": (0.30 + 0.35) / 0.25,        # (B5 + B7) / B6
        "aster_advanced_argillic_index": (0.50 + 0.25) / 0.30,  # (B4 + B6) / B5
        "aster_mgoh_carbonate_index": (0.35 + 0.32) / 0.28,     # (B7 + B9) / B8
        "aster_oh_index": (0.35 / 0.25) * (0.50 / 0.25),        # Ninomiya OHI
        "aster_kaolinite_index": (0.50 / 0.30) * (0.28 / 0.25),
        "aster_alunite_index": (0.35 / 0.30) * (0.35 / 0.28),
        "aster_calcite_index": (0.25 / 0.28) * (0.32 / 0.28),
    }, rel=1e-6)


def test_ratios_are_nan_without_reflectance_and_missing_bands_drop_indices():
    scene = _scene("l8", {"B4": 0.16, "B5": 0.30, "B6": 0.36, "B7": 0.0})
    out = {str(d.name): d for d in spectral_indices(scene, "l8", "landsat8")}
    assert set(out) == {"l8_clay_oh_ratio", "l8_ndvi"}  # no blue or green band
    assert np.isnan(out["l8_clay_oh_ratio"]).all() and out["l8_ndvi"].attrs["units"] == "dimensionless"


# --- correlation drop ------------------------------------------------------------------------------------

def test_spearman_drop_keeps_the_first_of_each_rank_correlated_pair():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=300), rng.normal(size=300)
    X = pd.DataFrame({"a": a, "b": b, "a_cubed": a**3, "b_noisy": b + 0.01 * rng.normal(size=300), "c": rng.normal(size=300)})
    X.iloc[::10, 2] = np.nan
    drop = SpearmanDrop(threshold=0.95).fit(X)
    assert list(drop.keep_) == [0, 1, 4] and list(drop.dropped_) == [2, 3]
    assert list(drop.get_feature_names_out()) == ["a", "b", "c"]
    assert drop.correlation_[0, 2] == pytest.approx(1.0)  # monotone, not linear: Spearman sees it
    out = drop.transform(X)
    np.testing.assert_array_equal(out, X[["a", "b", "c"]].to_numpy())
    assert list(SpearmanDrop(threshold=1.0).fit(X.to_numpy()).keep_) == [0, 1, 3, 4]
    with pytest.raises(InputError, match="threshold"):
        SpearmanDrop(threshold=1.5).fit(X)


def test_spearman_drop_follows_the_scikit_learn_contract():
    check_estimator(SpearmanDrop())


# --- small validations ------------------------------------------------------------------------------

def test_bad_arguments_are_input_errors_naming_their_source():
    irregular = _layer(np.ones(GRID.shape), "dem", "m").assign_coords(x=GRID.x ** 1.01)
    with pytest.raises(InputError, match="dem: the x coordinate is not a regular grid"):
        potential_field_derivatives(irregular)
    with pytest.raises(InputError, match="features.pad_fraction"):
        potential_field_derivatives(_layer(np.ones(GRID.shape)), pad_fraction=2)
    with pytest.raises(InputError, match="faults: the vector layer has no CRS"):
        distance_to_lines(gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])]), GRID, "faults")
    with pytest.raises(InputError, match="geology: the categorical layer has no class table"):
        one_hot(_layer(np.ones(GRID.shape), "geology", "class"), {})
    assert spectral_indices(_scene("scan", {"band1": 0.1}), "scan", "generic") == []


# --- the assembled stack ------------------------------------------------------------------------------

def _tiny_cube():
    grid = TargetGrid("EPSG:32612", 500_000.0, 3_600_000.0, 100.0, 24, 20)
    x, y = np.meshgrid(grid.x, grid.y)
    magnetics = 50_000 + 200 * np.exp(-((x - x.mean()) ** 2 + (y - y.mean()) ** 2) / 4e5)
    geology = np.where(x < grid.x[10], 1.0, 2.0)
    cube = xr.DataArray(np.stack([magnetics, geology]).astype("float32"), dims=("band", "y", "x"),
                        coords={"band": ["magnetics_tmi", "geology"], "y": grid.y, "x": grid.x,
                                "units": ("band", ["nT", "class"]), "kind": ("band", ["continuous", "categorical"])},
                        attrs={"classes": {"geology": {1: "granite", 2: "schist"}}})
    return cube.rio.write_crs(grid.crs).rio.write_transform(grid.transform), grid


def test_build_features_is_the_same_in_memory_and_chunked():
    cube, grid = _tiny_cube()
    eager = build_features(cube, grid, {}, {}, FeatureOptions(window_cells=3))
    lazy = build_features(cube.chunk({"band": 1, "y": 8, "x": 8}), grid, {}, {}, FeatureOptions(window_cells=3))
    assert eager.chunks is None and lazy.chunks is not None
    assert list(eager.band.values) == ["magnetics_tmi", "distance_to_geology_contacts_m", "geology_granite", "geology_schist",
                                       "magnetics_tmi_mean_w3", "magnetics_tmi_std_w3", "magnetics_tmi_range_w3",
                                       "magnetics_tmi_thdr", "magnetics_tmi_vdr", "magnetics_tmi_tilt"]
    xr.testing.assert_allclose(eager, lazy.compute())


def test_build_features_names_class_tables_and_duplicates():
    cube, grid = _tiny_cube()
    nameless = cube.copy()
    nameless.attrs = {"classes": {}}
    with pytest.raises(InputError, match="geology has no class names"):
        build_features(nameless, grid, {}, {})
    line = gpd.GeoDataFrame(geometry=[LineString([(grid.x[3], grid.y[0]), (grid.x[3], grid.y[-1])])], crs=grid.crs)
    with pytest.raises(InputError, match="distance_to_geology_contacts_m"):
        build_features(cube, grid, {"geology_contacts": line}, {})


# --- the assembled stack on the demo --------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_inputs(demo_catalog, tmp_path_factory):
    work = tmp_path_factory.mktemp("features")
    catalog = read_catalog(demo_catalog)
    grid = TargetGrid.from_spec(catalog.grid)
    layers, kinds, classes, lines = [], {}, {}, {}
    for name, source in catalog.rasters.items():
        ingest_raster(source, grid, work / f"{name}.tif", name)
        layers.append(work / f"{name}.tif")
    for name, source in catalog.scenes.items():
        ingest_scene(source, grid, work / f"{name}.tif", name)
        layers.append(work / f"{name}.tif")
    for name, source in catalog.vectors.items():
        summary = ingest_vector(source, grid, work / f"{name}.gpkg", work / f"{name}_classes.tif", name)
        lines[name] = read_vector(work / f"{name}.gpkg", source.geometry)
        if summary["classes"]:
            layers.append(work / f"{name}_classes.tif")
            kinds[name], classes[name] = "categorical", summary["classes"]
    cube = open_cube(write_cube(layers, work / "cube.zarr", kinds, classes))
    scenes = {name: source.sensor for name, source in catalog.scenes.items()}
    return cube, grid, {k: lines[k] for k in ("faults", "intrusions")}, scenes


def test_build_features_on_the_demo_cube(demo_inputs):
    cube, grid, lines, scenes = demo_inputs
    features = build_features(cube, grid, lines, scenes, FeatureOptions(window_cells=5))
    names = list(features.band.values)
    assert features.dims == ("band", "y", "x") and features.shape[1:] == grid.shape and features.dtype == np.float32
    assert len(names) == len(set(names))
    continuous = [b for b, k in zip(cube.band.values, cube.kind.values, strict=True) if k == "continuous"]
    assert names[:len(continuous)] == continuous
    for name in ("distance_to_faults_m", "distance_to_intrusions_m", "distance_to_geology_contacts_m",
                 "geology_diorite_porphyry", "intrusions_none", "magnetics_tmi_mean_w5", "gravity_bouguer_std_w5",
                 "magnetics_tmi_range_w5", "magnetics_tmi_thdr", "gravity_bouguer_vdr", "magnetics_tmi_tilt",
                 "landsat8_clay_oh_ratio", "sentinel2_ferric_iron_ratio", "aster_aloh_group_index", "aster_ndvi"):
        assert name in names, name
    assert "geology" not in names and "intrusions" not in names  # class codes are not features
    units = dict(zip(names, features.units.values, strict=True))
    assert units["magnetics_tmi_thdr"] == "nT/m" and units["distance_to_faults_m"] == "m" and units["magnetics_tmi_tilt"] == "rad"
    assert features.rio.crs == cube.rio.crs and features.rio.transform() == grid.transform
    values = features.compute()
    assert bool(values.notnull().any(("y", "x")).all()), "a feature is all NaN"
    assert float(values.sel(band="distance_to_faults_m").min()) == 0.0
    # geology indicators sum to one wherever geology is mapped
    geology = values.sel(band=[n for n in names if n.startswith("geology_")]).sum("band", skipna=False)
    mapped = cube.sel(band="geology").notnull().values
    np.testing.assert_allclose(geology.values[mapped], 1.0)


def test_build_features_rejects_bad_input(demo_inputs):
    cube, grid, lines, scenes = demo_inputs
    shifted = TargetGrid(grid.crs, grid.xmin + 1000, grid.ymax, grid.resolution_m, grid.width, grid.height)
    with pytest.raises(InputError, match="target grid"):
        build_features(cube, shifted, lines, scenes)
    with pytest.raises(InputError, match="derivative_bands"):
        build_features(cube, grid, {}, {}, FeatureOptions(derivative_bands=("magnetics_rtp",)))
    with pytest.raises(InputError, match="scenes.landsat9"):
        build_features(cube, grid, {}, {"landsat9": "landsat9"})
    empty = cube.copy(data=cube.data.copy())
    empty.loc[{"band": "dem"}] = np.nan
    with pytest.raises(InputError, match="dem"):
        build_features(empty, grid, lines, scenes)
