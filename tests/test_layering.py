"""Imports run one way, flows -> tasks -> geoprospect: the core never imports Prefect."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(folder: str) -> dict[str, set[str]]:
    found = {}
    for path in (ROOT / folder).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_core_never_imports_prefect_flows_or_tasks():
    offenders = {f: n & {"prefect", "prefect_dask", "flows", "tasks"} for f, n in _imports("geoprospect").items()}
    assert not {f: n for f, n in offenders.items() if n}


def test_tasks_never_import_flows():
    assert not [f for f, n in _imports("tasks").items() if "flows" in n]


def test_importing_the_whole_core_loads_no_prefect():
    modules = sorted(p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")
                     for p in (ROOT / "geoprospect").rglob("*.py"))
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "assert 'prefect' not in sys.modules, 'prefect imported'\n"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _private_imports(path: Path) -> list[str]:
    """``from X import _name`` and ``X._name`` uses of another module's private names in one file."""
    found = []
    tree = ast.parse(path.read_text())
    modules = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
               for alias in node.names}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [f"from {node.module} import {a.name}" for a in node.names if _private(a.name)]
        elif (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
              and node.value.id in modules):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_module_imports_another_modules_private_names():
    offenders = {str(path.relative_to(ROOT)): names
                 for folder in ("geoprospect", "tasks", "flows", "ops", "benchmarks", "tests")
                 for path in (ROOT / folder).rglob("*.py") if (names := _private_imports(path))}
    assert not offenders, "make a public function where two modules need it: " + repr(offenders)


def test_each_pipeline_has_one_name_across_flows_tasks_and_core():
    pipelines = {p.stem for p in (ROOT / "flows").glob("*.py")} - {"__init__", "cli", "runners"}
    for name in pipelines:
        assert (ROOT / "tasks" / f"{name}.py").exists(), f"tasks/{name}.py"
        assert (ROOT / "geoprospect" / "pipelines" / f"{name}.py").exists(), f"geoprospect/pipelines/{name}.py"
