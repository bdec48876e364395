"""The local scheduler: starts the runs of stored schedules when their slots come due.

Each tick the scheduler that holds the lease (``store/schedules.py``) first starts firings
that were recorded but never started (it crashed in between), then, for every schedule, works
out the slots due since the last one it dealt with, applies the catch-up policy (``none``: only
a slot due just now; ``latest``: the newest missed slot; ``all``: every one, oldest first) and
the concurrency policy (``allow``; ``forbid``: skip while its previous run still runs;
``replace``: stop that run first), records each firing and only then starts its run.

Runs are ``dagwright run`` processes with the slot's run id (``<schedule>-<UTC stamp>``), so a
pipeline that crashes or hangs cannot take the scheduler with it and ``replace`` can stop one.
Time and processes come through a ``Clock`` and a ``Launcher``, which tests replace.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from dagwright.engine import cron
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import (
    RECORDED,
    REPLACED,
    SKIPPED,
    STARTED,
    Firing,
    Schedule,
    ScheduleBook,
)

LEASE = 30.0  # seconds a scheduler's claim lasts without renewal
STOP_WAIT = 10.0  # seconds a replaced run gets to stop before it is killed


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float, stop: threading.Event) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)


class Launcher(Protocol):
    """Starts and stops the runs of schedules."""

    def start(self, schedule: Schedule, run_id: str) -> int:
        """Start the run; return its process id."""
        ...

    def alive(self, pid: int) -> bool: ...

    def stop(self, pid: int) -> None: ...


class ProcessLauncher:
    """Runs each firing as ``python -m dagwright.cli run IR --run-id ID`` in the store folder.

    Its output goes to ``<root>/schedules/logs/<run_id>.log``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.children: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, schedule: Schedule, run_id: str) -> int:
        folder = self.root / "schedules"
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        ir_file = folder / f"{schedule.name}.json"
        tmp = ir_file.with_suffix(".json.tmp")
        tmp.write_text(schedule.ir, encoding="utf-8")
        os.replace(tmp, ir_file)
        command = [sys.executable, "-m", "dagwright.cli", "run", str(ir_file)]
        command += ["--run-id", run_id, "--quiet"]
        for key, value in schedule.params.items():
            # -p text is read by the parameter's type: a str as it is, anything else as JSON
            text = value if isinstance(value, str) else json.dumps(value)
            command += ["-p", f"{key}={text}"]
        env = {**os.environ, "DAGWRIGHT_HOME": str(self.root)}
        with open(folder / "logs" / f"{run_id}.log", "ab") as log:
            child = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.children[child.pid] = child
        return child.pid

    def alive(self, pid: int) -> bool:
        child = self.children.get(pid)
        if child is not None:  # our own child: reap it, or it stays a zombie that looks alive
            return child.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self, pid: int) -> None:
        """SIGTERM to the run's process group, SIGKILL after ``STOP_WAIT`` seconds."""
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_WAIT
        while self.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            if pid in self.children:
                self.children[pid].wait()


@dataclass
class Event:
    """What a tick did, for the daemon's log and for tests."""

    schedule: str
    slot: float
    run_id: str
    action: str  # started, skipped, replaced, missed, recovered
    detail: str = ""

    def line(self) -> str:
        when = datetime.fromtimestamp(self.slot, timezone.utc).isoformat().replace("+00:00", "Z")
        text = f"{self.action} {self.schedule} slot {when}"
        if self.run_id:
            text += f" run {self.run_id}"
        return text + (f" ({self.detail})" if self.detail else "")


def run_id_for(name: str, slot: float) -> str:
    return f"{name}-{datetime.fromtimestamp(slot, timezone.utc):%Y%m%d-%H%M%S}"


