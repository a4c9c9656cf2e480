"""Progress of a long loop: a log line per step, a progress artifact the dashboard shows live, and a bar
on the terminal when the command line shows one (:mod:`geoprospect.progress`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

from geoprospect import progress


class Progress:
    """A ``progress(done, total)`` callback for the core's long loops (folds, stations)."""

    def __init__(self, description: str):
        self.description = description
        self.logger = get_run_logger()
        self.artifact = create_progress_artifact(progress=0.0, description=description)
        self.bar = progress.report(description)

    def __call__(self, done: int, total: int) -> None:
        update_progress_artifact(self.artifact, progress=100.0 * done / total)
        self.bar(done, total)
        self.logger.info("%s: %d of %d done", self.description, done, total)


def counted(map_fn: Callable, description: str) -> Callable:
    """``map_fn`` (builtins.map, an executor's map) that reports each result to a :class:`Progress`."""

    def mapped(function: Callable, items: Iterable) -> Iterable:
        items = list(items)
        report = Progress(description)
        for done, result in enumerate(map_fn(function, items), start=1):
            report(done, len(items))
            yield result

    return mapped
