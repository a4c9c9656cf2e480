"""The tectonics flow under Prefect on the demo plate model: kinematics per time step (cached), samples,
block CV beside the shuffled 10-fold, maps through time; the real USGS table read with the demo model."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image

from geoprospect.errors import InputError
from geoprospect.io.plates import read_kinematics
from geoprospect.tectonics.kinematics import KINEMATICS_COLUMNS

SETTINGS = ("tectonics: {stop_ma: 60, step_myr: 2, models: [rf], n_splits: 3, "
            "windows: [[0, 20], [20, 40], [40, 60]]}\n")
USGS = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "porphyry_usgs" / "PorCuEX2008.csv"


def _run(catalog, outputs):
    from flows.tectonics import tectonics

    return tectonics(catalog=str(catalog), outputs=str(outputs), return_state=True)


@pytest.fixture(scope="module")
def first_run(harness, small_demo_catalog, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tectonics")
    catalog = folder / "tectonics.yaml"
    catalog.write_text(small_demo_catalog.read_text() + SETTINGS)
    state = _run(catalog, folder / "outputs")
    return Path(state.result()).parent, catalog, state


def test_kinematics_table_covers_every_time_step(first_run):
    folder, _, _ = first_run
    table = read_kinematics(folder / "kinematics.parquet")
    assert list(table.columns) == list(KINEMATICS_COLUMNS)
    assert sorted(table["time_ma"].unique()) == list(range(0, 61, 2))
    assert (table["convergence_orthogonal_cm_yr"] > 0).all() and table["seafloor_age_ma"].notna().any()


def test_cv_table_puts_every_design_and_scheme_beside_the_controls(first_run):
    folder, _, _ = first_run
    metrics = pd.read_csv(folder / "cv_metrics.csv")
    assert set(metrics["design"]) == {"time_matched", "pu", "same_location"}
    assert set(metrics["scheme"]) == {"shuffled_10fold", "leave_region_out", "leave_age_bin_out"}
    assert set(metrics["model"]) == {"rf", "time_only", "location_only"}
    scored = metrics[metrics["status"] != "ok"]
    assert scored["status"].str.match(r"^(partial|not computable): ").all()  # every other row says why
    computable = metrics[~metrics["status"].str.startswith("not computable")]
    assert computable["roc_auc_mean"].between(0, 1).all()
    assert metrics.loc[metrics["status"].str.startswith("not computable"), "roc_auc_mean"].isna().all()
    samples = pd.read_csv(folder / "samples.csv")
    positives = samples["label"] == 1
    assert positives.sum() >= 20 and set(samples.loc[~positives, "source"]) == {"deposit_location", "time_matched", "unlabelled"}
    # time-matched negatives share the positives' times: the time-only control has nothing to learn
    matched = samples[samples["source"] == "time_matched"]
    assert set(matched["kinematics_time_ma"]) <= set(samples.loc[positives, "kinematics_time_ma"])
    controls = pd.read_csv(folder / "cv_controls.csv")
    row = controls[(controls["design"] == "time_matched") & (controls["scheme"] == "leave_region_out")].iloc[0]
    assert row["time_only_roc_auc"] < 0.65 and np.isfinite(row["margin_over_time_only"])
    summary = json.loads((folder / "metrics.json").read_text())
    assert summary["best_model"] == "rf" and summary["design"] == "time_matched"
    assert summary["samples"]["distance_to_trench_km_max"] <= 5 * 111.2
    html = (folder / "report.html").read_text()
    assert "time-only control" in html and "question it answers" in html


def test_maps_through_time_and_points_per_window(first_run):
    folder, _, _ = first_run
    points = gpd.read_file(folder / "windows.gpkg")
    assert points.crs.to_epsg() == 4326 and {"window_start_ma", "max_probability"} <= set(points.columns)
    assert set(points["window_start_ma"]) == {0, 20, 40}
    for name in ("window_0-20ma.png", "window_20-40ma.png", "window_40-60ma.png", "cv.png"):
        assert (folder / name).stat().st_size > 0
    with Image.open(folder / "animation.gif") as gif:
        assert gif.n_frames >= 10
    assert json.loads((folder / "metrics.json").read_text())["through_time"]["video"] == "animation.mp4"
    assert (folder / "animation.mp4").read_bytes()[4:8] == b"ftyp"  # an MP4 container
    frames = sorted(folder.glob("frame_*ma.png"))
    assert len(frames) == 31 and frames[0].name == "frame_0000.0ma.png"
    scores = pd.read_csv(folder / "scores.csv")
    assert scores["probability"].notna().any() and scores["probability"].isna().any()  # grid points off the margin
    html = (folder / "report.html").read_text()
    assert "optimistic" in html and "animation.gif" in html


def test_a_rerun_reads_every_time_step_from_the_cache(first_run):
    from tasks.runs import task_run_states

    folder, catalog, _ = first_run
    state = _run(catalog, folder.parent.parent)
    states = task_run_states(state.state_details.flow_run_id)
    steps = [s for task, s in states if task == "kinematics_steps"]
    assert len(steps) == 4 and set(steps) == {"Cached"}  # 31 steps of 2 Myr, 10 per task, aligned on 20 Myr


def test_an_edited_deposit_table_in_a_second_study_area_reads_the_kinematics_from_the_cache(first_run, small_demo_catalog,
                                                                                           tmp_path):
    """Kinematics are keyed on the plate model and the time steps: a second study area with a new deposit
    table (another column layout, mapped in the catalog) recomputes the samples, not one time step, and
    reads the tables the first study area's run left in outputs/plate_models/."""
    import yaml

    from tasks.runs import task_run_states

    folder, catalog, _ = first_run
    built = small_demo_catalog.parent / "demo" / "catalog.yaml"
    demo = yaml.safe_load(built.read_text())
    plates = {k: ([str(built.parent / p) for p in v] if isinstance(v, list) else str(built.parent / v))
              for k, v in demo["plate_model"].items()}
    table = pd.read_csv(plates["deposits"]).iloc[:-3]
    table = table.rename(columns={"LongitudeDecimal": "lon", "LatitudeDecimal": "lat"}).drop(columns=["Deposit Age"])
    table.to_csv(tmp_path / "edited.csv", index=False)
    plates["deposits"] = str(tmp_path / "edited.csv")
    plates["deposit_columns"] = {"lon": "lon", "lat": "lat"}
    # a raster through time (synthetic crustal thickness, global, every 10 Myr) as an extra feature
    lon, lat, times = np.arange(-179.0, 180.0, 2.0), np.arange(-89.0, 90.0, 2.0), np.arange(0.0, 70.0, 10.0)
    rng = np.random.default_rng(0)
    xr.Dataset({"thickness": (("time", "lat", "lon"), 35 + rng.normal(0, 5, (times.size, lat.size, lon.size)))},
               coords={"time": times, "lat": lat, "lon": lon}).to_netcdf(tmp_path / "crust.nc", engine="scipy")
    plates["rasters"] = {"crustal_thickness_km": {"path": str(tmp_path / "crust.nc"), "inland_km": 200}}
    spec = {"study_area": "second_area", "plate_model": plates,
            "tectonics": yaml.safe_load(SETTINGS)["tectonics"] | {"designs": ["time_matched"], "animation": False}}
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(spec))  # no grid section: the tectonics flow needs none
    state = _run(edited, folder.parent.parent)
    states = task_run_states(state.state_details.flow_run_id)
    assert {s for task, s in states if task == "kinematics_steps"} == {"Cached"}
    assert {s for task, s in states if task == "make_samples"} == {"Completed"}
    outputs = folder.parent.parent
    second = outputs / "second_area" / "tectonics"
    assert "raster_crustal_thickness_km" in pd.read_csv(second / "samples.csv").columns
    summary = json.loads((second / "metrics.json").read_text())["samples"]
    assert "raster_crustal_thickness_km" in summary["features"] and summary["rasters"] == ["crustal_thickness_km"]
    assert "Rasters through time" in (second / "report.html").read_text()
    assert "No raster through time" in (folder / "report.html").read_text()  # the first run's catalog has none
    assert not list((outputs / "second_area" / "work" / "kinematics").glob("kinematics-*ma-*.parquet"))  # only the run's table
    assert len(list((outputs / "plate_models" / "kinematics").glob("kinematics-*ma-*.parquet"))) == 31


