"""Progress bars on the terminal: the command line turns them on, the core and the tasks report to them.

Long steps call :func:`report` (``report(description)(done, total)``) or :func:`advance`; both do nothing
unless :func:`terminal` is active, which the command line (``flows/cli.py``) enters only when stderr is a
terminal, so logs, tests and CI stay plain. One display per process: tasks run on threads of the flow's
process and share it (rich's progress is thread-safe); Dask workers in other processes show none.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_display = None  # the rich Progress of the active terminal() block
_tasks: dict[str, int] = {}  # description -> rich task id
_lock = threading.Lock()


@contextmanager
def terminal(enabled: bool | None = None) -> Iterator[object | None]:
    """Show progress bars on stderr inside this block (default: only when stderr is a terminal); yields the
    rich Console the bars draw on (print through it so lines appear above the bars), or None."""
    global _display
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    display = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=console, transient=False)
    with display:
        _display = display
        try:
            yield console
        finally:
            _display = None
            _tasks.clear()


def active() -> bool:
    return _display is not None


def report(description: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback that draws one bar named ``description``."""

    def update(done: int, total: int) -> None:
        display = _display
        if display is None:
            return
        display.update(_task(display, description, total), completed=done, total=total)

    return update


def advance(description: str, total: int | None = None, step: int = 1, status: str | None = None) -> None:
    """Advance the bar ``description`` by ``step`` (created on first use, ``total`` None: no known end);
    ``status`` replaces the text after the description."""
    display = _display
    if display is None:
        return
    text = description if status is None else f"{description}: {status}"
    display.update(_task(display, description, total), advance=step, description=text)


def _task(display, description: str, total: int | None):
    """The id of the bar ``description``, added on first use (from any thread)."""
    with _lock:
        if description not in _tasks:
            _tasks[description] = display.add_task(description, total=total)
        return _tasks[description]


def finish(description: str) -> None:
    """Mark the bar ``description`` complete (its total becomes what was done)."""
    display = _display
    if display is None or description not in _tasks:
        return
    task = display.tasks[[t.id for t in display.tasks].index(_tasks[description])]
    display.update(task.id, total=task.completed or 1, completed=task.completed or 1, description=description)
