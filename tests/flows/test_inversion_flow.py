"""The inversion flow under Prefect: studies, sections and SP sources on the small demo region."""

import pytest
import rasterio

from geoprospect.io.tables import read_csv


@pytest.mark.slow
def test_inversion_flow_writes_tables_sections_and_report(harness, small_demo_catalog, tmp_path):
    from flows.inversion import inversion

    demo = small_demo_catalog.parent / "demo"
    catalog = tmp_path / "inversion.yaml"
    catalog.write_text(f"study_area: invtest\ndemo: {{seed: 5, folder: {demo}, size_m: 4000, resolution_m: 60}}\n"
                       "inversion: {study_size: tiny, n_layers: 3, depth_max_m: 200}\n")
    report = inversion(catalog=str(catalog), outputs=str(tmp_path / "out"))
    folder = tmp_path / "out" / "invtest" / "inversion"
    for study in ("sp", "ves", "tem"):
        table = read_csv(folder / "studies" / study / "table.csv")
        assert len(table) > 0 and (folder / "studies" / study / "table.png").exists() is False  # tables are CSV
        assert any(p.suffix == ".png" for p in (folder / "studies" / study).iterdir())
    for method in ("ves", "tem"):
        stations = read_csv(folder / "sections" / method / "stations.csv")
        assert len(stations) == 6 and stations["rms_percent"].notna().all()
        with rasterio.open(folder / "sections" / method / "section.tif") as src:
            assert src.read(1).shape[0] == 100  # depth cells: depth_max_m / (depth_max_m / 100)
    sources = read_csv(folder / "sp" / "sp_sources.csv")
    assert set(sources["file"]) == {"sp_profile_01.csv", "sp_profile_02.csv"}
    sphere = sources[sources["file"] == "sp_profile_01.csv"].iloc[0]
    assert abs(sphere["x0_m"] - 77.07) < 5 and abs(sphere["depth_m"] - 41.81) / 41.81 < 0.2  # the Kaftan sphere, noisy
    page = (folder / "report.html").read_text()
    assert report.endswith("report.html") and "sections/ves/section.png" in page and "Bargain" in page or "bargain" in page
