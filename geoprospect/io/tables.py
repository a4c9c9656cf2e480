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
        if b"\0" in handle.read(8192):  # Latin-1 would decode anything: refuse binary files first
            raise InputError(path, "cannot be parsed as CSV: it is a binary file", "point the catalog at the CSV text export")
    table, failure = None, None
    for candidate in [encoding] if encoding else ["utf-8-sig", "latin-1"]:
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
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}", f"the table needs columns {', '.join(required)}")
    if table.empty:
        raise InputError(path, "the file has a header but no data rows", "export the table again with its rows")
    return table


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
