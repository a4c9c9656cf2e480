"""Ingestion steps: each reads one catalog source, validates it and writes it aligned to the grid.

These compose the readers of :mod:`geoprospect.io` with the pure grid functions; the Prefect tasks
in ``tasks/ingest.py`` are thin wrappers around them (one step, one cacheable task).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from geoprospect.catalog import (
    Catalog,
    DepositSource,
    PlateModelSource,
    PointSurveySource,
    RasterSource,
    SceneSource,
    SurveySources,
    VectorSource,
    WaveformSources,
)
from geoprospect.errors import InputError
from geoprospect.features.gridding import grid_survey
from geoprospect.grid import TargetGrid, rasterize_classes
from geoprospect.io.deposits import read_deposit_table
from geoprospect.io.figures import save_png
from geoprospect.io.maps import make_cog, write_class_cog
from geoprospect.io.files import FileRef, atomic_path, publish
from geoprospect.io.plates import read_features, read_rotation_model
from geoprospect.io.rasters import BandSpec, align_raster, describe_raster, read_band, read_preview, write_geotiff
from geoprospect.io.scenes import align_scene
from geoprospect.io.surveys import read_point_survey, read_sp_profile, read_tem, read_ves
from geoprospect.io.tables import write_csv
from geoprospect.io.vectors import read_deposits, read_vector, to_grid_crs, write_vector
from geoprospect.io.waveforms import WaveformGapWarning, read_event_catalog, read_waveforms, read_windows
from geoprospect.provenance import code_digest
from geoprospect.render.lithology import class_colours
from geoprospect.render.maps import plot_features, plot_layer
from geoprospect.render.plates import plot_plate_model
from geoprospect.render.report import Section, report_html
from geoprospect.render.surveys import plot_sp_profile, plot_tem, plot_ves
from geoprospect.render.waveforms import plot_waveforms
from geoprospect.tectonics.reconstruct import reconstructed, resolved_sections


def ingest_raster(source: RasterSource, grid: TargetGrid, destination: Path, name: str) -> dict:
    """Align a raster source (all its bands) onto the grid. Band ``i`` is named by ``source.bands``
    or, for a single band, by the catalog key ``name``."""
    info = describe_raster(source.path, nodata=source.nodata)
    names = source.bands or ([name] if info.count == 1 else [f"{name}_b{i}" for i in range(1, info.count + 1)])
    if len(names) != info.count:
        raise InputError(source.path, f"{len(names)} band names given for a file of {info.count} bands", "list one name per band in 'bands'")
    specs = [(source.path, BandSpec(i, band, source.units, nodata=source.nodata)) for i, band in enumerate(names, start=1)]
    stats = align_raster(specs, grid, destination, kind=source.kind)
    make_cog(destination, resampling="nearest" if source.kind == "categorical" else "average")
    return stats


def ingest_scene(source: SceneSource, grid: TargetGrid, destination: Path, name: str) -> dict:
    """Align a multispectral scene's bands onto the grid as physical values."""
    stats = align_scene(source, grid, destination, name)
    make_cog(destination)
    return stats


def ingest_vector(source: VectorSource, grid: TargetGrid, destination: Path, classes_destination: Path | None, name: str) -> dict:
    """Reproject (and clip) a vector layer to the grid; rasterize its classes if it has a class column.

    Class codes come from an integer ``code`` column when the layer has one, otherwise from the sorted
    class names (1, 2, ...). A map of the features goes beside ``destination`` (same name, ``.png``).
    Returns ``{"features": n, "classes": {code: name}}``.
    """
    gdf = to_grid_crs(read_vector(source.path, source.geometry, source.layer, source.class_column), grid, source.path, clip=True)
    write_vector(gdf, destination, layer=name)
    save_png(plot_features(gdf, grid.bounds, name.replace("_", " "), grid.crs), destination.with_suffix(".png"))
    classes: dict[int, str] = {}
    if source.class_column and classes_destination is not None:
        names = gdf[source.class_column].astype(str)
        if "code" in gdf.columns and pd.api.types.is_integer_dtype(gdf["code"]):
            codes = gdf["code"].to_numpy()
        else:
            lookup = {n: i for i, n in enumerate(sorted(names.unique()), start=1)}
            codes = names.map(lookup).to_numpy()
        classes = {int(c): n for c, n in sorted(set(zip(codes, names)))}
        raster = rasterize_classes(gdf.geometry, codes, grid)  # 0: no polygon
        write_class_cog(grid.data_array(raster, name), classes_destination, classes, class_colours(sorted(classes)),
                        description=name, blocksize=256)  # 256: overviews from a few-km grid up
    return {"features": int(len(gdf)), "classes": classes}


