"""GIS-ready outputs: every GeoTIFF is a valid COG with overviews and GDAL band units, class layers are
integer with a colour table, the Zarr cube is georeferenced for GDAL."""

import numpy as np
import pytest
import rasterio
from rio_cogeo.cogeo import cog_validate

from geoprospect.catalog import GridSpec
from geoprospect.grid import TargetGrid
from geoprospect.io.catalog import read_catalog
from geoprospect.io.cube import write_cube
from geoprospect.io.maps import make_cog, write_cog
from geoprospect.pipelines.ingest import ingest_raster, ingest_scene, ingest_vector


def _valid_cog_with_overviews(path):
    valid, errors, _ = cog_validate(str(path), strict=True)
    assert valid, errors
    with rasterio.open(path) as src:
        assert src.overviews(1), f"{path.name} has no overviews"
        return src.units, src.descriptions, src.dtypes[0]


@pytest.fixture(scope="module")
def ingested(demo_catalog, tmp_path_factory):
    """A raster, a scene and the geology classes of the session's demo, ingested on a 300 x 300 grid."""
    catalog = read_catalog(demo_catalog)
    xmin, ymin, _, _ = catalog.grid.bounds
    grid = TargetGrid.from_spec(GridSpec(crs=catalog.grid.crs, bounds=(xmin, ymin, xmin + 3000, ymin + 3000), resolution_m=10))
    out = tmp_path_factory.mktemp("gis")
    ingest_raster(catalog.rasters["magnetics_tmi"], grid, out / "magnetics_tmi.tif", "magnetics_tmi")
    ingest_scene(catalog.scenes["aster"], grid, out / "aster.tif", "aster")
    ingest_vector(catalog.vectors["geology"], grid, out / "geology.gpkg", out / "geology_classes.tif", "geology")
    return out


def test_ingested_layers_are_cogs_with_overviews_units_and_names(ingested):
    units, names, dtype = _valid_cog_with_overviews(ingested / "magnetics_tmi.tif")
    assert units == ("nT",) and names == ("magnetics_tmi",) and dtype == "float32"
    units, names, _ = _valid_cog_with_overviews(ingested / "aster.tif")
    assert all(units) and all(n.startswith("aster_") for n in names)


def test_the_class_layer_is_integer_with_a_colour_table_and_class_names(ingested):
    path = ingested / "geology_classes.tif"
    _, names, dtype = _valid_cog_with_overviews(path)
    assert dtype == "uint8" and names == ("geology",)
    with rasterio.open(path) as src:
        codes = np.unique(src.read(1))
        assert src.nodata == 0 and src.colormap(1)[int(codes[-1])][3] == 255
        assert "limestone" in src.tags()["CLASS_NAMES"]


def test_write_cog_and_make_cog_write_valid_cogs_with_gdal_units(tmp_path):
    grid = TargetGrid.from_spec(GridSpec(crs="EPSG:32612", bounds=(0, 0, 9000, 9000), resolution_m=30))
    values = np.random.default_rng(0).random((grid.height, grid.width)).astype("float32")
    cog = write_cog(grid.data_array(values, "p"), tmp_path / "probability.tif", units="probability", tags={"MODEL": "rf-none"})
    units, _, _ = _valid_cog_with_overviews(cog)
    assert units == ("probability",)
    with rasterio.open(cog) as src:
        assert src.tags()["MODEL"] == "rf-none"
    plain = tmp_path / "plain.tif"
    with rasterio.open(plain, "w", driver="GTiff", width=grid.width, height=grid.height, count=1, dtype="float32",
                       crs=grid.crs, transform=grid.transform) as dst:
        dst.write(values, 1)
        dst.update_tags(1, units="mGal")
    assert not cog_validate(str(plain))[0]
    make_cog(plain)
    assert _valid_cog_with_overviews(plain)[0] == ("mGal",)


def test_gdal_reads_the_cubes_crs_and_transform(ingested, tmp_path):
    cube = write_cube([ingested / "magnetics_tmi.tif", ingested / "geology_classes.tif"], tmp_path / "cube.zarr",
                      kinds={"geology": "categorical"})
    with rasterio.open(f'ZARR:"{cube}":/cube') as src, rasterio.open(ingested / "magnetics_tmi.tif") as layer:
        assert src.crs == layer.crs and src.transform.almost_equals(layer.transform) and src.count == 2


@pytest.mark.parametrize("categorical, codes", [(True, 3), (True, 60), (False, 3)])
def test_a_categorical_rasters_quicklook_has_a_legend_of_its_codes(tmp_path, monkeypatch, categorical, codes):
    from geoprospect.io.rasters import write_geotiff
    from geoprospect.pipelines import ingest

    grid = TargetGrid("EPSG:32612", 500_000.0, 3_600_600.0, 30.0, 12, 10)
    values = (np.arange(120).reshape(10, 12) % codes + 1).astype("float32")
    layer = write_geotiff(values[None], tmp_path / "soil.tif", grid.crs, grid.transform, ["soil"], ["class"])
    drawn = []
    monkeypatch.setattr(ingest, "plot_layer", lambda *a, categories=None, **k: drawn.append(categories))
    monkeypatch.setattr(ingest, "save_png", lambda fig, path: path)
    ingest.render_quicklooks(layer, tmp_path, categorical=categorical)
    expected = {c: f"code {c}" for c in range(1, codes + 1)} if categorical and codes <= ingest.MAX_CODES_DRAWN else None
    assert drawn == [expected]