class Scheduler:
    """Fires the schedules of one store folder.

    Args:
        root: The store folder (its ``runs.db`` holds the schedules).
        clock: Where time comes from.
        launcher: What starts and stops runs (default: ``ProcessLauncher``).
        holder: This scheduler's name in the lease (default: host and process id).
        lease: Seconds the lease lasts without renewal.
        grace: With catch-up ``none``, how late a slot may still fire (default: two ticks,
            at least 5 s).
        interval: Seconds between ticks.
    """

    def __init__(
        self,
        root: Path,
        *,
        clock: Clock | None = None,
        launcher: Launcher | None = None,
        holder: str | None = None,
        lease: float = LEASE,
        grace: float | None = None,
        interval: float = 1.0,
    ) -> None:
        self.root = Path(root)
        self.clock = clock or SystemClock()
        self.launcher = launcher or ProcessLauncher(self.root)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.lease = lease
        self.interval = interval
        self.grace = grace if grace is not None else max(2 * interval, 5.0)
        self.db = RunDatabase(self.root / "runs.db")
        self.book = ScheduleBook(self.db)

    def close(self) -> None:
        self.book.release(self.holder)
        self.db.close()

    def tick(self) -> list[Event]:
        """One round: renew the lease, start recorded firings, fire due slots."""
        now = self.clock.now()
        if not self.book.acquire(self.holder, now, self.lease):
            return []
        events = self._recover()
        for schedule in self.book.all():
            if schedule.paused:
                self.book.move_past(schedule.name, now)  # slots passed while paused are missed
                continue
            events += self._fire_due(schedule, now)
        return events

    def serve(self, stop: threading.Event, echo: Callable[[str], None] | None = None) -> None:
        """Tick until ``stop`` is set, then give up the lease. Runs already started go on."""
        try:
            while not stop.is_set():
                for event in self.tick():
                    if echo is not None:
                        echo(event.line())
                self.clock.sleep(self.interval, stop)
        finally:
            self.close()

    def _recover(self) -> list[Event]:
        events = []
        for firing in self.book.firings(status=RECORDED):
            if self.book.run_status(firing.run_id) is not None:  # it did start
                self.book.mark(firing.schedule, firing.slot, STARTED)
                continue
            try:
                schedule = self.book.get(firing.schedule)
            except ValueError:  # removed since: nothing to start
                continue
            pid = self.launcher.start(schedule, firing.run_id)
            self.book.mark(firing.schedule, firing.slot, STARTED, pid)
            events.append(Event(firing.schedule, firing.slot, firing.run_id, "recovered"))
        return events

    def _fire_due(self, schedule: Schedule, now: float) -> list[Event]:
        due = cron.slots(schedule.cron, schedule.timezone, schedule.considered, now)
        if not due:
            return []
        if schedule.catchup == "all":
            fire = due
        elif schedule.catchup == "latest" or now - due[-1] <= self.grace:
            fire = due[-1:]
        else:
            fire = []
        events = [
            Event(schedule.name, slot, "", "missed", f"catch-up {schedule.catchup}")
            for slot in due[: len(due) - len(fire)][-1:]  # the newest missed slot stands for all
        ]
        for slot in fire:
            event = self._fire(schedule, slot, now)
            if event is not None:
                events.append(event)
        self.book.move_past(schedule.name, due[-1])
        return events

    def _fire(self, schedule: Schedule, slot: float, now: float) -> Event | None:
        run_id = run_id_for(schedule.name, slot)
        active = [f for f in self.book.firings(schedule.name, STARTED) if self._running(f)]
        if active and schedule.concurrency == "forbid":
            reason = f"forbid: run {active[-1].run_id} still running"
            if self.book.record(schedule.name, slot, run_id, SKIPPED, now, reason):
                return Event(schedule.name, slot, run_id, "skipped", reason)
            return None
        if not self.book.record(schedule.name, slot, run_id, RECORDED, now):
            return None  # another scheduler recorded this slot
        detail = ""
        if active and schedule.concurrency == "replace":
            for firing in active:
                if firing.pid is not None:
                    self.launcher.stop(firing.pid)
                self.book.mark(firing.schedule, firing.slot, REPLACED)
                self.book.mark_run_stopped(firing.run_id, self.clock.now())
            detail = "replaced " + ", ".join(f.run_id for f in active)
        pid = self.launcher.start(schedule, run_id)
        self.book.mark(schedule.name, slot, STARTED, pid)
        return Event(schedule.name, slot, run_id, "started", detail)

    def _running(self, firing: Firing) -> bool:
        status = self.book.run_status(firing.run_id)
        if status is not None and status != "running":
            return False
        return firing.pid is not None and self.launcher.alive(firing.pid)
