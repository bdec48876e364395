"""A clock and a launcher for scheduler tests: time that jumps, runs that are only recorded."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from dagwright.store.schedules import Schedule


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

    def start(self, schedule: Schedule, run_id: str) -> int:
        pid = 1000 + len(self.started)
        self.started.append(run_id)
        self.pids[run_id] = pid
        self.names[run_id] = schedule.name
        if not self.end_at_once:
            self.alive_pids.add(pid)
        return pid

    def alive(self, pid: int) -> bool:
        return pid in self.alive_pids

    def stop(self, pid: int) -> None:
        self.stopped.append(pid)
        self.alive_pids.discard(pid)

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
