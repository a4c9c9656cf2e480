"""Dated deposit tables: coordinates, ages from numbers or text ranges, encodings, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from geoprospect.demo.plates import write_plate_model
from geoprospect.errors import InputError
from geoprospect.io.deposits import parse_age_text, read_deposit_table
from tests import REALDATA

HEADER = "NameDeposit,LatitudeDecimal,LongitudeDecimal,AgeMY,Deposit Age\n"


def _csv(tmp_path, rows, name="deposits.csv", header=HEADER, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes((header + "".join(r + "\n" for r in rows)).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", (12.0, 12.0)),
        ("5-7", (5.0, 7.0)),
        ("6–5", (5.0, 6.0)),
        ("8.02±0.14 to 6.75±0.09", (6.75, 8.02)),
        ("40 - 38 Ma", (38.0, 40.0)),
        ("Eocene", None),
        ("Miocene?", None),
        ("n.d.", None),
        (float("nan"), None),
    ],
)
def test_parse_age_text(text, expected):
    assert parse_age_text(text) == expected


def test_ages_from_numbers_and_ranges(tmp_path):
    path = _csv(tmp_path, [
        "A,-20.5,-69.1,5.5,6–5",
        "B,-21,-69,,5-7",
        "C,-22,-69,,Eocene",
        "D,-23,-69,12,30-20",  # a logged range that does not bracket the number is not kept
        "E,-24,-69,-3,",
    ])
    deposits, report = read_deposit_table(path)
    assert list(deposits["NameDeposit"]) == ["A", "B", "C", "D", "E"]
    np.testing.assert_allclose(deposits["age_ma"], [5.5, 6.0, np.nan, 12.0, np.nan])
    np.testing.assert_allclose(deposits["age_min_ma"], [5.0, 5.0, np.nan, 12.0, np.nan])
    np.testing.assert_allclose(deposits["age_max_ma"], [6.0, 7.0, np.nan, 12.0, np.nan])
    assert list(deposits["age_source"]) == ["AgeMY", "Deposit Age", "none", "AgeMY", "none"]
    assert deposits.crs.to_epsg() == 4326
    assert deposits.geometry.x.tolist() == [-69.1, -69, -69, -69, -69]
    assert list(report["NameDeposit"]) == ["C", "E"] and not report["skipped"].any()
    assert "'Eocene'" in report["reason"][0] and "age -3 Ma outside" in report["reason"][1]
    assert list(report["row_number"]) == [3, 5]


def test_a_zero_age_the_text_does_not_confirm_is_no_age(tmp_path):
    # PorCuEX2008 gives AgeMY 0 for undated deposits ('n.d.', 'Archean'): read as present-day they
    # were a quarter of the Andean positives of the tectonics flow
    path = _csv(tmp_path, ["A,-20,-69,0,n.d.", "B,-21,-69,0,Archean", "C,-22,-69,0,0-1", "D,-23,-69,0,", "E,-24,-69,0,2-4"])
    deposits, report = read_deposit_table(path)
    np.testing.assert_allclose(deposits["age_ma"], [np.nan, np.nan, 0.0, np.nan, 3.0])
    assert list(deposits["age_source"]) == ["none", "none", "AgeMY", "none", "Deposit Age"]
    assert list(report["NameDeposit"]) == ["A", "B", "D"]
    assert "AgeMY 0 read as the table's placeholder for no age" in report["reason"][0]
    # without a text column a 0 cannot be told from a real age and is kept
    bare = _csv(tmp_path, ["A,-20,-69,0"], name="bare.csv", header="NameDeposit,LatitudeDecimal,LongitudeDecimal,AgeMY\n")
    assert read_deposit_table(bare, age_text_column=None)[0]["age_ma"].tolist() == [0.0]


def test_rows_with_bad_coordinates_are_skipped_and_reported(tmp_path):
    path = _csv(tmp_path, [
        "ok,-20,-69,10,10",
        "no coordinates,,,10,10",
        "north of the pole,95,-69,10,10",
        "beyond the dateline,-20,200,10,10",
        "degrees and letters,20S,-69,10,10",
    ])
    deposits, report = read_deposit_table(path)
    assert list(deposits["NameDeposit"]) == ["ok"]
    assert report["skipped"].all()
    assert list(report["reason"]) == [
        "missing coordinates",
        "LatitudeDecimal outside [-90, 90] degrees",
        "LongitudeDecimal outside [-180, 180] degrees",
        "LatitudeDecimal/LongitudeDecimal not a number",
    ]


def test_latin1_and_other_columns(tmp_path):
    path = _csv(tmp_path, ["Pe\u00f1a Blanca,-20,-69,10,10"], encoding="latin-1")
    deposits, _ = read_deposit_table(path)
    assert deposits["NameDeposit"][0] == "Pe\u00f1a Blanca"
    path = _csv(tmp_path, ["Cerro,-20,-69"], name="undated.csv", header="name,lat,lon\n")
    deposits, report = read_deposit_table(path, lon_column="lon", lat_column="lat", age_column=None, age_text_column=None)
    assert len(deposits) == 1 and report.empty


@pytest.mark.parametrize(
    ("header", "rows", "kwargs", "expected"),
    [
        ("", [], {}, "the file is empty"),
        ("a,b\n", ["1,2", "3,4,5,6"], {}, "cannot be parsed as CSV"),
        (HEADER, ["Pe\u00f1a,-20,-69,10,10"], {"encoding": "ascii"}, "cannot be decoded as ascii"),
        ("name,lat,lon\n", ["a,1,2"], {}, r"missing coordinate column\(s\) \['LongitudeDecimal', 'LatitudeDecimal'\]"),
        ("NameDeposit,LatitudeDecimal,LongitudeDecimal\n", ["a,1,2"], {}, r"missing age column\(s\) \['AgeMY', 'Deposit Age'\]"),
        (HEADER, [",,,5,5", "b,x,y,5,5"], {}, "no row has valid coordinates"),
        (HEADER, [], {}, "no data rows"),
    ],
)
def test_bad_tables(tmp_path, header, rows, kwargs, expected):
    path = _csv(tmp_path, rows, name="bad_table.csv", header=header)
    with pytest.raises(InputError, match=expected) as error:
        read_deposit_table(path, **kwargs)
    assert "bad_table.csv" in str(error.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nowhere\.csv: file not found"):
        read_deposit_table(tmp_path / "nowhere.csv")


def test_demo_deposit_table(tmp_path):
    paths = write_plate_model(tmp_path, np.random.default_rng(5))
    deposits, report = read_deposit_table(paths["deposits"])
    assert len(deposits) == 48 and not report["skipped"].any()
    counts = deposits["age_source"].value_counts().to_dict()
    assert counts == {"AgeMY": 43, "Deposit Age": 2, "none": 3}
    from_text = deposits[deposits["age_source"] == "Deposit Age"]
    np.testing.assert_allclose(from_text["age_max_ma"] - from_text["age_min_ma"], 2.0)
    assert set(report["row_number"]) == set(deposits.loc[deposits["age_source"] == "none", "row_number"])
    assert deposits["age_ma"].max() < 100.0


@pytest.mark.realdata
def test_usgs_porphyry_table():
    deposits, report = read_deposit_table(REALDATA / "porphyry_usgs" / "PorCuEX2008.csv")
    # counted by hand with pandas: 690 rows, all with coordinates; AgeMY filled in 630, of which 54 are
    # 0 for undated deposits (45 'n.d.', 9 period names such as 'Archean'); of the 60 without AgeMY,
    # none gives a numeric range in 'Deposit Age' (50 'n.d.', 2 empty, 8 period names)
    assert len(deposits) == 690
    assert deposits["age_ma"].notna().sum() == 576
    assert (deposits["age_source"] == "AgeMY").sum() == 576 and (deposits["age_ma"].dropna() > 0).all()
    assert len(report) == 114 and not report["skipped"].any()
    assert (report["Deposit Age"] == "n.d.").sum() == 95
    agua_rica = deposits[deposits["NameDeposit"].str.strip() == "Agua  Rica"].iloc[0]
    assert (agua_rica["age_ma"], agua_rica["age_min_ma"], agua_rica["age_max_ma"]) == (5.5, 5.0, 6.0)
    alumbrera = deposits[deposits["NameDeposit"].str.startswith("Bajo  de  la  Alumbrera")].iloc[0]
    assert (alumbrera["age_min_ma"], alumbrera["age_max_ma"]) == (6.75, 8.02)
    assert deposits.geometry.y.between(-90, 90).all() and deposits.crs.to_epsg() == 4326
