"""The run database: SQLite (WAL) with one row per pipeline run and per step execution.

Many ``dagwright run`` processes may share one database: WAL lets readers work beside the one
writer, and writers wait for each other (busy timeout) instead of failing. Each engine writes
from its dispatch thread only, in one short transaction per dispatch round.

A run row names its owner process (``store/owner.py``). A run left ``running`` by an owner that
is gone (SIGKILL, a crash) is marked ``interrupted`` by whoever reads it next, with its
``running`` steps (``store/_dead_owners.py``). A run's duration counts only the spans it ran:
``elapsed`` holds the seconds of the spans before the one that began at ``resumed``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.store._connection import Transaction, not_a_database, use_wal
from dagwright.store._dead_owners import (
    INTERRUPTED,
    checked,
    owner_columns,
    owner_of,
    reaped,
    settle,
)
from dagwright.store._inputs import InputsReading, iteration_text
from dagwright.store._rows import run_filters, run_row, step_row
from dagwright.store._schema import check_not_newer, create_tables
from dagwright.store.owner import Owner, current

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
    "note",
    "inputs",
)


__all__ = ["STEP_FIELDS", "RunDatabase", "iteration_text"]


class RunDatabase(InputsReading):
    """Runs, steps and cache entries in one SQLite file (what each step execution was given
    and the cache entries read back: ``InputsReading``, ``store/_inputs.py``)."""

    def __init__(self, path: str | Path) -> None:
        from dagwright.writes import private_file

        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationError(
                f"cannot make the store folder '{self.path.parent}' ({exc.strerror or exc})",
                field="--root",
                fix="point --root at a folder you can write to",
            ) from exc
        try:
            # it holds every parameter value (the real ones, to resume with): the owner's only;
            # SQLite gives its -wal and -shm files the database's permissions
            private_file(self.path)
            # one connection per engine, used from its dispatch thread only
            self.db = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            self.db.row_factory = sqlite3.Row
            check_not_newer(self.db)  # before anything is written to it, WAL included
            use_wal(self.db)
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=60000")
            with self.transaction():
                create_tables(self.db)
        except ValidationError:  # made by a newer dagwright: left as it is
            self.db.close()
            raise
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "db"):
                self.db.close()
            if not not_a_database(exc):
                raise
            raise ValidationError(
                f"'{self.path}' is not a run database ({exc})",
                field="--root",
                fix="point --root at another folder, or move that file away",
            ) from exc

    def transaction(self) -> Transaction:
        """A ``BEGIN IMMEDIATE`` transaction, for a ``with`` block."""
        return Transaction(self.db)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        """One statement on this database's connection, for the store's classes that own the
        other tables in this file (``schedules.ScheduleBook``); writes go in ``transaction()``."""
        return self.db.execute(sql, args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        """One statement for each of ``rows``, as ``execute``."""
        return self.db.executemany(sql, rows)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # writing

    def start_run(
        self,
        run_id: str,
        pipeline: str,
        params: dict[str, Any],
        ir: str,
        artifacts: str,
        function: str = "",
    ) -> None:
        """Record a new run owned by this process, or reopen an existing one (resume).
        ``function`` is the @pipeline function's name, when known."""
        me, now = current(), time.time()
        with self.transaction():
            row = self.db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                self.db.execute(
                    "INSERT INTO runs (run_id, pipeline, status, params, ir, artifacts, started, "
                    "resumed, elapsed, owner_host, owner_pid, owner_start, function) "
                    "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                    (
                        run_id,
                        pipeline,
                        json.dumps(params),
                        ir,
                        artifacts,
                        now,
                        now,
                        *owner_columns(me),
                        function or None,
                    ),
                )
            elif not (row["status"] == "running" and owner_of(dict(row)) == me):  # not claimed yet
                self._reopen(dict(row), me)

    def claim_run(self, run_id: str) -> dict[str, Any]:
        """Make this process the owner of a run that no live process runs (compare-and-set
        under the write lock, so of two resumes only one gets it).

        Raises:
            ValidationError: when the run is still going in a live process.
        """
        with self.transaction():
            row = self.db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
            data = reaped(self.db, dict(row))
            owner = owner_of(data)
            if data["status"] == "running" and owner is not None:
                raise ValidationError(
                    f"run '{run_id}' is still going ({owner})",
                    field="RUN",
                    fix=f"wait for it to end, or stop it (kill {owner.pid}) and resume then",
                )
            self._reopen(data, current())
        return self.find_run(run_id)

    def _reopen(self, row: dict[str, Any], me: Owner) -> None:
        """Running again: the span that ended counts towards ``elapsed``."""
        now = time.time()
        ran = (row["ended"] or now) - (row["resumed"] or row["started"])
        self.db.execute(
            "UPDATE runs SET status='running', ended=NULL, reason=NULL, resumed=?, elapsed=?, "
            "owner_host=?, owner_pid=?, owner_start=?, cancel_requested=NULL WHERE run_id=?",
            (now, (row["elapsed"] or 0.0) + max(ran, 0.0), *owner_columns(me), row["run_id"]),
        )

    def stop_run(self, run_id: str, status: str, reason: str) -> None:
        """The run ended before finishing (interrupted, or the engine failed): say why, and
        mark the steps that were running ``interrupted``."""
        now = time.time()
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET status=?, reason=?, ended=? WHERE run_id=?",
                (status, reason, now, run_id),
            )
            self.db.execute(
                "UPDATE steps SET status=?, error=?, ended=? WHERE run_id=? AND status='running'",
                (INTERRUPTED, reason, now, run_id),
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

    def finish_run(
        self, run_id: str, status: str, outputs: dict[str, Any], reason: str | None = None
    ) -> None:
        """End a run with its status and outputs (and why it failed, when no step did)."""
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET status=?, outputs=?, ended=?, reason=? WHERE run_id=?",
                (status, json.dumps(outputs), time.time(), reason, run_id),
            )

    def request_cancel(self, run_id: str) -> str:
        """Ask the engine running a run (in any process) to cancel it; the run's full id.

        ``run_id`` may be a prefix that names one run. The engine sees the request within a
        fraction of a second (``cancel_requested``).

        Raises:
            ValidationError: (field ``RUN``) when no run matches, or it is not running.
        """
        found = self.find_run(run_id)["run_id"]  # a run whose owner died is interrupted now
        with self.transaction():
            row = self.db.execute("SELECT status FROM runs WHERE run_id=?", (found,)).fetchone()
            status = "removed" if row is None else str(row["status"])
            if status != "running":
                raise ValidationError(
                    f"run '{found}' is not running (it is {status}): there is nothing to cancel",
                    field="RUN",
                    fix=f"see it with 'dagwright runs show {found}'; a stopped run continues "
                    f"with 'dagwright resume {found}'",
                )
            self.db.execute(
                "UPDATE runs SET cancel_requested=? WHERE run_id=?", (time.time(), found)
            )
        return found

    def cancel_requested(self, run_id: str) -> bool:
        """Whether someone asked to cancel the run (one primary-key read, the engine polls it)."""
        row = self.db.execute(
            "SELECT cancel_requested FROM runs WHERE run_id=?", (run_id,)
        ).fetchone()
        return row is not None and row[0] is not None

    def mark_run_stopped(self, run_id: str, now: float) -> None:
        """A run that another process stopped (the cron daemon's concurrency "replace")
        cannot record its own end: ``cancelled``, if it is still ``running``."""
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET status = 'cancelled', ended = ? "
                "WHERE run_id = ? AND status = 'running'",
                (now, run_id),
            )

    # reading

    def runs_holding(self, uri: str) -> list[tuple[str, str]]:
        """(run id, artifact location) of the runs whose location is a prefix of ``uri``
        (compared as text: no LIKE wildcards in a location)."""
        rows = self.db.execute(
            "SELECT run_id, artifacts FROM runs WHERE artifacts != '' "
            "AND substr(?, 1, length(artifacts) + 1) = artifacts || '/'",
            (uri,),
        ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def has_run(self, run_id: str) -> bool:
        """Whether a run of exactly this id is recorded."""
        row = self.db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row is not None

    def run_status(self, run_id: str) -> str | None:
        """The recorded status of a run, as it is in its row; None when there is no row."""
        row = self.db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else str(row["status"])

    def runs(
        self,
        limit: int | None = 20,
        pipeline: str | Iterable[str] | None = None,
        *,
        status: Iterable[str] = (),
        since: float | None = None,
        before: float | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Runs newest first: of these pipelines (names), statuses, started in [since, before);
        ``offset`` of them skipped (a page of ``limit`` at a time)."""
        settle(self.db)  # a run whose owner died is no longer 'running', for the filter too
        where, args = run_filters(pipeline, status, since, before)
        query = "SELECT * FROM runs" + where + " ORDER BY started DESC"
        if limit is not None:
            query += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return [run_row(dict(r)) for r in self.db.execute(query, args).fetchall()]

    def count_runs(
        self,
        pipeline: str | Iterable[str] | None = None,
        *,
        status: Iterable[str] = (),
        since: float | None = None,
        before: float | None = None,
    ) -> int:
        """How many runs ``runs`` would list without a limit (the same filters)."""
        settle(self.db)
        where, args = run_filters(pipeline, status, since, before)
        return int(self.db.execute("SELECT COUNT(*) FROM runs" + where, args).fetchone()[0])

    def find_run(self, run_id: str) -> dict[str, Any]:
        """A run by id, or by a prefix that names exactly one run.

        Raises:
            ValidationError: when no run, or more than one, matches.
        """
        row = self.db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is not None:
            return run_row(checked(self.db, row))
        pattern = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.execute(
            "SELECT * FROM runs WHERE run_id LIKE ? ESCAPE '\\' ORDER BY started DESC LIMIT 4",
            (pattern,),
        ).fetchall()
        if len(rows) == 1:
            return run_row(checked(self.db, rows[0]))
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
        """A run's step rows, in the order they started."""
        rows = self.db.execute(
            "SELECT * FROM steps WHERE run_id=? ORDER BY started IS NULL, started, task, iteration",
            (run_id,),
        )
        return [step_row(r) for r in rows]
