"""CRSs are compared by meaning: the same national grid written by GDAL, pyproj or ESRI is one CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio.crs
import rioxarray  # noqa: F401
import xarray as xr
from pyproj import CRS
from pyproj.enums import WktVersion
from shapely.geometry import Point

from geoprospect.crs import crs_name, same_crs
from geoprospect.labels import deposit_cells

CODES = [3067, 3879, 2193, 5070]
# a CRS with no EPSG code at all: a custom transverse Mercator known only by its WKT
CUSTOM = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=27 +k=0.9996 +x_0=3500000 +y_0=0 +ellps=GRS80 +units=m +no_defs")


def _spellings(crs: CRS) -> list:
    """The same CRS as the pipeline meets it: pyproj WKT2, GDAL WKT1 (rasterio), ESRI WKT (a .prj), PROJ JSON."""
    return [crs, crs.to_wkt(), rasterio.crs.CRS.from_user_input(crs.to_wkt()), rasterio.crs.CRS.from_user_input(crs.to_wkt()).to_wkt(),
            crs.to_wkt(WktVersion.WKT1_ESRI), crs.to_json()]


@pytest.mark.parametrize("crs", [*(CRS.from_epsg(c) for c in CODES), CUSTOM], ids=[*map(str, CODES), "wkt-only"])
def test_every_spelling_of_a_crs_is_the_same_crs(crs):
    spellings = _spellings(crs)
    for a in spellings:
        for b in spellings:
            assert same_crs(a, b)


def test_different_crss_differ():
    for a in [*CODES, CUSTOM]:
        for b in [*CODES, CUSTOM]:
            if a is not b:
                assert not same_crs(CRS.from_user_input(a), CRS.from_user_input(b))
    assert not same_crs("EPSG:3067", None) and same_crs(None, None)
    assert crs_name("EPSG:3067") == "EPSG:3067"


@pytest.mark.parametrize("code", CODES)
def test_deposits_in_the_grid_crs_written_differently_are_accepted(code):
    """The Lapland defect: GDAL's WKT1 on the cube, an ESRI .prj on the deposits, one CRS."""
    crs = CRS.from_epsg(code)
    x0, y0 = 500_000.0, 7_000_000.0
    values = np.random.default_rng(0).random((2, 20, 20)).astype("float32")
    cube = xr.DataArray(values, dims=("band", "y", "x"),
                        coords={"band": ["a", "b"], "x": x0 + (np.arange(20) + 0.5) * 100, "y": y0 - (np.arange(20) + 0.5) * 100})
    cube = cube.rio.write_crs(rasterio.crs.CRS.from_wkt(crs.to_wkt(WktVersion.WKT1_GDAL)))
    deposits = gpd.GeoDataFrame(geometry=[Point(x0 + 250, y0 - 250), Point(x0 + 1050, y0 - 1550)],
                                crs=crs.to_wkt(WktVersion.WKT1_ESRI))
    cells = deposit_cells(cube, deposits)
    assert len(cells.rows) == 2


def test_gdal_and_pyproj_epsg_3067_are_the_same_crs():
    """GDAL's EPSG database names 3067's datum EUREF-FIN, pyproj's ETRS89: one CRS to every coordinate."""
    assert same_crs(rasterio.crs.CRS.from_epsg(3067), "EPSG:3067")
    assert same_crs(rasterio.crs.CRS.from_epsg(3067).to_wkt(), CRS.from_epsg(3067).to_wkt(WktVersion.WKT1_ESRI))
    assert crs_name(rasterio.crs.CRS.from_epsg(3067)) == "EPSG:3067"
