"""What the runs did: task-run states of a flow run and its subflows, read from the Prefect API."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

import pandas as pd

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId, TaskRunFilter, TaskRunFilterFlowRunId


async def _task_runs(flow_run_id: UUID) -> tuple[list, dict[UUID, str]]:
    """Task runs of a flow run and its subflows, and the flow name of each flow run."""
    async with get_client() as client:
        flows, todo = {}, [await client.read_flow_run(flow_run_id)]
        while todo:  # the run and its subflows, depth first
            run = todo.pop()
            flows[run.id] = (await client.read_flow(run.flow_id)).name
            todo.extend(await client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run.id]))))
        runs, offset = [], 0
        while True:
            page = await client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=list(flows))), limit=200, offset=offset)
            runs += page
            offset += len(page)
            if len(page) < 200:
                return runs, flows


def _task_name(run) -> str:
    return run.name.rsplit("-", 1)[0]


def task_run_states(flow_run_id: UUID, settle_s: float = 30.0) -> list[tuple[str, str]]:
    """``(task name, state name)`` of every task run of a flow run and its subflows (``Cached``,
    ``Completed``, ``Failed``...). Task names drop Prefect's run suffix (``align_raster-3f2`` -> ``align_raster``).

    The server records task-run states from events, a moment after they happen (longer on a busy
    machine): read until some runs are recorded, every one is final, and three reads a second apart
    agree (or ``settle_s`` passes).
    """
    reads: list[list[tuple[str, str]]] = []
    deadline = time.monotonic() + settle_s
    while True:
        runs, _ = asyncio.run(_task_runs(flow_run_id))
        states = sorted((_task_name(run), run.state_name) for run in runs)
        settled = bool(runs) and all(run.state is not None and run.state.is_final() for run in runs)
        reads = reads[-2:] + [states] if settled else []
        if (len(reads) == 3 and reads[0] == reads[1] == reads[2]) or time.monotonic() > deadline:
            return states
        time.sleep(1.0)


def task_run_table(flow_run_id: UUID) -> pd.DataFrame:
    """One row per task run of a flow run and its subflows: ``flow``, ``task``, ``state``, ``started``
    (ISO time), ``duration_s`` (run time, 0 for cached runs) and ``error`` (the message of a failed run)."""
    runs, flows = asyncio.run(_task_runs(flow_run_id))
    rows = [{"flow": flows.get(run.flow_run_id, ""), "task": _task_name(run), "state": run.state_name or "",
             "started": run.start_time.isoformat(timespec="seconds") if run.start_time else "",
             "duration_s": round(run.total_run_time.total_seconds(), 2),
             "error": (run.state.message or "") if run.state is not None and run.state.is_failed() else ""} for run in runs]
    columns = ["flow", "task", "state", "started", "duration_s", "error"]
    return pd.DataFrame(rows, columns=columns).sort_values(["started", "flow", "task"], ignore_index=True)
