"""Tables (CSV) and JSON documents, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from geoprospect.io.files import atomic_path


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
