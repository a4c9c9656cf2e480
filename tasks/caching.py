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
"""

from __future__ import annotations

import errno
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect.cache_policies import INPUTS, TASK_SOURCE, CachePolicy
from prefect.context import TaskRunContext
from prefect.states import State

from geoprospect.errors import InputError
from geoprospect.provenance import code_digest
from tasks.locking import FlockLockManager


@dataclass
class CoreSource(CachePolicy):
    """Cache key part: the source of the core modules a task calls (see :func:`code_digest`)."""

    modules: tuple[str, ...] = field(default_factory=tuple)

    def compute_key(self, task_ctx: TaskRunContext, inputs: dict[str, Any], flow_parameters: dict[str, Any], **kwargs: Any) -> str:
        return code_digest(*self.modules)


def content_policy(*modules: str) -> CachePolicy:
    """Inputs (FileRefs carry content hashes) + the task's source + the core code it calls; one run
    computes a key at a time."""
    policy = INPUTS + TASK_SOURCE + CoreSource(modules=tuple(modules))
    return policy.configure(isolation_level="SERIALIZABLE", lock_manager=FlockLockManager())


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
