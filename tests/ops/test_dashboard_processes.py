"""ops.dashboard without a server: pid files, the SIGKILL fallback, refusals (fast, no Prefect process)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from ops.dashboard import Dashboard, main, running, server_up, stop
from tests.ops.support import free_port

# A stand-in for a worker that ignores SIGTERM: its command line holds the words `prefect` and `worker`.
_STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(120)"


def test_stop_kills_a_process_that_ignores_sigterm_and_removes_its_pid_file(tmp_path):
    board = Dashboard(home=tmp_path)
    process = subprocess.Popen([sys.executable, "-c", _STUBBORN, "prefect", "worker"], stdout=subprocess.PIPE,
                               start_new_session=True, text=True)
    try:
        assert process.stdout.readline() == "ready\n"  # the SIGTERM handler is in place
        board.run_dir.mkdir(parents=True)
        (board.run_dir / "worker.pid").write_text(f"{process.pid} geoprospect-process\n")
        assert running(board, "worker") == process.pid
        assert stop(board, "worker", timeout_s=1.0) is True
        assert process.wait(timeout=10) == -signal.SIGKILL
        assert not (board.run_dir / "worker.pid").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_pid_file_naming_another_program_is_stale_and_that_program_is_left_alone(tmp_path):
    board = Dashboard(home=tmp_path)
    board.run_dir.mkdir(parents=True)
    (board.run_dir / "server.pid").write_text(f"{os.getpid()} http://127.0.0.1:4200\n")  # this pytest process
    assert running(board, "server") is None
    assert stop(board, "server") is False
    assert not (board.run_dir / "server.pid").exists()


def test_a_port_held_by_another_program_is_refused_before_anything_starts(tmp_path):
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} is taken.*PORT="):
            server_up(Dashboard(home=tmp_path, port=port))
    assert not (tmp_path / "run" / "server.pid").exists()


def test_deployments_on_two_work_pools_are_refused(tmp_path):
    (tmp_path / "prefect.yaml").write_text(
        "deployments:\n"
        "  - {name: a, entrypoint: flows/a.py:a, work_pool: {name: one}}\n"
        "  - {name: b, entrypoint: flows/b.py:b, work_pool: {name: two}}\n")
    with pytest.raises(RuntimeError, match=r"prefect.yaml: the deployments use work pools \['one', 'two'\]"):
        _ = Dashboard(project=tmp_path, home=tmp_path).work_pool


def test_the_project_prefect_yaml_names_one_process_pool():
    assert Dashboard().work_pool == "geoprospect-process"


def test_schedules_are_listed_in_words_with_their_cron_text(tmp_path, capsys):
    lines = Dashboard().schedules()
    assert "demo-regenerate: At 02:00 (UTC) [0 2 * * *]" in lines
    assert "demo-lithology: At 04:00, only on Monday (UTC) [0 4 * * 1]" in lines
    assert not [line for line in lines if "+1" in line]
    assert len(lines) == 7
    assert main(["status", "--home", str(tmp_path)]) == 0  # make dashboard-status prints them
    assert "demo-tectonics: At 07:00, only on Monday (UTC) [0 7 * * 1]" in capsys.readouterr().out
