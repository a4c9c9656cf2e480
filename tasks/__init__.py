"""Prefect tasks: thin wrappers (cache policy, retries, artifacts) over the geoprospect core."""

import os

# Set before prefect is imported. Offline machines: no telemetry (it only logs errors there).
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A new temporary server creates its database first: 20 s (the default) is too short on a busy machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
# The core logs through the standard library ("geoprospect.*"): show those lines in Prefect's run logs.
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "geoprospect")
