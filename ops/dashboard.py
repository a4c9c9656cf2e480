"""The local Prefect dashboard in one command: server, work pool, deployments and a worker.

    python -m ops.dashboard up [--port 4200]    # make dashboard [PORT=4200]
    python -m ops.dashboard down                # make dashboard-stop
    python -m ops.dashboard status              # make dashboard-status

``up`` starts ``prefect server start`` on 127.0.0.1 in the background (SQLite at
``$PREFECT_HOME/prefect.db``; the PostgreSQL database of ``PREFECT_SERVER_DATABASE_CONNECTION_URL`` when
that is set, passed through untouched), waits for ``/api/health``, creates the process work pool that
``prefect.yaml`` names (once), runs ``prefect --no-prompt deploy --all`` and starts a worker. Process ids
and logs go to ``$PREFECT_HOME/run/``. Running ``up`` again reuses the server and worker that run and
redeploys (a deploy is an upsert). ``down`` stops the worker, then the server: SIGTERM to the process
group, a bounded wait, SIGKILL if it is still there; it removes the pid files.

The Prefect CLI does the work in its own processes; this module only sequences them, so it imports
neither prefect nor the flows.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from geoprospect.io.files import atomic_path

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL_VARIABLE = "PREFECT_SERVER_DATABASE_CONNECTION_URL"

_PREFECT = [sys.executable, "-m", "prefect"]  # the CLI of this interpreter's environment
# Loopback requests must not go through an HTTP proxy set in the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Processes started by this interpreter, kept so that they are reaped (an exited child must not look
# alive as a zombie) and not garbage-collected while they run.
_CHILDREN: dict[int, subprocess.Popen] = {}


@dataclass(frozen=True)
class Dashboard:
    """One local dashboard: the project it deploys, its PREFECT_HOME and its loopback port.

    Parameters
    ----------
    project : Path
        Folder holding ``prefect.yaml`` and the flows it names; deployments run from there.
    home : Path
        PREFECT_HOME of the server, the deploy and the worker (database, cached results); pids and
        logs go to ``home / "run"``.
    port : int
        TCP port of the server on ``host``.
    host : str
        Address the server binds to: loopback, so that the dashboard is not exposed to the network.
    extra_env : dict of str to str
        Prefect settings added to every process's environment (tests shorten the scheduler loop).
    """

    project: Path = ROOT
    home: Path = ROOT / ".prefect"
    port: int = 4200
    host: str = "127.0.0.1"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The dashboard's address."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The REST API's address (``PREFECT_API_URL``)."""
        return f"{self.url}/api"

    @property
    def run_dir(self) -> Path:
        """Where pid files and logs go."""
        return self.home / "run"

    @property
    def work_pool(self) -> str:
        """The one work pool the deployments of ``prefect.yaml`` use (anchors resolved)."""
        spec = yaml.safe_load((self.project / "prefect.yaml").read_text())
        pools = {deployment["work_pool"]["name"] for deployment in spec.get("deployments") or []}
        if len(pools) != 1:
            raise RuntimeError(f"{self.project / 'prefect.yaml'}: the deployments use work pools {sorted(pools)}; "
                               "the dashboard runs one worker, so they must all use the same one.")
        return pools.pop()

    def schedules(self) -> list[str]:
        """One line per deployment of ``prefect.yaml``: its name and each schedule in words, with the cron text.

        Prefect's deployments list draws a schedule as a tag in a column 15 % of the window wide and
        collapses a tag that does not fit into "+1" (the weekly ones, at usual window widths); these
        lines say on the terminal what runs when.
        """
        spec = yaml.safe_load((self.project / "prefect.yaml").read_text())
        lines = []
        for deployment in spec.get("deployments") or []:
            texts = [f"{describe_cron(s['cron'])} ({s.get('timezone') or 'UTC'}) [{s['cron']}]"
                     for s in deployment.get("schedules") or [] if "cron" in s]
            lines.append(f"{deployment['name']}: {'; '.join(texts) or 'no schedule (run on demand)'}")
        return lines

    def env(self) -> dict[str, str]:
        """The environment of every Prefect process this module starts."""
        return {
            **os.environ,
            **self.extra_env,
            "PREFECT_HOME": str(self.home),
            # The CLI, the worker, its flow runs and the UI in the browser all talk to this server
            # (the UI would otherwise call the default port whatever --port says).
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_API_HOST": self.host,
            "PREFECT_SERVER_API_PORT": str(self.port),
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            # prefect.yaml's pull step resolves {{ $PWD }} when deploying: the folder runs start in.
            "PWD": str(self.project),
        }


def describe_cron(cron: str) -> str:
    """A cron expression in words, 24-hour clock (cron-descriptor): ``0 4 * * 1`` -> "At 04:00, only on Monday"."""
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    return ExpressionDescriptor(cron, options).get_description()


