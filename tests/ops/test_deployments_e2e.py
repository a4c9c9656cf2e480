"""End to end, as `make dashboard` does it: a server on a free loopback port with a temporary
PREFECT_HOME, the work pool, every deployment of prefect.yaml, a deployment run by a ``--run-once``
worker, the cron runs the scheduler queued, the run's artifacts; all read back through the REST API.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import yaml

from ops.dashboard import (
    ROOT,
    api,
    ensure_work_pool,
    running,
    server_up,
    stop,
    worker_up,
)
from tests.ops.support import dashboard_logs, poll

pytestmark = pytest.mark.slow


def _deployments(dashboard) -> dict[str, dict]:
    return {d["name"]: d for d in api(dashboard, "POST", "/deployments/filter", {})}


def test_every_deployment_of_prefect_yaml_is_on_the_one_pool_with_a_cron_schedule(dashboard):
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployed = _deployments(dashboard)
    assert {"demo-ingest", "demo-prospectivity", "demo-regenerate"} <= set(deployed)
    assert {d["name"] for d in spec["deployments"]} == set(deployed)
    for wanted in spec["deployments"]:
        got = deployed[wanted["name"]]
        assert got["work_pool_name"] == dashboard.work_pool == "geoprospect-process"
        assert got["parameters"] == {"catalog": "data/catalogs/demo.yaml", "outputs": "outputs"}
        assert got["entrypoint"] == wanted["entrypoint"]
        # runs start in the project folder, whatever folder `prefect deploy` was called from
        assert got["pull_steps"] == [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
        schedules = [s["schedule"] for s in got["schedules"]]
        assert len(schedules) == 1 and schedules[0]["cron"] and schedules[0]["timezone"] == "UTC", schedules
        assert all(s["active"] for s in got["schedules"])


def test_up_again_reuses_the_server_and_the_pool(dashboard):
    pid = running(dashboard, "server")
    assert pid is not None
    assert server_up(dashboard) == pid
    assert ensure_work_pool(dashboard) is False


def test_the_triggered_ingest_deployment_run_completes(finished_run, dashboard):
    assert finished_run["state"]["type"] == "COMPLETED", f"{finished_run['state']}\n{dashboard_logs(dashboard)}"
    assert finished_run["deployment_id"] == _deployments(dashboard)["demo-ingest"]["id"]
    report = finished_run["outputs"] / "e2e" / "ingest" / "report.html"
    assert report.is_file() and report.stat().st_size > 1000


def test_the_scheduler_queues_the_nightly_regenerate_runs(dashboard):
    nightly = _deployments(dashboard)["demo-regenerate"]

    def queued():
        runs = api(dashboard, "POST", "/flow_runs/filter", {
            "flow_runs": {"deployment_id": {"any_": [nightly["id"]]}, "state": {"type": {"any_": ["SCHEDULED"]}}},
            "sort": "EXPECTED_START_TIME_ASC",
        })
        return runs if len(runs) >= 2 else None

    runs = poll(queued, 120, "two scheduled runs of demo-regenerate", dashboard)
    starts = [datetime.fromisoformat(r["expected_start_time"]) for r in runs]
    assert all(s.utcoffset() == timedelta(0) and (s.hour, s.minute, s.second) == (2, 0, 0) for s in starts), starts
    assert starts[1] - starts[0] == timedelta(days=1)  # nightly


def test_the_run_lists_its_map_preview_and_table_artifacts(finished_run, dashboard):
    artifacts = api(dashboard, "POST", "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [finished_run["id"]]}}})
    by_key = {a["key"]: a for a in artifacts}
    assert {"e2e-ingest-report", "e2e-ingest-table"} <= set(by_key), sorted(by_key)
    report = by_key["e2e-ingest-report"]
    assert report["type"] == "markdown" and report["description"] == "ingest report for e2e"
    assert "data:image/png;base64," in report["data"]  # the inline map preview
    assert by_key["e2e-ingest-table"]["type"] == "table"


def test_a_background_worker_starts_once_polls_the_pool_and_stops_cleanly(dashboard):
    pid = worker_up(dashboard)
    assert worker_up(dashboard) == pid  # idempotent: no second worker

    def online():
        workers = api(dashboard, "POST", f"/work_pools/{dashboard.work_pool}/workers/filter", {})
        return [w for w in workers if w["status"] == "ONLINE"]

    poll(online, 90, "the background worker reporting ONLINE", dashboard)
    assert stop(dashboard, "worker") is True
    assert running(dashboard, "worker") is None
    assert not (dashboard.run_dir / "worker.pid").exists()
    assert stop(dashboard, "worker") is False  # a second stop has nothing to do
