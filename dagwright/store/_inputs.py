"""``RunDatabase``'s cache table and ``steps.inputs`` column (the ``InputsReading`` mixin):
what each step execution was given and the parts of its cache key, as ``engine/cache.py``
recorded them (JSON), and the step outputs kept under a cache key."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from dagwright.store._connection import Transaction


def iteration_text(iteration: Iterable[int]) -> str:
    """A loop iteration as the database keeps it (``0.2``; ``""`` outside loops)."""
    return ".".join(str(i) for i in iteration)


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


class InputsReading:
    """``RunDatabase``'s cache entries (kept and read) and step inputs (read), on its
    connection ``db``."""

    db: sqlite3.Connection

    def save_cache(self, key: str, outputs: str, run_id: str, task: str) -> None:
        """Keep a step's outputs under its cache key."""
        with Transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO cache (key, outputs, run_id, task, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, outputs, run_id, task, time.time()),
            )

    def cache_entry(self, key: str) -> dict[str, Any] | None:
        """The cache entry under ``key``: its ``outputs`` (JSON), the ``run_id`` and ``task``
        that made it and when (``created``); None when there is none."""
        row = self.db.execute(
            "SELECT outputs, run_id, task, created FROM cache WHERE key=?", (key,)
        ).fetchone()
        return dict(row) if row else None

    def step_inputs(
        self, run_id: str, task: str, iteration: str | Iterable[int] = ""
    ) -> dict[str, Any] | None:
        """What one step execution was given, as its engine recorded it (``engine/cache.py``);
        None for a step recorded before this was kept, or not recorded at all.

        ``iteration``: the loop iteration as kept (``0.2``; ``""`` outside loops) or as a
        ``StepRecord`` has it (``(0, 2)``; ``()``). The dict:
        ``key`` (its cache key, made from these parts), ``component`` (``name``, ``digest``),
        ``cache_version``, ``parameters`` (values by name; ``***`` for those listed in
        ``masked``), ``masked``, ``artifacts`` (by input name, each an ``Artifact.to_dict()``
        with ``uri`` and ``digest``, or a list of them for a collected input) and ``cache``
        (``enabled``, ``set_by`` run or component; when looked up, ``result`` hit, miss or
        unusable, and for an entry found its ``run_id``, ``task``, ``created`` and the
        ``reason`` it could not be used).
        """
        text = iteration if isinstance(iteration, str) else iteration_text(iteration)
        return inputs_of(self.db, run_id, task, text)

    def earlier_inputs(self, before: float, **only: Any) -> list[dict[str, Any]]:
        """Succeeded step executions looked up before ``before`` (seconds since the epoch),
        the most recent first, with their recorded ``inputs`` (as ``step_inputs`` gives
        them); ``only``: ``pipeline``, ``task``, ``iteration``, ``component`` (its name),
        ``digest`` (the component's) and ``limit`` (50)."""
        return earlier_steps(self.db, before, **only)
