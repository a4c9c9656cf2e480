"""Prefect flows: one file per pipeline, only wiring. Run one with ``python -m flows.<name> --help``."""

import tasks  # noqa: F401  (sets the telemetry defaults before prefect is imported)
