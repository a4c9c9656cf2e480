"""The command line: a bad catalog is refused before Prefect is imported; progress bars only on a terminal."""

import subprocess
import sys
import warnings
from pathlib import Path

from geoprospect import progress

ROOT = Path(__file__).resolve().parents[2]


def test_a_bad_catalog_is_refused_before_prefect_is_imported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("study_area: x\nrastres: {}\n")
    code = ("import runpy, sys\n"
            f"sys.argv = ['flows.regenerate', '--catalog', {str(bad)!r}]\n"
            "try:\n    runpy.run_module('flows.regenerate', run_name='__main__')\n"
            "except SystemExit as exit:\n    print('exit', exit.code, 'prefect' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "exit 2 False", done.stderr
    assert done.stderr.strip().startswith(f"error: {bad}: unknown key 'rastres'")


def test_progress_calls_do_nothing_without_a_terminal_and_draw_bars_with_one():
    progress.report("folds")(1, 3)  # no display: nothing happens, nothing fails
    progress.advance("ingest")
    assert not progress.active()
    with progress.terminal(enabled=True):
        assert progress.active()
        progress.report("folds")(2, 3)
        progress.advance("ingest", status="align_raster done")
        progress.finish("ingest")
    assert not progress.active()


def test_the_summary_is_a_table_naming_the_run_page(capsys):
    from flows.cli import print_summary

    print_summary({"ingest": "outputs/demo/ingest/report.html", "run": "outputs/demo/index.html"}, 75)
    out = capsys.readouterr().out
    assert "ingest/report.html" in out and "Run page: outputs/demo/index.html" in out and "75 s" in out
    assert "{" not in out


def test_only_the_projects_own_warnings_reach_the_console(capsys):
    from flows.cli import one_line_per_warning

    with one_line_per_warning(None):
        warnings.warn_explicit("library noise", UserWarning, "/somewhere/site-packages/sklearn/x.py", 1)
        warnings.warn_explicit("3 deposits dropped: outside the grid\nmore detail", UserWarning,
                               str(ROOT / "geoprospect" / "labels.py"), 1)
        warnings.warn_explicit("3 deposits dropped: outside the grid\nmore detail", UserWarning,
                               str(ROOT / "geoprospect" / "labels.py"), 2)
    assert capsys.readouterr().err.splitlines() == ["warning: 3 deposits dropped: outside the grid"]


def test_the_two_demo_profiles():
    from geoprospect.io.catalog import read_catalog

    small, full = read_catalog(ROOT / "data/catalogs/demo.yaml"), read_catalog(ROOT / "data/catalogs/demo-full.yaml")
    # `make demo` (run by CI after the tests) stays small; `make demo-full` is the papers' sizes
    assert small.demo.size_m <= 10_000 and small.inversion.study_size == "tiny" and len(small.lithology.seeds) == 1
    assert full.demo.size_m == 30_000 and full.inversion.study_size == "full" and full.lithology == type(full.lithology)()
    assert small.demo.folder != full.demo.folder and small.study_area != full.study_area
    # its speed settings (issue 22) keep every default model and imbalance option, 5 folds
    defaults = type(full.prospectivity)()
    assert list(full.prospectivity.models) == list(defaults.models) and full.prospectivity.imbalance == defaults.imbalance
    assert all(spec.model == name for name, spec in full.prospectivity.models.items()) and full.prospectivity.n_folds == 5


FAKE_FLOW = '''
from pathlib import Path

def run(catalog, outputs):
    area = Path(outputs) / "stamped"
    area.mkdir(parents=True, exist_ok=True)
    with open(area.parent / "calls.txt", "a") as calls:  # outside the study area's outputs
        calls.write("ran\\n")
    (area / "index.html").write_text("<html></html>")
    return {"fake": str(area / "index.html"), "run": str(area / "index.html")}
'''


def _stamped_area(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    raster = tmp_path / "tmi.tif"
    with rasterio.open(raster, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32", crs="EPSG:32612",
                       transform=from_origin(500000, 3603000, 750, 750)) as dst:
        dst.write(np.ones((1, 4, 4), "float32"))
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("study_area: stamped\ngrid: {crs: 'EPSG:32612', bounds: [500000, 3600000, 503000, 3603000], resolution_m: 750}\n"
                       f"rasters:\n  tmi: {{path: {raster}, units: nT}}\n")
    (tmp_path / "fakeflow.py").write_text(FAKE_FLOW)
    return catalog, raster


def _cli(tmp_path, catalog, *extra):
    import os

    code = ("import sys\nfrom flows.cli import main\n"
            f"sys.argv = ['fakeflow', '--catalog', {str(catalog)!r}, '--outputs', {str(tmp_path / 'out')!r}, *{list(extra)!r}]\n"
            "try:\n    main('fakeflow:run', 'a fake flow')\nexcept SystemExit as exit:\n    print('exit', exit.code, 'fakeflow' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # no server
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout, (tmp_path / "out" / "calls.txt").read_text().count("ran")


def test_an_unchanged_rerun_prints_the_last_summary_without_running_and_force_runs_it(tmp_path):
    catalog, _ = _stamped_area(tmp_path)
    out, calls = _cli(tmp_path, catalog)
    assert calls == 1 and "exit 0 True" in out and "Run page:" in out
    assert (tmp_path / "out" / "stamped" / ".runs" / "fakeflow.run.json").is_file()
    out, calls = _cli(tmp_path, catalog)
    assert calls == 1 and "Nothing changed since the run that finished at" in out and "exit 0 False" in out
    assert "Run page:" in out and "index.html" in out
    out, calls = _cli(tmp_path, catalog, "--force")
    assert calls == 2 and "exit 0 True" in out


def test_the_run_digest_changes_with_an_input_an_output_or_the_catalog(tmp_path):
    import os

    from geoprospect.io.runstamp import run_digest, unchanged_run, write_stamp

    catalog, raster = _stamped_area(tmp_path)
    outputs = tmp_path / "out"
    (outputs / "stamped").mkdir(parents=True)
    (outputs / "stamped" / "map.tif").write_bytes(b"map")
    write_stamp("fakeflow:run", catalog, outputs, {"run": "x"})
    assert unchanged_run("fakeflow:run", catalog, outputs)["result"] == {"run": "x"}
    assert unchanged_run("other:flow", catalog, outputs) is None  # one stamp per command
    first = run_digest("fakeflow:run", catalog, outputs)
    os.utime(raster, ns=(1, 1))  # an input rewritten
    second = run_digest("fakeflow:run", catalog, outputs)
    (outputs / "stamped" / "map.tif").write_bytes(b"edited")  # an output edited by hand or by another run
    third = run_digest("fakeflow:run", catalog, outputs)
    catalog.write_text(catalog.read_text() + "# a comment\n")
    fourth = run_digest("fakeflow:run", catalog, outputs)
    assert len({first, second, third, fourth}) == 4
    assert unchanged_run("fakeflow:run", catalog, outputs) is None
