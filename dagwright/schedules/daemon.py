"""The cron daemon: starts the runs of stored schedules when their slots come due.

Each tick the daemon that holds the lease (``store/schedules.py``) first starts firings
that were recorded but never started (it crashed in between), then, for every schedule, works
out the slots due since the last one it dealt with, applies the catch-up policy and the
concurrency policy (``allow``; ``forbid``: skip while its previous run still runs;
``replace``: stop that run first), records each firing and only then starts its run.

Catch-up: a slot due after the previous tick began (less the grace) is on time, as is, on the
first tick, the newest slot if due within the grace; the others were missed while no daemon
ran. A daemon that takes the lease from one that died holding it (on this host: its pid
exited or was reused, ``schedules/holders.py``) does so at once, and its first tick counts from
the dead one's last tick, so a restart after a crash misses nothing. ``none`` fires the
on-time slots only; ``latest`` those, or else the newest missed one; ``all`` every
slot, oldest first, ``CATCHUP_BATCH`` a tick. When several slots fire in one tick under
``replace`` only the newest starts (each would stop the one before at once); the older ones
are recorded ``skipped``.

Starting a firing: the daemon renews its lease, claims the firing (``recorded`` to
``starting``, a compare-and-set naming it), starts the run, records its pid (``started``) and
renews the lease again; it renews after stopping a run too, and ends its tick when another
daemon took the lease meanwhile. So of two daemons that both believe they are active
(one's tick outlasted its lease) only one starts a firing. A firing left ``starting`` (its
daemon died between claim and launch) is started again by the lease holder when no run row
of it exists and the claimer is gone: its holder name (``host:pid:start:suffix``) is on this
host and that pid has exited or now belongs to a process started at another time. A claimer
on another host, or with a name not of that form, counts as gone once its lease lapsed; keep
the daemons of one store on one host for a launch that hangs longer than the lease to stay
single.

Runs are ``dagwright run`` processes with the slot's run id (``<schedule>-<UTC stamp>``), so a
pipeline that crashes or hangs cannot take the daemon with it and ``replace`` can stop one.
Time and processes come through a ``Clock`` and a ``Launcher``, which tests replace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Protocol

from dagwright.errors import ValidationError
from dagwright.schedules import cron
from dagwright.schedules.holders import default_holder, holder_alive, holder_dead
from dagwright.schedules.launcher import Launcher, ProcessLauncher
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import (
    RECORDED,
    REPLACED,
    SKIPPED,
    STARTED,
    STARTING,
    Firing,
    Schedule,
    ScheduleBook,
)

LEASE = 30.0  # seconds a daemon's claim lasts without renewal
CATCHUP_BATCH = 100  # slots of one schedule fired in one tick at most; the rest go next tick


class Clock(Protocol):
    """Where the daemon's time comes from (tests use a fake one)."""

    def now(self) -> float:
        """The current time (epoch seconds)."""

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait ``seconds``, or less when ``stop`` is set."""


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """The current time (epoch seconds)."""
        return time.time()

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait ``seconds``, or less when ``stop`` is set."""
        stop.wait(seconds)


@dataclass
class Event:
    """What a tick did, for the daemon's log and for tests."""

    schedule: str
    slot: float
    run_id: str
    action: str  # started, skipped, replaced, missed, recovered, error
    detail: str = ""

    def line(self) -> str:
        """The event as the daemon's log line."""
        text = f"{self.action} {self.schedule} slot {_utc(self.slot)}"
        if self.run_id:
            text += f" run {self.run_id}"
        return text + (f" ({self.detail})" if self.detail else "")


