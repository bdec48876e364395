"""How the run database's rows read back (``rundb.py``'s queries): the ``WHERE`` clause of a
runs listing, and a run or step row as plain data. Kept apart so ``rundb.py`` holds the
reading and writing of rows only."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from typing import Any


def run_filters(
    pipeline: str | Iterable[str] | None,
    status: Iterable[str],
    since: float | None,
    before: float | None,
) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (empty, or with its leading space) and its arguments for runs of
    these pipelines and statuses started in [since, before)."""
    where: list[str] = []
    args: list[Any] = []
    statuses = list(status)
    names = [pipeline] if isinstance(pipeline, str) else list(pipeline or ())
    marks = ", ".join("?" for _ in names)
    if names:  # the pipeline's name, or the name of the @pipeline function that made it
        where.append(f"(pipeline IN ({marks}) OR function IN ({marks}))")
        args += names + names
    if statuses:
        where.append(f"status IN ({', '.join('?' for _ in statuses)})")
        args += statuses
    if since is not None:
        where.append("started >= ?")
        args.append(since)
    if before is not None:
        where.append("started < ?")
        args.append(before)
    return (" WHERE " + " AND ".join(where) if where else ""), args


def run_row(data: dict[str, Any]) -> dict[str, Any]:
    """A ``runs`` row as callers get it: JSON columns read, ``duration`` computed."""
    data = dict(data)
    data["params"] = json.loads(data["params"])
    data["outputs"] = json.loads(data["outputs"]) if data["outputs"] else None
    # seconds spent running: earlier spans, plus the current one up to its end (or now)
    span = (data["ended"] or time.time()) - (data["resumed"] or data["started"])
    data["duration"] = (data["elapsed"] or 0.0) + max(span, 0.0)
    return data


def step_row(row: sqlite3.Row) -> dict[str, Any]:
    """A ``steps`` row as callers get it: outputs read, ``cached`` a bool; the recorded
    inputs are read through ``RunDatabase.step_inputs`` only."""
    data = dict(row)
    data.pop("inputs", None)
    data["outputs"] = json.loads(data["outputs"]) if data["outputs"] else None
    data["cached"] = bool(data["cached"])
    return data