def ingest_mask(path: Path, grid: TargetGrid, destination: Path) -> dict:
    """Rasterize the study-area polygon (``grid.mask``): 1 inside, NaN outside; a quicklook beside it.

    Raises :class:`InputError` for a file without polygons or CRS, or one that misses the grid.
    """
    gdf = read_vector(path, "polygon")
    gdf = to_grid_crs(gdf, grid, path)
    inside = rasterize_classes(gdf.geometry, np.ones(len(gdf), dtype=int), grid) > 0
    if not inside.any():
        raise InputError(path, "the study-area polygon holds no cell centre of the grid",
                         "check the mask's CRS and the grid's bounds and resolution")
    write_geotiff(np.where(inside, 1.0, np.nan).astype("float32"), destination, grid.crs, grid.transform, ["study_area"], ["mask"])
    make_cog(destination, resampling="nearest")
    save_png(plot_features(gdf, grid.bounds, "study area", grid.crs), destination.with_suffix(".png"))
    return {"inside_fraction": float(inside.mean()), "polygons": int(len(gdf))}


def read_mask(path: Path | None) -> np.ndarray | None:
    """The study-area mask written by :func:`ingest_mask` as a bool array (None: no mask)."""
    return None if path is None else np.isfinite(read_band(path))


def grid_point_survey(source: PointSurveySource, name: str, grid: TargetGrid, destination: Path,
                      mask_path: Path | None = None) -> tuple[dict, list[dict], list[Path]]:
    """Grid a point survey's columns onto the grid (one band each, plus the distance to the nearest
    sample) and draw each band with the sample points. Returns (per-band stats, rows, quicklooks)."""
    spec = source.gridding
    columns = list(dict.fromkeys([*(source.columns or []), *spec.columns]))
    points = to_grid_crs(read_point_survey(source.path, columns, source.crs), grid, source.path)
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    layers, rows = grid_survey(x, y, points, grid, spec, name, read_mask(mask_path))
    names = list(layers)
    units = ["m" if n == f"{name}_distance_m" else ("log10(value)" if spec.transform == "log10" else "") for n in names]
    write_geotiff(np.stack([layers[n] for n in names]), destination, grid.crs, grid.transform, names, units)
    make_cog(destination)
    stats = {n: {"valid_fraction": float(np.isfinite(a).mean()), "min": float(np.nanmin(a)), "max": float(np.nanmax(a)),
                 "mean": float(np.nanmean(a))} for n, a in layers.items()}
    bounds = grid.bounds
    quicklooks = []
    for n, unit in zip(names, units):
        fig = plot_layer(layers[n], bounds, n.replace("_", " "), unit, points=(x, y), crs_label=grid.crs, points_label=f"{name} samples")
        quicklooks.append(save_png(fig, destination.with_suffix("") / f"{n}.png"))  # beside the layer, per content digest
    return stats, rows, quicklooks


def ingest_deposits(source: DepositSource, grid: TargetGrid, destination: Path, skipped_destination: Path) -> dict:
    """Reproject known deposits to the grid CRS, keep those inside the grid, report the rest."""
    gdf, skipped = read_deposits(source)
    gdf = to_grid_crs(gdf, grid, source.path)
    xmin, ymin, xmax, ymax = grid.bounds
    inside = (gdf.geometry.x >= xmin) & (gdf.geometry.x <= xmax) & (gdf.geometry.y >= ymin) & (gdf.geometry.y <= ymax)
    if (~inside).any():
        skipped = pd.concat([skipped, pd.DataFrame({"row": gdf.index[~inside], "reason": "outside the target grid"})], ignore_index=True)
    write_vector(gdf[inside], destination, layer="deposits")
    write_csv(skipped, skipped_destination)
    return {"deposits": int(inside.sum()), "skipped": int(len(skipped))}


