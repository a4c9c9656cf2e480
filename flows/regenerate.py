"""Regenerate every product of a study area: the parent flow that the nightly deployment runs.

    python -m flows.regenerate --catalog data/catalogs/demo.yaml

Each pipeline whose inputs the catalog has (deposits, survey lines, waveforms, scenes, a plate
model) runs as a subflow after ingestion; cached tasks make a rerun with unchanged inputs
cheap, and a changed input file reruns only what depends on it. The run page
``outputs/<study_area>/index.html`` links every map and table of the run, with the catalog, code
version, input hashes and task timings; it is written even when a pipeline fails, with the error.
"""

from __future__ import annotations

if __name__ == "__main__":  # the command line: the catalog is checked before Prefect is imported
    from flows.cli import main

    main("flows.regenerate:regenerate", __doc__)

import time
from datetime import datetime, timezone

from prefect import flow, runtime

from flows.cli import DEMO_CATALOG, RunFailed
from flows.ingest import ingest
from flows.inversion import inversion
from flows.lithology import lithology
from flows.prospectivity import prospectivity
from flows.seismic import seismic
from flows.tectonics import tectonics
from tasks.ingest import fingerprint, load_catalog
from tasks.regenerate import write_run_report


@flow(name="regenerate")
def regenerate(catalog: str = DEMO_CATALOG, outputs: str = "outputs") -> dict[str, str]:
    """Run every pipeline the catalog has inputs for (the others are listed as skipped on the run page);
    returns each pipeline's report page and the run page."""
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    cat = load_catalog(catalog)
    skipped = cat.missing_inputs()
    pipelines = {"prospectivity": lambda: prospectivity(catalog=catalog, outputs=outputs, run_ingest=False, return_state=True),
                 "inversion": lambda: inversion(catalog=catalog, outputs=outputs, return_state=True),
                 "seismic": lambda: seismic(catalog=catalog, outputs=outputs, return_state=True),
                 "lithology": lambda: lithology(catalog=catalog, outputs=outputs, run_ingest=False, return_state=True)}
    states, walls = {}, {}

    def run(name, start):  # each stage's wall time goes on the run page
        began = time.monotonic()
        states[name] = start()
        walls[name] = time.monotonic() - began

    if "ingest" not in skipped:  # a plate-model-only catalog has no grid to ingest onto
        run("ingest", lambda: ingest(catalog=catalog, outputs=outputs, return_state=True))
        if states["ingest"].is_completed():
            for name, start in pipelines.items():
                if name not in skipped:
                    run(name, start)
    if "tectonics" not in skipped:  # needs the plate model only, not the ingested grid
        run("tectonics", lambda: tectonics(catalog=catalog, outputs=outputs, return_state=True))
    outcomes = {name: _outcome(state) | {"wall_s": walls[name]} for name, state in states.items()} | {name: {"state": "Skipped", "note": why} for name, why in skipped.items()}
    page = write_run_report(cat, fingerprint(cat), outcomes, runtime.flow_run.id, started, outputs)
    failed = [name for name, state in states.items() if not state.is_completed()]
    if failed:
        raise RunFailed(f"{', '.join(failed)} failed: see {page}")
    return {name: outcome["report"] for name, outcome in outcomes.items() if "report" in outcome} | {"run": page}


def _outcome(state) -> dict:
    if state.is_completed():
        return {"state": state.name, "report": state.result()}
    return {"state": state.name, "error": state.message or ""}

