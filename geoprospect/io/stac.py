"""A STAC catalog of a study area's maps, so that STAC browsers, QGIS's STAC plugin and pystac find them.

:func:`write_stac_catalog` makes one STAC item per georeferenced GeoTIFF under ``outputs/<study_area>/``
(aligned layers, probability, lithology and confidence maps...) with the GeoTIFF as its ``data`` asset,
the PNG drawn from it (when there is one) as its ``overview``, and the projection and raster extensions
(CRS, shape, transform; per band the data type, nodata, unit and resolution). Sections (distance x depth,
no map CRS) are not maps and are left out. pystac writes it self-contained (relative links) into
``stac/``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pystac
import rasterio
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from rasterio.warp import transform_bounds
from shapely.geometry import box, mapping

from geoprospect.io.files import atomic_path
from geoprospect.io.reports import NOT_PRODUCTS, list_products


def write_stac_catalog(area: str | Path, study_area: str, when: datetime | None = None) -> Path:
    """Write ``area/stac/catalog.json`` with an item per map GeoTIFF under ``area``; returns its path."""
    area = Path(area)
    when = when or datetime.now(timezone.utc)
    catalog = pystac.Catalog(id=study_area, title=f"geoprospect: {study_area}",
                             description=f"Maps of the study area {study_area} written by geoprospect's pipelines.")
    for relative in list_products(area, (".tif",)):
        if relative.startswith(NOT_PRODUCTS):
            continue
        item = _item(area / relative, relative, when)
        if item is not None:
            catalog.add_item(item)
    root = area / "stac"
    catalog.normalize_hrefs(str(root))
    catalog.make_all_asset_hrefs_relative()
    with atomic_path(root) as tmp:  # a sibling of stac/ at the same depth: relative hrefs hold in both
        catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED, dest_href=str(tmp))
    return root / "catalog.json"


def _item(path: Path, relative: str, when: datetime) -> pystac.Item | None:
    with rasterio.open(path) as src:
        if src.crs is None:
            return None
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        item = pystac.Item(id=relative.removesuffix(".tif").replace("/", "-"), geometry=mapping(box(*bounds)),
                           bbox=list(bounds), datetime=when,
                           properties={"title": relative, "description": "; ".join(d or "" for d in src.descriptions)})
        item.add_asset("data", pystac.Asset(href=str(path.resolve()), media_type=pystac.MediaType.COG, roles=["data"],
                                            title=path.name))
        overview = _overview(path)
        if overview is not None:
            item.add_asset("overview", pystac.Asset(href=str(overview.resolve()), media_type=pystac.MediaType.PNG,
                                                    roles=["overview"], title=overview.name))
        projection = ProjectionExtension.ext(item, add_if_missing=True)
        epsg = src.crs.to_epsg()
        if epsg:
            projection.code = f"EPSG:{epsg}"
        else:
            projection.wkt2 = src.crs.to_wkt()
        projection.shape = [src.height, src.width]
        projection.transform = list(src.transform)[:6]
        projection.bbox = list(src.bounds)
        raster = RasterExtension.ext(item.assets["data"], add_if_missing=True)
        raster.bands = [RasterBand.create(nodata=_nodata(src.nodata), data_type=DataType(src.dtypes[i]),
                                          unit=src.units[i] or None, spatial_resolution=abs(src.transform.a))
                        for i in range(src.count)]
    return item


def _overview(path: Path) -> Path | None:
    """The PNG drawn from a map: ``map.png`` beside ``map.tif``, or the folder's ``map.png`` for a probability map."""
    for candidate in (path.with_suffix(".png"), path.parent / "map.png" if path.name == "probability.tif" else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def _nodata(value: float | None) -> float | str | None:
    if value is None:
        return None
    if value != value:  # NaN: STAC's raster extension spells it "nan"
        return "nan"
    return value
