"""The run database's tables, and the columns added to them since the first release.

Kept apart from ``rundb.py``, which reads and writes rows: a change to the tables is a change
here, and an older database gains the added columns the first time it is opened.
"""

from __future__ import annotations

import sqlite3

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
    "steps": {"note": "TEXT"},
}


def create_tables(db: sqlite3.Connection) -> None:
    """Create what is missing (inside the caller's transaction): the tables, their indexes,
    and the columns older databases lack."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    for table, columns in _ADDED.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
