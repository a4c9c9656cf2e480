"""The demo-region builder: a synthetic study area with a known ground truth, in real file formats.

``build_demo(folder, seed)`` writes, deterministically from ``seed``:

- ``vectors/``: geology polygons (10 units), faults, intrusions, deposits (GeoPackage);
- ``rasters/``: magnetics and gravity (EPSG:4326, as national grids are delivered), K/eTh/eU
  radiometrics (60 m) and a DEM (30 m, offset by half a cell), GeoTIFF;
- ``scenes/``: Landsat 8 Collection 2 Level-1, ASTER AST_07XT/AST_05 and Sentinel-2 L2A band files at
  their native resolutions, scale factors and nodata;
- ``truth/``: the true deposit probability on the target grid and the mineral-system rule;
- ``surveys/``, ``plates/``, ``seismic/``: SP/VES/TEM soundings, a small plate model with dated
  deposits, and labelled MiniSEED waveforms;
- ``catalog.yaml``: the full study-area catalog of all of the above (an example for users).

The geology and the mineral-system rule are described in :mod:`geoprospect.demo.region`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from affine import Affine
from rasterio.features import shapes
from rasterio.warp import Resampling, reproject, transform_bounds
from scipy.ndimage import gaussian_filter
from shapely.geometry import LineString, Point, box, shape

from geoprospect.catalog import GridSpec
from geoprospect.demo import geophysics, spectra
from geoprospect.demo.plates import write_plate_model
from geoprospect.demo.region import UNIT_NAMES, Region, calibrate_intercept, thin_points
from geoprospect.demo.seismic import write_waveforms
from geoprospect.demo.surveys import write_surveys
from geoprospect.grid import TargetGrid
from geoprospect.io.catalog import write_catalog
from geoprospect.io.rasters import write_geotiff
from geoprospect.io.tables import read_json, write_json
from geoprospect.io.vectors import write_vector
from geoprospect.progress import report
from geoprospect.provenance import code_digest
from geoprospect.sensors import SENSORS

DEMO_CRS = "EPSG:32612"  # UTM 12N: the porphyry-copper country of southern Arizona
DEMO_ORIGIN = (520_000.0, 3_600_000.0)
SCENE_FOLDERS = {
    "landsat8": "LC08_L1TP_035038_20240612_20240620_02_T1",
    "aster": "AST_07XT_00306122024180512",
    "sentinel2": "S2B_MSIL2A_20240612T180919_N0510_R127_T12SVA",
}


def build_demo(folder: str | Path, seed: int = 42, size_m: float = 30_000, resolution_m: float = 30,
               deposits_per_100km2: float = 6.0) -> Path:
    """Build the demo region into ``folder`` and return the path of its ``catalog.yaml``."""
    folder = Path(folder)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    xmin, ymin = DEMO_ORIGIN
    bounds = (xmin, ymin, xmin + size_m, ymin + size_m)
    grid = TargetGrid.from_spec(GridSpec(crs=DEMO_CRS, bounds=bounds, resolution_m=resolution_m))
    region = Region.draw(streams[0], DEMO_CRS, bounds)

    step = report(f"building the demo region ({size_m / 1000:g} km, {resolution_m:g} m)")
    steps = 7
    step(0, steps)
    catalog: dict = {
        "study_area": "demo",
        "grid": {"crs": DEMO_CRS, "bounds": list(bounds), "resolution_m": resolution_m},
    }
    catalog["vectors"], catalog["deposits"], catalog["truth"] = _write_geology(folder, region, grid, streams[1], deposits_per_100km2)
    step(1, steps)
    catalog["rasters"] = _write_geophysics(folder, region, grid, streams[2])
    step(2, steps)
    catalog["scenes"] = _write_scenes(folder, region, streams[3])
    step(3, steps)
    surveys = write_surveys(folder, streams[4], DEMO_CRS, bounds)
    catalog["surveys"] = {kind: [_rel(p, folder) for p in paths] for kind, paths in surveys.items()}
    step(4, steps)
    plates = write_plate_model(folder, streams[5])
    catalog["plate_model"] = {key: ([_rel(p, folder) for p in value] if isinstance(value, list) else _rel(value, folder))
                              for key, value in plates.items()}
    for key in ("static_polygons", "coastlines"):
        catalog["plate_model"][key] = [catalog["plate_model"][key]]
    step(5, steps)
    seismic = write_waveforms(folder / "seismic", streams[6])
    catalog["waveforms"] = {"files": [_rel(p, folder) for p in seismic["waveforms"]],
                            "events": _rel(seismic["events"], folder), "windows": _rel(seismic["windows"], folder)}
    step(6, steps)
    path = folder / "catalog.yaml"
    write_catalog(catalog, path, header=f"Demo region built by geoprospect.demo.build_demo(seed={seed}, size_m={size_m}, resolution_m={resolution_m})")
    step(steps, steps)
    return path


def _rel(path: Path, folder: Path) -> str:
    return Path(path).resolve().relative_to(folder.resolve()).as_posix()


def _cell_centres(grid: TargetGrid) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(grid.x, grid.y)


def _write_geology(folder: Path, region: Region, grid: TargetGrid, rng: np.random.Generator, density: float):
    x, y = _cell_centres(grid)
    units = region.units(x, y)
    polygons = [(shape(geom), int(code)) for geom, code in shapes(units, transform=grid.transform)]
    geology = gpd.GeoDataFrame(
        {"unit": [UNIT_NAMES[c] for _, c in polygons], "code": [c for _, c in polygons]},
        geometry=[g for g, _ in polygons], crs=grid.crs,
    )
    write_vector(geology, folder / "vectors" / "geology.gpkg")

    area = box(*grid.bounds)
    faults = []
    for i, f in enumerate(region.faults):
        dx, dy = f.direction
        reach = 2 * max(grid.width, grid.height) * grid.resolution_m
        line = LineString([(f.x0 - dx * reach, f.y0 - dy * reach), (f.x0 + dx * reach, f.y0 + dy * reach)]).intersection(area)
        if not line.is_empty:
            faults.append({"fault_id": i + 1, "throw_m": round(f.throw_m, 1), "geometry": line})
    write_vector(gpd.GeoDataFrame(faults, crs=grid.crs), folder / "vectors" / "faults.gpkg")

    mask = np.isin(units, (9, 10)).astype("uint8")
    intrusive = [(shape(g), int(units[int((grid.ymax - shape(g).representative_point().y) // grid.resolution_m),
                                     int((shape(g).representative_point().x - grid.xmin) // grid.resolution_m)]))
                 for g, v in shapes(mask, mask=mask.astype(bool), transform=grid.transform)]
    write_vector(gpd.GeoDataFrame({"unit": [UNIT_NAMES[c] for _, c in intrusive]}, geometry=[g for g, _ in intrusive], crs=grid.crs),
                 folder / "vectors" / "intrusions.gpkg")

    # mineral system: truth probability per cell, deposits drawn from it
    score = region.logit(x, y, units)
    expected = max(12.0, density * grid.width * grid.height * grid.resolution_m**2 / 1e8)
    intercept = calibrate_intercept(score, expected)
    probability = 1.0 / (1.0 + np.exp(-(intercept + score)))
    drawn = np.flatnonzero(rng.random(probability.shape) < probability)
    keep = thin_points(x.ravel()[drawn], y.ravel()[drawn], probability.ravel()[drawn], min_spacing_m=300.0)
    cells = drawn[keep]
    deposits = gpd.GeoDataFrame(
        {"deposit_id": np.arange(1, len(cells) + 1), "name": [f"Demo prospect {i + 1}" for i in range(len(cells))],
         "commodity": "Cu-Au", "true_probability": probability.ravel()[cells].round(5)},
        geometry=[Point(x.ravel()[c], y.ravel()[c]) for c in cells], crs=grid.crs,
    )
    write_vector(deposits, folder / "vectors" / "deposits.gpkg")
    write_geotiff(probability.astype("float32"), folder / "truth" / "probability.tif", grid.crs, grid.transform,
                  ["true_probability"], ["probability"])
    rule = {"logit": "b0 + 2.0 exp(-d_fault/400 m) + 1.2 host + 2.5 exp(-d_porphyry_contact/600 m) + 2.0 alteration",
            "b0": intercept, "host_units": ["limestone", "andesite", "diorite_porphyry"],
            "expected_deposits": expected, "drawn": int(drawn.size), "kept_after_300m_thinning": int(len(cells))}
    write_json(rule, folder / "truth" / "mineral_system.json")
    vectors = {
        "geology": {"path": "vectors/geology.gpkg", "geometry": "polygon", "class_column": "unit"},
        "faults": {"path": "vectors/faults.gpkg", "geometry": "line"},
        "intrusions": {"path": "vectors/intrusions.gpkg", "geometry": "polygon", "class_column": "unit"},
    }
    return vectors, {"path": "vectors/deposits.gpkg"}, {"probability": "truth/probability.tif"}


def _write_geophysics(folder: Path, region: Region, grid: TargetGrid, rng: np.random.Generator) -> dict:
    res = grid.resolution_m
    pad = int(0.1 * max(grid.width, grid.height))
    padded = TargetGrid(grid.crs, grid.xmin - pad * res, grid.ymax + pad * res, res, grid.width + 2 * pad, grid.height + 2 * pad)
    x, y = _cell_centres(padded)
    rasters = {}
    # national potential-field grids come in geographic coordinates, wider than the study area
    inner = (grid.bounds[0] - 0.5 * pad * res, grid.bounds[1] - 0.5 * pad * res, grid.bounds[2] + 0.5 * pad * res, grid.bounds[3] + 0.5 * pad * res)
    lon0, lat0, lon1, lat1 = transform_bounds(grid.crs, "EPSG:4326", *inner)
    for name, field, cell_deg, units in (
        ("magnetics_tmi", geophysics.magnetics_nt(region, x, y, res, rng), 0.0005, "nT"),
        ("gravity_bouguer", geophysics.gravity_mgal(region, x, y, res, rng), 0.002, "mGal"),
    ):
        width, height = int(np.ceil((lon1 - lon0) / cell_deg)), int(np.ceil((lat1 - lat0) / cell_deg))
        transform = Affine(cell_deg, 0, lon0, 0, -cell_deg, lat1)
        out = np.full((height, width), np.nan, dtype="float32")
        reproject(field.astype("float32"), out, src_transform=padded.transform, src_crs=grid.crs, dst_transform=transform,
                  dst_crs="EPSG:4326", resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
        write_geotiff(out, folder / "rasters" / f"{name}.tif", "EPSG:4326", transform, [name], [units], nodata=-99999.0)
        rasters[name] = {"path": f"rasters/{name}.tif", "units": units}

    coarse = TargetGrid(grid.crs, grid.xmin, grid.ymax, 2 * res, int(np.ceil(grid.width / 2)), int(np.ceil(grid.height / 2)))
    cx, cy = _cell_centres(coarse)
    for name, values in geophysics.radiometrics(region, cx, cy, coarse.resolution_m, rng).items():
        units = name.rsplit("_", 1)[1].replace("pct", "%")
        write_geotiff(values, folder / "rasters" / f"radiometrics_{name}.tif", grid.crs, coarse.transform, [name], [units])
        rasters[f"radiometrics_{name}"] = {"path": f"rasters/radiometrics_{name}.tif", "units": units}

    shifted = TargetGrid(grid.crs, grid.xmin - res / 2, grid.ymax + res / 2, res, grid.width + 1, grid.height + 1)
    dx, dy = _cell_centres(shifted)
    write_geotiff(geophysics.elevation_m(region, dx, dy, res, rng), folder / "rasters" / "dem.tif", grid.crs, shifted.transform,
                  ["elevation"], ["m"], nodata=-32768.0)
    rasters["dem"] = {"path": "rasters/dem.tif", "units": "m"}
    return rasters


def _write_scenes(folder: Path, region: Region, rng: np.random.Generator) -> dict:
    xmin, ymin, xmax, ymax = region.bounds
    fields: dict[float, tuple[TargetGrid, spectra.SceneFields, np.ndarray, np.ndarray]] = {}
    scenes = {}
    for sensor_name, product in SCENE_FOLDERS.items():
        sensor = SENSORS[sensor_name]
        for band in sensor.bands:
            res = band.resolution_m
            if res not in fields:
                grid = TargetGrid.from_spec(GridSpec(crs=region.crs, bounds=region.bounds, resolution_m=res))
                x, y = _cell_centres(grid)
                dem = geophysics.elevation_m(region, x, y, res)
                u, v = (x - xmin) / (xmax - xmin), (y - ymin) / (ymax - ymin)
                fields[res] = (grid, spectra.SceneFields(region, x, y, dem), u, v)
            grid, scene_fields, u, v = fields[res]
            # scene footprints do not cover the whole area: Landsat misses the NE corner, ASTER the SW
            valid = {"landsat8": u + v < 1.75, "aster": u + v > 0.2, "sentinel2": np.ones_like(u, dtype=bool)}[sensor_name]
            values = spectra.band_values(scene_fields, band, rng)
            if sensor_name == "landsat8" and band.name in ("B10", "B11"):
                values = _smooth(values, 100.0 / res)  # TIRS acquires at 100 m, delivered on the 30 m grid
            dn = spectra.encode(values, band, valid)
            path = folder / "scenes" / product / f"{product}_{band.name}.TIF"
            write_geotiff(dn, path, grid.crs, grid.transform, [band.name], [band.quantity], dtype="uint16", nodata=band.nodata)
        # every band, thermal included (the default would be the reflective bands only)
        scenes[sensor_name] = {"sensor": sensor_name, "path": f"scenes/{product}", "bands": [b.name for b in sensor.bands]}
    return scenes


def _smooth(values: np.ndarray, cells: float) -> np.ndarray:
    return gaussian_filter(values, cells / 2.355)


def ensure_demo(folder: str | Path, seed: int = 42, size_m: float = 30_000, resolution_m: float = 30) -> Path:
    """Build the demo region unless ``folder`` already holds one built with these settings and code.

    A manifest beside the catalog records the settings and a digest of the demo builder's source.
    """
    folder = Path(folder)
    manifest = {"seed": seed, "size_m": size_m, "resolution_m": resolution_m, "code": code_digest("geoprospect.demo")}
    marker = folder / "demo_manifest.json"
    if marker.is_file() and (folder / "catalog.yaml").is_file() and read_json(marker) == manifest:
        return folder / "catalog.yaml"
    catalog = build_demo(folder, seed=seed, size_m=size_m, resolution_m=resolution_m)
    write_json(manifest, marker)
    return catalog
