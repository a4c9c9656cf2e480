"""The command line shared by the flows: one readable line for bad input (exit code 2), an I/O fault
that outlived its retries, or a run whose failed pipelines are shown on its run page (exit code 1).

The flow module is imported only after the arguments are read, so that ``--dask`` (which sets
``GEOPROSPECT_DASK``, see :mod:`flows.runners`) decides the task runner the flows are built with, and
so that a bad catalog fails in a second, before Prefect starts.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from contextlib import ExitStack

from flows.runners import DASK_ENV, LOCAL_CLUSTER
from geoprospect.errors import InputError
from geoprospect.io.catalog import read_catalog
from geoprospect.io.files import check_output_folder

DEMO_CATALOG = "data/catalogs/demo.yaml"


OUT_OF_MEMORY = ("out of memory. Fix: use a coarser grid.resolution_m or smaller grid.bounds in the catalog (and a lower "
                 "grid.max_cube_gb so that the catalog check catches it), or run on a machine with more memory")


class RunFailed(RuntimeError):
    """Pipelines of a run failed, and the message says where their errors are (the run page)."""


def run(flow_path: str, description: str) -> None:
    """Parse ``--catalog``/``--outputs``/``--dask``, check the catalog, then run ``module:flow``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--catalog", default=DEMO_CATALOG, help=f"study-area catalog (default: {DEMO_CATALOG}, the demo region)")
    parser.add_argument("--outputs", default="outputs", help="root folder of the outputs (default: outputs)")
    parser.add_argument("--dask", metavar="ADDRESS", default=os.environ.get(DASK_ENV),
                        help="run tasks and chunked raster work on a Dask cluster: a scheduler address "
                             "(tcp://host:8786) or 'local' for a LocalCluster of 2 workers; needs a Prefect "
                             "server (PREFECT_API_URL, see `make dashboard`)")
    args = parser.parse_args()
    try:
        read_catalog(args.catalog)  # fail in a second on a bad catalog, not after a server start
        check_output_folder(args.outputs)
        with ExitStack() as stack:
            if args.dask:
                os.environ[DASK_ENV] = _cluster_address(args.dask, stack)
            module, name = flow_path.split(":")
            flow = getattr(importlib.import_module(module), name)
            _one_line_for_bad_input()
            result = flow(catalog=args.catalog, outputs=args.outputs)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (OSError, RunFailed) as exc:  # an I/O fault after the retries, or failed pipelines of a run
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except MemoryError:
        print(f"error: {OUT_OF_MEMORY}", file=sys.stderr)
        sys.exit(1)
    print(result)


class _NoTracebackForBadInput(logging.Filter):
    """Bad input is the user's to fix, not a bug, and a failed run points to its run page: Prefect's
    console logs of them lose the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None and not isinstance(error, (InputError, RunFailed, MemoryError)):
            error = error.__cause__ or error.__context__
        if error is not None:
            record.exc_info = record.exc_text = None
        return True


def _one_line_for_bad_input() -> None:
    """Filter every console handler Prefect set up (the API handler keeps tracebacks for the UI)."""
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("prefect")]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is not logging.FileHandler and isinstance(handler, logging.StreamHandler):
                handler.addFilter(_NoTracebackForBadInput())


def _cluster_address(dask: str, stack: ExitStack) -> str:
    """The scheduler address to use; ``local`` starts one LocalCluster that every subflow shares."""
    if not os.environ.get("PREFECT_API_URL"):
        raise InputError("--dask", "Dask workers need a Prefect server to report their task runs to, and "
                         "PREFECT_API_URL is not set", "start one with `make dashboard` and export the "
                         "PREFECT_API_URL it prints, or run without --dask")
    if dask != "local":
        return dask
    from distributed import LocalCluster

    return stack.enter_context(LocalCluster(**LOCAL_CLUSTER)).scheduler_address
