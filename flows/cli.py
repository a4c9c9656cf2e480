"""The command line shared by the flows: one readable line for bad input (exit code 2), an I/O fault
that outlived its retries, a run whose failed pipelines are shown on its run page, or an unexpected
error whose traceback is appended to ``outputs/<area>/errors.log`` (exit code 1).

Each flow module calls :func:`main` at its top, before it imports Prefect: the catalog is read and a
bad one refused in about a second. Only then are Prefect and the flow imported (after ``--dask``, which
sets ``GEOPROSPECT_DASK``, see :mod:`flows.runners`, has decided the task runner). Without
``PREFECT_API_URL`` Prefect runs a temporary server for the run; it is started here with its output sent
to ``$PREFECT_HOME/temporary-server.log``, so that its shutdown never prints to the console. With
``PREFECT_API_URL`` set (``make dashboard``) no server is started and the run shows on the dashboard.
A command that would redo its last successful run exactly (same code, catalog, inputs and outputs, see
:mod:`geoprospect.io.runstamp`) prints that run's summary without starting Prefect; ``--force`` runs it.

On a terminal the run shows progress bars (:mod:`geoprospect.progress`) instead of Prefect's log lines,
library warnings are dropped and each of the project's own warnings is one line; the run ends with a
table of what it wrote.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
import traceback
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path

from flows.runners import DASK_ENV, LOCAL_CLUSTER
from geoprospect import progress
from geoprospect.errors import InputError
from geoprospect.io.catalog import read_catalog
from geoprospect.io.files import check_output_folder
from geoprospect.io.runstamp import forget_stamp, unchanged_run, write_stamp

DEMO_CATALOG = "data/catalogs/demo.yaml"
ROOT = Path(__file__).resolve().parents[1]


STARTUP_TIMEOUT_ENV = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"  # the user's choice wins
SERVER_START_TIMEOUT_S = 180

OUT_OF_MEMORY = ("out of memory. Fix: use a coarser grid.resolution_m or smaller grid.bounds in the catalog (and a lower "
                 "grid.max_cube_gb so that the catalog check catches it), or run on a machine with more memory")


class RunFailed(RuntimeError):
    """Pipelines of a run failed, and the message says where their errors are (the run page)."""


def main(flow_path: str, description: str) -> None:
    """Run ``module:flow`` from the command line and exit (see :func:`run`)."""
    try:
        run(flow_path, description)
    finally:
        _quiet_shutdown()
    sys.exit(0)


def _quiet_shutdown() -> None:
    """Once the run's outcome is printed, what Prefect's exit handlers print (a stopped server's
    tracebacks, logs that could not be sent) goes to ``$PREFECT_HOME/shutdown.log``, not the console."""
    if "prefect" not in sys.modules:
        return
    from prefect.settings import PREFECT_HOME

    logging.disable(logging.CRITICAL)
    sys.stdout.flush(), sys.stderr.flush()
    home = Path(PREFECT_HOME.value())
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "shutdown.log", "a")  # left open: written until the process ends
    os.dup2(log.fileno(), 2)
    sys.stderr = log


def run(flow_path: str, description: str) -> None:
    """Parse ``--catalog``/``--outputs``/``--dask``, check the catalog, then run ``module:flow``."""
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--catalog", default=DEMO_CATALOG, help=f"study-area catalog (default: {DEMO_CATALOG}, the small demo)")
    parser.add_argument("--outputs", default="outputs", help="root folder of the outputs (default: outputs)")
    parser.add_argument("--dask", metavar="ADDRESS", default=os.environ.get(DASK_ENV),
                        help="run tasks and chunked raster work on a Dask cluster: a scheduler address "
                             "(tcp://host:8786) or 'local' for a LocalCluster of 2 workers; needs a Prefect "
                             "server (PREFECT_API_URL, see `make dashboard`)")
    parser.add_argument("--force", action="store_true",
                        help="run under Prefect even when nothing changed since the last successful run of this command")
    args = parser.parse_args()
    started = time.monotonic()
    area = Path(args.outputs)
    try:
        catalog = read_catalog(args.catalog)  # fail in a second on a bad catalog, before Prefect is imported
        if catalog.demo is None:  # and on one that lacks this pipeline's inputs (a demo catalog's are built by the flow)
            catalog.require(flow_path.rsplit(":", 1)[-1])
        area = Path(args.outputs) / catalog.study_area
        check_output_folder(args.outputs)
        if not (args.force or args.dask):
            stamp = unchanged_run(flow_path, args.catalog, args.outputs)
            if stamp is not None:  # same code, catalog, inputs and outputs: the run would only rewrite them
                print(f"Nothing changed since the run that finished at {stamp['finished']} (code, catalog, inputs and "
                      "outputs are the same); --force reruns it under Prefect.")
                print_summary(stamp["result"], time.monotonic() - started)
                return
        forget_stamp(flow_path, args.catalog, args.outputs)
        with ExitStack() as stack:
            if args.dask:
                os.environ[DASK_ENV] = _cluster_address(args.dask, stack)
            console = stack.enter_context(progress.terminal())
            stack.enter_context(one_line_per_warning(console))
            starting = "starting Prefect" + ("" if os.environ.get("PREFECT_API_URL") else " and its temporary server")
            progress.advance(starting, step=0)
            _quiet_temporary_server()
            module, name = flow_path.split(":")
            flow = getattr(importlib.import_module(module), name)
            progress.finish(starting)
            _one_line_per_error(quiet=console is not None)
            result = flow(catalog=args.catalog, outputs=args.outputs)
        write_stamp(flow_path, args.catalog, args.outputs, result)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except (OSError, RunFailed) as exc:  # an I/O fault after the retries, or failed pipelines of a run
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except MemoryError:
        print(f"error: {OUT_OF_MEMORY}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # a bug, or an input nothing checks yet: one line here, the traceback in a file
        print(f"error: {unexpected_error(exc, area / ERROR_LOG, flow_path)}", file=sys.stderr)
        sys.exit(1)
    print_summary(result, time.monotonic() - started)


ERROR_LOG = "errors.log"


def unexpected_error(exc: BaseException, log: Path, flow_path: str) -> str:
    """Append ``exc``'s traceback to ``log`` and return the one line that points to it."""
    text = "".join(traceback.format_exception(exc))
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as out:
            out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {flow_path}\n{text}\n")
        where = f"the full traceback is in {_relative(log)}"
    except OSError:  # the outputs folder is what failed: the console is left
        print(text, file=sys.stderr)
        where = "the full traceback is above"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"the run stopped on an unexpected {type(exc).__name__}{': ' + first if first else ''}. This is a bug, or an "
            f"input geoprospect does not check yet; {where}: please report it with that traceback.")


