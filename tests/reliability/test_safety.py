"""Safety: outputs stay under ``outputs/``, the dashboard server listens on loopback only, saved
networks load as weights only. (Model files with a changed hash or an untrusted type are refused:
``tests/bad_inputs/test_catalog_and_sources.py``.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from geoprospect.errors import InputError
from geoprospect.io.catalog import read_catalog

ROOT = Path(__file__).resolve().parents[2]
GRID_YAML = 'grid: {crs: "EPSG:32612", bounds: [500000, 3600000, 503000, 3603000], resolution_m: 30}\n'


@pytest.mark.parametrize("name", ["../x", "..", ".", "a/b", "/tmp/x", "..\\\\x", "x/../../y", ""])
def test_study_area_cannot_leave_the_outputs_folder(tmp_path, name):
    catalog = tmp_path / "area.yaml"
    catalog.write_text(f"study_area: '{name}'\n" + GRID_YAML)
    with pytest.raises(InputError, match="study_area") as info:
        read_catalog(catalog)
    assert info.value.source == str(catalog)


@pytest.mark.parametrize("name", ["demo", "my.area", "...a", "a..", "-x", "Area_2"])
def test_accepted_study_areas_stay_inside_the_outputs_folder(tmp_path, name):
    """Flows write to ``Path(outputs) / study_area``: every accepted name is a child of ``outputs``."""
    catalog = tmp_path / "area.yaml"
    catalog.write_text(f"study_area: '{name}'\n" + GRID_YAML)
    outputs = (tmp_path / "outputs").resolve()
    area = (outputs / read_catalog(catalog).study_area).resolve()
    assert area.parent == outputs


def test_dashboard_server_binds_loopback(tmp_path, monkeypatch):
    from ops import dashboard

    started = []
    monkeypatch.setattr(dashboard, "running", lambda board, role: None)
    monkeypatch.setattr(dashboard, "_port_taken", lambda host, port: False)
    monkeypatch.setattr(dashboard, "healthy", lambda board: True)
    monkeypatch.setattr(dashboard, "_start", lambda board, role, args, address: started.append((board, args)) or 1)
    board = dashboard.Dashboard(home=tmp_path)
    dashboard.server_up(board)
    (used, args), = started
    assert args[:1] == ["server"] and args[args.index("--host") + 1] == "127.0.0.1"
    assert used.env()["PREFECT_SERVER_API_HOST"] == "127.0.0.1" and used.api_url.startswith("http://127.0.0.1:")
    # the command line cannot change the address, only the port
    options = _options(dashboard)
    assert "host" not in options and "port" in options


def _options(module) -> set[str]:
    """The arguments ``main`` declares, read from its source (so nothing runs)."""
    tree = ast.parse(Path(module.__file__).read_text())
    main = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "main")
    return {call.args[0].value.lstrip("-") for call in ast.walk(main)
            if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "add_argument"}


def test_torch_weights_load_without_code():
    """Every torch.load in the project passes weights_only=True (no pickled code runs)."""
    calls = []
    for path in (ROOT / "geoprospect").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                calls.append((path.name, keywords.get("weights_only")))
    assert calls and all(value == "True" for _, value in calls), calls
