"""Shared fixtures: one small demo region per session and a tiny-GeoTIFF writer.

Prefect state never leaks between runs: PREFECT_HOME (database, cached results) is a fresh temporary
folder, set here before anything imports prefect.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="geoprospect-test-prefect-")
atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], ignore_errors=True)
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

import numpy as np
import pytest
import rasterio
from affine import Affine

from geoprospect.demo import build_demo


@pytest.fixture(scope="session")
def harness():
    """One temporary Prefect server for the whole session. Defined once, here: a second harness in the
    same process would start a second server, and Prefect's events (task-run states) would be lost."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def demo_settings() -> dict:
    """The ``build_demo`` settings of :func:`demo_catalog`: a 4 km square on a 60 m grid."""
    return dict(seed=7, size_m=4000, resolution_m=60)


@pytest.fixture(scope="session")
def demo_catalog(tmp_path_factory, demo_settings) -> Path:
    """The catalog of a small demo region, built once per session (~5 s)."""
    return build_demo(tmp_path_factory.mktemp("demo"), **demo_settings)


def _write_tif(path: Path, array: np.ndarray, crs: str | None = "EPSG:32612",
               transform: Affine = Affine(30, 0, 500_000, 0, -30, 3_600_000),
               nodata: float | None = None, descriptions: list[str] | None = None, **profile) -> Path:
    """Write a (y, x) or (band, y, x) array as a GeoTIFF in its own dtype; returns ``path``."""
    data = array[None] if array.ndim == 2 else array
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                       dtype=data.dtype, crs=crs, transform=transform, nodata=nodata, **profile) as dst:
        dst.write(data)
        for i, name in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, name)
    return path


@pytest.fixture
def write_tif():
    """``write_tif(path, array, crs=..., transform=..., nodata=..., descriptions=[...])``."""
    return _write_tif


CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
NO_CHROMIUM = ("Debian's chromium is not installed (/usr/bin/chromium); .ci/run installs it: "
               "apt-get install chromium chromium-driver")
BROWSER_WINDOW = (1400, 1000)


@pytest.fixture
def browser(tmp_path):
    """Headless Debian Chromium driven by Selenium (the browser tests skip without it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # No GPU, no sandbox (root in CI), and none of Chromium's own network calls (the network is closed).
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={BROWSER_WINDOW[0]},{BROWSER_WINDOW[1]}"):
        options.add_argument(flag)
    # The driver is Debian's: Selenium must not try to download one.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()
