"""The run database: SQLite (WAL) with one row per pipeline run and per step execution.

Many ``dagwright run`` processes may share one database: WAL lets readers work beside the one
writer, and writers wait for each other (busy timeout) instead of failing. Each engine writes
from its scheduler thread only, in one short transaction per scheduling round.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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

STEP_FIELDS = (
    "status",
    "attempts",
    "started",
    "ended",
    "error",
    "traceback",
    "outputs",
    "cache_key",
    "cached",
    "stdout",
    "stderr",
)


def iteration_text(iteration: Iterable[int]) -> str:
    return ".".join(str(i) for i in iteration)


class RunDatabase:
    """Runs, steps and cache entries in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from dagwright.errors import ValidationError

            raise ValidationError(
                f"cannot make the store folder '{self.path.parent}' ({exc.strerror or exc})",
                field="--root",
                fix="point --root at a folder you can write to",
            ) from exc
        try:
            # one connection per engine, used from its scheduler thread only
            self.db = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=60000")
            with self.transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "db"):
                self.db.close()
            if not _not_a_database(exc):
                raise
            from dagwright.errors import ValidationError

            raise ValidationError(
                f"'{self.path}' is not a run database ({exc})",
                field="--root",
                fix="point --root at another folder, or move that file away",
            ) from exc

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    def close(self) -> None:
        self.db.close()

    # writing

    def start_run(
        self, run_id: str, pipeline: str, params: dict[str, Any], ir: str, artifacts: str
    ) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT INTO runs (run_id, pipeline, status, params, ir, artifacts, started) "
                "VALUES (?, ?, 'running', ?, ?, ?, ?) "
                "ON CONFLICT(run_id) DO UPDATE SET status='running', ended=NULL",
                (run_id, pipeline, json.dumps(params), ir, artifacts, time.time()),
            )

    def save_steps(self, run_id: str, rows: list[dict[str, Any]]) -> None:
        """Insert or update step rows (each with task, iteration and STEP_FIELDS)."""
        if not rows:
            return
        columns = ", ".join(STEP_FIELDS)
        marks = ", ".join("?" for _ in STEP_FIELDS)
        updates = ", ".join(f"{f}=excluded.{f}" for f in STEP_FIELDS)
        with self.transaction():
            self.db.executemany(
                f"INSERT INTO steps (run_id, task, iteration, {columns}) "
                f"VALUES (?, ?, ?, {marks}) "
                f"ON CONFLICT(run_id, task, iteration) DO UPDATE SET {updates}",
                [
                    (
                        run_id,
                        row["task"],
                        iteration_text(row["iteration"]),
                        *(row.get(f) for f in STEP_FIELDS),
                    )
                    for row in rows
                ],
            )

    def finish_run(self, run_id: str, status: str, outputs: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET status=?, outputs=?, ended=? WHERE run_id=?",
                (status, json.dumps(outputs), time.time(), run_id),
            )

    def save_cache(self, key: str, outputs: str, run_id: str, task: str) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO cache (key, outputs, run_id, task, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, outputs, run_id, task, time.time()),
            )

    # reading

    def cached(self, key: str) -> str | None:
        row = self.db.execute("SELECT outputs FROM cache WHERE key=?", (key,)).fetchone()
        return row["outputs"] if row else None

    def runs(
        self,
        limit: int | None = 20,
        pipeline: str | Iterable[str] | None = None,
        *,
        status: Iterable[str] = (),
        since: float | None = None,
        before: float | None = None,
    ) -> list[dict[str, Any]]:
        """Runs newest first: of these pipelines (names), statuses, started in [since, before)."""
        where: list[str] = []
        args: list[Any] = []
        names = [pipeline] if isinstance(pipeline, str) else list(pipeline or ())
        for column, values in (("pipeline", names), ("status", list(status))):
            if values:
                where.append(f"{column} IN ({', '.join('?' for _ in values)})")
                args += values
        if since is not None:
            where.append("started >= ?")
            args.append(since)
        if before is not None:
            where.append("started < ?")
            args.append(before)
        query = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        query += " ORDER BY started DESC"
        if limit is not None:
            query += " LIMIT ?"
            args.append(limit)
        return [_run_row(r) for r in self.db.execute(query, args)]

    def find_run(self, run_id: str) -> dict[str, Any]:
        """A run by id, or by a prefix that names exactly one run.

        Raises:
            ValidationError: when no run, or more than one, matches.
        """
        from dagwright.errors import ValidationError

        row = self.db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is not None:
            return _run_row(row)
        pattern = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.execute(
            "SELECT * FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY started DESC LIMIT 4",
            (pattern,),
        ).fetchall()
        if len(rows) == 1:
            return _run_row(rows[0])
        if not rows:
            raise ValidationError(
                f"no run '{run_id}'", field="RUN", fix="list runs with 'dagwright runs ls'"
            )
        names = ", ".join(r["run_id"] for r in rows[:3])
        raise ValidationError(
            f"'{run_id}' names more than one run ({names}...)",
            field="RUN",
            fix="give more of the run id",
        )

    def forget_unfinished(self, run_id: str) -> None:
        """Drop the rows of steps that did not succeed: a resume records them anew."""
        with self.transaction():
            self.db.execute("DELETE FROM steps WHERE run_id=? AND status != 'succeeded'", (run_id,))

    def remove_run(self, run_id: str, artifacts: str) -> int:
        """Delete a run's row, its step rows and the cache entries that point into its artifact
        location ``artifacts`` (or were made by it), in one transaction; the step rows deleted.

        A run still ``running`` is left alone (checked inside the transaction).

        Raises:
            ValidationError: the run is running.
        """
        from dagwright.errors import ValidationError

        prefix = artifacts.rstrip("/") + "/"
        pattern = "%" + prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.transaction():
            row = self.db.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is not None and row["status"] == "running":
                raise ValidationError(
                    f"run '{run_id}' is running",
                    field="RUN",
                    fix="wait for it to end (or stop it) before removing it",
                )
            steps = self.db.execute("DELETE FROM steps WHERE run_id=?", (run_id,)).rowcount
            self.db.execute(
                "DELETE FROM cache WHERE run_id=? OR outputs LIKE ? ESCAPE '\\'",
                (run_id, pattern),
            )
            self.db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
        return int(steps)

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT * FROM steps WHERE run_id=? ORDER BY started IS NULL, started, task, iteration",
            (run_id,),
        )
        return [_step_row(r) for r in rows]


def _not_a_database(exc: sqlite3.DatabaseError) -> bool:
    """The file is something else than SQLite (or a folder), as opposed to busy or full."""
    name = getattr(exc, "sqlite_errorname", "")  # Python 3.11+
    if name:
        return name in ("SQLITE_NOTADB", "SQLITE_CORRUPT", "SQLITE_CANTOPEN")
    text = str(exc)
    return any(s in text for s in ("not a database", "malformed", "unable to open"))


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: take the write lock up front, so two writers queue
    on the busy timeout instead of failing part way."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _run_row(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["params"] = json.loads(data["params"])
    data["outputs"] = json.loads(data["outputs"]) if data["outputs"] else None
    return data


def _step_row(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["outputs"] = json.loads(data["outputs"]) if data["outputs"] else None
    data["cached"] = bool(data["cached"])
    return data
