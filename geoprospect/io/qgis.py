"""A QGIS project (``.qgs``) of a study area's maps, so that QGIS opens every map styled as the run page draws it.

:func:`write_qgis_project` writes ``outputs/<study_area>/<study_area>.qgs`` (beside ``stac/``) with one
raster layer per map GeoTIFF under the area, grouped by pipeline, in the study area's CRS:

- class maps (written by :func:`geoprospect.io.maps.write_class_cog`) get QGIS's ``paletted``
  renderer with the file's class names and colours;
- prospectivity maps (``probability.tif``) get a ``singlebandpseudocolor`` renderer with a DISCRETE
  ramp on the area classes of :mod:`geoprospect.render.prospectivity` (top 5 % very high ...), the
  breaks taken from the map's own values as the quicklook does;
- every other (continuous) map gets an INTERPOLATED pseudocolor ramp between its 2nd and 98th
  percentiles (a diverging ramp centred on 0 where the values change sign); its unit is in the layer name.

Paths are relative to the project (``<Paths><Absolute>false``), so the folder can be moved or zipped.
QGIS is not a dependency: the XML follows the QGIS 3 project schema as QGIS itself saves it, written
with the standard library. Sections (distance x depth, no map CRS) are left out, as in the STAC catalog.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS
from rasterio.enums import Resampling

from geoprospect.io.files import atomic_path
from geoprospect.io.maps import CLASS_NAMES_TAG
from geoprospect.io.reports import NOT_PRODUCTS, list_products
from geoprospect.render.prospectivity import AREA_SHARES, CLASS_COLOURS, CLASS_NAMES, class_breaks

QGIS_VERSION = "3.34.0-Prizren"  # the long-term release whose project schema this follows
PREVIEW_SIZE = 512  # cells on the long side read to set a ramp's breaks (an overview of the COG)
SEQUENTIAL = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")  # viridis, 5 stops
DIVERGING = ("#2166ac", "#67a9cf", "#f7f7f7", "#ef8a62", "#b2182b")  # RdBu reversed, white at 0


def write_qgis_project(area: str | Path, study_area: str, crs: str) -> Path:
    """Write ``area/<study_area>.qgs`` with a styled layer per map GeoTIFF under ``area``; returns its path.

    Parameters
    ----------
    area : str or Path
        The study area's output folder (``outputs/<study_area>``).
    study_area : str
        Project title and file name.
    crs : str
        The study area's CRS (the catalog's grid CRS): the project and map canvas CRS.
    """
    area = Path(area)
    project_crs = CRS.from_user_input(crs)
    layers = [layer for relative in list_products(area, (".tif",)) if not relative.startswith(NOT_PRODUCTS)
              if (layer := _layer(area / relative, relative)) is not None]
    root = ET.Element("qgis", projectname=study_area, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = f"geoprospect: {study_area}"
    ET.SubElement(ET.SubElement(root, "projectCrs"), "spatialrefsys").extend(_srs(project_crs))
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    groups: dict[str, ET.Element] = {}
    for layer in layers:
        group = layer["relative"].split("/")[0]
        if group not in groups:
            groups[group] = ET.SubElement(tree, "layer-tree-group", name=group, checked="Qt::Checked", expanded="1")
            ET.SubElement(groups[group], "customproperties")
        # only the key maps start visible: a project of 80 stacked layers would hide all but the top one
        checked = "Qt::Checked" if layer["kind"] in ("prospectivity", "classes") else "Qt::Unchecked"
        node = ET.SubElement(groups[group], "layer-tree-layer", id=layer["id"], name=layer["name"], source=layer["source"],
                             providerKey="gdal", checked=checked, expanded="0")
        ET.SubElement(node, "customproperties")
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters" if project_crs.is_projected else "degrees"
    canvas.append(_extent(_union([layer["bounds"] for layer in layers]) if layers else (0, 0, 1, 1)))
    ET.SubElement(canvas, "rotation").text = "0"
    ET.SubElement(ET.SubElement(canvas, "destinationsrs"), "spatialrefsys").extend(_srs(project_crs))
    project_layers = ET.SubElement(root, "projectlayers")
    for layer in layers:
        project_layers.append(layer["xml"])
    order = ET.SubElement(root, "layerorder")
    for layer in layers:
        ET.SubElement(order, "layer", id=layer["id"])
    paths = ET.SubElement(ET.SubElement(root, "properties"), "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    ET.indent(root)
    text = ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n")
    path = area / f"{study_area}.qgs"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _layer(path: Path, relative: str) -> dict | None:
    with rasterio.open(path) as src:
        if src.crs is None:
            return None
        tags = src.tags()
        description = src.descriptions[0] or path.stem
        unit = src.units[0] or src.tags(1).get("units", "")
        if CLASS_NAMES_TAG in tags:
            kind, renderer = "classes", _paletted(json.loads(tags[CLASS_NAMES_TAG]), _colour_table(src))
        else:
            values = _preview(src)
            if path.name == "probability.tif":
                kind, renderer = "prospectivity", _area_classes(values)
            else:
                kind, renderer = "continuous", _pseudocolor(values, unit)
        layer_id = f"{relative.removesuffix('.tif').replace('/', '_')}_{uuid.uuid5(uuid.NAMESPACE_URL, relative).hex}"
        # the sensor and model folders (aster/cnn, rf-none): several maps share a description
        context = "/".join(p for p in Path(relative).parts[1:-1] if p not in ("layers", "models"))
        name = description if not context or context in description else f"{context}: {description}"
        name += (f" (band 1 of {src.count})" if src.count > 1 else "") + (f" [{unit}]" if unit else "")
        bands = "; ".join(f"band {i}: {d or 'unnamed'}" + (f" ({u})" if u else "")
                          for i, (d, u) in enumerate(zip(src.descriptions, src.units), start=1))
        abstract = (f"{relative}. {bands}. Drawn: band 1." + (f" Unit: {unit}." if unit else "")
                    + "".join(f" {k}: {v}." for k, v in tags.items() if k in ("MODEL", "QUANTITY")))
        source = f"./{relative}"
        element = ET.Element("maplayer", type="raster", hasScaleBasedVisibilityFlag="0", minScale="1e+08", maxScale="0",
                             refreshOnNotifyEnabled="0", autoRefreshTime="0", styleCategories="AllStyleCategories")
        element.append(_extent(tuple(src.bounds)))
        ET.SubElement(element, "id").text = layer_id
        ET.SubElement(element, "datasource").text = source
        ET.SubElement(element, "layername").text = name
        ET.SubElement(ET.SubElement(element, "srs"), "spatialrefsys").extend(_srs(CRS.from_user_input(src.crs.to_wkt())))
        metadata = ET.SubElement(element, "resourceMetadata")
        ET.SubElement(metadata, "type").text = "dataset"
        ET.SubElement(metadata, "title").text = name
        ET.SubElement(metadata, "abstract").text = abstract
        ET.SubElement(element, "provider").text = "gdal"
        ET.SubElement(ET.SubElement(element, "noData"), "noDataList", bandNo="1", useSrcNoData="1")
        styles = ET.SubElement(element, "map-layer-style-manager", current="default")
        ET.SubElement(styles, "map-layer-style", name="default")
        pipe = ET.SubElement(element, "pipe")
        pipe.append(renderer)
        ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
        ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", colorizeOn="0", invertColors="0")
        ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
        ET.SubElement(element, "blendMode").text = "0"
        return {"id": layer_id, "name": name, "source": source, "kind": kind, "relative": relative,
                "bounds": tuple(src.bounds), "xml": element}


def _preview(src) -> np.ndarray:
    """Band 1 read at most PREVIEW_SIZE cells a side (GDAL serves it from the COG's overviews); NaN for nodata."""
    scale = max(1, int(np.ceil(max(src.width, src.height) / PREVIEW_SIZE)))
    values = src.read(1, out_shape=(max(1, src.height // scale), max(1, src.width // scale)), masked=True,
                      resampling=Resampling.nearest)
    return values.astype("float64").filled(np.nan)


def _renderer(kind: str, **attributes: str) -> ET.Element:
    renderer = ET.Element("rasterrenderer", type=kind, band="1", opacity="1", alphaBand="-1", nodataColor="", **attributes)
    ET.SubElement(renderer, "rasterTransparency")
    return renderer


def _paletted(names: dict[str, str], table: dict[int, tuple[int, ...]]) -> ET.Element:
    renderer = _renderer("paletted")
    palette = ET.SubElement(renderer, "colorPalette")
    for code, name in sorted(names.items(), key=lambda item: int(item[0])):
        r, g, b = table[int(code)][:3]
        ET.SubElement(palette, "paletteEntry", value=str(int(code)), color=f"#{r:02x}{g:02x}{b:02x}", alpha="255", label=name)
    return renderer


def _colour_table(src) -> dict[int, tuple[int, ...]]:
    """The class map's colour table; a class map copied without its ``.aux.xml`` (or a TIFF without a palette)
    gets matplotlib's tab20 colours, so that its classes still show apart in QGIS."""
    try:
        return src.colormap(1)
    except ValueError:  # "NULL color table"
        from matplotlib import colormaps

        palette = colormaps["tab20"]
        return {code: tuple(int(255 * c) for c in palette(code % 20)[:3]) for code in range(256)}


def _area_classes(values: np.ndarray) -> ET.Element:
    """QGIS's DISCRETE ramp gives a cell the first item whose value is >= the cell's: the classes of
    :func:`geoprospect.render.prospectivity.classify` (``breaks[k-1] < p <= breaks[k]``), the top one up to ``inf``."""
    if not np.isfinite(values).any():
        return _pseudocolor(values, "")
    breaks = class_breaks(values)
    uppers = [f"{b:.6g}" for b in breaks] + ["inf"]
    items = [(upper, f"{name} ({share:.0%} of the area)", colour)
             for upper, name, share, colour in zip(uppers, CLASS_NAMES, AREA_SHARES, CLASS_COLOURS)]
    return _shader("DISCRETE", float(np.nanmin(values)), float(np.nanmax(values)), items)


def _pseudocolor(values: np.ndarray, unit: str) -> ET.Element:
    finite = values[np.isfinite(values)]
    low, high = (float(v) for v in np.percentile(finite, [2, 98])) if finite.size else (0.0, 1.0)
    if high <= low:
        high = low + 1.0
    if low < 0 < high:  # an anomaly, a SHAP value, a signed field: white at 0, symmetric
        limit = max(-low, high)
        low, high, colours = -limit, limit, DIVERGING
    else:
        colours = SEQUENTIAL
    stops = np.linspace(low, high, len(colours))
    suffix = f" {unit}" if unit else ""
    return _shader("INTERPOLATED", low, high, [(f"{v:.6g}", f"{v:.4g}{suffix}", c) for v, c in zip(stops, colours)])


def _shader(ramp: str, low: float, high: float, items: list[tuple[str, str, str]]) -> ET.Element:
    renderer = _renderer("singlebandpseudocolor", classificationMin=f"{low:.6g}", classificationMax=f"{high:.6g}")
    origin = ET.SubElement(renderer, "minMaxOrigin")
    for tag, text in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Estimated")):
        ET.SubElement(origin, tag).text = text
    shader = ET.SubElement(ET.SubElement(renderer, "rastershader"), "colorrampshader", colorRampType=ramp,
                           classificationMode="1" if ramp == "INTERPOLATED" else "3", clip="0",
                           minimumValue=f"{low:.6g}", maximumValue=f"{high:.6g}", labelPrecision="4")
    for value, label, colour in items:
        ET.SubElement(shader, "item", value=value, label=label, color=colour, alpha="255")
    return renderer


def _srs(crs: CRS) -> list[ET.Element]:
    """The children of QGIS's ``<spatialrefsys>``: WKT first (what QGIS 3 reads), then the authority id."""
    authority = crs.to_authority()
    fields = [("wkt", crs.to_wkt()), ("srsid", "0"),
              ("srid", authority[1] if authority else "0"), ("authid", ":".join(authority) if authority else ""),
              ("description", crs.name), ("projectionacronym", ""), ("ellipsoidacronym", ""),
              ("geographicflag", "true" if crs.is_geographic else "false")]
    elements = []
    for tag, text in fields:
        element = ET.Element(tag)
        element.text = text
        elements.append(element)
    return elements


def _extent(bounds: tuple[float, float, float, float]) -> ET.Element:
    extent = ET.Element("extent")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), bounds):
        ET.SubElement(extent, tag).text = repr(float(value))
    return extent


def _union(bounds: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    xs0, ys0, xs1, ys1 = zip(*bounds)
    return min(xs0), min(ys0), max(xs1), max(ys1)