def _utc(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat().replace("+00:00", "Z")


def run_id_for(name: str, slot: float) -> str:
    """The run id of a schedule's slot: ``<name>-<UTC stamp>``."""
    return f"{name}-{datetime.fromtimestamp(slot, timezone.utc):%Y%m%d-%H%M%S}"


class _LeaseLost(Exception):
    """Another daemon took the lease while this one worked: this one ends its tick."""


class CronDaemon:
    """Fires the schedules of one store folder.

    Args:
        root: The store folder (its ``runs.db`` holds the schedules).
        clock: Where time comes from.
        launcher: What starts and stops runs (default: ``ProcessLauncher``).
        holder: This daemon's name in the lease (default: ``host:pid:start:random suffix``).
        lease: Seconds the lease lasts without renewal; keep ``interval`` well below it.
        grace: How late a slot may be on the first tick and still be on time (default: two
            ticks, at least 5 s); later ticks also count slots due since the previous began.
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
        self.holder = holder or default_holder()
        self.lease = lease
        self.interval = interval
        self.grace = grace if grace is not None else max(2 * interval, 5.0)
        self.db = RunDatabase(self.root / "runs.db")
        self.book = ScheduleBook(self.db)
        self._previous: float | None = None  # when the previous tick with the lease began

    def close(self) -> None:
        """Give the lease back and close the run database."""
        self.book.release(self.holder)
        self.db.close()

    def tick(self) -> list[Event]:
        """One round: renew the lease, start recorded firings, fire due slots.

        A schedule whose work fails (a cron that never fires, a launch that fails) gives an
        ``error`` event; the other schedules go on.
        """
        now = self.clock.now()
        before = self.book.acquire(self.holder, now, self.lease, ticked=now, dead=holder_dead)
        if before is None:
            self._previous = None  # slots due meanwhile were another daemon's to fire
            return []
        previous, self._previous = self._previous, now
        if previous is None and before.holder not in ("", self.holder) and before.expires > now:
            # taken from a daemon that died holding it: no daemon stopped, one was
            # replaced, so its slots since its last tick are on time as if it had gone on
            previous = before.ticked
        # None on the first tick: then only the newest slot, if due within the grace, is on time
        cutoff = None if previous is None else previous - self.grace
        events: list[Event] = []
        try:
            self.launcher.reap()
            events += self._recover()
            for schedule in self.book.all():
                events += self._isolated(
                    schedule.name, now, partial(self._fire_due, schedule, now, cutoff)
                )
        except _LeaseLost:
            self._previous = None
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

    def _isolated(self, name: str, slot: float, work: Callable[[], list[Event]]) -> list[Event]:
        try:
            return work()
        except _LeaseLost:
            raise
        except Exception as exc:  # one schedule's failure must not end the daemon
            return [Event(name, slot, "", "error", f"{type(exc).__name__}: {exc}")]

    def _renew(self) -> None:
        if not self.book.acquire(self.holder, self.clock.now(), self.lease):
            raise _LeaseLost

    def _recover(self) -> list[Event]:
        stale = [
            f
            for f in self.book.firings(status=STARTING)
            if f.holder == self.holder or not holder_alive(f.holder or "")
        ]
        events: list[Event] = []
        for firing in self.book.firings(status=RECORDED) + stale:
            events += self._isolated(firing.schedule, firing.slot, partial(self._restart, firing))
        return events

    def _restart(self, firing: Firing) -> list[Event]:
        if self.book.run_status(firing.run_id) is not None:  # it did start
            pid = self.launcher.find(firing.run_id)
            self.book.mark(firing.schedule, firing.slot, STARTED, pid)
            return []
        try:
            schedule = self.book.get(firing.schedule)
        except ValidationError:  # removed since: nothing to start
            reason = "schedule removed before its run started"
            self.book.mark(firing.schedule, firing.slot, SKIPPED, reason=reason)
            return [Event(firing.schedule, firing.slot, firing.run_id, "skipped", reason)]
        if self._launch(schedule, firing, firing.run_id) is None:
            return []  # another daemon claimed it first
        return [Event(firing.schedule, firing.slot, firing.run_id, "recovered")]

    def _launch(self, schedule: Schedule, firing: Firing, run_id: str) -> int | None:
        """Claim the firing and start its run; None when another daemon claimed it."""
        self._renew()
        if not self.book.claim(schedule.name, firing.slot, self.holder, firing):
            return None
        try:
            pid = self.launcher.start(schedule, run_id)
        except BaseException:
            self.book.unclaim(schedule.name, firing.slot, self.holder)
            raise
        self.book.mark(schedule.name, firing.slot, STARTED, pid)
        self._renew()
        return pid

    def _fire_due(self, schedule: Schedule, now: float, cutoff: float | None) -> list[Event]:
        name, expr, tz, considered = (
            schedule.name,
            schedule.cron,
            schedule.timezone,
            schedule.considered,
        )
        if schedule.paused:
            self.book.move_past(name, now)  # slots passed while paused are missed
            return []
        missed: float | None = None
        if schedule.catchup == "all":
            fire = cron.slots(expr, tz, considered, now, limit=CATCHUP_BATCH)
            last = fire[-1] if fire else None
        else:
            last = cron.last_slot(expr, tz, considered, now)
            if last is None:
                return []
            if cutoff is None:
                fire = [last] if now - last <= self.grace else []
            else:
                fire = cron.slots(expr, tz, max(considered, cutoff), now)[-CATCHUP_BATCH:]
            if not fire and schedule.catchup == "latest":
                fire = [last]
            # slots are whole seconds: none lies between fire[0] - 1 and fire[0]
            missed = cron.last_slot(expr, tz, considered, fire[0] - 1 if fire else now)
        if last is None:
            return []
        events = []
        if missed is not None:  # the newest missed slot stands for all
            events.append(Event(name, missed, "", "missed", f"catch-up {schedule.catchup}"))
        if schedule.concurrency == "replace" and len(fire) > 1:
            reason = f"replace: slot {_utc(fire[-1])} is due too"
            for slot in fire[:-1]:
                run_id = run_id_for(name, slot)
                if self.book.record(name, slot, run_id, SKIPPED, now, reason):
                    events.append(Event(name, slot, run_id, "skipped", reason))
            fire = fire[-1:]
        for slot in fire:
            event = self._fire(schedule, slot, now)
            if event is not None:
                events.append(event)
        self.book.move_past(name, last)
        return events

    def _fire(self, schedule: Schedule, slot: float, now: float) -> Event | None:
        run_id = run_id_for(schedule.name, slot)
        active = self._active(schedule.name)
        if active and schedule.concurrency == "forbid":
            reason = f"forbid: run {active[-1].run_id} still running"
            if self.book.record(schedule.name, slot, run_id, SKIPPED, now, reason):
                return Event(schedule.name, slot, run_id, "skipped", reason)
            return None
        if not self.book.record(schedule.name, slot, run_id, RECORDED, now):
            return None  # another daemon recorded this slot, or it was paused or removed
        detail = ""
        if active and schedule.concurrency == "replace":
            for firing in active:
                if firing.pid is not None:
                    self.launcher.stop(firing.pid, firing.run_id)
                self.book.mark(firing.schedule, firing.slot, REPLACED)
                self.book.mark_run_stopped(firing.run_id, self.clock.now())
                self._renew()  # a stop can take STOP_WAIT seconds
            detail = "replaced " + ", ".join(f.run_id for f in active)
        recorded = Firing(schedule.name, slot, run_id, RECORDED, None, None, now)
        if self._launch(schedule, recorded, run_id) is None:
            return None
        return Event(schedule.name, slot, run_id, "started", detail)

    def _active(self, name: str) -> list[Firing]:
        """The schedule's runs still running; those seen ended are marked so, once."""
        active: list[Firing] = []
        ended: list[Firing] = []
        for firing in self.book.active(name):
            alive = firing.pid is not None and self.launcher.alive(firing.pid, firing.run_id)
            (active if alive else ended).append(firing)
        if ended:
            self.book.mark_ended(ended)
        return active
