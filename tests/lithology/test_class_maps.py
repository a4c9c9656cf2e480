"""Class maps: paletted COG round trip, their quicklooks, and unsupervised units of a real Landsat 7 scene."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from affine import Affine
from matplotlib.backends.backend_agg import FigureCanvasAgg

from geoprospect.errors import InputError
from geoprospect.io.maps import read_class_map, write_class_cog, write_cog
from geoprospect.lithology.unsupervised import AutoencoderClusters, cluster_image, sample_pixels
from geoprospect.render.lithology import (
    class_colours,
    plot_accuracy_comparison,
    plot_class_map,
    plot_confidence,
    plot_confusion,
)
from tests import REALDATA

CRS = "EPSG:32618"
SCENE = REALDATA / "landsat7_bahamas" / "RGB.byte.tif"
NAMES = {1: "granite", 3: "basalt", 4: "shale"}


def on_grid(values: np.ndarray, transform: Affine, crs: str = CRS) -> xr.DataArray:
    """A (y, x) DataArray with pixel-centre coordinates of ``transform`` and ``crs``."""
    height, width = values.shape
    x = transform.c + transform.a * (np.arange(width) + 0.5)
    y = transform.f + transform.e * (np.arange(height) + 0.5)
    return xr.DataArray(values, dims=("y", "x"), coords={"y": y, "x": x}).rio.write_crs(crs)


def checkerboard() -> np.ndarray:
    """Codes 1 and 4 alternating (an averaged overview would invent 2 or 3), a NaN strip and a basalt block."""
    codes = np.where((np.add.outer(np.arange(300), np.arange(420)) % 2) == 0, 1.0, 4.0)
    codes[:, :40] = np.nan
    codes[200:, 300:] = 3
    return codes


def test_class_cog_round_trip(tmp_path):
    transform = Affine(30, 0, 600_000, 0, -30, 2_700_000)
    codes = on_grid(checkerboard(), transform)
    colours = {1: (255, 0, 0), 3: (0, 128, 0), 4: (10, 20, 30)}
    path = write_class_cog(codes, tmp_path / "lithology.tif", NAMES, colours, description="unit", blocksize=128,
                           tags={"model": "svm"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lithology.tif", "lithology.tif.aux.xml"]  # no staging file left
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.block_shapes == [(128, 128)] and src.overviews(1) == [2, 4]
        assert src.dtypes == ("uint8",) and src.nodata == 0
        assert src.crs.to_string() == CRS and src.transform == transform
        assert src.descriptions == ("unit",) and src.tags()["model"] == "svm"
        assert json.loads(src.tags()["CLASS_NAMES"]) == {"1": "granite", "3": "basalt", "4": "shale"}
        assert src.colormap(1)[3] == (0, 128, 0, 255) and src.colormap(1)[0][3] == 0
        assert len(src.colormap(1)) == 5  # codes 0-4, no padding to 256 black classes
        np.testing.assert_array_equal(src.read(1), np.nan_to_num(checkerboard()).astype(np.uint8))
    with rasterio.open(path, overview_level=0) as overview:
        assert set(np.unique(overview.read(1))) <= {0, 1, 3, 4}  # nearest: no averaged codes
    read, names, read_colours = read_class_map(path)
    assert names == NAMES and read_colours == colours
    assert read.dtype == np.uint8 and read.rio.crs.to_string() == CRS and read.rio.transform() == transform
    np.testing.assert_array_equal(read.values, np.nan_to_num(checkerboard()))
    band = ET.parse(tmp_path / "lithology.tif.aux.xml").getroot().find("PAMRasterBand")
    assert [c.text or "" for c in band.find("CategoryNames")] == ["", "granite", "", "basalt", "shale"]
    rat = band.find("GDALRasterAttributeTable")
    assert [f.find("Name").text for f in rat.findall("FieldDefn")] == ["Value", "Class", "Red", "Green", "Blue", "Count"]
    rows = [[f.text for f in row] for row in rat.findall("Row")]
    counts = {code: int((np.nan_to_num(checkerboard()) == code).sum()) for code in (1, 3, 4)}
    assert rows == [["1", "granite", "255", "0", "0", str(counts[1])], ["3", "basalt", "0", "128", "0", str(counts[3])],
                    ["4", "shale", "10", "20", "30", str(counts[4])]]


def test_a_class_cog_copied_alone_keeps_codes_colours_and_names_tag(tmp_path):
    # GDAL writes category names and the attribute table only to the .aux.xml sidecar; the palette and the
    # CLASS_NAMES tag are inside the COG, so a COG copied without its sidecar still shows its classes
    codes = on_grid(np.array([[1, 3], [4, 0]], dtype=np.uint8), Affine(10, 0, 0, 0, -10, 20))
    colours = {1: (255, 0, 0), 3: (0, 128, 0), 4: (10, 20, 30)}
    path = write_class_cog(codes, tmp_path / "m.tif", NAMES, colours, blocksize=16)
    alone = tmp_path / "copy" / "m.tif"
    alone.parent.mkdir()
    alone.write_bytes(path.read_bytes())
    with rasterio.open(alone) as src:
        assert src.colorinterp[0] == rasterio.enums.ColorInterp.palette
        assert len(src.colormap(1)) == 256 and src.colormap(1)[3] == (0, 128, 0, 255)  # a TIFF palette: 256 entries
    _, names, read_colours = read_class_map(alone)
    assert names == NAMES and read_colours == colours
    with rasterio.open(path) as src:  # with the sidecar: its exact table, max code + 1 entries
        assert len(src.colormap(1)) == 5


def test_default_colours_are_the_stable_palette(tmp_path):
    codes = on_grid(np.array([[1, 3], [4, 0]], dtype=np.uint8), Affine(10, 0, 0, 0, -10, 20))
    _, _, colours = read_class_map(write_class_cog(codes, tmp_path / "m.tif", NAMES, class_colours(sorted(NAMES)), blocksize=16))
    assert colours == class_colours(sorted(NAMES))
    palette = class_colours(range(1, 17))
    assert len(set(palette.values())) == 16
    assert class_colours([3]) == {3: palette[3]} and class_colours(np.array([[0, np.nan, 3]])) == {3: palette[3]}
    assert all(0 <= c <= 255 and isinstance(c, int) for rgb in palette.values() for c in rgb)


@pytest.mark.parametrize("codes, names, colours, match", [
    (np.array([[1, 2]], dtype=np.uint8), NAMES, None, r"codes \[2\] in the map have no class name"),
    (np.array([[1, 1.5]]), NAMES, None, "no class name"),
    (np.array([[1, 300]]), NAMES, None, "no class name"),
    (np.array([[1, 3]], dtype=np.uint8), {0: "void", **NAMES}, None, "outside 1-255"),
    (np.array([[1, 3]], dtype=np.uint8), NAMES, {1: (0, 0, 0)}, "no colour for classes"),
    (np.array([[1, 3]], dtype=np.uint8), NAMES, {1: (0, 0, 0), 3: (0, 0, 0), 4: (0, 0, 256)}, "0-255"),
])
def test_bad_class_maps_are_input_errors(tmp_path, codes, names, colours, match):
    with pytest.raises(InputError, match=match):
        write_class_cog(on_grid(codes, Affine(10, 0, 0, 0, -10, 10)), tmp_path / "m.tif", names, colours)
    assert not list(tmp_path.iterdir())


def test_class_map_needs_one_layer_and_a_crs(tmp_path):
    layer = on_grid(np.ones((2, 2), np.uint8), Affine(10, 0, 0, 0, -10, 20))
    with pytest.raises(InputError, match="one \\(y, x\\) layer"):
        write_class_cog(layer.expand_dims(band=[1]), tmp_path / "m.tif", NAMES, {})
    with pytest.raises(InputError, match="no CRS"):
        write_class_cog(layer.drop_vars("spatial_ref"), tmp_path / "m.tif", NAMES, class_colours(sorted(NAMES)))


def test_read_class_map_refuses_other_files(tmp_path):
    with pytest.raises(InputError, match="no such class map"):
        read_class_map(tmp_path / "missing.tif")
    plain = write_cog(on_grid(np.ones((4, 4), np.float32), Affine(10, 0, 0, 0, -10, 40)), tmp_path / "p.tif", blocksize=16)
    with pytest.raises(InputError, match="not a class map"):
        read_class_map(plain)


def test_quicklooks_have_titles_legends_and_colour_bars():
    codes = checkerboard()[:50, 30:90]
    bounds = (0.0, 0.0, 1800.0, 1500.0)
    fig = plot_class_map(codes, bounds, NAMES, title="Lithology (SVM, ASTER)", crs_label="EPSG:32618")
    ax = fig.axes[0]
    assert ax.get_title() == "Lithology (SVM, ASTER)" and "EPSG:32618" in ax.get_xlabel()
    assert [t.get_text().split(" (")[0] for t in fig.legends[0].get_texts()] == ["1: granite", "3: basalt", "4: shale"]
    # legend (with its title) and northing labels lie inside the figure, for wide and tall maps and long names
    names = {k: f"{v} with a long description of the unit, its age and its facies" for k, v in NAMES.items()}
    for extent in (bounds, (0.0, 0.0, 1800.0, 9000.0), (0.0, 0.0, 9000.0, 1500.0)):
        fig = plot_class_map(codes, extent, names, title="Lithology (SVM, ASTER)", crs_label="EPSG:32618")
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        inside = fig.bbox.padded(1)
        legend, ylabel = fig.legends[0], fig.axes[0].yaxis.label
        assert legend.get_title().get_text() == "class (share of mapped area)"
        low, high = sorted(fig.axes[0].get_ylim())  # the locator may place ticks past the map, which are not drawn
        drawn = [label for label, at in zip(fig.axes[0].get_yticklabels(), fig.axes[0].get_yticks()) if low <= at <= high]
        for artist in (legend, legend.get_title(), ylabel, *drawn):
            box = artist.get_window_extent(renderer)
            assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1

    fig = plot_confidence(np.linspace(0, 1, 60).reshape(6, 10), bounds, title="Cluster confidence")
    assert fig.axes[0].get_title() == "Cluster confidence" and "confidence" in fig.axes[1].get_ylabel()

    fig = plot_confusion(np.array([[2, 2, 0], [0, 3, 0], [0, 0, 0]]), ["granite", "basalt", "shale"], title="SVM")
    ax = fig.axes[0]
    assert ax.get_title() == "SVM" and ax.get_ylabel().startswith("true") and len(fig.axes) == 2
    assert [t.get_text() for t in ax.texts][:3] == ["2", "2", "0"]
    np.testing.assert_allclose(ax.images[0].get_array()[0], [0.5, 0.5, 0.0])  # row shares

    summary = pd.DataFrame({"sensor": ["aster"] * 4, "model": ["svm", "svm", "cnn", "cnn"], "chip_size": [np.nan, np.nan, 9, 9],
                            "split": ["block", "random"] * 2, "overall_accuracy_mean": [0.7, 0.85, 0.75, 0.9],
                            "overall_accuracy_sd": [0.02, 0.01, 0.03, np.nan]})
    fig = plot_accuracy_comparison(summary)
    ax = fig.axes[0]
    assert ax.get_title() and "overall accuracy" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["block k-fold CV", "random k-fold CV (optimistic)"]
    assert sorted(round(p.get_height(), 2) for p in ax.patches) == [0.7, 0.75, 0.85, 0.9]


@pytest.mark.skipif(not SCENE.exists(), reason="real data folder missing")
def test_real_landsat_scene_clusters_into_a_georeferenced_class_map(tmp_path):
    step = 4  # 791 x 718 px decimated to 198 x 180 px (1.2 km pixels)
    with rasterio.open(SCENE) as src:
        scene = src.read(masked=True)[:, ::step, ::step]
        transform, crs = src.transform @ Affine.scale(step), src.crs
    image = scene.astype(np.float32).filled(np.nan)
    nodata = np.isnan(image).any(axis=0)
    assert 0.1 < nodata.mean() < 0.9  # the scene's rotated footprint leaves nodata corners
    model = AutoencoderClusters(n_clusters=5, n_components=2, epochs=10, n_init=2, random_state=0)
    model.fit(sample_pixels(image, max_pixels=3000, random_state=0))
    labels, confidence = cluster_image(model, image, block_rows=64)
    np.testing.assert_array_equal(np.isnan(labels), nodata)
    np.testing.assert_array_equal(np.isnan(confidence), nodata)
    assert len(np.unique(labels[~nodata])) >= 3
    names = {k: f"unit {k}" for k in range(1, 6)}
    grid = on_grid(labels, transform, crs.to_string())
    codes, read_names, _ = read_class_map(write_class_cog(grid, tmp_path / "units.tif", names, class_colours(sorted(names)), blocksize=128))
    assert read_names == names and codes.rio.crs == crs
    assert codes.rio.transform() == grid.rio.transform(recalc=True)  # the grid's pixel-centre coordinates
    assert codes.rio.transform().almost_equals(transform, precision=1e-9)  # = the decimated scene's, to rounding
    np.testing.assert_array_equal(codes.values == 0, nodata)
