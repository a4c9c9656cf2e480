"""Real files: a Landsat 7 scene reprojected, clipped and resampled; the USGS porphyry deposit table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Transformer

from geoprospect.catalog import DepositSource, SceneSource
from geoprospect.grid import TargetGrid
from geoprospect.pipelines.ingest import ingest_deposits, ingest_scene
from geoprospect.io.vectors import read_deposits, read_vector
from tests import REALDATA

SCENE = REALDATA / "landsat7_bahamas" / "RGB.byte.tif"
PORPHYRY = REALDATA / "porphyry_usgs" / "PorCuEX2008.csv"

pytestmark = [pytest.mark.realdata, pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent")]

# UTM 17N, while the scene is in UTM 18N: a 120 km square over the scene's western (black) edge, 500 m cells
GRID = TargetGrid("EPSG:32617", 720_000.0, 2_770_000.0, 500.0, 240, 240)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    destination = tmp_path_factory.mktemp("bahamas") / "rgb.tif"
    source = SceneSource(sensor="generic", path=SCENE, bands=["red", "green", "blue"])
    stats = ingest_scene(source, GRID, destination, "l7")
    with rasterio.open(destination) as src:
        assert src.crs.to_epsg() == 32617 and src.transform == GRID.transform
        return stats, src.read(), src.descriptions


def _source_pixels_in_grid():
    """Every source pixel whose centre falls inside the grid (independently of the pipeline)."""
    with rasterio.open(SCENE) as src:
        data = src.read()
        rows, cols = np.mgrid[0:src.height, 0:src.width]
        x, y = rasterio.transform.xy(src.transform, rows.ravel(), cols.ravel())
    gx, gy = Transformer.from_crs("EPSG:32618", GRID.crs, always_xy=True).transform(np.asarray(x), np.asarray(y))
    xmin, ymin, xmax, ymax = GRID.bounds
    inside = (gx >= xmin) & (gx < xmax) & (gy > ymin) & (gy <= ymax)
    return data.reshape(3, -1)[:, inside]


def test_scene_lands_on_the_grid_with_dn_values(ingested):
    stats, values, names = ingested
    assert names == ("l7_red", "l7_green", "l7_blue") and values.shape == (3, *GRID.shape)
    valid = np.isfinite(values)
    assert (valid == valid[0]).mean() > 0.99  # nearly one footprint (a band may hold a 0 DN where others do not)
    assert np.nanmin(values) >= 1 and np.nanmax(values) <= 255
    assert 0.05 < 1 - valid[0].mean() < 0.6  # the black edge is inside the area
    for i, name in enumerate(names):
        assert stats[name]["valid_fraction"] == pytest.approx(valid[i].mean())
        assert stats[name]["mean"] == pytest.approx(np.nanmean(values[i].astype("float64")), rel=1e-5)


def test_black_edges_became_nan(ingested):
    _, values, _ = ingested
    x, y = np.meshgrid(GRID.x, GRID.y)
    sx, sy = Transformer.from_crs(GRID.crs, "EPSG:32618", always_xy=True).transform(x.ravel(), y.ravel())
    with rasterio.open(SCENE) as src:
        red = src.read(1)
        rows, cols = rasterio.transform.rowcol(src.transform, sx, sy)
    rows, cols = np.asarray(rows), np.asarray(cols)
    within = (rows >= 0) & (rows < red.shape[0]) & (cols >= 0) & (cols < red.shape[1])
    at_centres = np.where(within, red[rows.clip(0, red.shape[0] - 1), cols.clip(0, red.shape[1] - 1)], 0).reshape(GRID.shape)
    nan = np.isnan(values[0])
    assert (at_centres[nan] == 0).mean() > 0.97
    assert (at_centres[~nan] > 0).mean() > 0.97


def test_band_means_match_the_source_pixels_of_the_area(ingested):
    stats, _, names = ingested
    pixels = _source_pixels_in_grid()
    assert pixels.shape[1] > 100_000
    for band, name in zip(pixels, names):
        reference = band[band != 0].astype("float64").mean()
        assert stats[name]["mean"] == pytest.approx(reference, rel=0.03), name


def test_porphyry_deposits_read_with_skipped_rows_reported():
    table = pd.read_csv(PORPHYRY, encoding="latin-1")
    assert len(table) == 690
    lon = pd.to_numeric(table["LongitudeDecimal"], errors="coerce")
    lat = pd.to_numeric(table["LatitudeDecimal"], errors="coerce")
    usable = lon.between(-180, 180) & lat.between(-90, 90)
    duplicates = pd.DataFrame({"x": lon, "y": lat})[usable].round(6).duplicated()
    deposits, skipped = read_deposits(DepositSource(path=PORPHYRY, x_column="LongitudeDecimal", y_column="LatitudeDecimal"))
    assert len(deposits) == int(usable.sum()) - int(duplicates.sum()) == 690 - len(skipped)
    assert deposits.crs.to_epsg() == 4326
    np.testing.assert_allclose(deposits.geometry.x, lon[deposits.index])
    assert set(deposits["NameDeposit"]) >= {"Bingham", "Chuquicamata"}


def test_porphyry_deposits_of_arizona_onto_a_utm_grid(tmp_path):
    grid = TargetGrid("EPSG:32612", 300_000.0, 3_750_000.0, 1000.0, 400, 300)
    summary = ingest_deposits(DepositSource(path=PORPHYRY, x_column="LongitudeDecimal", y_column="LatitudeDecimal"),
                              grid, tmp_path / "deposits.gpkg", tmp_path / "skipped.csv")
    table = pd.read_csv(PORPHYRY, encoding="latin-1")
    x, y = Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(table["LongitudeDecimal"].to_numpy(),
                                                                                 table["LatitudeDecimal"].to_numpy())
    xmin, ymin, xmax, ymax = grid.bounds
    inside = (x >= xmin) & (x <= xmax) & (y >= ymin) & (y <= ymax)
    assert summary == {"deposits": int(inside.sum()), "skipped": 690 - int(inside.sum())}
    assert summary["deposits"] >= 10  # southern Arizona is porphyry country
    written = read_vector(tmp_path / "deposits.gpkg", "point")
    assert set(written["NameDeposit"]) == set(table["NameDeposit"][inside]) and written.crs.to_epsg() == 32612
    assert len(pd.read_csv(tmp_path / "skipped.csv")) == summary["skipped"]
