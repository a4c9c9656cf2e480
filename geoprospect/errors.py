"""The one error type for bad input.

Every reader and validator raises :class:`InputError` with the file (or catalog key) at fault,
what is wrong with it, and what the user can do about it. Flows and the CLI print it as one line.
"""

from __future__ import annotations

import difflib
from pathlib import Path


class InputError(ValueError):
    """Bad user input: names the source, the problem and the fix.

    Parameters
    ----------
    source : str or Path
        The file path or catalog key at fault.
    problem : str
        What is wrong, in plain words.
    fix : str
        What the user can do about it.
    """

    def __init__(self, source: str | Path, problem: str, fix: str):
        self.source = str(source)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{self.source}: {problem}. Fix: {fix}")

    def __reduce__(self):  # keep the three fields when pickled (Prefect results, Dask workers)
        return (type(self), (self.source, self.problem, self.fix))


def one_of(value: str, names) -> str:
    """A fix naming the closest of ``names`` first (a misspelt column among sixty), then all of them."""
    names = [str(n) for n in names if n != "geometry"]
    close = difflib.get_close_matches(str(value), names, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    return f"{hint}use one of {', '.join(names)}"
