"""Chunked prediction, COG writing, prospectivity classes and the prospectivity quicklook."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from matplotlib.figure import Figure
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from geoprospect.errors import InputError
from geoprospect.io.maps import write_cog
from geoprospect.predict import predict_map
from geoprospect.render.prospectivity import (
    AREA_SHARES,
    CLASS_NAMES,
    class_breaks,
    classify,
    plot_prospectivity,
    plot_prospectivity_panels,
)

CRS = "EPSG:32611"
BANDS = ["mag_nT", "dist_fault_m", "k_pct", "ratio"]


def make_cube(rng: np.random.Generator, ny: int = 45, nx: int = 61) -> xr.DataArray:
    """A (band, y, x) float32 cube on a 30 m UTM grid, with nodata holes in single bands and in all bands."""
    values = rng.normal(size=(len(BANDS), ny, nx)).astype("float32")
    values[0, 3, 5] = np.nan          # one band missing
    values[:, 10:14, 20:30] = np.nan  # all bands missing
    x = 500_000 + 15 + 30 * np.arange(nx)
    y = 4_000_000 - 15 - 30 * np.arange(ny)
    cube = xr.DataArray(values, dims=("band", "y", "x"), coords={"band": BANDS, "x": x, "y": y})
    return cube.rio.write_crs(CRS)


@pytest.fixture(scope="module")
def cube() -> xr.DataArray:
    return make_cube(np.random.default_rng(3))


@pytest.fixture(scope="module")
def forest(cube) -> RandomForestClassifier:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, len(BANDS))).astype("float32")
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=400) > 0.8).astype(int)
    return RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0).fit(X, y)


def plain_predict(model, cube: xr.DataArray) -> np.ndarray:
    """The reference: all pixels at once, NaN where any band is NaN."""
    pixels = cube.values.reshape(cube.sizes["band"], -1).T
    valid = np.isfinite(pixels).all(axis=1)
    out = np.full(pixels.shape[0], np.nan, dtype="float32")
    out[valid] = model.predict_proba(pixels[valid])[:, 1]
    return out.reshape(cube.sizes["y"], cube.sizes["x"])


def test_predict_map_equals_plain_predict_proba_and_keeps_nodata(cube, forest):
    result = predict_map(forest, cube.chunk({"band": 1, "y": 20, "x": 20}), chunk=16)
    assert isinstance(result.data, dsa.Array)  # lazy until computed
    values = result.values
    assert values.dtype == np.float32 and values.shape == (45, 61)
    np.testing.assert_array_equal(values, plain_predict(forest, cube))
    assert np.isnan(values[3, 5]) and np.isnan(values[10:14, 20:30]).all()
    assert np.isfinite(values).sum() == 45 * 61 - 1 - 40
    assert result.rio.crs.to_string() == CRS
    np.testing.assert_array_equal(result.x, cube.x)
    np.testing.assert_array_equal(result.y, cube.y)


def test_chunk_boundaries_make_no_difference(cube, forest):
    maps = [predict_map(forest, cube, chunk=chunk).values for chunk in (7, 16, 64)]
    np.testing.assert_array_equal(maps[0], maps[1])
    np.testing.assert_array_equal(maps[0], maps[2])


def test_pipeline_fitted_on_named_features_gets_bands_by_name(cube):
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["k_pct", "mag_nT"])
    y = (X["mag_nT"] - X["k_pct"] > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    result = predict_map(model, cube, chunk=32).values  # cube holds 4 bands, in another order
    pixels = cube.sel(band=["k_pct", "mag_nT"]).values.reshape(2, -1).T
    valid = np.isfinite(pixels).all(axis=1)
    expected = np.full(pixels.shape[0], np.nan, dtype="float32")
    expected[valid] = model.predict_proba(pd.DataFrame(pixels[valid], columns=["k_pct", "mag_nT"]))[:, 1]
    np.testing.assert_array_equal(result.ravel(), expected)
    assert np.isnan(result[3, 5]) and np.isnan(result[10:14, 20:30]).all()  # holes in bands the model uses
    holed = cube.copy(deep=True)
    holed.values[BANDS.index("ratio"), 7, 7] = np.nan  # a band the model does not use
    assert np.isfinite(predict_map(model, holed).values[7, 7])


def test_band_count_mismatch_is_an_input_error(cube, forest):
    with pytest.raises(InputError, match="3 bands but the model was fitted on 4"):
        predict_map(forest, cube.isel(band=slice(0, 3)))


def test_missing_named_band_is_an_input_error(cube):
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 2)), columns=["k_pct", "th_ppm"])
    model = LogisticRegression().fit(X, (X["k_pct"] > 0).astype(int))
    with pytest.raises(InputError, match="th_ppm"):
        predict_map(model, cube)


def test_model_without_positive_class_is_an_input_error(cube):
    model = LogisticRegression().fit(np.random.default_rng(0).normal(size=(20, 4)), np.repeat([2, 3], 10))
    with pytest.raises(InputError, match="positive class"):
        predict_map(model, cube)


def test_write_cog_is_a_valid_georeferenced_cog(tmp_path):
    cube = make_cube(np.random.default_rng(6), ny=300, nx=420).chunk({"band": 1, "y": 100, "x": 100})
    probability = (cube.isel(band=0) * 0 + xr.DataArray(np.linspace(0, 1, 420, dtype="float32"), dims="x")).rio.write_crs(CRS)
    probability.attrs["units"] = "1"
    path = write_cog(probability, tmp_path / "prospectivity.tif", description="probability_rf", tags={"model": "rf"}, blocksize=128)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prospectivity.tif"]  # the staging file is gone
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
        assert src.overviews(1) == [2, 4]
        assert src.block_shapes == [(128, 128)]
        assert src.crs.to_string() == CRS
        assert src.transform == probability.rio.transform()
        assert np.isnan(src.nodata)
        assert src.descriptions == ("probability_rf",)
        assert src.tags()["model"] == "rf" and src.tags(1)["units"] == "1"
        np.testing.assert_array_equal(src.read(1), probability.values)


def test_write_cog_needs_a_crs(tmp_path):
    da = xr.DataArray(np.zeros((4, 4), "float32"), dims=("y", "x"), coords={"y": [3, 2, 1, 0], "x": [0, 1, 2, 3]})
    with pytest.raises(InputError, match="no CRS"):
        write_cog(da, tmp_path / "map.tif")
    assert not list(tmp_path.iterdir())


def test_prediction_and_cog_under_a_distributed_client(cube, forest, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None):
        path = write_cog(predict_map(forest, cube, chunk=16), tmp_path / "map.tif", blocksize=16)
    with rasterio.open(path) as src:
        np.testing.assert_array_equal(src.read(1), plain_predict(forest, cube))


def test_class_breaks_split_a_uniform_sample_into_the_stated_shares():
    sample = np.random.default_rng(8).uniform(size=200_000)
    sample[:1000] = np.nan
    breaks = class_breaks(sample)
    np.testing.assert_allclose(breaks, [0.40, 0.65, 0.85, 0.95], atol=0.005)
    classes = classify(sample, breaks)
    assert (classes[:1000] == -1).all()
    shares = np.bincount(classes[classes >= 0], minlength=5) / np.isfinite(sample).sum()
    np.testing.assert_allclose(shares, AREA_SHARES, atol=1e-3)
    assert len(CLASS_NAMES) == len(AREA_SHARES) and CLASS_NAMES[-1] == "very high"


def test_class_breaks_reject_an_empty_map_and_bad_shares():
    with pytest.raises(InputError, match="no valid cell"):
        class_breaks(np.full(10, np.nan))
    with pytest.raises(InputError, match="summing to 1"):
        class_breaks(np.arange(10.0), area_shares=(0.5, 0.6))


def test_plot_prospectivity_draws_area_classes_with_a_true_legend_and_deposits():
    rng = np.random.default_rng(9)
    values = rng.lognormal(-4, 1.5, size=(60, 80))  # skewed like real probabilities
    values[:5] = np.nan
    breaks = class_breaks(values)
    fig = plot_prospectivity(values, (500_000, 4_000_000, 502_400, 4_001_800), breaks,
                             (np.array([500_500.0, 501_200.0]), np.array([4_000_400.0, 4_001_000.0])), "RF prospectivity")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    drawn = ax.images[0].get_array()
    shares = np.bincount(drawn.compressed().astype(int), minlength=5) / drawn.count()
    np.testing.assert_allclose(shares, [0.40, 0.25, 0.20, 0.10, 0.05], atol=0.01)  # classes, not a stretch
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0].startswith("very high: 5.0% of area") and any("known deposits (2)" in t for t in labels)
    assert ax.get_title() == "RF prospectivity" and "easting" in ax.get_xlabel()


def test_the_legend_claims_only_the_classes_drawn_when_cells_tie():
    """Most cells tied at one value: the top classes collapse; the legend says what is drawn, not 40 %."""
    values = np.zeros((50, 50))
    values[:5] = np.linspace(0.1, 1, 250).reshape(5, 50)  # 10 % of the cells above the tie
    breaks = class_breaks(values)
    fig = plot_prospectivity(values, (0, 0, 5000, 5000), breaks, None, "PU score", value_label="score")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    classes = [t for t in labels if "of area" in t]
    shares = [float(t.split(": ")[1].split("%")[0]) for t in classes]
    assert sum(shares) == pytest.approx(100, abs=0.2) and len(classes) < 5
    assert any(t.startswith("very low: 90.0% of area") for t in classes) and "score" in fig.legends[0].get_title().get_text()


def test_every_model_side_by_side():
    rng = np.random.default_rng(1)
    maps = [(v, class_breaks(v), name) for v, name in ((rng.random((20, 30)), "rf-none"), (rng.random((20, 30)), "svm-none"),
                                                       (rng.random((20, 30)), "pu_rf-none (score)"))]
    fig = plot_prospectivity_panels(maps, (0, 0, 3000, 2000), (np.array([100.0]), np.array([100.0])), "All models")
    assert [ax.get_title() for ax in fig.axes[:3]] == ["rf-none", "svm-none", "pu_rf-none (score)"]


def test_each_predicted_block_is_reported_and_the_counter_pickles_without_its_callback(cube, forest):
    import pickle

    from geoprospect.predict import BlockCounter

    reports = []
    values = predict_map(forest, cube, chunk=16, progress=lambda done, total: reports.append((done, total))).values
    np.testing.assert_array_equal(values, plain_predict(forest, cube))
    assert sorted(reports) == [(done, 3 * 4) for done in range(1, 13)]  # 45 x 61 cells in 16-cell blocks
    copied = pickle.loads(pickle.dumps(BlockCounter(5, reports.append)))  # as shipped to a cluster's workers
    assert copied.total == 5 and copied.progress is None
    copied()  # reports nothing on a worker
