"""Flow tests run against the session's temporary Prefect server (``harness``, tests/conftest.py)."""

import pytest


@pytest.fixture(scope="session")
def small_demo_catalog(tmp_path_factory):
    """A catalog of a 4 km demo region at 60 m (built on first use by the flow)."""
    folder = tmp_path_factory.mktemp("flow-demo")
    catalog = folder / "demo.yaml"
    catalog.write_text(f"study_area: flowtest\ndemo: {{seed: 5, folder: {folder / 'demo'}, size_m: 4000, resolution_m: 60}}\n")
    return catalog
