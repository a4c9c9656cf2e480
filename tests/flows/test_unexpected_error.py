"""An unexpected error inside a flow (a bug, or an input nothing checks yet): one line on the console that
names the error and the file holding its traceback, exit code 1; no traceback wall."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.bad_inputs.support import GRID_YAML

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

FLOW = '''
from prefect import flow, task

@task
def step():
    raise ValueError("a value nothing checks: 42\\nsecond line")

@flow
def boom(catalog: str, outputs: str) -> dict:
    return step()
'''


@pytest.mark.slow
def test_an_unexpected_error_is_one_line_and_its_traceback_goes_to_a_file(tmp_path):
    (tmp_path / "boom_flow.py").write_text(FLOW)
    catalog = tmp_path / "area.yaml"
    catalog.write_text("study_area: area\n" + GRID_YAML)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}", "PREFECT_HOME": str(tmp_path / "prefect"),
           "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    command = "from flows.cli import main; main('boom_flow:boom', 'A flow that fails')"
    result = subprocess.run([sys.executable, "-c", command, "--catalog", str(catalog), "--outputs", str(tmp_path / "outputs")],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 1, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr[-2000:]
    assert "unexpected ValueError: a value nothing checks: 42." in lines[0] and "second line" not in lines[0]
    log = tmp_path / "outputs" / "area" / "errors.log"
    assert str(log.relative_to(tmp_path)) in lines[0] or str(log) in lines[0]
    assert "Traceback" not in result.stderr
    text = log.read_text()
    assert "Traceback" in text and "second line" in text and "boom_flow" in text
