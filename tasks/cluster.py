"""Chunked raster work of a task that runs on a Dask worker goes to that worker's cluster."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def cluster_compute() -> Iterator[None]:
    """Within it, dask graphs computed by the core run on the cluster when the task runs on a Dask
    worker (``GEOPROSPECT_DASK``); on the thread-pool runner it changes nothing (local threads)."""
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        yield
        return
    from prefect_dask import get_dask_client

    with get_dask_client():
        yield
