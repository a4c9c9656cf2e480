"""The STAC catalog of a study area: an item per map GeoTIFF, validated against the STAC schemas."""

import numpy as np
import pystac
import pystac.validation
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import RasterExtension

from geoprospect.catalog import GridSpec
from geoprospect.grid import TargetGrid
from geoprospect.io.maps import write_cog
from geoprospect.io.stac import write_stac_catalog


def test_one_valid_item_per_map_with_projection_and_raster_extensions(tmp_path):
    area = tmp_path / "area"
    grid = TargetGrid.from_spec(GridSpec(crs="EPSG:32612", bounds=(520000, 3600000, 526000, 3606000), resolution_m=30))
    values = np.random.default_rng(0).random((grid.height, grid.width)).astype("float32")
    write_cog(grid.data_array(values, "p"), area / "prospectivity" / "models" / "rf-none" / "probability.tif", units="probability")
    (area / "prospectivity" / "models" / "rf-none" / "map.png").write_bytes(b"\x89PNG")
    (area / "inversion" / "sections").mkdir(parents=True)  # a folder without maps adds nothing

    path = write_stac_catalog(area, "area")
    catalog = pystac.Catalog.from_file(str(path))
    items = list(catalog.get_items())
    assert [i.id for i in items] == ["prospectivity-models-rf-none-probability"]
    item = items[0]
    # the core schemas ship with pystac (offline); the extension schemas would be fetched from the web
    for stac_object in (catalog, item):
        pystac.validation.validate_dict(stac_object.to_dict(), extensions=[])
    assert ProjectionExtension.has_extension(item) and RasterExtension.has_extension(item)
    projection = ProjectionExtension.ext(item)
    assert projection.code == "EPSG:32612" and projection.shape == [200, 200] and projection.transform[0] == 30
    band = RasterExtension.ext(item.assets["data"]).bands[0]
    assert band.unit == "probability" and band.data_type == "float32" and band.nodata == "nan"
    assert item.assets["data"].media_type == pystac.MediaType.COG
    assert item.assets["data"].get_absolute_href().endswith("prospectivity/models/rf-none/probability.tif")
    assert item.assets["overview"].get_absolute_href().endswith("rf-none/map.png")
    assert -112 < item.bbox[0] < -110 and 32 < item.bbox[1] < 33  # WGS 84 longitude, latitude
