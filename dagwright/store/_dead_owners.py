"""Runs whose owner process is gone: whoever reads such a run next marks it ``interrupted``.

A process that was SIGKILLed or crashed cannot record its own end, so a run row left
``running`` by an owner that no longer lives (``owner.py``) is ended by its next reader, with
the steps it was running, at the last time the run was seen doing something.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from dagwright.store._connection import Transaction
from dagwright.store.owner import Owner, alive

INTERRUPTED = "interrupted"
DEAD_OWNER = "the engine process ended without finishing (killed?)"
DEAD_OWNER_STEP = (
    "the engine process ended while this step ran (killed, or the step crashed it); "
    "'dagwright resume' runs it again"
)


def owner_of(row: dict[str, Any]) -> Owner | None:
    """The process a run row names as its owner; None for a row recorded before owners were."""
    if row.get("owner_pid") is None:
        return None  # recorded before owners were
    return Owner(row["owner_host"], row["owner_pid"], row["owner_start"])


def owner_columns(owner: Owner) -> tuple[str, int, str | None]:
    """``owner`` as the run row's ``owner_host``, ``owner_pid`` and ``owner_start``."""
    return owner.host, owner.pid, owner.start


def reaped(db: sqlite3.Connection, row: dict[str, Any]) -> dict[str, Any]:
    """A run whose owner is gone is ``interrupted``, and so are its ``running`` steps.

    Call inside a transaction. The end is the last time the run was seen doing something.
    """
    owner = owner_of(row)
    if row["status"] != "running" or owner is None or alive(owner):
        return row
    run_id = row["run_id"]
    steps = db.execute(
        "SELECT task, iteration, started, ended FROM steps WHERE run_id=?", (run_id,)
    ).fetchall()
    seen = [t for s in steps for t in (s["started"], s["ended"]) if t is not None]
    ended = max([row["resumed"] or row["started"], *seen])
    running = [
        s["task"] + (f"[{s['iteration']}]" if s["iteration"] else "")
        for s in steps
        if s["ended"] is None and s["started"] is not None
    ]
    reason = DEAD_OWNER + (f" while step {', '.join(running[:5])} ran" if running else "")
    db.execute(
        "UPDATE runs SET status=?, reason=?, ended=? WHERE run_id=? AND status='running'",
        (INTERRUPTED, reason, ended, run_id),
    )
    db.execute(
        "UPDATE steps SET status=?, error=? WHERE run_id=? AND status='running'",
        (INTERRUPTED, DEAD_OWNER_STEP, run_id),
    )
    return {**row, "status": INTERRUPTED, "reason": reason, "ended": ended}


def settle(db: sqlite3.Connection) -> None:
    """Mark ``interrupted`` every run left ``running`` by an owner that is gone (rows read
    again under the write lock: a resume may have just claimed one)."""
    if db.execute("SELECT 1 FROM runs WHERE status='running' LIMIT 1").fetchone():
        with Transaction(db):
            for row in db.execute("SELECT * FROM runs WHERE status='running'").fetchall():
                reaped(db, dict(row))


def checked(db: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
    """A run row as it stands: one ``running`` with an owner is read again under the write
    lock, and reaped if that owner is gone."""
    data = dict(row)
    if data["status"] == "running" and owner_of(data) is not None:
        with Transaction(db):
            fresh = db.execute("SELECT * FROM runs WHERE run_id=?", (data["run_id"],)).fetchone()
            data = reaped(db, dict(fresh))
    return data
