"""The run page as a geologist sees it: headless Debian Chromium opens index.html, the kept prospectivity
map is drawn in the first screenful and the band quicklooks are folded away. The screenshot goes to
outputs/screenshots/run-page.png.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from geoprospect.io.reports import write_html
from geoprospect.pipelines.regenerate import PipelineOutcome, run_report
from tests.conftest import BROWSER_WINDOW as WINDOW
from tests.conftest import CHROMIUM, NO_CHROMIUM

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=NO_CHROMIUM)

KEY_MAP = "prospectivity/models/rf-none/map.png"


@pytest.fixture
def run_page(tmp_path):
    """A run page of six pipelines, as tasks/regenerate writes it, with real PNGs beside it."""
    area = tmp_path / "area"
    quicklooks = tuple(f"ingest/quicklooks/band_{i:02d}.png" for i in range(54))
    products = {"ingest": quicklooks + ("ingest/layers/magnetics_tmi.tif",),
                "prospectivity": (KEY_MAP, "prospectivity/models/rf-none/uncertainty.png", "prospectivity/models/rf-none/roc_pr.png",
                                  "prospectivity/metrics.csv"),
                "inversion": ("inversion/sections/ves/section.png",), "seismic": ("seismic/detections.png",),
                "lithology": ("lithology/rf/map.png",), "tectonics": ("tectonics/map.png",)}
    for files in products.values():
        for relative in files:
            (area / relative).parent.mkdir(parents=True, exist_ok=True)
            if relative.endswith(".png"):
                Image.new("RGB", (600, 450), (200, 60, 40)).save(area / relative)
    pipelines = [PipelineOutcome(name, "Completed", f"{name}/report.html", products=files) for name, files in products.items()]
    tasks = pd.DataFrame([{"flow": "ingest", "task": f"align_raster-{i}", "state": "Completed", "started": "t0",
                           "duration_s": 1.0 + i, "error": ""} for i in range(30)])
    inputs = pd.DataFrame([{"key": "rasters.magnetics_tmi", "file": "data/demo/rasters/magnetics_tmi.tif", "sha256": "0" * 16}])
    page = run_report("demo", "2026-12-07T12:00:00Z", "v1 (core abc)", "study_area: demo\n", inputs, pipelines, tasks,
                      stac="stac/catalog.json", qgis="demo.qgs")
    return write_html(page, area / "index.html")



def test_the_kept_prospectivity_map_is_in_the_first_screenful_and_quicklooks_are_folded(browser, run_page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(run_page.as_uri())
    key = browser.find_element(By.CSS_SELECTOR, f"img[src='{KEY_MAP}']")
    WebDriverWait(browser, 30).until(lambda _: browser.execute_script("return arguments[0].complete", key))
    assert browser.execute_script("return arguments[0].naturalWidth", key) == 600  # the PNG loaded
    top, bottom, height = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]", key)
    assert key.is_displayed() and 0 <= top < height, f"the key map starts at {top} px, below the first {height} px"
    assert bottom - top > 100  # drawn at a readable size, not a thumbnail
    quicklook = browser.find_element(By.CSS_SELECTOR, "img[src='ingest/quicklooks/band_00.png']")
    assert not quicklook.is_displayed()  # folded in a closed <details>
    summary = browser.find_element(By.XPATH, "//summary[contains(., 'quicklook of every ingested band')]")
    assert "(54)" in summary.text
    screenshots = ROOT / "outputs" / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(screenshots / "run-page.png"))
    summary.click()  # a click unfolds them
    assert quicklook.is_displayed()
