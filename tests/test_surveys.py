"""Survey files: demo writer -> readers round trip, every reader check, the real files, quicklooks."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from shapely.geometry import LineString, Point

from geoprospect.demo.surveys import KAFTAN_SPHERE, write_surveys
from geoprospect.errors import InputError
from geoprospect.geophysics.sp import sp_anomaly
from geoprospect.geophysics.tem import central_loop_step_off
from geoprospect.geophysics.ves import schlumberger_rhoa
from geoprospect.io.surveys import read_point_survey, read_sidecar, read_sp_profile, read_tem, read_ves
from geoprospect.render.surveys import plot_sp_profile, plot_tem, plot_ves
from tests import REALDATA

CRS = "EPSG:32755"
BOUNDS = (500_000.0, 6_000_000.0, 510_000.0, 6_008_000.0)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_surveys(tmp_path_factory.mktemp("demo"), np.random.default_rng(7), CRS, BOUNDS)


def _inside(table):
    xmin, ymin, xmax, ymax = BOUNDS
    return table["x_m"].between(xmin, xmax).all() and table["y_m"].between(ymin, ymax).all()


# ------------------------------------------------------------------------------ round trip


def test_demo_writes_expected_files_deterministically(demo, tmp_path):
    assert {key: len(paths) for key, paths in demo.items()} == {"sp": 2, "ves": 6, "tem": 6}
    again = write_surveys(tmp_path, np.random.default_rng(7), CRS, BOUNDS)
    for key, paths in demo.items():
        for first, second in zip(paths, again[key]):
            assert first.read_bytes() == second.read_bytes()
            assert first.with_suffix(".json").read_bytes() == second.with_suffix(".json").read_bytes()


def test_demo_sp_profiles_read_back_and_match_truth(demo):
    kaftan = read_sp_profile(demo["sp"][0])
    assert len(kaftan) == 101 and kaftan["station_m"].iloc[[0, -1]].tolist() == [0.0, 150.0]
    assert _inside(kaftan)
    sidecar = read_sidecar(demo["sp"][0])
    assert sidecar["true_model"] == KAFTAN_SPHERE and sidecar["crs"] == CRS
    residual = kaftan["sp_mv"] - sp_anomaly(kaftan["station_m"], **KAFTAN_SPHERE)
    assert 2.0 < residual.std() < 4.5  # noise variance 10 mV^2
    cylinder = read_sp_profile(demo["sp"][1])
    truth = read_sidecar(demo["sp"][1])["true_model"]
    assert truth["q"] == 1.0 and _inside(cylinder)
    assert (cylinder["sp_mv"] - sp_anomaly(cylinder["station_m"], **truth)).std() < 3.0


def test_demo_soundings_read_back_and_match_truth(demo):
    for ves_path, tem_path in zip(demo["ves"], demo["tem"]):
        ves, tem = read_ves(ves_path), read_tem(tem_path)
        truth = read_sidecar(ves_path)["true_model"]
        assert read_sidecar(tem_path)["true_model"] == truth
        assert 3 <= len(truth["resistivities_ohm_m"]) <= 4 and _inside(ves) and _inside(tem)
        assert ves["ab2_m"].min() == 1.5 and ves["ab2_m"].max() == 300.0
        assert ves["ab2_m"].duplicated().sum() == 2  # two overlaps between three MN/2 segments
        model = (truth["resistivities_ohm_m"], truth["thicknesses_m"])
        ves_misfit = np.log(ves["rhoa_ohm_m"] / schlumberger_rhoa(ves["ab2_m"], *model, ves["mn2_m"]))
        assert 0.01 < ves_misfit.std() < 0.05
        sidecar = read_sidecar(tem_path)
        clean = central_loop_step_off(tem["time_s"], *model, sidecar["loop_radius_m"], sidecar["current_a"]).dbzdt_t_per_s
        assert 0.015 < np.log(tem["dbzdt_t_per_s"] / clean).std() < 0.06
        assert tem["loop_radius_m"].iloc[0] == sidecar["loop_radius_m"]


# ------------------------------------------------------------------------------ reader checks


def _write(tmp_path: Path, text: str, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _expect(reader, path: Path, message: str):
    with pytest.raises(InputError) as info:
        reader(path)
    assert path.name in str(info.value) and message in str(info.value)
    return info.value


VES_OK = "ab2_m,mn2_m,rhoa_ohm_m\n1.5,0.5,100\n3,0.5,90\n6,0.5,70\n"
TEM_OK = "time_s,dbzdt_t_per_s,loop_radius_m,current_a\n1e-5,-1e-6,25,5\n1e-4,-1e-8,25,5\n1e-3,-1e-10,25,5\n"


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("ab2_m,mn2_m,rhoa_ohm_m\n", "no data rows"),
    ('ab2_m,mn2_m,rhoa_ohm_m\n1.5,0.5,100\n3,0.5,90,7,8\n', "cannot be parsed"),
    ("ab2_m,rhoa_ohm_m\n1.5,100\n3,90\n", "missing column 'mn2_m'"),
    ("ab2_m,mn2_m,rhoa_ohm_m\n1.5,0.5,100\n3,0.5,\n", "missing values (NaN) in 'rhoa_ohm_m'"),
    ("ab2_m,mn2_m,rhoa_ohm_m\n1.5,0.5,100\n3,0.5,9O\n", "non-numeric values in 'rhoa_ohm_m'"),
    ("ab2_m,mn2_m,rhoa_ohm_m\n1.5,0.5,100\n3,0.5,-4\n", "non-positive apparent resistivity"),
    ("ab2_m,mn2_m,rhoa_ohm_m\n0,0.5,100\n3,0.5,90\n", "non-positive AB/2"),
    ("ab2_m,mn2_m,rhoa_ohm_m\n1.5,2,100\n3,2,90\n", "MN/2 negative or not below AB/2"),
    ("ab2_m,mn2_m,rhoa_ohm_m\n1.5,0.5,100\n6,0.5,90\n3,0.5,80\n", "AB/2 within one MN/2 segment not strictly increasing"),
    ("ab2_m,mn2_m,rhoa_ohm_m,rhoa\n1.5,0.5,100,100\n", "two columns give rhoa_ohm_m"),
])
def test_read_ves_rejects(tmp_path, text, message):
    _expect(read_ves, _write(tmp_path, text), message)


def test_read_ves_missing_and_corrupt_binary(tmp_path):
    _expect(read_ves, tmp_path / "absent.csv", "file not found")
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\x00\xff\xfe\x89PNG\x00\x01")
    _expect(read_ves, path, "cannot be parsed")


def test_read_ves_accepts_overlapping_segments_and_several_soundings(tmp_path):
    text = ("sounding_id,ab2_m,mn2_m,rhoa_ohm_m\nA,1.5,0.5,100\nA,3,0.5,90\nA,3,1,91\nA,6,1,70\n"
            "B,1.5,0.5,10\nB,3,0.5,20\n")
    table = read_ves(_write(tmp_path, text))
    assert table["sounding_id"].tolist() == list("AAAABB")
    assert read_ves(_write(tmp_path, VES_OK, "line_7.csv"))["sounding_id"].unique().tolist() == ["line_7"]


@pytest.mark.parametrize("text, message", [
    ("time_s,dbzdt_t_per_s,loop_radius_m\n1e-5,-1e-6,25\n", "missing column 'current_a'"),
    (TEM_OK.replace("1e-4,", "-1e-4,"), "non-positive gate time"),
    (TEM_OK.replace("1e-3,", "5e-5,"), "gate times time_s not strictly increasing"),
    (TEM_OK.replace("1e-3,", "1e-4,"), "gate times time_s not strictly increasing"),
    (TEM_OK.replace("-1e-8", ""), "missing values (NaN) in 'dbzdt_t_per_s'"),
    (TEM_OK.replace("-1e-10,25,5", "-1e-10,0,5"), "non-positive loop radius"),
    (TEM_OK.replace("-1e-10,25,5", "-1e-10,25,2"), "current changes within a sounding"),
])
def test_read_tem_rejects(tmp_path, text, message):
    _expect(read_tem, _write(tmp_path, text), message)


def test_read_tem_reads_several_soundings(tmp_path):
    rows = TEM_OK.splitlines()
    text = "sounding_id," + rows[0] + "\n" + "".join(f"{sid},{row}\n" for sid in "AB" for row in rows[1:])
    assert read_tem(_write(tmp_path, text)).groupby("sounding_id").size().tolist() == [3, 3]


@pytest.mark.parametrize("text, message", [
    ("station_m\n0\n5\n", "missing column 'sp_mv'"),
    ("station_m,sp_mv\n0,1\n5,\n", "missing values (NaN) in 'sp_mv'"),
    ("station_m,sp_mv\n0,1\n5,2\n5,3\n", "station distances station_m not strictly increasing"),
    ("station_m,sp_mv,x_m\n0,1,abc\n5,2,3\n", "non-numeric values in 'x_m'"),
])
def test_read_sp_profile_rejects(tmp_path, text, message):
    _expect(read_sp_profile, _write(tmp_path, text), message)


def test_read_sidecar_rejects_missing_and_invalid(tmp_path):
    _expect(read_sidecar, tmp_path / "nothing.json", "sidecar not found")
    _expect(read_sidecar, _write(tmp_path, "{not json", "broken.json"), "not valid JSON")


# ------------------------------------------------------------------------------ point surveys


def test_read_point_survey_csv(tmp_path):
    gdf = read_point_survey(_write(tmp_path, "lon,lat,cu_ppm\n120.5,-27.5,12\n121,-27.9,30\n"), columns=["cu_ppm"])
    assert gdf.crs.to_epsg() == 4326 and set(gdf.geom_type) == {"Point"} and gdf["cu_ppm"].dtype == float
    gdf = read_point_survey(_write(tmp_path, "x_m,y_m,au_ppb\n500000,6000000,3\n500100,6000100,4\n"), crs=CRS)
    assert gdf.crs.to_epsg() == 32755 and gdf.geometry.x.tolist() == [500000.0, 500100.0]


@pytest.mark.parametrize("text, kwargs, message", [
    ("x,y,cu\n1,2,3\n", {}, "no CRS"),
    ("a,b,cu\n1,2,3\n", {}, "no coordinate columns"),
    ("lon,lat,cu\n200,10,3\n", {}, "longitude/latitude out of range"),
    ("lon,lat,cu\n20,,3\n", {}, "missing values (NaN) in 'lat'"),
    ("lon,lat,cu\n20,10,3\n", {"columns": ["zn"]}, "column 'zn' not found"),
    ("lon,lat,cu\n20,10,<5\n", {"columns": ["cu"]}, "non-numeric values in 'cu'"),
    ("lon,lat,cu\n20,10,\n21,10,4\n", {"columns": ["cu"]}, "missing values (NaN) in 'cu'"),
])
def test_read_point_survey_csv_rejects(tmp_path, text, kwargs, message):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=None) as info:
        read_point_survey(path, **kwargs)
    assert path.name in str(info.value) and message in str(info.value)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_read_point_survey_vector_checks(tmp_path):
    lines = gpd.GeoDataFrame({"cu": [1.0]}, geometry=[LineString([(0, 0), (1, 1)])], crs=CRS)
    lines.to_file(tmp_path / "lines.gpkg")
    _expect(read_point_survey, tmp_path / "lines.gpkg", "expected point geometries")
    points = gpd.GeoDataFrame({"cu": [1.0, 2.0]}, geometry=[Point(0, 0), Point(1, 1)])
    points.to_file(tmp_path / "no_crs.shp")
    _expect(read_point_survey, tmp_path / "no_crs.shp", "no CRS")
    assert read_point_survey(tmp_path / "no_crs.shp", crs=CRS).crs.to_epsg() == 32755
    points.set_crs(CRS).to_file(tmp_path / "utm.gpkg")
    with pytest.raises(InputError, match="utm.gpkg.*differs"):
        read_point_survey(tmp_path / "utm.gpkg", crs="EPSG:4326")
    (tmp_path / "corrupt.gpkg").write_bytes(b"SQLite format 3\x00 truncated")
    _expect(read_point_survey, tmp_path / "corrupt.gpkg", "cannot be read as a vector file")
    points.iloc[:0].set_crs(CRS).to_file(tmp_path / "empty.gpkg")
    _expect(read_point_survey, tmp_path / "empty.gpkg", "no features")
    with_null = gpd.GeoDataFrame({"cu": [1.0, 2.0]}, geometry=[Point(0, 0), None], crs=CRS)
    with_null.to_file(tmp_path / "null.gpkg")
    _expect(read_point_survey, tmp_path / "null.gpkg", "features without geometry")


# ------------------------------------------------------------------------------ real files

MYANMAR = sorted((REALDATA / "myanmar_ves").glob("*.csv"))


@pytest.mark.realdata
@pytest.mark.skipif(not MYANMAR, reason="../shared/realdata is absent")
@pytest.mark.parametrize("path", MYANMAR, ids=lambda p: p.stem)
def test_real_myanmar_soundings_read(path):
    raw = pd.read_csv(path)
    table = read_ves(path)
    assert len(table) == len(raw)
    np.testing.assert_array_equal(table["ab2_m"], raw["AB/2 (m)"])
    np.testing.assert_array_equal(table["rhoa_ohm_m"], raw["App. Res. (Ohm m)"])
    assert table["sounding_id"].unique().tolist() == [path.stem]
    assert "K" in table.columns  # field columns kept
    assert plot_ves(table).axes[0].get_xscale() == "log"


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "sirsam_geochem").exists(), reason="../shared/realdata is absent")
def test_real_sirsam_points_read():
    gdf = read_point_survey(REALDATA / "sirsam_geochem" / "geochem_sites.shp", columns=["K_ppm_imp"])
    assert len(gdf) == 1026 and gdf.crs.to_epsg() == 4283
    assert gdf.geometry.x.between(119.5, 122).all() and gdf.geometry.y.between(-28.5, -26.5).all()


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "lapland_till").exists(), reason="../shared/realdata is absent")
def test_real_lapland_points_read():
    path = REALDATA / "lapland_till" / "IOCG_CLB_Till_Geochem_reg_511p.gpkg"
    gdf = read_point_survey(path, columns=["Cu_ppm_511", "Ni_ppm_511"], crs="EPSG:3067")
    assert len(gdf) == 1112 and gdf.crs.to_epsg() == 3067 and (gdf["Cu_ppm_511"] >= 0).all()
    # Cu_511P_T holds detection-limit flags ("<"), not numbers: asking for it must fail loudly.
    _expect(lambda p: read_point_survey(p, columns=["Cu_511P_T"]), path, "non-numeric values in 'Cu_511P_T'")


# ------------------------------------------------------------------------------ quicklooks


def test_quicklooks(demo):
    sp = pd.concat([read_sp_profile(p) for p in demo["sp"]])
    ves = pd.concat([read_ves(p) for p in demo["ves"]])
    tem = pd.concat([read_tem(p) for p in demo["tem"]])
    for fig, n_legend, xscale in ((plot_sp_profile(sp), 2, "linear"), (plot_ves(ves), 6, "log"), (plot_tem(tem), 6, "log")):
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        assert ax.get_title() and "(" in ax.get_xlabel() and "(" in ax.get_ylabel()
        assert len(ax.get_legend().get_texts()) == n_legend and ax.get_xscale() == xscale
    assert (plot_tem(tem).axes[0].get_lines()[0].get_ydata() > 0).all()
