"""The run database's SQLite connection: WAL, transactions that take the write lock up front,
and what a file that is no database looks like. ``rundb.py`` reads and writes the rows."""

from __future__ import annotations

import sqlite3
import time
from typing import Any


def use_wal(db: sqlite3.Connection, wait: float = 60.0) -> None:
    """Switch ``db`` to WAL. Several processes opening a fresh store at once race to convert
    it, and SQLite may answer "database is locked" at once, without its busy handler (seen
    with 20 concurrent runs): so the switch is retried, as the busy timeout would, until
    ``wait`` seconds have passed. WAL persists in the file; once one process made it, the
    others' switch is a no-op."""
    deadline = time.monotonic() + wait
    delay = 0.005
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def not_a_database(exc: sqlite3.DatabaseError) -> bool:
    """The file is something else than SQLite (or a folder), as opposed to busy or full."""
    name = getattr(exc, "sqlite_errorname", "")  # Python 3.11+
    if name:
        return name in ("SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_CANTOPEN")
    text = str(exc)
    return any(s in text for s in ("not a database", "malformed", "unable to open"))


class Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: take the write lock up front, so two writers queue
    on the busy timeout instead of failing part way."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        if self.db.in_transaction:  # left open by a Ctrl-C between BEGIN and the body
            self.db.execute("ROLLBACK")
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
