"""Helpers of the dashboard tests: a free port, bounded polling, the logs to print on failure."""

from __future__ import annotations

import socket
import time

import pytest

from ops.dashboard import Dashboard, log_tail


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dashboard_logs(dashboard: Dashboard) -> str:
    """The end of every log under ``run/``: printed when something fails."""
    logs = sorted(dashboard.run_dir.glob("*.log"))
    return "\n".join(f"===== {log.name}\n{log_tail(log, 60)}" for log in logs) or f"(no logs in {dashboard.run_dir})"


def poll(check, timeout_s: float, what: str, dashboard: Dashboard, interval_s: float = 1.0):
    """Call ``check()`` until it returns something truthy; fail with the logs after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s:.0f} s\n{dashboard_logs(dashboard)}")
        time.sleep(interval_s)
    return result
