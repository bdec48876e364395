"""The ``steps.inputs`` column read back (``rundb.py``'s queries): what each step execution
was given and the parts of its cache key, as ``engine/cache.py`` recorded them (JSON)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def inputs_of(
    db: sqlite3.Connection, run_id: str, task: str, iteration: str
) -> dict[str, Any] | None:
    """One step execution's recorded inputs, or None when it has none."""
    row = db.execute(
        "SELECT inputs FROM steps WHERE run_id=? AND task=? AND iteration=?",
        (run_id, task, iteration),
    ).fetchone()
    return json.loads(row["inputs"]) if row and row["inputs"] else None


def earlier_steps(
    db: sqlite3.Connection,
    before: float,
    *,
    pipeline: str | None = None,
    task: str | None = None,
    iteration: str | None = None,
    component: str | None = None,
    digest: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Succeeded step executions whose inputs were recorded (looked up) before ``before``,
    the most recent first, of runs of ``pipeline``, of ``task``, at ``iteration``, of the
    component named ``component``, of that ``digest`` (each filter only when given):
    ``run_id``, ``task``, ``iteration`` and ``inputs`` (read)."""
    where = ["s.inputs IS NOT NULL", "s.status = 'succeeded'", "json_extract(s.inputs, '$.at') < ?"]
    args: list[Any] = [before]
    for column, value in (("r.pipeline", pipeline), ("s.task", task), ("s.iteration", iteration)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    for path, value in (("$.component.name", component), ("$.component.digest", digest)):
        if value is not None:
            where.append(f"json_extract(s.inputs, '{path}') = ?")
            args.append(value)
    rows = db.execute(
        "SELECT s.run_id, s.task, s.iteration, s.inputs FROM steps s "
        "JOIN runs r ON r.run_id = s.run_id WHERE " + " AND ".join(where) + " "
        "ORDER BY json_extract(s.inputs, '$.at') DESC LIMIT ?",
        [*args, limit],
    ).fetchall()
    return [{**dict(r), "inputs": json.loads(r["inputs"])} for r in rows]
