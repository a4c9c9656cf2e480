"""Prefect tasks: thin wrappers (cache policy, retries, artifacts) over the geoprospect core."""

import os

# Offline machines: no telemetry (it only logs errors there). Set before prefect is imported.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
