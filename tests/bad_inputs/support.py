"""Helpers shared by the bad-input tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from geoprospect.errors import InputError

GRID_YAML = 'grid: {crs: "EPSG:32612", bounds: [500000, 3600000, 503000, 3603000], resolution_m: 30}\n'


def raises_input_error(reader, path: Path, match: str, *args, **kwargs) -> InputError:
    """Call ``reader(path, ...)``; expect one InputError naming ``path`` with a fix."""
    with pytest.raises(InputError, match=match) as info:
        reader(path, *args, **kwargs)
    assert info.value.source == str(path) and path.name in str(info.value) and info.value.fix
    return info.value


def text_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