def print_summary(result, seconds: float) -> None:
    """What the run wrote, as a short table (the run page last), and how long it took."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not isinstance(result, dict):
        console.print(f"done in {seconds:.0f} s: {result}", soft_wrap=True)
        return
    table = Table(title=f"Done in {_duration(seconds)}", title_justify="left", show_edge=False)
    table.add_column("product")
    table.add_column("report", overflow="fold")
    for name, path in result.items():
        if name != "run":
            table.add_row(name, _relative(path))
    console.print(table)
    if "run" in result:
        console.print(f"Run page: {_relative(result['run'])}", soft_wrap=True)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds // 60:.0f} min {seconds % 60:.0f} s"


def _relative(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class _NoTraceback(logging.Filter):
    """Prefect's console logs of a failed task or flow lose the traceback: bad input is the user's to fix,
    a failed run points to its run page, and an unexpected error's traceback goes to ``errors.log``
    (:func:`unexpected_error`). Prefect's API handler keeps them for the dashboard."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = record.exc_text = None
        return True


class _PipelineBars(logging.Handler):
    """Turns Prefect's run logs into progress bars: one per flow (pipeline), advanced by its finished tasks."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.flows: list[str] = []  # the running flow and the subflows it waits on

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name == "prefect.flow_runs" and message.startswith("Beginning") and " for flow '" in message:
            self.flows.append(message.rsplit(" for flow '", 1)[1].rstrip("'"))
            progress.advance(self.flows[-1], step=0)
        elif record.name == "prefect.flow_runs" and message.startswith("Finished in state") and self.flows:
            progress.finish(self.flows.pop())
        elif record.name == "prefect.task_runs" and message.startswith("Finished in state") and self.flows:
            task = getattr(record, "task_run_name", "").rsplit("-", 1)[0]
            progress.advance(self.flows[-1], status=f"{task} done" if task else None)


def _one_line_per_error(quiet: bool = False) -> None:
    """Filter every console handler Prefect set up (the API handler keeps tracebacks for the UI); ``quiet``
    (progress bars on): the console shows warnings and errors only, the bars show the rest."""
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("prefect")]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler) is not logging.FileHandler and isinstance(handler, logging.StreamHandler):
                handler.addFilter(_NoTraceback())
                if quiet:
                    handler.setLevel(max(handler.level, logging.WARNING))
    if quiet:
        bars = _PipelineBars()
        for name in ("prefect.flow_runs", "prefect.task_runs"):
            logging.getLogger(name).addHandler(bars)


# Warnings the project raises for the user (dropped data, gaps, coverage) come from its own code; the
# libraries' (deprecations, convergence notes, RuntimeWarnings of NaN arithmetic) are theirs to fix.
_OWN = tuple(str(ROOT / folder) for folder in ("geoprospect", "tasks", "flows"))


@contextmanager
def one_line_per_warning(console):
    """Show each of the project's own warnings once, as one line; drop library warnings."""
    seen: set[str] = set()
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        own = category.__module__.startswith("geoprospect") or str(filename).startswith(_OWN)
        text = f"warning: {str(message).splitlines()[0] if str(message) else category.__name__}"
        if own and text not in seen:
            seen.add(text)
            (console.print(text, style="yellow", soft_wrap=True, markup=False, highlight=False) if console is not None
             else print(text, file=sys.stderr))

    warnings.showwarning = show
    logging.captureWarnings(False)
    try:
        yield
    finally:
        warnings.showwarning = previous


def _quiet_temporary_server() -> None:
    """Start Prefect's temporary server (when no PREFECT_API_URL names one) with its output in a log file:
    its shutdown at exit prints tracebacks that are no concern of the user's."""
    if os.environ.get("PREFECT_API_URL") or os.environ.get(DASK_ENV):
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value())
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "temporary-server.log", "ab") as log:
        saved = os.dup(1), os.dup(2)
        sys.stdout.flush(), sys.stderr.flush()
        os.dup2(log.fileno(), 1), os.dup2(log.fileno(), 2)  # the server process inherits these
        try:
            server = SubprocessASGIServer()  # the instance Prefect's clients use; stopped at exit
            # Prefect waits 20 s by default; on this shared 2-core machine under a load of 14 the start took 20-28 s
            server.start(timeout=None if STARTUP_TIMEOUT_ENV in os.environ else SERVER_START_TIMEOUT_S)
        finally:
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
            os.close(saved[0]), os.close(saved[1])
        log.write(f"Starting temporary server on {server.address}\n".encode())  # where it listens (loopback)


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
