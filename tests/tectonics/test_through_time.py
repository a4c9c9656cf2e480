"""Candidates along a margin, their probability through time, window summaries, figures and the GIF."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression

from geoprospect.demo.plates import write_plate_model
from geoprospect.errors import InputError
from geoprospect.io.figures import VideoUnavailable, write_gif, write_video
from geoprospect.io.plates import read_features, read_rotation_model
from geoprospect.io.vectors import write_vector
from geoprospect.render.tectonics import (
    figure_rgb,
    plot_cv_comparison,
    plot_time_slice,
    plot_window_map,
)
from geoprospect.tectonics.coregister import great_circle_deg
from geoprospect.tectonics.reconstruct import reconstructed, resolved_sections
from geoprospect.tectonics.through_time import (
    grid_candidates,
    margin_candidates,
    score_through_time,
    window_points,
    window_summary,
)

FEATURE = ["convergence_rate_cm_yr"]


def trench_table(times) -> pd.DataFrame:
    """A trench along 75 W (35 S to 5 S, every 0.5 degrees) on plate 201; convergence fast in 20-30 Ma."""
    lats = np.arange(-35.0, -4.5, 0.5)
    time_ma, lat = np.repeat(times, lats.size), np.tile(lats, len(times))
    return pd.DataFrame({"time_ma": time_ma, "lon": -75.0, "lat": lat, "trench_plate_id": 201, "subducting_plate_id": 911,
                         "trench_normal_azimuth_deg": 90.0, "section_id": "GPlates-trench",
                         "convergence_rate_cm_yr": np.where((time_ma >= 20) & (time_ma <= 30), 8.0, 3.0)})


@pytest.fixture(scope="module")
def rotation_model(tmp_path_factory):
    rot = tmp_path_factory.mktemp("rot") / "slow.rot"
    rot.write_text("201 0.0 90.0 0.0 0.0 000 !t\n201 60.0 60.0 0.0 3.0 000 !t\n")
    return read_rotation_model(rot)


@pytest.fixture(scope="module")
def scores(rotation_model):
    model = LogisticRegression().fit([[3.0], [3.5], [7.5], [8.0]], [0, 0, 1, 1])
    candidates = margin_candidates(trench_table([0.0]), [201], spacing_deg=2.0, inland_offsets_deg=(1.0, 2.5))
    return candidates, score_through_time(candidates, trench_table(np.arange(0.0, 61.0, 5.0)), rotation_model,
                                          model, FEATURE, radii=(5, 10, 30))


def test_candidates_lie_inland_at_the_offsets():
    candidates = margin_candidates(trench_table([0.0]), [201], spacing_deg=2.0, inland_offsets_deg=(1.0, 2.5))
    assert len(candidates) == 2 * 16  # 30 degrees of trench at 2-degree spacing: 16 points, 2 offsets each
    assert candidates["candidate_id"].tolist() == list(range(32))
    offsets = great_circle_deg(candidates["lon"], candidates["lat"], candidates["trench_lon"], candidates["trench_lat"])
    np.testing.assert_allclose(offsets, candidates["inland_offset_deg"], atol=1e-9)
    assert (candidates["lon"] > -75.0).all()  # east: towards the overriding plate
    assert (candidates["plate_id"] == 201).all()
    np.testing.assert_allclose(np.diff(candidates["trench_lat"].unique()), 2.0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"kinematics": trench_table([0.0, 10.0])}, "holds 2 time steps"),
        ({"trench_plate_ids": [999]}, "no trench point on plate"),
        ({"spacing_deg": 0.0}, "use a positive spacing"),
        ({"inland_offsets_deg": ()}, "use a positive spacing"),
        ({"kinematics": trench_table([0.0]).drop(columns="trench_normal_azimuth_deg")}, "trench_normal_azimuth_deg"),
    ],
)
def test_margin_candidates_refuse_bad_input(change, match):
    args = {"kinematics": trench_table([0.0]), "trench_plate_ids": [201], "spacing_deg": 1.0, "inland_offsets_deg": (1.0,)}
    with pytest.raises(InputError, match=match):
        margin_candidates(**{**args, **change})


def test_probability_follows_the_kinematics_through_time(scores):
    candidates, table = scores
    assert len(table) == len(candidates) * 13
    assert list(table.columns[:7]) == ["time_ma", "candidate_id", "present_lon", "present_lat", "reconstructed_lon",
                                       "reconstructed_lat", "probability"]
    assert table["probability"].notna().all()
    by_time = table.groupby("time_ma")["probability"].mean()
    assert by_time.loc[[20.0, 25.0, 30.0]].min() > 0.9
    assert by_time.drop([20.0, 25.0, 30.0]).max() < 0.1
    at_zero = table[table["time_ma"] == 0.0]
    np.testing.assert_allclose(at_zero["reconstructed_lon"], at_zero["present_lon"], atol=1e-9)
    old = table[table["time_ma"] == 60.0]
    assert (great_circle_deg(old["present_lon"], old["present_lat"], old["reconstructed_lon"],
                             old["reconstructed_lat"]) > 0.5).all()


def test_scores_are_nan_where_a_candidate_cannot_be_placed(rotation_model):
    model = LogisticRegression().fit([[3.0], [8.0]], [0, 1])
    candidates = pd.DataFrame({"candidate_id": [0, 1], "lon": [-73.0, -73.0], "lat": [-10.0, -10.0],
                               "plate_id": [201, 555]})  # 555 has no rotation
    table = score_through_time(candidates, trench_table([0.0, 10.0]), rotation_model, model, FEATURE)
    assert table.loc[table["candidate_id"] == 0, "probability"].notna().all()
    assert table.loc[table["candidate_id"] == 1, "probability"].isna().all()
    with pytest.raises(InputError, match="lacks the model's feature"):
        score_through_time(candidates, trench_table([0.0]), rotation_model, model, ["seafloor_age_ma"])
    with pytest.raises(InputError, match=r"\['plate_id'\]"):
        score_through_time(candidates.drop(columns="plate_id"), trench_table([0.0]), rotation_model, model, FEATURE)


def test_window_summary_by_hand():
    table = pd.DataFrame({"time_ma": [0.0, 10.0, 20.0, 0.0, 10.0, 20.0], "candidate_id": [0, 0, 0, 1, 1, 1],
                          "present_lon": [1.0] * 3 + [2.0] * 3, "present_lat": [0.0] * 6,
                          "probability": [0.2, 0.6, 0.9, np.nan, 0.4, 0.1]})
    summary = window_summary(table, windows=[(0, 20), (20, 40)])
    first = summary[summary["window_start_ma"] == 0.0].set_index("candidate_id")
    assert first.loc[0, "max_probability"] == 0.6 and first.loc[0, "mean_probability"] == pytest.approx(0.4)
    assert first.loc[1, "max_probability"] == 0.4 and first.loc[1, "n_scored"] == 1
    second = summary[summary["window_start_ma"] == 20.0].set_index("candidate_id")  # half-open: 20 Ma here only
    assert second["max_probability"].tolist() == [0.9, 0.1]
    with pytest.raises(InputError, match="is empty"):
        window_summary(table, windows=[(20, 20)])


def test_window_points_write_to_a_geopackage(scores, tmp_path):
    _, table = scores
    summary = window_summary(table)
    path = write_vector(window_points(summary), tmp_path / "candidates.gpkg", layer="windows")
    back = gpd.read_file(path)
    assert len(back) == len(summary) and back.crs.to_epsg() == 4326
    np.testing.assert_allclose(back.geometry.x, summary["present_lon"])
    assert {"window_start_ma", "max_probability", "mean_probability"} <= set(back.columns)


def test_figures_and_animation(scores, tmp_path):
    _, table = scores
    paths = write_plate_model(tmp_path / "demo", np.random.default_rng(0))
    rotation_model = read_rotation_model(paths["rotations"])
    topologies = read_features(paths["topologies"], "topology", rotation_model)
    coastlines = read_features(paths["coastlines"], "coastline", rotation_model)
    frames = []
    for time_ma in (20.0, 25.0):
        fig = plot_time_slice(table[table["time_ma"] == time_ma], resolved_sections(topologies, rotation_model, time_ma),
                              reconstructed(coastlines, rotation_model, time_ma),
                              pd.DataFrame({"lon": [-70.0], "lat": [-20.0], "age_ma": [21.0]}), time_ma)
        ax = fig.axes[0]
        assert ax.get_title() == f"Porphyry prospectivity at {time_ma:g} Ma"
        assert "subduction zone" in [t.get_text() for t in ax.get_legend().get_texts()]
        assert fig.axes[1].get_ylabel() == "Probability of porphyry formation"
        frames.append(figure_rgb(fig))
    assert frames[0].shape[2] == 3 and frames[0].dtype == np.uint8

    summary = window_summary(table)
    fig = plot_window_map(summary, (20.0, 40.0), deposits=pd.DataFrame({"lon": [-72.0], "lat": [-9.0], "age_ma": [30.0]}))
    assert "20-40 Ma" in fig.axes[0].get_title() and "Maximum probability" in fig.axes[1].get_ylabel()

    metrics = pd.DataFrame([{"scheme": s, "model": "rf", **{f"{m}_{k}": v for m in ("accuracy", "roc_auc", "f1")
                                                           for k, v in (("mean", 0.8), ("sd", 0.05))}}
                            for s in ("shuffled_10fold", "leave_region_out", "leave_age_bin_out")])
    fig = plot_cv_comparison(metrics)
    assert fig.get_suptitle() and fig.axes[0].get_title() == "Model: rf"
    assert fig.axes[0].get_legend() is not None or fig.axes[-1].get_legend() is not None

    path = write_gif(frames, tmp_path / "through_time.gif", fps=4)
    with Image.open(path) as gif:
        assert gif.n_frames == 2 and gif.size == (frames[0].shape[1], frames[0].shape[0])
        assert gif.info["duration"] == 250
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize(
    ("frames", "fps", "match"),
    [
        ([], 2.0, "no frame"),
        ([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)], 2.0, "share one"),
        ([np.zeros((4, 4), np.uint8)], 2.0, "share one"),
        ([np.zeros((4, 4, 3), np.uint8)], 0.0, "fps = 0.0"),
    ],
)
def test_write_gif_refuses_bad_frames(tmp_path, frames, fps, match):
    with pytest.raises(InputError, match=match):
        write_gif(frames, tmp_path / "x.gif", fps=fps)


def test_write_video_pads_odd_frames_and_gives_the_same_bytes_twice(tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    frames = [np.full((33, 21, 3), 40 * i, np.uint8) for i in range(5)]
    first, second = (write_video(frames, tmp_path / name, fps=4).read_bytes() for name in ("a.mp4", "b.mp4"))
    assert first == second and first[4:8] == b"ftyp"
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "a.mp4"))
    meta = next(reader)
    assert meta["size"] == (22, 34) and meta["fps"] == 4 and sum(1 for _ in reader) == 5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
    with pytest.raises(InputError, match="no frame"):
        write_video([], tmp_path / "x.mp4")


def test_write_video_says_why_when_ffmpeg_does_not_run(tmp_path, monkeypatch):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    broken = tmp_path / "ffmpeg"
    broken.write_text("not a binary")
    broken.chmod(0o755)
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: str(broken))
    monkeypatch.setattr(imageio_ffmpeg._io, "get_ffmpeg_exe", lambda: str(broken))
    with pytest.raises(VideoUnavailable, match="ffmpeg"):
        write_video([np.zeros((4, 4, 3), np.uint8)], tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()


def test_only_the_overriding_side_of_a_trench_is_scored(rotation_model):
    """A grid over both plates: points oceanward of the trench (75 W, normal pointing east) stay unscored."""
    model = LogisticRegression().fit([[3.0], [3.5], [7.5], [8.0]], [0, 0, 1, 1])
    candidates = pd.DataFrame({"candidate_id": [0, 1], "lon": [-77.0, -73.0], "lat": [-20.0, -20.0], "plate_id": [201, 201]})
    table = score_through_time(candidates, trench_table([0.0]), rotation_model, model, FEATURE, radii=(5,),
                               overriding_only=True)
    assert np.isnan(table.loc[0, "probability"]) and np.isfinite(table.loc[1, "probability"])


def test_grid_candidates_cover_the_region_on_the_plates(tmp_path):
    paths = write_plate_model(tmp_path / "demo", np.random.default_rng(0))
    rotation_model = read_rotation_model(paths["rotations"])
    static = read_features(paths["static_polygons"], "static polygon", rotation_model)
    candidates = grid_candidates((-100.0, -40.0, -50.0, 0.0), 2.0, static, rotation_model)
    assert set(candidates["plate_id"]) <= {201, 911, 901} and len(candidates) > 100
    assert candidates["lon"].between(-100, -50).all() and np.allclose((candidates["lon"] + 99.0) % 2.0, 0.0)
    east = grid_candidates((-100.0, -40.0, -50.0, 0.0), 2.0, static, rotation_model, inside=lambda lon, lat: lon > -60.0)
    assert (east["lon"] > -60.0).all() and len(east) < len(candidates)
    with pytest.raises(InputError, match="no candidate point"):
        grid_candidates((100.0, 60.0, 110.0, 70.0), 2.0, static, rotation_model)
