"""Atomic writes and content hashes: the two file primitives every writer and cache relies on."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

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


_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def check_input(path: str | Path, what: str = "input file", folder_ok: bool = True,
                missing_fix: str = "correct the path", folder_fix: Callable[[Path], str] | None = None) -> Path:
    """Refuse, before anything opens it, what a reader would hang on or misreport.

    Only regular files are read, and folders where ``folder_ok`` (a scene folder, a Zarr store); a
    FIFO, socket or device (or one inside such a folder) would block a reader forever waiting for a
    writer. A symbolic-link loop and a broken link are named as such rather than "not found".
    Only ``stat`` is called: nothing is opened.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(path, f"{what}: is a symbolic link loop (a link that leads back to itself)",
                             "point the link at the real file, or give the file's own path") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and path.is_symlink():
            raise InputError(path, f"{what}: is a broken symbolic link (to {os.readlink(path)}, which does not exist)",
                             "restore the target or point the link at the real file") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise InputError(path, f"{what} not found", missing_fix) from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise InputError(path, f"{what}: permission denied", "make it readable by this user") from None
        raise
    if stat.S_ISDIR(mode):
        if not folder_ok:
            raise InputError(path, f"is a folder, not a {what}", folder_fix(path) if folder_fix else "give the path of the file inside it")
        for entry in path.rglob("*"):
            _regular_or_folder(entry, lstat=True)
        return path
    _regular_or_folder(path, mode)
    return path


def _regular_or_folder(path: Path, mode: int | None = None, lstat: bool = False) -> None:
    if mode is None:
        try:
            mode = (os.lstat if lstat else os.stat)(path).st_mode
        except OSError:
            return  # vanished or unreadable inside a folder: the reader reports it
    for test, kind in _SPECIAL:
        if test(mode):
            raise InputError(path, f"is {kind}, not a regular file: reading it would wait for a writer forever",
                             "give the path of a regular file (save the data to a file first)")


def check_output_folder(path: str | Path, what: str = "--outputs") -> Path:
    """Refuse an outputs folder that is (or lies under) an existing file, before any run starts."""
    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists() or folder.is_symlink():
            if not folder.is_dir():
                where = "" if folder == path else f" (its parent {folder} is)"
                raise InputError(what, f"{path} is not a folder: a file is in the way{where}",
                                 "pass a folder path (it is created if missing), e.g. --outputs outputs")
            return path
    return path


def content_hash(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative names and bytes, sorted).

    Special files (a FIFO would block ``open`` forever) are refused with an :class:`InputError`.
    """
    path = check_input(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode())
        with open(file, "rb") as handle:
            while block := handle.read(chunk_bytes):
                digest.update(block)
    return digest.hexdigest()


# ".<name>.<writer's pid, hex>.<8 hex>.tmp<suffix>" or ".old" (and what a writer stages beside them, same
# prefix): the pid lets a later run tell a dead writer's leftovers from a live one's work
_TEMPORARY = re.compile(r"^\..+?\.(?:(?P<pid>[0-9a-f]{1,8})\.)?[0-9a-f]{8}\.(?:tmp|old)")


def remove_leftovers(folder: str | Path, started: float) -> list[Path]:
    """Delete the temporaries that killed writers left under ``folder``; returns what was deleted.

    A temporary is a leftover when it was last written before ``started`` (a run's start, epoch s) and
    the process named in it is gone; those of live processes (a concurrent run, this one) stay.
    """
    removed: list[Path] = []
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            match = _TEMPORARY.match(name)
            path = Path(root) / name
            if match is None or not _dead(match["pid"]):
                continue
            try:
                if path.lstat().st_mtime >= started:
                    continue
                if name in folders and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
        folders[:] = [f for f in folders if not _TEMPORARY.match(f)]
    return removed


def _dead(pid_hex: str | None) -> bool:
    if pid_hex is None:  # written before owners were recorded: its age alone decides
        return True
    pid = int(pid_hex, 16)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; move it into place only if the block succeeds.

    Works for files and folders (a Zarr store). A killed or failed write leaves the previous
    version of ``path`` untouched and no half-written file under its name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid():x}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")
    try:
        yield tmp
        if path.is_dir() and not path.is_symlink():
            old = path.with_name(f".{path.name}.{os.getpid():x}.{uuid.uuid4().hex[:8]}.old")
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
    """Place a finished file or folder at ``destination`` as a copy (copy-on-write where the file
    system can clone), skipping what is already there unchanged (same sizes and modification times).

    Not hard links: a user editing a published map or model in place (QGIS edits a GeoPackage where
    it lies) would edit the cached work file too. The swap into place is atomic, so readers of
    ``destination`` never see a half-published file.
    """
    source, destination = Path(source), Path(destination)
    if _stat_list(source) == _stat_list(destination):
        return destination
    with atomic_path(destination) as tmp:
        if source.is_dir():
            shutil.copytree(source, tmp, copy_function=clone_or_copy)
        else:
            clone_or_copy(source, tmp)
    return destination


def file_signature(path: str | Path) -> str:
    """A cheap fingerprint of a file or folder from ``stat`` alone (size, times, inode of every file):
    equal signatures mean unchanged content, for anyone but a deliberate forger. Empty when missing."""
    path = Path(path)
    entries = []
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        try:
            st = os.stat(file)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            entries.append(f"{file.relative_to(path).as_posix() if file != path else ''}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}")
    return hashlib.sha256("\n".join(entries).encode()).hexdigest() if entries else ""


def _stat_list(path: Path) -> list[tuple[str, int, int]] | None:
    """(relative name, size, mtime) of every file of a file or folder; None when absent."""
    if not path.exists():
        return None
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(f.relative_to(path).as_posix(), f.stat().st_size, f.stat().st_mtime_ns) for f in files]


_FICLONE = 0x40049409  # Linux ioctl: share the source's blocks until either copy is written (btrfs, XFS)


def clone_or_copy(source, destination) -> None:
    """Copy a file, by a copy-on-write clone where the file system supports one; keep its times."""
    with open(source, "rb") as src, open(destination, "wb") as dst:
        try:
            import fcntl

            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
        except (OSError, ImportError):
            shutil.copyfileobj(src, dst, 1 << 20)
    shutil.copystat(source, destination)
