"""Scale-out: the flows on a Dask LocalCluster give the same products as on threads."""

import json
import os

import numpy as np
import pytest
import rasterio

from flows.runners import DASK_ENV, task_runner


def test_task_runner_follows_the_environment(monkeypatch):
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    monkeypatch.delenv(DASK_ENV, raising=False)
    assert isinstance(task_runner(3), ThreadPoolTaskRunner)
    monkeypatch.setenv(DASK_ENV, "local")
    assert isinstance(task_runner(3), DaskTaskRunner)
    monkeypatch.setenv(DASK_ENV, "tcp://10.0.0.1:8786")
    assert task_runner(3).address == "tcp://10.0.0.1:8786"


def test_cli_refuses_a_cluster_without_a_server(tmp_path, small_demo_catalog):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    done = subprocess.run([sys.executable, "-m", "flows.prospectivity", "--catalog", str(small_demo_catalog), "--dask", "local"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "PREFECT_API_URL" in done.stderr and "Traceback" not in done.stderr


def _products(report):
    from pathlib import Path

    folder = Path(report).parent
    metrics = json.loads((folder / "metrics.json").read_text())
    with rasterio.open(folder / "models" / "rf-none" / "probability.tif") as src:
        return metrics, src.read(1, masked=True)


@pytest.mark.slow
def test_prospectivity_on_a_local_cluster_equals_the_threaded_run(harness, small_demo_catalog, tmp_path, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    from flows.prospectivity import prospectivity

    catalog = tmp_path / "dask.yaml"
    demo = small_demo_catalog.parent / "demo"
    catalog.write_text(f"study_area: flowtest\ndemo: {{seed: 5, folder: {demo}, size_m: 4000, resolution_m: 60}}\n"
                       "prospectivity:\n  models: {rf: {model: rf, params: {n_estimators: 30}}}\n  imbalance: [none]\n"
                       "  n_folds: 3\n  background_samples: 400\n  map_sample: 2000\n")
    threaded = prospectivity(catalog=str(catalog), outputs=str(tmp_path / "threads"))
    # Worker processes inherit the environment: point them at the test server.
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    monkeypatch.setenv(DASK_ENV, "local")
    on_dask = prospectivity.with_options(task_runner=task_runner(2))(catalog=str(catalog), outputs=str(tmp_path / "dask"))

    (metrics_t, map_t), (metrics_d, map_d) = _products(threaded), _products(on_dask)
    assert metrics_d["models"] == metrics_t["models"] and metrics_d["training"] == metrics_t["training"]
    np.testing.assert_array_equal(map_d.mask, map_t.mask)
    np.testing.assert_allclose(map_d.filled(0), map_t.filled(0), rtol=0, atol=1e-6)
