"""Flow tests run against a temporary Prefect server with a temporary PREFECT_HOME."""

import pytest


@pytest.fixture(scope="session")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
def small_demo_catalog(tmp_path_factory):
    """A catalog of a 4 km demo region at 60 m (built on first use by the flow)."""
    folder = tmp_path_factory.mktemp("flow-demo")
    catalog = folder / "demo.yaml"
    catalog.write_text(f"study_area: flowtest\ndemo: {{seed: 5, folder: {folder / 'demo'}, size_m: 4000, resolution_m: 60}}\n")
    return catalog
