"""The store's preflight check of ``runs.db`` (``dagwright/store/preflight.py``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import IO, Any

import pytest

from dagwright.errors import ValidationError
from dagwright.store import preflight


def test_a_database_another_run_is_making_is_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run reads an empty ``runs.db`` just before its neighbour writes the first page: the
    verdict must come from what it read, not from the file's size a moment later (a fresh-store
    race CI caught with eight engines)."""
    path = tmp_path / "runs.db"
    path.touch()
    real_open = open

    def open_then_neighbour_writes(file: Any, mode: str = "r") -> IO[bytes]:
        f = real_open(file, mode)
        data = f.read()
        assert data == b""
        db = sqlite3.connect(path)
        db.execute("create table t (x)")
        db.commit()
        db.close()
        f.seek(0)
        f.read = lambda n=-1: data  # type: ignore[method-assign]
        return f

    monkeypatch.setattr(preflight, "open", open_then_neighbour_writes, raising=False)
    preflight.run_database(path)  # no ValidationError
    assert path.stat().st_size > 0


@pytest.mark.parametrize("content", [b"", b"SQLite", b"SQLite format 3\x00"])
def test_an_empty_or_partly_written_or_real_header_passes(tmp_path: Path, content: bytes) -> None:
    """A header being written, or written whole, is a SQLite file."""
    path = tmp_path / "runs.db"
    path.write_bytes(content + b"\x00" * 100 if len(content) == 16 else content)
    preflight.run_database(path)


@pytest.mark.parametrize("content", [b"hello, world\n", b"SQLite format 2\x00rest"])
def test_another_file_is_refused_naming_the_field(tmp_path: Path, content: bytes) -> None:
    """A text file, or another format's header, is refused with the field and the fix."""
    path = tmp_path / "runs.db"
    path.write_bytes(content)
    with pytest.raises(ValidationError) as err:
        preflight.run_database(path)
    assert "--root" in str(err.value) and "move that file away" in str(err.value)
