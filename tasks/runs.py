"""What the runs did: task-run states of a flow run and its subflows, read from the Prefect API."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId, TaskRunFilter, TaskRunFilterFlowRunId


async def _task_runs(flow_run_id: UUID) -> list:
    async with get_client() as client:
        ids, todo = [], [flow_run_id]
        while todo:  # the run and its subflows, depth first
            run_id = todo.pop()
            ids.append(run_id)
            children = await client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])))
            todo.extend(child.id for child in children)
        runs, offset = [], 0
        while True:
            page = await client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=ids)), limit=200, offset=offset)
            runs += page
            offset += len(page)
            if len(page) < 200:
                return runs


def task_run_states(flow_run_id: UUID, settle_s: float = 30.0) -> list[tuple[str, str]]:
    """``(task name, state name)`` of every task run of a flow run and its subflows (``Cached``,
    ``Completed``, ``Failed``...). Task names drop Prefect's run suffix (``align_raster-3f2`` -> ``align_raster``).

    The server records task-run states from events, a moment after they happen: read until every run
    is final and two reads agree (or ``settle_s`` passes).
    """
    previous: list[tuple[str, str]] = []
    deadline = time.monotonic() + settle_s
    while True:
        runs = asyncio.run(_task_runs(flow_run_id))
        states = sorted((run.name.rsplit("-", 1)[0], run.state_name) for run in runs)
        settled = all(run.state is not None and run.state.is_final() for run in runs)
        if (settled and states == previous) or time.monotonic() > deadline:
            return states
        previous = states
        time.sleep(0.5)