def deposit_points(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of the ingested deposits, for overlays."""
    gdf = read_vector(path, "point")
    return gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()


MAX_CODES_DRAWN = 40  # a categorical raster with more codes is drawn with a colour bar: a legend would not fit


def render_quicklooks(layer: Path, folder: Path, classes: dict[int, str] | None = None, deposits: str | Path | None = None,
                      categorical: bool = False) -> list[Path]:
    """One PNG per band of an aligned GeoTIFF, named after the band, with deposits overlaid if given. Classes are
    drawn with a legend: ``classes`` (code -> name), or a ``categorical`` raster's own codes."""
    data, bounds, names, units = read_preview(layer)
    points = deposit_points(deposits) if deposits else None
    paths = []
    for values, name, unit in zip(data, names, units):
        categories = classes
        if categories is None and categorical:
            codes = np.unique(values[np.isfinite(values)])
            categories = {int(c): f"code {int(c)}" for c in codes} if len(codes) <= MAX_CODES_DRAWN else None
        fig = plot_layer(values, bounds, name.replace("_", " "), unit, categories=categories, points=points)
        paths.append(save_png(fig, folder / f"{name}.png"))
    return paths


def publish_ingest(products: list[dict], catalog: Catalog, inputs: dict[str, FileRef], folder: Path) -> Path:
    """Link every product's files into ``folder`` and write ``layers.csv``, ``sources.csv`` and ``report.html``.

    Parameters
    ----------
    products : list of dict
        Task products: ``section``, ``files`` (published name -> FileRef), optional ``stats`` (per band)
        and ``rows`` (summary rows).
    """
    for product in products:
        for name, ref in product.get("files", {}).items():
            publish(ref.path, folder / name)
    sources = pd.DataFrame([{"key": k, "file": r.path, "sha256": r.sha256[:16]} for k, r in inputs.items()])
    layers = pd.DataFrame([{"band": band, "kind": p.get("kind", ""), **stats}
                           for p in products for band, stats in p.get("stats", {}).items()])
    if layers.empty:  # vectors, surveys or waveforms only: a header, so that readers get an empty table
        layers = pd.DataFrame(columns=["band", "kind"])
    has_cube = any("cube.zarr" in p.get("files", {}) for p in products)
    write_csv(sources, folder / "sources.csv")
    write_csv(layers, folder / "layers.csv")
    grid = catalog.grid
    sections = [
        Section("Target grid", f"{grid.crs}, bounds {tuple(grid.bounds)}, {grid.resolution_m:g} m cells. "
                + ("Feature cube: cube.zarr (open with xarray.open_zarr(..., decode_coords='all'))." if has_cube else
                   "No feature cube: the catalog has no layer to stack.")),
        Section("Inputs", "Every input file and the first 16 hex digits of its SHA-256.", table=sources),
        Section("Aligned layers", "Statistics over the target grid after alignment (valid_fraction excludes nodata).", table=layers),
    ]
    by_section: dict[str, list[dict]] = {}
    for product in products:
        by_section.setdefault(product.get("section", "Other"), []).extend(product.get("rows", []))
    for name, rows in by_section.items():
        if rows:
            sections.append(Section(name, table=pd.DataFrame(rows)))
    images = sorted(n for p in products for n in p.get("files", {}) if n.endswith(".png"))
    sections.append(Section("Quicklooks", images=[(n, Path(n).stem.replace("_", " ")) for n in images]))
    page = report_html(f"Ingestion: {catalog.study_area}", f"geoprospect ingest flow, code {code_digest('geoprospect.pipelines.ingest')[:12]}", sections)
    report = folder / "report.html"
    with atomic_path(report) as tmp:
        tmp.write_text(page)
    return report


def ingest_plate_model(plates: PlateModelSource, folder: Path) -> tuple[dict[str, Path], list[dict]]:
    """Validate a plate model (rotations, topologies, polygons, coastlines) and its dated deposits.

    Writes the dated deposits as read (``plates/dated_deposits.csv``, ages parsed) with the rows that
    were skipped or lack an age (``plates/dated_deposits_report.csv``), and a present-day quicklook
    with the topologies resolved at 0 Ma. Returns (published name -> path, summary rows).
    """
    rotations = read_rotation_model(plates.rotations)
    topologies = read_features(plates.topologies, "topology", rotations)
    static = read_features(plates.static_polygons, "static polygon", rotations) if plates.static_polygons else []
    coastlines = read_features(plates.coastlines, "coastline", rotations) if plates.coastlines else []
    rows = [{"item": "rotation files", "count": len(plates.rotations)},
            {"item": "topology features", "count": sum(len(c) for c in topologies)},
            {"item": "static polygons", "count": sum(len(c) for c in static)},
            {"item": "coastline features", "count": sum(len(c) for c in coastlines)}]
    files: dict[str, Path] = {}
    lon = lat = age = None
    if plates.deposits:
        deposits, report = read_deposit_table(plates.deposits)
        files["plates/dated_deposits.csv"] = write_csv(pd.DataFrame(deposits.drop(columns="geometry")), folder / "dated_deposits.csv")
        files["plates/dated_deposits_report.csv"] = write_csv(report, folder / "dated_deposits_report.csv")
        lon, lat, age = deposits.geometry.x.to_numpy(), deposits.geometry.y.to_numpy(), deposits["age_ma"].to_numpy()
        rows += [{"item": "dated deposits", "count": int(np.isfinite(age).sum())},
                 {"item": "deposits without age (kept, reported)", "count": int((~np.isfinite(age)).sum())},
                 {"item": "rows skipped (reported)", "count": int(report["skipped"].sum()) if "skipped" in report else 0}]
    sections = resolved_sections(topologies, rotations, 0.0)
    coast = reconstructed(coastlines, rotations, 0.0)
    fig = plot_plate_model(sections, 0.0, lon, lat, age, coast, title="Plate model at present day, deposits coloured by age")
    files["quicklooks/plate_model_0ma.png"] = save_png(fig, folder / "plate_model_0ma.png")
    return files, rows


def ingest_surveys(surveys: SurveySources, grid: TargetGrid, folder: Path) -> tuple[dict[str, Path], list[dict]]:
    """Validate SP, VES and TEM files and point surveys; write them in the canonical layouts.

    Profiles and soundings of one kind are gathered in one CSV (``surveys/<kind>.csv``) with a
    quicklook; point surveys are reprojected to the grid CRS (``surveys/<name>.gpkg``).
    """
    files: dict[str, Path] = {}
    rows: list[dict] = []
    kinds = (("sp", surveys.sp, read_sp_profile, plot_sp_profile, "profile_id"),
             ("ves", surveys.ves, read_ves, plot_ves, "sounding_id"),
             ("tem", surveys.tem, read_tem, plot_tem, "sounding_id"))
    for kind, paths, reader, plot, group in kinds:
        if not paths:
            continue
        table = pd.concat([reader(p) for p in paths], ignore_index=True)
        files[f"surveys/{kind}.csv"] = write_csv(table, folder / f"{kind}.csv")
        files[f"quicklooks/survey_{kind}.png"] = save_png(plot(table), folder / f"survey_{kind}.png")
        rows.append({"survey": kind, "files": len(paths), "lines_or_soundings": int(table[group].nunique()) if group in table else len(paths),
                     "readings": int(len(table))})
    for name, source in surveys.points.items():
        points = to_grid_crs(read_point_survey(source.path, source.columns, source.crs), grid, source.path)
        files[f"surveys/{name}.gpkg"] = write_vector(points, folder / f"{name}.gpkg", layer=name)
        rows.append({"survey": name, "files": 1, "lines_or_soundings": 0, "readings": int(len(points))})
    return files, rows


def ingest_waveforms(waveforms: WaveformSources, folder: Path) -> tuple[dict[str, Path], list[dict]]:
    """Validate waveforms, their event catalogue and labelled windows; list channels and gaps.

    Writes ``waveforms/channels.csv`` (one row per continuous stretch of each channel),
    ``waveforms/events.csv`` and ``waveforms/windows.csv`` as parsed, and a quicklook of the first
    catalogued event at every station.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", WaveformGapWarning)
        stream = read_waveforms(waveforms.files)
    gaps = [str(w.message) for w in caught if issubclass(w.category, WaveformGapWarning)]
    channels = pd.DataFrame([{"id": tr.id, "start": str(tr.stats.starttime), "end": str(tr.stats.endtime),
                              "sampling_rate_hz": tr.stats.sampling_rate, "samples": tr.stats.npts} for tr in stream])
    files = {"waveforms/channels.csv": write_csv(channels, folder / "channels.csv")}
    rows = [{"item": "channels", "count": int(channels["id"].nunique())},
            {"item": "continuous stretches", "count": len(channels)},
            {"item": "gap or overlap reports", "count": len(gaps)}]
    events = read_event_catalog(waveforms.events) if waveforms.events else None
    if events is not None:
        files["waveforms/events.csv"] = write_csv(events, folder / "events.csv")
        rows.append({"item": "catalogued arrivals", "count": len(events)})
    if waveforms.windows:
        windows = read_windows(waveforms.windows)
        files["waveforms/windows.csv"] = write_csv(windows, folder / "windows.csv")
        rows += [{"item": f"{label} windows", "count": int(n)} for label, n in windows["label"].value_counts().sort_index().items()]
    start = end = None
    if events is not None and len(events):
        first = pd.Timestamp(events["p_arrival_time"].min())
        start, end = first - pd.Timedelta(seconds=10), first + pd.Timedelta(seconds=50)
    fig = plot_waveforms(stream, events, start, end)
    files["quicklooks/waveforms.png"] = save_png(fig, folder / "waveforms.png")
    return files, rows
