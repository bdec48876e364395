"""A clock and a launcher for scheduler tests (time that jumps, runs that are only recorded),
and a one-step schedule to add to a store."""

from __future__ import annotations

import json
import threading
from calendar import timegm
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagwright
from dagwright import Pipeline, component
from dagwright.schedules.daemon import run_id_for
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import Schedule, ScheduleBook

T0 = float(timegm((2026, 1, 1, 0, 0, 0)))  # a whole minute, UTC


@component
def stamp(tag: str) -> str:
    return tag


def ticker_ir() -> str:
    """The IR of a one-step pipeline 'ticker' (parameter ``tag``, output ``out``)."""
    p = Pipeline("ticker")
    p.output("out", p.add(stamp, tag=p.param("tag", str, default="x")).output)
    return json.dumps(dagwright.api.to_ir(p).to_dict())


def add_schedule(root: Path, **fields: Any) -> None:
    """Store a schedule of 'ticker', every minute from ``T0`` unless ``fields`` say otherwise."""
    db = RunDatabase(root / "runs.db")
    values: dict[str, Any] = {
        "name": "ticker",
        "pipeline": "ticker",
        "source": "ticker.py",
        "ir": ticker_ir(),
        "cron": "* * * * *",
        "created": T0,
        "considered": T0,
        **fields,
    }
    ScheduleBook(db).add(Schedule(**values))
    db.close()


def minute(n: int, name: str = "ticker") -> str:
    """The run id of the slot ``n`` minutes after ``T0``."""
    return run_id_for(name, T0 + 60 * n)


class FakeClock:
    """Time that stands still until a test moves it (``t``); sleeping moves it."""

    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        self.t += seconds


class RecordingLauncher:
    """Records the runs the scheduler starts and stops instead of starting processes.

    Args:
        end_at_once: Each run has ended by the next look (else it runs until ``end``).
    """

    def __init__(self, end_at_once: bool = False) -> None:
        self.end_at_once = end_at_once
        self.started: list[str] = []
        self.stopped: list[int] = []
        self.pids: dict[str, int] = {}
        self.names: dict[str, str] = {}
        self.alive_pids: set[int] = set()
        self.looked = 0  # calls of alive(): how many runs the scheduler looked at
        self.reaped = 0

    def reap(self) -> None:
        self.reaped += 1

    def start(self, schedule: Schedule, run_id: str) -> int:
        pid = 1000 + len(self.started)
        self.started.append(run_id)
        self.pids[run_id] = pid
        self.names[run_id] = schedule.name
        if not self.end_at_once:
            self.alive_pids.add(pid)
        return pid

    def alive(self, pid: int, run_id: str) -> bool:
        self.looked += 1
        return pid in self.alive_pids and self.pids.get(run_id) == pid

    def stop(self, pid: int, run_id: str) -> None:
        self.stopped.append(pid)
        self.alive_pids.discard(pid)

    def find(self, run_id: str) -> int | None:
        pid = self.pids.get(run_id)
        return pid if pid in self.alive_pids else None

    def end(self, run_id: str) -> None:
        self.alive_pids.discard(self.pids[run_id])

    def slots(self, name: str) -> list[float]:
        """The slots of ``name``'s runs, read back from their run ids (``<name>-<UTC stamp>``)."""
        return [
            datetime.strptime(run_id[-15:], "%Y%m%d-%H%M%S")
            .replace(tzinfo=timezone.utc)
            .timestamp()
            for run_id in self.started
            if self.names[run_id] == name
        ]