def test_kinematics_are_keyed_on_the_rotation_file_content_not_where_they_go(harness, small_demo_catalog, tmp_path):
    """The same plate model (a copy elsewhere, another outputs folder) reads the cache; an edited
    rotation file computes again."""
    import shutil

    from prefect import flow

    from geoprospect.catalog import PlateModelSource, TectonicsSpec
    from geoprospect.io.files import FileRef
    from tasks.tectonics import kinematics_steps, plate_model_inputs

    plates_folder = small_demo_catalog.parent / "demo" / "plates"
    if not plates_folder.is_dir():  # the demo is built on the first flow run
        from geoprospect.demo import build_demo

        build_demo(small_demo_catalog.parent / "demo", seed=5, size_m=4000, resolution_m=60)

    def steps_state(folder: Path, work: Path, rotation_lines=None) -> str:
        copy = shutil.copytree(plates_folder, folder)
        if rotation_lines is not None:
            (copy / "demo_rotations.rot").write_text(rotation_lines)
        plates = PlateModelSource(rotations=[copy / "demo_rotations.rot"], topologies=[copy / "demo_plate_boundaries.gpml",
                                  copy / "demo_topologies.gpml"], deposits=copy / "demo_porphyry_deposits.csv")
        refs = {"plate_model.rotations[0]": FileRef.of(plates.rotations[0])}
        refs |= {f"plate_model.topologies[{i}]": FileRef.of(p) for i, p in enumerate(plates.topologies)}
        inputs = plate_model_inputs(plates, refs, TectonicsSpec(stop_ma=4, step_myr=2))

        @flow
        def kinematics_only() -> str:
            return kinematics_steps(inputs["model_files"], inputs["kinematics_files"], [0.0, 2.0], 2.0,
                                    {0.0: None, 2.0: None}, str(work), return_state=True).name

        return kinematics_only()

    assert steps_state(tmp_path / "a", tmp_path / "out_a") == "Completed"
    assert steps_state(tmp_path / "b", tmp_path / "out_b") == "Cached"  # a copy, written elsewhere
    lines = (plates_folder / "demo_rotations.rot").read_text().splitlines()
    lines[1] = lines[1].replace("2.50", "2.60")  # one pole's angle
    assert steps_state(tmp_path / "c", tmp_path / "out_c", "\n".join(lines) + "\n") == "Completed"


