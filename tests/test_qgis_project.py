"""The QGIS project of a study area: every map a layer, styled by its kind, relative paths, the area's CRS."""

import shutil
import xml.etree.ElementTree as ET

import numpy as np
import rasterio
from pyproj import CRS

from geoprospect.catalog import GridSpec
from geoprospect.grid import TargetGrid
from geoprospect.io.maps import write_class_cog, write_cog
from geoprospect.io.qgis import write_qgis_project
from geoprospect.render.prospectivity import AREA_SHARES, CLASS_COLOURS, CLASS_NAMES

CRS_TEXT = "EPSG:32612"


def _area(tmp_path):
    area = tmp_path / "area"
    grid = TargetGrid.from_spec(GridSpec(crs=CRS_TEXT, bounds=(520000, 3600000, 526000, 3606000), resolution_m=30))
    rng = np.random.default_rng(0)
    probability = rng.random((grid.height, grid.width)).astype("float32")
    probability[:10] = np.nan
    write_cog(grid.data_array(probability, "p"), area / "prospectivity" / "models" / "rf-none" / "probability.tif",
              description="rf-none prospectivity", units="probability")
    codes = rng.integers(1, 4, (grid.height, grid.width)).astype("uint8")
    write_class_cog(grid.data_array(codes, "lithology"), area / "lithology" / "rf" / "map.tif",
                    {1: "granite", 2: "basalt", 3: "shale"}, {1: (255, 0, 0), 2: (0, 128, 0), 3: (0, 0, 255)},
                    description="lithology")
    anomaly = rng.normal(0, 50, (grid.height, grid.width)).astype("float32")
    write_cog(grid.data_array(anomaly, "magnetics_tmi"), area / "ingest" / "layers" / "magnetics_tmi.tif", units="nT")
    for skipped in ("stac", "work"):  # the STAC catalog and the pipelines' cache of intermediates are not scanned
        (area / skipped).mkdir()
        (area / skipped / "ignored.tif").write_bytes(b"")
    # a class map published without its .aux.xml keeps its names (tag) and gets colours from a default palette
    write_class_cog(grid.data_array(codes, "geology"), area / "ingest" / "layers" / "geology.tif", {1: "granite", 2: "basalt", 3: "shale"},
                    {1: (255, 0, 0), 2: (0, 128, 0), 3: (0, 0, 255)}, description="geology")
    (area / "ingest" / "layers" / "geology.tif.aux.xml").unlink()
    return area


def _layers(project):
    root = ET.parse(project).getroot()
    return root, {layer.findtext("datasource"): layer for layer in root.iter("maplayer")}


def test_every_map_is_a_styled_layer_with_a_relative_path_in_the_areas_crs(tmp_path):
    area = _area(tmp_path)
    project = write_qgis_project(area, "area", CRS_TEXT)
    assert project == area / "area.qgs"
    assert project.read_text().startswith("<!DOCTYPE qgis")
    root, layers = _layers(project)
    assert root.tag == "qgis" and root.get("projectname") == "area" and root.get("version").startswith("3.")
    assert root.find("properties/Paths/Absolute").text == "false"
    assert sorted(layers) == ["./ingest/layers/geology.tif", "./ingest/layers/magnetics_tmi.tif", "./lithology/rf/map.tif",
                              "./prospectivity/models/rf-none/probability.tif"]
    for source, layer in layers.items():
        assert not source.startswith("/") and (project.parent / source).is_file()
        assert layer.get("type") == "raster" and layer.findtext("provider") == "gdal"
        assert CRS.from_wkt(layer.findtext("srs/spatialrefsys/wkt")).equals(CRS.from_user_input(CRS_TEXT))
    for srs in (root.find("projectCrs/spatialrefsys"), root.find("mapcanvas/destinationsrs/spatialrefsys")):
        assert srs.findtext("authid") == CRS_TEXT and CRS.from_wkt(srs.findtext("wkt")).equals(CRS.from_user_input(CRS_TEXT))
    # the layer tree names the same layers, grouped by pipeline, and the draw order lists them all
    tree = {node.get("id"): node for node in root.iter("layer-tree-layer")}
    assert sorted(node.get("source") for node in tree.values()) == sorted(layers)
    assert {group.get("name") for group in root.find("layer-tree-group").findall("layer-tree-group")} == \
        {"ingest", "lithology", "prospectivity"}
    assert {e.get("id") for e in root.find("layerorder")} == {layer.findtext("id") for layer in layers.values()} == set(tree)
    xmin, ymin, xmax, ymax = (float(root.findtext(f"mapcanvas/extent/{k}")) for k in ("xmin", "ymin", "xmax", "ymax"))
    assert (xmin, ymin, xmax, ymax) == (520000, 3600000, 526000, 3606000)


