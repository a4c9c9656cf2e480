"""One line per real problem: scikit-learn's `delayed` warnings silenced even after a worker resets the
warning filters, a repeated GDAL message logged once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import logging, warnings
import geoprospect.models, geoprospect.io.rasters
warnings.resetwarnings()  # what a concurrent scikit-learn worker does to the global filter list
import joblib
from sklearn.utils.parallel import delayed
joblib.Parallel(n_jobs=1)(delayed(abs)(i) for i in range(5))
logging.basicConfig()
for _ in range(3):
    logging.getLogger("rasterio._env").warning("CPLE_AppDefined in The definition of projected CRS EPSG:3067 got from GeoTIFF keys")
warnings.warn("a real problem")
"""


def test_noise_is_filtered_and_real_warnings_pass():
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "sklearn.utils.parallel.delayed" not in done.stderr
    assert done.stderr.count("GeoTIFF keys") == 1 and "a real problem" in done.stderr
