"""One dashboard per test session: server, work pool, deployments, one finished deployment run.

The end-to-end and browser tests share it, so the server starts once (~10-35 s), the deploy runs once
(~20 s) and the demo ingest runs once on a 3 km region (~40-70 s). Everything lives in a temporary
PREFECT_HOME on a free loopback port and is stopped when the session ends.
"""

from __future__ import annotations

import pytest

from ops.dashboard import (
    Dashboard,
    api,
    deploy_all,
    down,
    ensure_work_pool,
    prefect,
    running,
    server_up,
    worker_args,
)
from tests.ops.support import dashboard_logs, free_port, poll

E2E_QUEUE = "e2e"
FINAL_STATES = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory):
    """A running server with the pool and every deployment of prefect.yaml; stopped at the end."""
    home = tmp_path_factory.mktemp("dashboard-home")
    board = Dashboard(home=home, port=free_port(), extra_env={
        # SQLite in the temporary home even where a PostgreSQL URL is set for real use.
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        # The scheduler looks for due schedules every 5 s instead of 60 s.
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
    })
    try:
        server_up(board)
        ensure_work_pool(board)
        deploy_all(board)
    except Exception:
        print(dashboard_logs(board))
        down(board)
        raise
    yield board
    stopped = down(board)
    assert stopped["server"], f"the server had died before the end of the session\n{dashboard_logs(board)}"
    assert not list(board.run_dir.glob("*.pid")), "pid files left behind"
    assert running(board, "server") is None and running(board, "worker") is None


@pytest.fixture(scope="session")
def finished_run(dashboard, tmp_path_factory) -> dict:
    """The demo-ingest deployment run on a 3 km demo region by a ``--run-once`` worker.

    The run goes to a queue of its own, so that the worker cannot pick a cron run that happens to be
    due. Returns the flow run (REST JSON) with ``outputs`` (its output folder) added.
    """
    folder = tmp_path_factory.mktemp("e2e-region")
    catalog = folder / "demo.yaml"
    catalog.write_text(f"study_area: e2e\ndemo: {{seed: 3, folder: {folder / 'demo'}, size_m: 3000, resolution_m: 100}}\n")
    outputs = folder / "outputs"
    deployment = api(dashboard, "GET", "/deployments/name/ingest/demo-ingest")
    run = api(dashboard, "POST", f"/deployments/{deployment['id']}/create_flow_run", {
        "parameters": {"catalog": str(catalog), "outputs": str(outputs)},
        "work_queue_name": E2E_QUEUE,
    })
    try:
        prefect(dashboard, worker_args(dashboard, work_queue=E2E_QUEUE, run_once=True), "worker-once", timeout_s=420)
    except RuntimeError:
        print(dashboard_logs(dashboard))
        raise

    def final():
        state = api(dashboard, "GET", f"/flow_runs/{run['id']}")
        return state if state["state"]["type"] in FINAL_STATES else None

    return {**poll(final, 60, f"flow run {run['id']} reaching a final state", dashboard), "outputs": outputs}
