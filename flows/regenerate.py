"""Regenerate every product of a study area: the parent flow that the nightly deployment runs.

    python -m flows.regenerate --catalog data/catalogs/demo.yaml

Each pipeline runs as a subflow after ingestion; cached tasks make a rerun with unchanged inputs
cheap, and a changed input file reruns only what depends on it. Pipelines are added here as they land.
"""

from __future__ import annotations

from prefect import flow

from flows.cli import DEMO_CATALOG, run
from flows.ingest import ingest
from flows.prospectivity import prospectivity


@flow(name="regenerate")
def regenerate(catalog: str = DEMO_CATALOG, outputs: str = "outputs") -> dict[str, str]:
    """Run every pipeline on the study area; returns each pipeline's report page."""
    reports = {"ingest": ingest(catalog=catalog, outputs=outputs)}
    reports["prospectivity"] = prospectivity(catalog=catalog, outputs=outputs, run_ingest=False)
    return reports


if __name__ == "__main__":
    run("flows.regenerate:regenerate", __doc__.splitlines()[0])
