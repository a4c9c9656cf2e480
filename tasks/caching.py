"""Cache keys that follow content: input files by their hash, code by the source a task runs.

Prefect's ``INPUTS`` policy hashes a path by its text, and ``TASK_SOURCE`` sees only the thin task
body. Here a task's key also covers the source of the core modules it calls, followed through their
``geoprospect`` imports, so editing ``geoprospect/io/rasters.py`` reruns raster alignment and nothing
that does not import it. Inputs are :class:`~geoprospect.io.files.FileRef` (path + SHA-256), so
editing an input file reruns what depends on it.

Outputs of cached tasks go to content-addressed names under the study area's work folder
(``work_file``): a cache entry never points at a file that a later run with other inputs overwrote.
Cached tasks are serializable (:mod:`tasks.locking`): when two runs reach the same key at once, one
computes and the other waits, then reads its result.

A cache hit is checked before it is used (:class:`VerifiedFiles`): every file its result references
(a FileRef) must still hold the content hashed when it was made. The check is cheap on a warm rerun:
a file whose ``stat`` signature (size, times, inode) matches the one remembered with its hash is not
read again; only a changed signature costs a content hash. A file edited, replaced or deleted since
drops the cache record, so the task computes again and writes a fresh one.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect.cache_policies import INPUTS, TASK_SOURCE, CachePolicy
from prefect.context import TaskRunContext
from prefect.utilities.hashing import hash_objects
from prefect.filesystems import LocalFileSystem
from prefect.results import get_default_result_storage
from prefect.settings import get_current_settings
from prefect.states import State

from geoprospect.errors import InputError
from geoprospect.io.files import FileRef, atomic_path, content_hash, file_signature, remove_leftovers
from geoprospect.provenance import code_digest
from tasks.locking import FlockLockManager

log = logging.getLogger(__name__)


@dataclass
class CoreSource(CachePolicy):
    """Cache key part: the source of the core modules a task calls (see :func:`code_digest`)."""

    modules: tuple[str, ...] = field(default_factory=tuple)

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any) -> str:
        return code_digest(*self.modules)


@dataclass
class VerifiedFiles(CachePolicy):
    """The key of ``policy``; on the way, a cached record whose files no longer match is dropped."""

    policy: CachePolicy = field(default_factory=lambda: INPUTS)

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any) -> str | None:
        key = self.policy.compute_key(task_ctx=task_ctx, inputs=inputs, flow_parameters=flow_parameters, **kwargs)
        if key is not None:
            drop_if_stale(task_ctx.result_store, key, task_ctx.task.name)
        return key


@dataclass
class Contents(CachePolicy):
    """Cache key part: the task's inputs with each FileRef taken by its content hash alone (not its path),
    leaving out ``ignore``: where the task writes, and paths whose content another input carries.

    For a task whose result depends on file contents only (kinematics: the same plate model read by a
    second study area, or from a copy, is the same result)."""

    ignore: tuple[str, ...] = ()

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any) -> str:
        return hash_objects({k: _contents(v) for k, v in sorted(inputs.items()) if k not in self.ignore}, raise_on_failure=True)


def _contents(value: Any) -> Any:
    if isinstance(value, FileRef):
        return ("sha256", value.sha256)
    if isinstance(value, dict):
        return {repr(k): _contents(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_contents(v) for v in value]
    return value


def content_policy(*modules: str, inputs: CachePolicy = INPUTS) -> CachePolicy:
    """Inputs (FileRefs carry content hashes) + the task's source + the core code it calls; cache hits
    whose files changed are recomputed; one run computes a key at a time. ``inputs``: how the inputs
    enter the key (default: all of them, as Prefect hashes them; :class:`Contents` for content only)."""
    policy = VerifiedFiles(policy=inputs + TASK_SOURCE + CoreSource(modules=tuple(modules)))
    return policy.configure(isolation_level="SERIALIZABLE", lock_manager=FlockLockManager())


def drop_if_stale(store, key: str, task: str) -> list[str]:
    """Delete the cache record ``key`` if a file its result references changed or vanished; returns them.

    Only local result storage (the default, ``PREFECT_LOCAL_STORAGE_PATH``) is checked.
    """
    storage = store.result_storage or get_default_result_storage(_sync=True)
    if not isinstance(storage, LocalFileSystem) or not storage.basepath:
        return []
    record_path = Path(storage.basepath).expanduser() / key
    if not record_path.is_file():
        return []
    try:
        result = store.read(key).result
    except Exception:  # noqa: BLE001 - an unreadable record is Prefect's to handle (it recomputes)
        return []
    stale = [ref.path for ref in file_refs(result) if not is_intact(ref)]
    if stale:
        log.warning("%s: cached result dropped, %d file(s) it references changed or vanished since (%s): recomputing",
                    task, len(stale), ", ".join(stale[:3]) + (" ..." if len(stale) > 3 else ""))
        record_path.unlink(missing_ok=True)
        for cached in [k for k in store.cache if str(k).endswith(key)]:  # the store's in-memory copy
            store.cache.pop(cached, None)
    return stale


def is_intact(ref: FileRef) -> bool:
    """Whether ``ref.path`` still holds the content ``ref.sha256``: by its stat signature when the one
    remembered with that hash matches, else by hashing it again (and remembering the result)."""
    signature = file_signature(ref.path)
    if not signature:
        return False
    memo = _memo_path(ref.path)
    try:
        remembered, sha = memo.read_text().split()
        if remembered == signature:
            return sha == ref.sha256
    except (OSError, ValueError):
        pass
    try:
        sha = content_hash(ref.path)
    except (OSError, InputError):
        return False
    if file_signature(ref.path) == signature:  # not changing while it was hashed
        with atomic_path(memo) as tmp:
            tmp.write_text(f"{signature} {sha}\n")
    return sha == ref.sha256


def _memo_path(path: str) -> Path:
    folder = Path(get_current_settings().results.local_storage_path).expanduser() / ".verified"
    return folder / hashlib.sha256(os.fsencode(path)).hexdigest()[:32]


def file_refs(value: Any):
    """Every FileRef inside a task result (nested dicts, lists and tuples)."""
    if isinstance(value, FileRef):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from file_refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from file_refs(item)


def work_file(work: str | Path, stage: str, name: str, suffix: str, *parts: Any, modules: tuple[str, ...] = ()) -> Path:
    """A content-addressed output path: ``work/stage/name-<digest of parts and code>suffix``."""
    digest = hashlib.sha256(repr(parts).encode() + code_digest(*modules).encode()).hexdigest()[:16]
    return Path(work) / stage / f"{name}-{digest}{suffix}"


def retry_on_io(task, task_run, state: State) -> bool:
    """Retry transient I/O failures only; bad input, and a read-only or forbidden folder, fail at once."""
    try:
        state.result()
    except InputError:
        return False
    except OSError as exc:
        return exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM)
    except Exception:
        return False
    return False


def clean_leftovers(area: str) -> int:
    """At a run's start: delete the temporaries killed runs left in the study area's outputs and work
    folders and in the cache's signature folder (never those of a live run). Returns how many.

    A plain call in the flow rather than a task: it runs every time and is no step of the pipeline."""
    started = time.time()
    storage = Path(get_current_settings().results.local_storage_path).expanduser()
    removed = [p for folder in (Path(area), storage / ".verified") for p in remove_leftovers(folder, started)]
    if removed:
        log.warning("removed %d temporary file(s) left by killed runs: %s", len(removed),
                                 ", ".join(str(p) for p in removed[:5]) + (" ..." if len(removed) > 5 else ""))
    return len(removed)