def test_a_catalog_without_a_plate_model_is_refused(harness, tmp_path):
    catalog = tmp_path / "no_plates.yaml"
    catalog.write_text("study_area: noplates\ngrid: {crs: 'EPSG:32611', bounds: [0, 0, 600, 600], resolution_m: 60}\n")
    with pytest.raises(InputError, match="plate_model.*no plate model"):
        _run(catalog, tmp_path / "outputs").result()


@pytest.mark.skipif(not USGS.is_file(), reason="../shared/realdata is not beside the project")
def test_real_usgs_table_feeds_the_flow_with_the_demo_rotations(first_run, small_demo_catalog, tmp_path):
    """The real PorCuEX2008 table as the deposits of the demo model: deposits off the demo plates are
    reported as unused, none crash the run (the demo model covers only its own region)."""
    import yaml

    demo = small_demo_catalog.parent / "demo"
    demo_spec = yaml.safe_load((demo / "catalog.yaml").read_text())
    spec = {"study_area": "usgs", "grid": demo_spec["grid"], "plate_model": demo_spec["plate_model"]}
    for key in ("rotations", "topologies", "static_polygons", "coastlines"):
        spec["plate_model"][key] = [str(demo / p) for p in spec["plate_model"][key]]
    spec["plate_model"]["age_grid"] = str(demo / spec["plate_model"]["age_grid"])
    spec["plate_model"]["deposits"] = str(USGS)
    spec["plate_model"]["region_box"] = [-120, -60, -30, 10]
    spec["tectonics"] = {"stop_ma": 20, "step_myr": 2, "models": ["rf"], "n_splits": 3, "windows": [[0, 10], [10, 20]],
                         "animation": False, "candidate_spacing_deg": 2}
    catalog = tmp_path / "usgs.yaml"
    catalog.write_text(yaml.safe_dump(spec))
    report = Path(_run(catalog, tmp_path / "outputs").result())
    samples = pd.read_csv(report.parent / "samples.csv")
    assert samples["label"].sum() >= 10  # the USGS deposits within 5 degrees of the demo's trench
    summary = json.loads((report.parent / "metrics.json").read_text())["samples"]
    assert summary["deposits_in_table"] > 600 and summary["deposits_undated_or_outside_time_range"] > 0
    # deposits far from the demo's trench are skipped at the 5 degree cut-off, and listed
    assert summary["deposits_beyond_cutoff"] > 0 and summary["distance_to_trench_km_max"] <= 5 * 111.2
    skipped = pd.read_csv(report.parent / "samples_report.csv")
    far = skipped["reason"].str.startswith("no trench point within 5 degrees") & (skipped["source"] == "deposit")
    assert far.sum() == summary["deposits_beyond_cutoff"]
