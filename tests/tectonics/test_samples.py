"""Training samples: positives at deposit ages, negatives at deposit locations at other times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoprospect.errors import InputError
from geoprospect.io.plates import read_rotation_model
from geoprospect.tectonics.coregister import great_circle_deg
from geoprospect.tectonics.samples import (
    FEATURES,
    deposit_points,
    feature_columns,
    margin_samples,
    region_ids,
    training_samples,
)

RADII = (5.0, 10.0, 30.0)


@pytest.fixture(scope="module")
def rotation_model(tmp_path_factory):
    # plate 201 rotates slowly about a far pole; deposits stay within a few degrees of the trench
    rot = tmp_path_factory.mktemp("rot") / "slow.rot"
    rot.write_text("201 0.0 90.0 0.0 0.0 000 !t\n201 80.0 10.0 100.0 4.0 000 !t\n")
    return read_rotation_model(rot)


def kinematics_table(seafloor_age=np.nan) -> pd.DataFrame:
    """A trench along 75 W from 40 S to the equator at 0-60 Ma (1 Myr steps); every feature higher
    (fast convergence) in 20-30 Ma."""
    times, lats = np.arange(0.0, 61.0), np.arange(-40.0, 0.5, 1.0)
    time_ma, lat = np.repeat(times, lats.size), np.tile(lats, len(times))
    fast = (time_ma >= 20.0) & (time_ma <= 30.0)
    table = pd.DataFrame({"time_ma": time_ma, "lon": -75.0, "lat": lat, "trench_plate_id": 201,
                          "subducting_plate_id": 911, "section_id": 0, "arc_length_km": 111.0,
                          "trench_normal_azimuth_deg": 90.0})
    features = {f: np.where(fast, 8.0, 3.0) + k + lat / 100.0 for k, f in enumerate(FEATURES)}
    table = pd.concat([table, pd.DataFrame(features)], axis=1)
    table["seafloor_age_ma"] = seafloor_age
    table["subduction_volume_rate_km3_yr"] = np.nan
    return table


def deposits_table() -> pd.DataFrame:
    return pd.DataFrame({
        "deposit_id": [1, 2, 3, 4, 5, 6, 7],
        "lon": [-72.0, -72.5, -71.8, -72.0, -72.2, -72.0, -72.0],
        "lat": [-10.0, -11.0, -25.0, -26.0, -35.0, -5.0, -30.0],
        "age_ma": [22.0, 27.0, 25.0, 40.0, 28.0, np.nan, 150.0],
    })


def test_positives_and_negatives(rotation_model):
    deposits = deposits_table()
    samples, report = training_samples(deposits, kinematics_table(), np.full(7, 201), rotation_model, RADII,
                                       np.random.default_rng(0))
    positives = samples[samples["label"] == 1]
    assert positives["deposit_id"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(positives["time_ma"], [22.0, 27.0, 25.0, 40.0, 28.0])
    assert (positives["source"] == "deposit").all() and (positives["kinematics_time_ma"] == positives["time_ma"]).all()
    # the deposit moved with its plate: its reconstructed position differs from the present one
    assert (great_circle_deg(positives["present_lon"], positives["present_lat"],
                             positives["reconstructed_lon"], positives["reconstructed_lat"]) > 0.1).all()
    negatives = samples[samples["label"] == 0]
    assert (negatives["source"] == "deposit_location").all()
    assert sorted(negatives["deposit_id"]) == [1, 2, 3, 4, 5, 7]  # every dated location, even one older than the model
    reasons = dict(zip(report["deposit_id"], report["reason"]))
    assert reasons[6] == "no age" and "outside the kinematics time range 0-60 Ma" in reasons[7]
    # columns: groups, features (all-NaN optional ones dropped), bookkeeping
    assert list(samples.columns[:3]) == ["label", "region", "age_bin"]
    assert feature_columns(samples) == [f for f in FEATURES if f not in ("seafloor_age_ma", "subduction_volume_rate_km3_yr")]
    assert "seafloor_age_ma" not in samples.columns
    assert np.isfinite(samples[feature_columns(samples)].to_numpy()).all()
    np.testing.assert_array_equal(samples["age_bin"], np.floor(samples["time_ma"] / 10.0) * 10.0)
    np.testing.assert_array_equal(samples["region"], region_ids(samples["present_lon"], samples["present_lat"], 10.0))


def test_negatives_keep_away_from_nearby_deposit_ages(rotation_model):
    rng = np.random.default_rng(5)
    n = 30
    deposits = pd.DataFrame({"deposit_id": np.arange(n), "lon": rng.uniform(-73.0, -71.0, n),
                             "lat": rng.uniform(-38.0, -2.0, n), "age_ma": np.round(rng.uniform(0.0, 60.0, n), 1)})
    samples, report = training_samples(deposits, kinematics_table(), np.full(n, 201), rotation_model, RADII, rng,
                                       min_gap_myr=6.0, region_radius_deg=3.0)
    negatives = samples[samples["label"] == 0]
    assert len(negatives) > n / 2
    near = great_circle_deg(negatives["present_lon"].to_numpy()[:, None], negatives["present_lat"].to_numpy()[:, None],
                            deposits["lon"].to_numpy()[None, :], deposits["lat"].to_numpy()[None, :]) <= 3.0
    gaps = np.abs(negatives["time_ma"].to_numpy()[:, None] - deposits["age_ma"].to_numpy()[None, :])
    assert near.sum() > 2 * len(negatives)  # neighbours other than the location's own deposit constrain the times
    assert gaps[near].min() >= 6.0
    assert np.isin(negatives["time_ma"], np.arange(0.0, 61.0)).all()  # on kinematics time steps
    crowded = report["source"] == "deposit_location"
    assert (report.loc[crowded, "reason"].str.contains("no kinematics time step at least 6 Myr")).all()
    assert len(negatives) + crowded.sum() == n


def test_samples_are_deterministic_given_the_generator(rotation_model):
    args = (deposits_table(), kinematics_table(), np.full(7, 201), rotation_model, RADII)
    first, _ = training_samples(*args, np.random.default_rng(3))
    again, _ = training_samples(*args, np.random.default_rng(3))
    pd.testing.assert_frame_equal(first, again)


def test_barren_samples_and_partly_missing_features(rotation_model):
    kinematics = kinematics_table(seafloor_age=30.0)
    kinematics.loc[kinematics["time_ma"] == 40.0, "seafloor_age_ma"] = np.nan
    barren = pd.DataFrame({"lon": [-72.0, -72.0], "lat": [-20.0, -21.0], "age_ma": [5.0, 55.0], "plate_id": [201, 201]})
    samples, report = training_samples(deposits_table(), kinematics, np.full(7, 201), rotation_model, RADII,
                                       np.random.default_rng(0), barren=barren)
    assert "seafloor_age_ma" in feature_columns(samples) and "subduction_volume_rate_km3_yr" not in samples.columns
    assert 4 not in samples.loc[samples["label"] == 1, "deposit_id"].tolist()  # its age, 40 Ma, lacks seafloor age
    assert "missing kinematic value(s): seafloor_age_ma" in report.loc[report["deposit_id"] == 4, "reason"].tolist()
    barren_rows = samples[samples["source"] == "barren"]
    assert barren_rows["label"].tolist() == [0, 0] and barren_rows["time_ma"].tolist() == [5.0, 55.0]


def test_deposit_points_from_a_read_table():
    import geopandas as gpd

    table = gpd.GeoDataFrame({"DepositID": [7], "age_ma": [12.5]}, geometry=gpd.points_from_xy([-70.0], [-20.0]),
                             crs="EPSG:4326")
    points = deposit_points(table)
    assert points.to_dict("records") == [{"deposit_id": 7, "lon": -70.0, "lat": -20.0, "age_ma": 12.5}]
    with pytest.raises(InputError, match="no column 'ID'"):
        deposit_points(table, id_column="ID")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"deposits": deposits_table().drop(columns="age_ma")}, r"missing column\(s\) \['age_ma'\]"),
        ({"plate_ids": np.full(3, 201)}, "3 plate ids for 7 deposits"),
        ({"min_gap_myr": 0.0}, "min_gap_myr = 0.0 must be a positive number"),
        ({"region_size_deg": np.nan}, "region_size_deg"),
        ({"kinematics": kinematics_table().iloc[:0]}, "no trench point"),
        ({"barren": pd.DataFrame({"lon": [-72.0], "lat": [-20.0], "age_ma": [5.0]})}, r"\['plate_id'\]"),
        ({"barren": pd.DataFrame({"lon": [-72.0], "lat": [-20.0], "age_ma": [np.nan], "plate_id": [201]})},
         "no age_ma"),
        ({"deposits": deposits_table().assign(lon=-140.0)}, "0 positive and 0 negative samples"),
    ],
)
def test_training_samples_refuse_bad_input(rotation_model, change, match):
    args = {"deposits": deposits_table(), "kinematics": kinematics_table(), "plate_ids": np.full(7, 201),
                "rotation_model": rotation_model, "radii": RADII, "rng": np.random.default_rng(0)}
    with pytest.raises(InputError, match=match):
        training_samples(**{**args, **change})


def test_time_matched_negatives_share_the_positives_times_elsewhere_on_the_margin(rotation_model):
    """Negatives at exactly the positives' time steps, away from the deposits; PU's unlabelled points
    may lie anywhere on the margin at those times; both carry the margin position for the location control."""
    samples, _ = training_samples(deposits_table(), kinematics_table(), np.full(7, 201), rotation_model, RADII,
                                  np.random.default_rng(0))
    positives = samples[samples["label"] == 1]
    assert np.isfinite(positives[["margin_lon", "margin_lat", "margin_x", "margin_y", "margin_z"]].to_numpy()).all()
    # the trench point moved back with the overriding plate lies near the present trench (75 W)
    assert np.abs(positives["margin_lon"] + 75.0).max() < 2.0
    negatives = margin_samples(positives, kinematics_table(), rotation_model, np.random.default_rng(1),
                               per_positive=2, exclusion_deg=3.0)
    assert len(negatives) == 2 * len(positives) and (negatives["source"] == "time_matched").all()
    assert sorted(negatives["time_ma"]) == sorted(np.repeat(positives["kinematics_time_ma"].to_numpy(), 2))
    assert list(negatives.columns[:3]) == ["label", "region", "age_bin"] and (negatives["label"] == 0).all()
    assert feature_columns(negatives) == feature_columns(positives)
    for _, row in negatives.iterrows():
        same_time = positives[(positives["time_ma"] - row["time_ma"]).abs() < 10.0]
        assert great_circle_deg(row["margin_lon"], row["margin_lat"], same_time["margin_lon"], same_time["margin_lat"]).min() > 3.0
    unlabelled = margin_samples(positives, kinematics_table(), rotation_model, np.random.default_rng(1),
                                per_positive=3, exclusion_deg=0.0, source="unlabelled")
    assert len(unlabelled) == 3 * len(positives) and (unlabelled["source"] == "unlabelled").all()
    with pytest.raises(InputError, match="per_positive"):
        margin_samples(positives, kinematics_table(), rotation_model, np.random.default_rng(1), per_positive=0)


def test_margin_samples_skip_trench_points_with_a_missing_feature(rotation_model):
    """A trench point off the age grid (NaN seafloor age) cannot be a time-matched negative: the CV would
    refuse the whole design for one non-finite value."""
    kinematics = kinematics_table()
    samples, _ = training_samples(deposits_table(), kinematics, np.full(7, 201), rotation_model, RADII, np.random.default_rng(0))
    positives = samples[samples["label"] == 1]
    feature = feature_columns(positives)[0]
    holed = kinematics.assign(**{feature: np.where(np.arange(len(kinematics)) % 2 == 0, np.nan, kinematics[feature])})
    negatives = margin_samples(positives, holed, rotation_model, np.random.default_rng(1), per_positive=1, exclusion_deg=0.0)
    assert len(negatives) and np.isfinite(negatives[feature_columns(negatives)].to_numpy(float)).all()


def test_positives_alone_when_the_caller_brings_its_own_negatives(rotation_model):
    # every kinematics step within min_gap_myr of a nearby deposit's age: no same-location negative
    deposits = deposits_table().iloc[:3].assign(age_ma=[5.0, 6.0, 7.0])
    kinematics = kinematics_table().query("time_ma <= 10")
    args = (deposits, kinematics, np.full(3, 201), rotation_model, RADII, np.random.default_rng(0))
    with pytest.raises(InputError, match="3 positive and 0 negative samples"):
        training_samples(*args, min_gap_myr=20.0)
    samples, _ = training_samples(*args, min_gap_myr=20.0, require_negatives=False)
    assert (samples["label"] == 1).sum() == 3 and (samples["label"] == 0).sum() == 0


def test_the_mapped_design_is_the_first_one_scored():
    from geoprospect.pipelines.tectonics import mapped_design

    metrics = pd.DataFrame([
        {"design": "same_location", "kind": "kinematics", "model": "all", "roc_auc_mean": np.nan},
        {"design": "time_matched", "kind": "control", "model": "time_only", "roc_auc_mean": 0.5},
        {"design": "time_matched", "kind": "kinematics", "model": "rf", "roc_auc_mean": 0.7},
    ])
    assert mapped_design(metrics, ["same_location", "time_matched"]) == "time_matched"
    assert mapped_design(metrics, ["time_matched", "same_location"]) == "time_matched"
    assert mapped_design(metrics.iloc[:1], ["same_location", "pu"]) == "same_location"  # best_model then says why
