"""The demo region: deterministic, a sensible mineral system, sensor-faithful scenes, ingestible, cached."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from geoprospect import provenance
from geoprospect.demo import SCENE_FOLDERS, build_demo, ensure_demo
from geoprospect.grid import TargetGrid
from geoprospect.pipelines.ingest import ingest_raster, ingest_scene, ingest_vector
from geoprospect.io.catalog import read_catalog
from geoprospect.io.files import content_hash
from geoprospect.io.vectors import read_vector
from geoprospect.sensors import SENSORS


@pytest.fixture(scope="module")
def catalog(demo_catalog):
    return read_catalog(demo_catalog)


@pytest.fixture(scope="module")
def grid(catalog):
    return TargetGrid.from_spec(catalog.grid)


def _band_file(folder, sensor, band):
    product = SCENE_FOLDERS[sensor]
    return folder / "scenes" / product / f"{product}_{band}.TIF"


def test_build_is_deterministic(demo_catalog, demo_settings, tmp_path):
    again = build_demo(tmp_path / "again", **demo_settings)
    first, second = demo_catalog.parent, again.parent
    for part in ("rasters", "scenes", "vectors", "truth", "catalog.yaml"):
        assert content_hash(first / part) == content_hash(second / part), part
    assert len(list((second / "scenes").rglob("*.TIF"))) == sum(len(SENSORS[s].bands) for s in SCENE_FOLDERS)


def test_deposits_sit_where_the_truth_is_high(demo_catalog, grid):
    folder = demo_catalog.parent
    deposits = read_vector(folder / "vectors" / "deposits.gpkg", "point")
    assert len(deposits) >= 5 and deposits.crs.to_epsg() == 32612
    with rasterio.open(folder / "truth" / "probability.tif") as src:
        truth = src.read(1)
        at_deposits = np.array([v[0] for v in src.sample(zip(deposits.geometry.x, deposits.geometry.y))])
        assert src.transform == grid.transform and truth.shape == grid.shape
    assert np.all((truth > 0) & (truth < 1))
    np.testing.assert_allclose(at_deposits, deposits["true_probability"], atol=1e-5)
    assert at_deposits.mean() > 2 * truth.mean()
    xmin, ymin, xmax, ymax = grid.bounds
    assert deposits.geometry.x.between(xmin, xmax).all() and deposits.geometry.y.between(ymin, ymax).all()
    # thinned to 300 m
    xy = np.c_[deposits.geometry.x, deposits.geometry.y]
    distances = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    assert distances[np.triu_indices(len(xy), 1)].min() >= 300


def test_geology_has_many_units(demo_catalog):
    geology = read_vector(demo_catalog.parent / "vectors" / "geology.gpkg", "polygon", class_column="unit")
    assert geology["unit"].nunique() >= 8
    assert dict(zip(geology["unit"], geology["code"]))["diorite_porphyry"] == 10
    faults = read_vector(demo_catalog.parent / "vectors" / "faults.gpkg", "line")
    assert len(faults) >= 1 and "throw_m" in faults


@pytest.mark.parametrize(("sensor", "band", "resolution", "min_dn"), [
    ("sentinel2", "B04", 10, 1000),   # (reflectance + 0.1) * 10000 >= 1000 for any reflectance >= 0
    ("sentinel2", "B8A", 20, 1000),
    ("sentinel2", "B01", 60, 1000),
    ("landsat8", "B4", 30, 5000),     # (reflectance + 0.1) / 2e-5 >= 5000
    ("landsat8", "B8", 15, 5000),
    ("aster", "B3N", 15, 1),
    ("aster", "B13", 90, 1),
])
def test_scene_files_carry_the_sensor_conventions(demo_catalog, sensor, band, resolution, min_dn):
    with rasterio.open(_band_file(demo_catalog.parent, sensor, band)) as src:
        dn = src.read(1)
        assert src.res == (resolution, resolution) and src.dtypes[0] == "uint16" and src.nodata == 0
        assert src.crs.to_epsg() == 32612
    valid = dn[dn != 0]
    assert valid.size > 0.9 * dn.size and valid.min() >= min_dn


def test_scene_footprints_leave_nodata_corners(demo_catalog):
    def corners(sensor, band):
        with rasterio.open(_band_file(demo_catalog.parent, sensor, band)) as src:
            dn = src.read(1)
        return dn[0, -1], dn[-1, 0]  # NE, SW

    assert corners("landsat8", "B4")[0] == 0 and corners("landsat8", "B4")[1] > 0
    assert corners("aster", "B4")[1] == 0 and corners("aster", "B4")[0] > 0
    assert 0 not in corners("sentinel2", "B04")


def test_demo_ingests_onto_its_grid(catalog, grid, tmp_path):
    stats = ingest_raster(catalog.rasters["magnetics_tmi"], grid, tmp_path / "mag.tif", "magnetics_tmi")
    assert stats["magnetics_tmi"]["valid_fraction"] == 1.0  # the geographic grid is wider than the area
    scene = ingest_scene(catalog.scenes["landsat8"], grid, tmp_path / "l8.tif", "landsat8")
    assert list(scene) == [f"landsat8_B{i}" for i in range(1, 12)]
    assert 0.8 < scene["landsat8_B8"]["valid_fraction"] < 1.0  # the NE corner is outside the footprint
    assert 0 <= scene["landsat8_B4"]["min"] and scene["landsat8_B4"]["max"] < 1
    assert 5 < scene["landsat8_B10"]["min"] < scene["landsat8_B10"]["max"] < 20  # TIRS radiance, W/(m^2 sr um)
    summary = ingest_vector(catalog.vectors["geology"], grid, tmp_path / "geology.gpkg", tmp_path / "geology.tif", "geology")
    assert len(summary["classes"]) >= 8 and summary["classes"][10] == "diorite_porphyry"
    with rasterio.open(tmp_path / "geology.tif") as src:
        codes = src.read(1)
    assert np.isfinite(codes).all() and set(np.unique(codes)) <= set(summary["classes"])


def test_ensure_demo_rebuilds_only_when_settings_change(tmp_path):
    small = dict(size_m=2000, resolution_m=100)
    catalog = ensure_demo(tmp_path, seed=3, **small)
    dem = tmp_path / "rasters" / "dem.tif"
    stamps = (catalog.stat().st_mtime_ns, dem.stat().st_mtime_ns)
    first = content_hash(tmp_path / "rasters")
    assert ensure_demo(tmp_path, seed=3, **small) == catalog
    assert (catalog.stat().st_mtime_ns, dem.stat().st_mtime_ns) == stamps
    ensure_demo(tmp_path, seed=4, **small)
    assert dem.stat().st_mtime_ns != stamps[1] and content_hash(tmp_path / "rasters") != first
    assert "seed=4" in catalog.read_text().splitlines()[0]


# ------------------------------------------------------------------------------ provenance (ensure_demo's code digest)


def _closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(provenance.module_imports(name)[1])
    return seen


def test_code_digest_follows_the_imports_of_the_real_modules():
    closure = _closure("geoprospect.pipelines.ingest")
    assert {"geoprospect.io.rasters", "geoprospect.io.files", "geoprospect.errors", "geoprospect.grid"} <= closure
    assert "geoprospect.io.rasters" in provenance.module_imports("geoprospect.pipelines.ingest")[1]
    assert "geoprospect.demo.region" in _closure("geoprospect.demo")
    assert all(name.startswith("geoprospect") for name in closure)
    rasters, vectors = provenance.code_digest("geoprospect.io.rasters"), provenance.code_digest("geoprospect.io.vectors")
    assert rasters != vectors and len(rasters) == 64
    assert provenance.code_digest("geoprospect.io.rasters") == rasters


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A throw-away ``geoprospect`` source tree: a imports b; c stands alone."""
    package = tmp_path / "geoprospect"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from geoprospect.b import f\n\nX = f()\n")
    (package / "b.py").write_text("def f():\n    return 1\n")
    (package / "c.py").write_text("Y = 2\n")
    monkeypatch.setattr(provenance, "_ROOT", tmp_path)
    provenance.module_imports.cache_clear()
    provenance.closure_digest.cache_clear()
    yield package
    provenance.module_imports.cache_clear()
    provenance.closure_digest.cache_clear()


def _fresh_digest(module):
    provenance.module_imports.cache_clear()
    provenance.closure_digest.cache_clear()
    return provenance.code_digest(module)


def test_code_digest_changes_when_an_imported_module_changes(fake_package):
    before = _fresh_digest("geoprospect.a")
    (fake_package / "c.py").write_text("Y = 3\n")  # not imported by a
    assert _fresh_digest("geoprospect.a") == before
    (fake_package / "b.py").write_text("def f():\n    return 2\n")
    assert _fresh_digest("geoprospect.a") != before