def test_renderers_follow_the_kind_of_map(tmp_path):
    area = _area(tmp_path)
    _, layers = _layers(write_qgis_project(area, "area", CRS_TEXT))

    classes = layers["./lithology/rf/map.tif"].find("pipe/rasterrenderer")
    assert classes.get("type") == "paletted"
    assert [(e.get("value"), e.get("label"), e.get("color")) for e in classes.iter("paletteEntry")] == \
        [("1", "granite", "#ff0000"), ("2", "basalt", "#008000"), ("3", "shale", "#0000ff")]

    bare = layers["./ingest/layers/geology.tif"].find("pipe/rasterrenderer")
    assert bare.get("type") == "paletted"
    entries = [(e.get("label"), e.get("color")) for e in bare.iter("paletteEntry")]
    assert [label for label, _ in entries] == ["granite", "basalt", "shale"] and len({c for _, c in entries}) == 3

    prospectivity = layers["./prospectivity/models/rf-none/probability.tif"]
    renderer = prospectivity.find("pipe/rasterrenderer")
    assert renderer.get("type") == "singlebandpseudocolor"
    shader = renderer.find("rastershader/colorrampshader")
    assert shader.get("colorRampType") == "DISCRETE"
    items = shader.findall("item")
    assert [i.get("color") for i in items] == list(CLASS_COLOURS)
    assert [i.get("label").split(" (")[0] for i in items] == list(CLASS_NAMES) and items[-1].get("value") == "inf"
    # QGIS gives a cell the first class whose upper value is >= the cell: the shares of the area must come out
    with rasterio.open(area / "prospectivity/models/rf-none/probability.tif") as src:
        values = src.read(1)
    values = values[np.isfinite(values)]
    uppers = [float(i.get("value")) for i in items]
    shares = np.bincount(np.searchsorted(uppers, values, side="left"), minlength=5) / values.size
    np.testing.assert_allclose(shares, AREA_SHARES, atol=0.02)
    assert prospectivity.findtext("layername") == "rf-none prospectivity [probability]"
    assert layers["./lithology/rf/map.tif"].findtext("layername") == "rf: lithology"  # the model folder tells maps apart

    magnetics = layers["./ingest/layers/magnetics_tmi.tif"]
    renderer = magnetics.find("pipe/rasterrenderer")
    shader = renderer.find("rastershader/colorrampshader")
    assert renderer.get("type") == "singlebandpseudocolor" and shader.get("colorRampType") == "INTERPOLATED"
    values = [float(i.get("value")) for i in shader.findall("item")]
    assert values == sorted(values) and np.isclose(values[0], -values[-1])  # a signed anomaly: centred on 0
    assert values[-1] < 200  # 2nd-98th percentiles of N(0, 50), not the extremes
    assert magnetics.findtext("layername") == "magnetics_tmi [nT]" and "nT" in magnetics.findtext("resourceMetadata/abstract")


def test_the_folder_can_be_moved(tmp_path):
    area = _area(tmp_path)
    write_qgis_project(area, "area", CRS_TEXT)
    moved = shutil.move(area, tmp_path / "elsewhere")
    _, layers = _layers(tmp_path / "elsewhere" / "area.qgs")
    assert layers and all((tmp_path / "elsewhere" / source).is_file() for source in layers)
    assert moved
