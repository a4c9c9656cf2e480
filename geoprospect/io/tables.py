"""Tables (CSV) and JSON documents: the one CSV reader every table reader uses, atomic writers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path


def read_csv(path: str | Path, required: tuple[str, ...] | list[str] = (), encoding: str | None = None, **options) -> pd.DataFrame:
    """Read a CSV table, with one clear :class:`InputError` for each way it can be unusable.

    Text is decoded as UTF-8 (a byte-order mark allowed), then Latin-1, unless ``encoding`` is given.
    A missing file, an empty file, a file that does not parse, a missing ``required`` column and a
    header without rows are errors that name the file. ``options`` go to :func:`pandas.read_csv`.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", "check the path (and the catalog entry that names it)")
    with open(path, "rb") as handle:
        head = handle.read(8192)
    candidates = [encoding] if encoding else ["utf-8-sig", "latin-1"]
    if not encoding and head[:2] in (b"\xff\xfe", b"\xfe\xff") and _mostly_text(head.decode("utf-16", errors="replace")):
        candidates = ["utf-16"]  # Excel's "Unicode text": the byte-order mark says it unambiguously
    elif not encoding and b"\0" in head:  # Latin-1 would decode anything: refuse binary files first
        if _looks_utf16(head):
            raise InputError(path, "is UTF-16 text without a byte-order mark, not UTF-8",
                             "save it as 'CSV UTF-8 (comma delimited)'")
        raise InputError(path, "cannot be parsed as CSV: it is a binary file", "point the catalog at the CSV text export")
    table, failure = None, None
    for candidate in candidates:
        try:
            table = pd.read_csv(path, encoding=candidate, **options)
            break
        except UnicodeDecodeError as exc:
            failure = f"cannot be decoded as {candidate} ({exc})"
        except pd.errors.EmptyDataError:
            raise InputError(path, "the file is empty", "export the table again with a header row and data") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(path, f"cannot be parsed as CSV ({exc})", "save it as comma-separated text with one header row") from None
    if table is None:
        raise InputError(path, failure, "save it as UTF-8 text, or pass its encoding")
    if "sep" not in options and "delimiter" not in options and table.shape[1] == 1:
        for separator, name in ((";", "semicolons"), ("\t", "tabs")):
            if separator in str(table.columns[0]):
                raise InputError(path, f"its columns are separated by {name}, not commas (header {str(table.columns[0])[:60]!r})",
                                 "save it as comma-separated CSV, with '.' as the decimal mark")
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}", f"the table needs columns {', '.join(required)}")
    if table.empty:
        raise InputError(path, "the file has a header but no data rows", "export the table again with its rows")
    return table


def _mostly_text(text: str) -> bool:
    return len(text) > 1 and sum(c.isprintable() or c in "\r\n\t" for c in text) > 0.95 * len(text)


def _looks_utf16(head: bytes) -> bool:
    """ASCII text saved as UTF-16: every other byte is NUL."""
    pairs = head[: len(head) // 2 * 2]
    return len(pairs) >= 4 and (pairs[1::2].count(0) > 0.9 * len(pairs) / 2 or pairs[0::2].count(0) > 0.9 * len(pairs) / 2)


def write_csv(table: pd.DataFrame, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)


def write_json(obj, path: str | Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str))
    return Path(path)


def read_json(path: str | Path):
    return json.loads(Path(path).read_text())
