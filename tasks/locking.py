"""Cache locks that die with their holder: two runs never compute the same cached task twice.

Prefect computes a task with a cache key once per run, but two runs started together (two schedules,
a user and a deployment) would both compute it, and both write its result, unless the cache policy
is ``SERIALIZABLE`` with a lock manager. Prefect's own ``FileSystemLockManager`` writes a lock file
that outlives a killed process: the next run would wait forever on a lock nobody holds, breaking
kill-and-resume. This one takes ``flock`` locks, which the kernel releases when the holding process
dies, so a killed run leaves no stale lock, and a waiting run sees the result the first one cached.

Lock files live beside the cache records, in the result storage folder (``.locks/``), so runs that
share a cache share its locks (processes and Dask workers on one machine, or on a shared file
system that supports ``flock``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from prefect.locking.protocol import LockManager
from prefect.settings import get_current_settings

_POLL_S = 0.1


class FlockLockManager(LockManager):
    """Exclusive per-key locks on ``<result storage>/.locks/<key>.lock`` with ``fcntl.flock``.

    A lock is held by an open file description: another holder (thread or process) blocks, and a
    process killed while holding it releases it at once. The folder is read from Prefect's settings
    at each call, so a run (or test) that sets ``PREFECT_LOCAL_STORAGE_PATH`` gets its own locks.
    """

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, int]] = {}  # key -> (holder, file descriptor)
        self._mutex = threading.Lock()

    def __getstate__(self) -> dict:
        return {}  # file descriptors stay with the process that opened them (tasks are pickled to Dask workers)

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    @staticmethod
    def _path(key: str) -> Path:
        folder = Path(get_current_settings().results.local_storage_path).expanduser() / ".locks"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{key}.lock"

    def _try(self, key: str) -> int | None:
        """An open descriptor holding the key's lock, or None if someone else holds it."""
        fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def acquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None, hold_timeout: float | None = None) -> bool:
        """Block until the lock is ours (or ``acquire_timeout`` s pass: False). ``hold_timeout`` is not
        needed: the kernel frees the lock of a dead holder."""
        deadline = None if acquire_timeout is None else time.monotonic() + acquire_timeout
        while True:
            with self._mutex:
                if self.is_lock_holder(key, holder):
                    return True
                fd = self._try(key)
                if fd is not None:
                    self._held[key] = (holder, fd)
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)

    async def aacquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None, hold_timeout: float | None = None) -> bool:
        from anyio import to_thread

        return await to_thread.run_sync(self.acquire_lock, key, holder, acquire_timeout, hold_timeout)

    def release_lock(self, key: str, holder: str) -> None:
        with self._mutex:
            if not self.is_lock_holder(key, holder):
                raise ValueError(f"{holder} does not hold the lock on {key}")
            _, fd = self._held.pop(key)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def is_locked(self, key: str) -> bool:
        if key in self._held:
            return True
        fd = self._try(key)
        if fd is None:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        return False

    def is_lock_holder(self, key: str, holder: str) -> bool:
        held = self._held.get(key)
        return held is not None and held[0] == holder

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.is_locked(key):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)
        return True

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        from anyio import to_thread

        return await to_thread.run_sync(self.wait_for_lock, key, timeout)
