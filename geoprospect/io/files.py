"""Atomic writes and content hashes: the two file primitives every writer and cache relies on."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from geoprospect.errors import InputError


@dataclass(frozen=True)
class FileRef:
    """A small, hashable reference to a file or folder on disk, keyed by its content.

    Tasks pass these between each other instead of arrays, so that cache keys follow content.
    """

    path: str
    sha256: str

    @classmethod
    def of(cls, path: str | Path) -> "FileRef":
        return cls(str(Path(path).resolve()), content_hash(path))

    def verify(self) -> Path:
        """The path, once checked to be the content the run hashed at its start.

        Raises
        ------
        FileNotFoundError
            The file vanished since (an I/O fault: retried, a sync may bring it back).
        InputError
            Its content changed since (the run's cache keys would no longer match its products).
        """
        path = Path(self.path)
        if not path.exists():
            raise FileNotFoundError(errno.ENOENT, "input listed when the run started is gone (moved, deleted or still "
                                    "syncing); restore it or correct the catalog", self.path)
        if content_hash(path) != self.sha256:
            raise InputError(path, "changed while the run was using it", "let the copy or edit finish, then run again")
        return path


def content_hash(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative names and bytes, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode())
        with open(file, "rb") as handle:
            while block := handle.read(chunk_bytes):
                digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; move it into place only if the block succeeds.

    Works for files and folders (a Zarr store). A killed or failed write leaves the previous
    version of ``path`` untouched and no half-written file under its name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            old = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def publish(source: str | Path, destination: str | Path) -> Path:
    """Place a finished file or folder at ``destination`` by hard links (copies across devices).

    Work files are immutable once written, so linking is safe and costs no space; the swap into
    place is atomic, so readers of ``destination`` never see a half-published file.
    """
    source, destination = Path(source), Path(destination)
    with atomic_path(destination) as tmp:
        if source.is_dir():
            shutil.copytree(source, tmp, copy_function=_link_or_copy)
        else:
            _link_or_copy(source, tmp)
    return destination


def _link_or_copy(source, destination) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)
