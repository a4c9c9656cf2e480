"""Progress of a long loop: a log line per step and a progress artifact the dashboard shows live."""

from __future__ import annotations

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact


class Progress:
    """A ``progress(done, total)`` callback for the core's long loops (folds, stations)."""

    def __init__(self, description: str):
        self.description = description
        self.logger = get_run_logger()
        self.artifact = create_progress_artifact(progress=0.0, description=description)

    def __call__(self, done: int, total: int) -> None:
        update_progress_artifact(self.artifact, progress=100.0 * done / total)
        self.logger.info("%s: %d of %d done", self.description, done, total)
