"""Which runs changed: for a live view (the web UI's event stream), on a connection of its own.

``PRAGMA data_version`` changes when another connection (an engine, a cancel request, a
``runs rm``) commits, and reading it costs nothing otherwise. On a change, the runs that moved
are found by comparing what the rows of recently active runs look like with what they looked
like at the last look: timestamps alone would miss a step written late by a slower engine.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

RECENT = 60.0  # seconds: runs ended longer ago than this are not compared row by row

Snapshot = dict[str, tuple[Any, ...]]


class ChangeWatcher:
    """One reader's view of the run database: which runs changed since its last look."""

    def __init__(self, path: Path) -> None:
        # only read, but not mode=ro: a read-only connection cannot open a WAL database whose
        # -shm file the last writer removed
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout=5000")
        self.version = self._version()
        self.seen = self._snapshot()

    def _version(self) -> int:
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def _snapshot(self) -> Snapshot:
        """Per run that is running or moved lately: its status and how far its steps got."""
        since = time.time() - RECENT
        rows = self.db.execute(
            "SELECT r.run_id, r.status, r.ended, r.resumed, "
            "(SELECT COUNT(*) || ':' || IFNULL(MAX(s.started), 0) || ':' || IFNULL(MAX(s.ended), 0)"
            " || ':' || SUM(s.status = 'running') FROM steps s WHERE s.run_id = r.run_id) "
            "FROM runs r WHERE r.status = 'running' OR r.ended >= ? OR r.started >= ? "
            "OR r.resumed >= ?",
            (since, since, since),
        ).fetchall()
        extra = self._cancel_column()
        found: Snapshot = {row[0]: tuple(row[1:]) for row in rows}
        if extra:
            for run_id, requested in self.db.execute(
                f"SELECT run_id, {extra} FROM runs WHERE {extra} IS NOT NULL AND {extra} >= ?",
                (since,),
            ):
                found[run_id] = (*found.get(run_id, ()), requested)
        return found

    def _cancel_column(self) -> str | None:
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(runs)")}
        return "cancel_requested" if "cancel_requested" in columns else None

    def changed(self) -> list[str] | None:
        """The run ids that changed since the last call ([] when something changed that
        names no run, such as a removal); None when nothing was committed."""
        version = self._version()
        if version == self.version:
            return None
        self.version = version
        now = self._snapshot()
        moved = [r for r in now if now[r] != self.seen.get(r)]
        gone = [r for r in self.seen if r not in now]  # ended a while ago, or removed
        if gone:
            marks = ", ".join("?" for _ in gone)
            kept = {
                r[0]
                for r in self.db.execute(f"SELECT run_id FROM runs WHERE run_id IN ({marks})", gone)
            }
            moved += [r for r in gone if r not in kept]
        self.seen = now
        return sorted(moved)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()
