"""The dashboard as a person sees it: headless Debian Chromium opens the finished run's page, its
Artifacts tab lists the map preview, and the preview renders. Screenshots go to outputs/screenshots/.
"""

from __future__ import annotations

import pytest

from ops.dashboard import ROOT
from tests.conftest import CHROMIUM, NO_CHROMIUM
from tests.ops.support import dashboard_logs

SCREENSHOTS = ROOT / "outputs" / "screenshots"
WAIT_S = 120  # the Artifacts tab took 20-70 s to fill on a loaded 2-core machine

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=NO_CHROMIUM)]



def test_the_run_page_shows_the_map_preview_artifact(browser, dashboard, finished_run):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    assert finished_run["state"]["type"] == "COMPLETED", dashboard_logs(dashboard)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, WAIT_S)
    browser.get(f"{dashboard.url}/runs/flow-run/{finished_run['id']}")
    wait.until(ready.title_contains(finished_run["name"]))  # the page has loaded this run
    # The UI drops ?tab= until the run has loaded: click the tab as a person would.
    wait.until(ready.element_to_be_clickable((By.XPATH, "//li[contains(@class, 'p-tab')][normalize-space()='Artifacts']"))).click()
    card = wait.until(ready.visibility_of_element_located(  # an artifact card links to the artifact's page
        (By.XPATH, "//a[.//*[contains(@class, 'artifact-card__title')][normalize-space()='e2e-ingest-report']]")))
    assert "ingest report for e2e" in card.text and "MARKDOWN" in card.text.upper()
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
    browser.save_screenshot(str(SCREENSHOTS / "flow-run-artifacts.png"))

    card.click()  # the artifact's own page renders its markdown: the heading and the inline map preview
    wait.until(ready.url_contains("/artifacts/artifact/"))
    preview = wait.until(ready.visibility_of_element_located((By.CSS_SELECTOR, "img[src^='data:image/png;base64,']")))
    wait.until(lambda _: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", preview))
    assert preview.get_attribute("alt") in {"geology", "true_probability"}
    assert browser.execute_script("return arguments[0].naturalWidth", preview) > 200
    assert "ingest: e2e" in browser.find_element(By.TAG_NAME, "body").text
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", preview)
    browser.save_screenshot(str(SCREENSHOTS / "ingest-map-preview.png"))