def api(dashboard: Dashboard, method: str, path: str, body: Any = None, timeout_s: float = 30.0) -> Any:
    """Call the server's REST API (``path`` after ``/api``); returns the decoded JSON answer.

    Raises ``urllib.error.HTTPError`` on an error status.
    """
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(dashboard.api_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with _OPENER.open(request, timeout=timeout_s) as response:
        payload = response.read()
    return json.loads(payload) if payload else None


def healthy(dashboard: Dashboard) -> bool:
    """Whether the server answers ``/api/health``."""
    try:
        return api(dashboard, "GET", "/health", timeout_s=5) is True
    except (OSError, ValueError):
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that there is none."""
    if not path.is_file():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def server_up(dashboard: Dashboard, timeout_s: float = 180.0) -> int:
    """Start the server in the background unless it runs; wait until healthy. Returns its pid.

    Raises RuntimeError if the port is held by a process this module did not start, or if the server
    exits or stays unhealthy for ``timeout_s`` seconds (the message ends with its log).
    """
    pid = running(dashboard, "server")
    if pid is None:
        if _port_taken(dashboard.host, dashboard.port):
            raise RuntimeError(f"{dashboard.host}:{dashboard.port} is taken by a process that `make dashboard` did not "
                               "start. Fix: stop it, or choose another port: make dashboard PORT=4300.")
        pid = _start(dashboard, "server", ["server", "start", "--host", dashboard.host, "--port", str(dashboard.port)],
                     address=dashboard.url)
    else:
        address = _read_pid_file(dashboard.run_dir / "server.pid")[1]
        if address != dashboard.url:
            raise RuntimeError(f"a dashboard of this PREFECT_HOME already runs at {address}. "
                               "Fix: use it, or stop it first: make dashboard-stop.")
    deadline = time.monotonic() + timeout_s
    while not healthy(dashboard):
        if not _alive(pid, "server"):
            raise RuntimeError(f"the Prefect server exited while starting; {dashboard.run_dir / 'server.log'} ends "
                               f"with:\n{log_tail(dashboard.run_dir / 'server.log')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Prefect server did not answer {dashboard.api_url}/health within {timeout_s:.0f} s "
                               f"(it still runs: make dashboard-stop); {dashboard.run_dir / 'server.log'} ends with:\n"
                               f"{log_tail(dashboard.run_dir / 'server.log')}")
        time.sleep(0.5)
    return pid


def ensure_work_pool(dashboard: Dashboard, timeout_s: float = 120.0) -> bool:
    """Create the process work pool of ``prefect.yaml`` unless it exists. Returns whether it was created."""
    name = dashboard.work_pool
    try:
        api(dashboard, "GET", f"/work_pools/{urllib.parse.quote(name)}")
        return False
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
    prefect(dashboard, ["work-pool", "create", name, "--type", "process"], "work-pool", timeout_s)
    return True


def deploy_all(dashboard: Dashboard, timeout_s: float = 300.0) -> None:
    """``prefect --no-prompt deploy --all`` from the project folder (imports every flow: ~20 s)."""
    prefect(dashboard, ["--no-prompt", "deploy", "--all"], "deploy", timeout_s)


def worker_args(dashboard: Dashboard, work_queue: str | None = None, run_once: bool = False) -> list[str]:
    """``prefect`` arguments of a process worker on the dashboard's pool (optionally one queue, one poll)."""
    args = ["worker", "start", "--pool", dashboard.work_pool]
    if work_queue:
        args += ["--work-queue", work_queue]
    return args + (["--run-once"] if run_once else [])


def worker_up(dashboard: Dashboard) -> int:
    """Start a worker in the background unless one runs. Returns its pid."""
    pid = running(dashboard, "worker")
    if pid is None:
        pid = _start(dashboard, "worker", worker_args(dashboard), address=dashboard.work_pool)
    return pid


def up(dashboard: Dashboard) -> str:
    """Server, work pool, deployments, worker; idempotent. Returns the dashboard's URL."""
    database = dashboard.env().get(DATABASE_URL_VARIABLE)
    where = (f"the database of {DATABASE_URL_VARIABLE} ({database.split(':', 1)[0]})" if database
             else f"SQLite at {dashboard.home / 'prefect.db'}")
    pid = server_up(dashboard)
    print(f"server: {dashboard.url} (pid {pid}), {where}", flush=True)
    if ensure_work_pool(dashboard):
        print(f"work pool: created {dashboard.work_pool}", flush=True)
    print("deploying every deployment of prefect.yaml ...", flush=True)
    deploy_all(dashboard)
    worker_up(dashboard)
    print(f"worker: polling {dashboard.work_pool}; pids and logs in {dashboard.run_dir}", flush=True)
    print("schedules:\n  " + "\n  ".join(dashboard.schedules()), flush=True)
    return dashboard.url


def stop(dashboard: Dashboard, role: str, timeout_s: float = 20.0) -> bool:
    """Stop the background ``role`` ("server" or "worker") and remove its pid file.

    SIGTERM to its process group (it and what it started there), up to ``timeout_s`` seconds
    for it to exit, then SIGKILL to the group. Returns whether it was running.
    """
    pid_file = dashboard.run_dir / f"{role}.pid"
    pid = running(dashboard, role)
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
        if not _gone(pid, role, timeout_s):
            _signal_group(pid, signal.SIGKILL)
            if not _gone(pid, role, 10.0):
                raise RuntimeError(f"{role} {pid} survived SIGKILL; {pid_file} is kept.")
    pid_file.unlink(missing_ok=True)
    return pid is not None


def down(dashboard: Dashboard) -> dict[str, bool]:
    """Stop the worker first (it reports its runs to the server), then the server."""
    return {role: stop(dashboard, role) for role in ("worker", "server")}


def running(dashboard: Dashboard, role: str) -> int | None:
    """The pid of the background ``role`` if its pid file names a live process of that role."""
    pid = _read_pid_file(dashboard.run_dir / f"{role}.pid")[0]
    return pid if pid is not None and _alive(pid, role) else None


def prefect(dashboard: Dashboard, args: list[str], log: str, timeout_s: float) -> None:
    """Run a Prefect CLI command to completion, its output appended to ``run/<log>.log``.

    Raises RuntimeError (with the end of the log) on a non-zero exit or after ``timeout_s`` seconds.
    """
    log_file = dashboard.run_dir / f"{log}.log"
    dashboard.run_dir.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} prefect {' '.join(args)}\n".encode())
        out.flush()
        try:
            code = subprocess.run([*_PREFECT, *args], check=False, cwd=dashboard.project, env=dashboard.env(),
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout_s).returncode
        except subprocess.TimeoutExpired:
            code = None
    if code != 0:
        outcome = f"exited with {code}" if code is not None else f"ran past {timeout_s:.0f} s"
        raise RuntimeError(f"`prefect {' '.join(args)}` {outcome}; {log_file} ends with:\n{log_tail(log_file)}")


