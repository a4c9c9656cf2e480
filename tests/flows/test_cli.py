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
