"""Work of a task that runs on a Dask worker goes to that worker's cluster."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def cluster_compute() -> Iterator[object | None]:
    """Within it, dask graphs computed by the core run on the cluster when the task runs on a Dask
    worker (``GEOPROSPECT_DASK``), and it yields that cluster's ``distributed.Client`` (for an executor);
    on the thread-pool runner it yields None and changes nothing (local threads)."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        yield None
        return
    from prefect_dask import get_dask_client

    with get_dask_client() as client:
        yield client