def _start(dashboard: Dashboard, role: str, args: list[str], address: str) -> int:
    dashboard.run_dir.mkdir(parents=True, exist_ok=True)
    with (dashboard.run_dir / f"{role}.log").open("ab") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} prefect {' '.join(args)}\n".encode())
        out.flush()
        # A session of its own: `make` may exit, and `stop` signals the whole group.
        process = subprocess.Popen([*_PREFECT, *args], cwd=dashboard.project, env=dashboard.env(),
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    _CHILDREN[process.pid] = process
    with atomic_path(dashboard.run_dir / f"{role}.pid") as tmp:
        tmp.write_text(f"{process.pid} {address}\n")
    return process.pid


def _read_pid_file(path: Path) -> tuple[int | None, str | None]:
    """``(pid, address)`` from a pid file ``"<pid> <address>"``; ``(None, None)`` if absent or garbled."""
    try:
        pid, address = path.read_text().split()
        return int(pid), address
    except (OSError, ValueError):
        return None, None


def _alive(pid: int, role: str) -> bool:
    """Whether ``pid`` is a running ``prefect <role>`` (not a reused pid, not an unreaped child)."""
    child = _CHILDREN.get(pid)
    if child is not None:  # its command line is the parent's until exec: trust the Popen
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():  # no procfs (macOS): trust the pid file
        return True
    args = cmdline.read_bytes().split(b"\0")
    return b"prefect" in args and role.encode() in args


def _gone(pid: int, role: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid, role):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--port", type=int, default=4200, help="port on 127.0.0.1 (default: 4200)")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("PREFECT_HOME", ROOT / ".prefect")),
                        help="PREFECT_HOME (default: $PREFECT_HOME, else .prefect in the project)")
    args = parser.parse_args(argv)
    dashboard = Dashboard(home=args.home.resolve(), port=args.port)
    try:
        if args.command == "up":
            url = up(dashboard)
            print(f"\nPrefect dashboard: {url}\nStop it with: make dashboard-stop")
        elif args.command == "down":
            stopped = down(dashboard)
            print(", ".join(f"{role} {'stopped' if was else 'was not running'}" for role, was in stopped.items()))
        else:
            for role in ("server", "worker"):
                pid = running(dashboard, role)
                address = _read_pid_file(dashboard.run_dir / f"{role}.pid")[1]
                print(f"{role}: {f'running (pid {pid}, {address})' if pid else 'not running'}")
            print("schedules:\n  " + "\n  ".join(dashboard.schedules()))
    except (RuntimeError, OSError) as error:  # OSError: the REST API refused or went away
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
