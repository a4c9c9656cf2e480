"""Where a flow's tasks run: threads on this machine, or the workers of a Dask cluster.

Set ``GEOPROSPECT_DASK`` to a scheduler address (``tcp://host:8786``) or to ``local`` (a LocalCluster of
two single-threaded worker processes) before the flows are imported: the command line's ``--dask`` and
a deployment's ``job_variables.env`` both do. Dask workers report their task runs to the Prefect
server named by ``PREFECT_API_URL``, so a cluster needs a running server (``make dashboard``).
"""

from __future__ import annotations

import os

DASK_ENV = "GEOPROSPECT_DASK"
LOCAL_CLUSTER = dict(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)


def task_runner(threads: int):
    """A thread pool of ``threads`` workers, or a Dask task runner when ``GEOPROSPECT_DASK`` is set."""
    from prefect.task_runners import ThreadPoolTaskRunner

    address = os.environ.get(DASK_ENV, "").strip()
    if not address:
        return ThreadPoolTaskRunner(max_workers=threads)
    from prefect_dask import DaskTaskRunner

    if address == "local":
        return DaskTaskRunner(cluster_kwargs=LOCAL_CLUSTER)
    return DaskTaskRunner(address=address)
