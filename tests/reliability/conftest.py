"""The flow tests' Prefect harness, for the reliability tests that run tasks in-process."""

from tests.flows.conftest import harness  # noqa: F401
