"""The run database's tables, their schema version and the migrations between versions.

Kept apart from ``rundb.py``, which reads and writes rows: a change to the tables is a new
migration here. The version is SQLite's ``PRAGMA user_version``; a database is migrated, in
order, the first time this code opens it. Databases made before the version was kept read 0:
the migrations are written so they also hold for any of those (tables and columns are added
only when missing). A database from a newer dagwright is refused, not rewritten.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from dagwright.errors import ValidationError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    outputs TEXT,
    ir TEXT NOT NULL,
    artifacts TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    task TEXT NOT NULL,
    iteration TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    started REAL,
    ended REAL,
    error TEXT,
    traceback TEXT,
    outputs TEXT,
    cache_key TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    stdout TEXT,
    stderr TEXT,
    PRIMARY KEY (run_id, task, iteration)
);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    outputs TEXT NOT NULL,
    run_id TEXT NOT NULL,
    task TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs(started);
"""

# columns added after the first release: added to older databases when missing
_ADDED = {
    "runs": {
        "reason": "TEXT",
        "owner_host": "TEXT",
        "owner_pid": "INTEGER",
        "owner_start": "TEXT",
        "resumed": "REAL",
        "elapsed": "REAL",
        "function": "TEXT",
    },
    # inputs: the cache key's parts and what the step was given (engine/cache.py), JSON
    "steps": {"note": "TEXT", "inputs": "TEXT"},
}


def _create(db: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)


def _add_columns(db: sqlite3.Connection) -> None:
    for table, columns in _ADDED.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _add_cancel_request(db: sqlite3.Connection) -> None:
    """``runs.cancel_requested``: when another process (``runs cancel``, the UI) asked the
    run's engine to stop; NULL while nobody did."""
    have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    if "cancel_requested" not in have:
        db.execute("ALTER TABLE runs ADD COLUMN cancel_requested REAL")


# (version, migration): each brings a database of the version before it to its version
_MIGRATIONS: list[tuple[int, Callable[[sqlite3.Connection], None]]] = [
    (1, _create),
    (2, _add_columns),
    (3, _add_cancel_request),
    (4, _add_columns),  # steps.inputs
]
VERSION = _MIGRATIONS[-1][0]


def create_tables(db: sqlite3.Connection) -> None:
    """Bring the database to ``VERSION`` (inside the caller's transaction): the migrations
    after its own version, in order, then the version recorded.

    Raises:
        ValidationError: (field ``--root``) for a database made by a newer dagwright.
    """
    version = check_not_newer(db)
    for number, migrate in _MIGRATIONS:
        if number > version:
            migrate(db)
    if version != VERSION:
        db.execute(f"PRAGMA user_version = {VERSION}")


def check_not_newer(db: sqlite3.Connection) -> int:
    """The database's schema version.

    Raises:
        ValidationError: (field ``--root``) for a database made by a newer dagwright.
    """
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    if version > VERSION:
        raise ValidationError(
            f"the run database has schema version {version}, newer than this dagwright "
            f"knows ({VERSION}); it was made by a newer dagwright",
            field="--root",
            fix="upgrade dagwright (pip install -U dagwright), or point --root at another folder",
        )
    return version
