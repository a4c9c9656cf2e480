"""Provenance: which code produced a result (a digest of the core modules it ran)."""

from __future__ import annotations

import ast
import hashlib
import threading
from functools import lru_cache
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_LOCK = threading.Lock()  # ast.parse is not thread-safe in CPython 3.11


def _module_file(name: str) -> Path | None:
    """The source file of a ``geoprospect`` module, found on disk without importing it."""
    base = _ROOT / name.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=None)
def module_imports(name: str) -> tuple[str, tuple[str, ...]]:
    """(source, geoprospect modules it imports) of one module."""
    path = _module_file(name)
    if path is None:
        return "", ()
    source = path.read_text()
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    local = tuple(sorted(m for m in found if m.split(".")[0] == "geoprospect" and _module_file(m) is not None))
    return source, local


def code_digest(*modules: str) -> str:
    """SHA-256 of the source of ``modules`` and every geoprospect module they import, transitively."""
    with _LOCK:
        return closure_digest(modules)


@lru_cache(maxsize=None)
def closure_digest(modules: tuple[str, ...]) -> str:
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(module_imports(name)[1])
    digest = hashlib.sha256()
    for name in sorted(seen):
        digest.update(name.encode() + b"\0" + module_imports(name)[0].encode())
    return digest.hexdigest()
