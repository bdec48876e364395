"""Schedules, their firings and the cron daemon's lease, kept in the run database.

A firing is recorded (``INSERT`` of its schedule and slot, the primary key) in the same
transaction that moves the schedule past that slot, before its run starts. So a cron daemon
that crashes after the commit finds the firing on restart and starts it; one that crashes
before it fires the slot again; and of two daemons on one database only one can insert a slot.
Before its run starts a firing is claimed (``recorded`` to ``starting``, a compare-and-set
that names the claiming daemon), so of two daemons that both see it recorded only one starts
it. A lease row says which daemon is active and when its last tick began; the others wait
until it lapses, or take it at once from a holder known to have ended.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dagwright.errors import ValidationError
from dagwright.store.rundb import RunDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    name TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    source TEXT NOT NULL,
    ir TEXT NOT NULL,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    params TEXT NOT NULL,
    concurrency TEXT NOT NULL,
    catchup TEXT NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    considered REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS firings (
    schedule TEXT NOT NULL,
    slot REAL NOT NULL,
    run_id TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    pid INTEGER,
    recorded REAL NOT NULL,
    holder TEXT,
    PRIMARY KEY (schedule, slot)
);
CREATE INDEX IF NOT EXISTS firings_by_status ON firings (status, schedule);
CREATE TABLE IF NOT EXISTS scheduler_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    holder TEXT NOT NULL,
    expires REAL NOT NULL,
    ticked REAL
);
"""

# firing statuses: recorded and not yet started; claimed by a cron daemon that is starting its
# run; started (a process runs it); its run was seen finished; skipped by the concurrency policy
# (or its schedule was removed); the run it started was stopped by a newer one ("replace")
RECORDED, STARTING, STARTED, ENDED = "recorded", "starting", "started", "ended"
SKIPPED, REPLACED = "skipped", "replaced"


@dataclass
class Schedule:
    """One stored schedule.

    Attributes:
        name: Its name (a Kubernetes name), unique in the database.
        pipeline: The pipeline's name.
        source: What it was added from (``FILE.py[:PIPELINE]`` or an IR file), for people.
        ir: The pipeline's IR as JSON, as it was when added: later edits do not change it.
        cron: Five fields, or six with seconds first.
        timezone: An IANA time zone the cron is read in.
        params: Parameter values of every run.
        concurrency: ``allow``, ``forbid`` or ``replace`` (a run still running at the next slot).
        catchup: ``none``, ``latest`` or ``all`` (slots missed while no cron daemon ran).
        paused: Paused schedules fire nothing; their missed slots count as missed.
        created: When it was added (epoch seconds).
        considered: Every slot up to this time has been fired, skipped or missed.
    """

    name: str
    pipeline: str
    source: str
    ir: str
    cron: str
    timezone: str = "UTC"
    params: dict[str, Any] = field(default_factory=dict)
    concurrency: str = "allow"
    catchup: str = "none"
    paused: bool = False
    created: float = 0.0
    considered: float = 0.0


@dataclass(frozen=True)
class Firing:
    """One slot of a schedule, recorded before its run starts."""

    schedule: str
    slot: float
    run_id: str
    status: str
    reason: str | None
    pid: int | None
    recorded: float
    holder: str | None = None  # the daemon that claimed it (status starting and later)


@dataclass(frozen=True)
class Lease:
    """The cron daemon's lease as one holder left it."""

    holder: str  # "" when nobody held it
    expires: float
    ticked: float | None  # when the holder's last tick began


class ScheduleBook:
    """The schedule tables of one run database."""

    def __init__(self, db: RunDatabase) -> None:
        self.db = db
        with db.transaction():
            columns = {r["name"] for r in db.db.execute("PRAGMA table_info(firings)")}
            if columns and "holder" not in columns:  # a database from before claims
                db.db.execute("ALTER TABLE firings ADD COLUMN holder TEXT")
            columns = {r["name"] for r in db.db.execute("PRAGMA table_info(scheduler_lease)")}
            if columns and "ticked" not in columns:  # a database from before takeovers
                db.db.execute("ALTER TABLE scheduler_lease ADD COLUMN ticked REAL")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.db.execute(statement)

    # schedules

    def add(self, schedule: Schedule, *, replace: bool = False) -> None:
        """Store a schedule; an existing name is refused unless ``replace``."""
        values = (
            schedule.name,
            schedule.pipeline,
            schedule.source,
            schedule.ir,
            schedule.cron,
            schedule.timezone,
            json.dumps(schedule.params, sort_keys=True),
            schedule.concurrency,
            schedule.catchup,
            int(schedule.paused),
            schedule.created,
            schedule.considered,
        )
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            with self.db.transaction():
                self.db.db.execute(
                    f"{verb} INTO schedules VALUES ({', '.join('?' for _ in values)})", values
                )
        except sqlite3.IntegrityError as exc:
            raise ValidationError(
                f"a schedule named '{schedule.name}' exists already",
                field="--name",
                fix="pick another --name, pass --replace, or 'dagwright schedule rm' it first",
            ) from exc

    def get(self, name: str) -> Schedule:
        row = self.db.db.execute("SELECT * FROM schedules WHERE name = ?", (name,)).fetchone()
        if row is None:
            known = ", ".join(s.name for s in self.all()) or "none"
            raise ValidationError(
                f"no schedule named '{name}' (schedules: {known})",
                field="name",
                fix="see 'dagwright schedule ls'",
            )
        return _schedule(row)

    def all(self) -> list[Schedule]:
        rows = self.db.db.execute("SELECT * FROM schedules ORDER BY name").fetchall()
        return [_schedule(r) for r in rows]

    def set_paused(self, name: str, paused: bool, now: float) -> None:
        """Pause or resume ``name``; resuming counts the slots up to ``now`` as missed.

        Args:
            name: The schedule.
            paused: True to pause, False to resume.
            now: The current time (epoch seconds): a resumed schedule fires only later slots,
                whether or not a cron daemon ran while it was paused.
        """
        self.get(name)  # a clear error for an unknown name
        with self.db.transaction():
            self.db.db.execute(
                "UPDATE schedules SET paused = ?, "
                "considered = CASE WHEN ? THEN considered ELSE MAX(considered, ?) END "
                "WHERE name = ?",
                (int(paused), int(paused), now, name),
            )

    def move_past(self, name: str, considered: float) -> None:
        """Count every slot up to ``considered`` as dealt with (missed or skipped)."""
        with self.db.transaction():
            self.db.db.execute(
                "UPDATE schedules SET considered = MAX(considered, ?) WHERE name = ?",
                (considered, name),
            )

    def remove(self, name: str) -> None:
        """Delete a schedule; its firings stay as history."""
        self.get(name)
        with self.db.transaction():
            self.db.db.execute("DELETE FROM schedules WHERE name = ?", (name,))

    # firings

    def record(
        self, name: str, slot: float, run_id: str, status: str, now: float, reason: str = ""
    ) -> bool:
        """Record a slot's firing and move the schedule past it, atomically.

        Returns:
            False when the slot was recorded already (by another daemon), or the schedule
            was removed or paused since the daemon read it: nothing changes.
        """
        with self.db.transaction():
            done = self.db.db.execute(
                "INSERT OR IGNORE INTO firings (schedule, slot, run_id, status, reason, recorded)"
                " SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM schedules WHERE name = ? AND paused = 0)",
                (name, slot, run_id, status, reason or None, now, name),
            ).rowcount
            if done:
                self.db.db.execute(
                    "UPDATE schedules SET considered = MAX(considered, ?) WHERE name = ?",
                    (slot, name),
                )
        return bool(done)

    def mark(
        self, name: str, slot: float, status: str, pid: int | None = None, reason: str = ""
    ) -> None:
        with self.db.transaction():
            self.db.db.execute(
                "UPDATE firings SET status = ?, pid = COALESCE(?, pid), "
                "reason = COALESCE(?, reason) WHERE schedule = ? AND slot = ?",
                (status, pid, reason or None, name, slot),
            )

    def claim(self, name: str, slot: float, holder: str, seen: Firing) -> bool:
        """Move a firing to ``starting`` for ``holder`` if it is still as ``seen`` (status and
        claimer): a compare-and-set, so of two daemons only one claims it.

        Returns:
            Whether this call claimed it: only then may ``holder`` start its run.
        """
        with self.db.transaction():
            done = self.db.db.execute(
                "UPDATE firings SET status = ?, holder = ? "
                "WHERE schedule = ? AND slot = ? AND status = ? AND holder IS ?",
                (STARTING, holder, name, slot, seen.status, seen.holder),
            ).rowcount
        return bool(done)

    def unclaim(self, name: str, slot: float, holder: str) -> None:
        """Give a claimed firing back (its launch failed): the next tick tries it again."""
        with self.db.transaction():
            self.db.db.execute(
                "UPDATE firings SET status = ?, holder = NULL "
                "WHERE schedule = ? AND slot = ? AND status = ? AND holder = ?",
                (RECORDED, name, slot, STARTING, holder),
            )

    def active(self, name: str) -> list[Firing]:
        """The schedule's started firings whose run has not recorded an end (or no row yet)."""
        rows = self.db.db.execute(
            "SELECT f.* FROM firings f LEFT JOIN runs r ON r.run_id = f.run_id "
            "WHERE f.status = ? AND f.schedule = ? AND (r.status IS NULL OR r.status = 'running') "
            "ORDER BY f.slot",
            (STARTED, name),
        ).fetchall()
        return [Firing(**dict(r)) for r in rows]

    def mark_ended(self, firings: list[Firing]) -> None:
        """Started firings whose run was seen finished: later ticks look at them no more."""
        with self.db.transaction():
            self.db.db.executemany(
                "UPDATE firings SET status = ? WHERE schedule = ? AND slot = ? AND status = ?",
                [(ENDED, f.schedule, f.slot, STARTED) for f in firings],
            )

    def firings(self, name: str | None = None, status: str | None = None) -> list[Firing]:
        query, args = "SELECT * FROM firings WHERE 1 = 1", list[Any]()
        if name is not None:
            query, args = query + " AND schedule = ?", [*args, name]
        if status is not None:
            query, args = query + " AND status = ?", [*args, status]
        rows = self.db.db.execute(query + " ORDER BY slot", args).fetchall()
        return [Firing(**dict(r)) for r in rows]

    def run_status(self, run_id: str) -> str | None:
        row = self.db.db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return None if row is None else str(row["status"])

    def mark_run_stopped(self, run_id: str, now: float) -> None:
        """A run the scheduler killed (concurrency "replace") cannot record its own end."""
        with self.db.transaction():
            self.db.db.execute(
                "UPDATE runs SET status = 'cancelled', ended = ? "
                "WHERE run_id = ? AND status = 'running'",
                (now, run_id),
            )

    # the lease

    def acquire(
        self,
        holder: str,
        now: float,
        ttl: float,
        *,
        ticked: float | None = None,
        dead: Callable[[str], bool] | None = None,
    ) -> Lease | None:
        """Take or renew the lease.

        Args:
            holder: Who takes it.
            now: The current time (epoch seconds).
            ttl: Seconds it lasts without renewal.
            ticked: When the holder's tick began, if this is that tick's renewal.
            dead: Tells whether another holder is known to have ended: its lease is taken at
                once rather than when it lapses.

        Returns:
            The lease as it was before (holder ``""`` when there was none), or None while
            another holder's lease has not lapsed and that holder is not known dead.
        """
        with self.db.transaction():
            row = self.db.db.execute("SELECT * FROM scheduler_lease").fetchone()
            before = Lease("", 0.0, None) if row is None else _lease(row)
            other = before.holder not in ("", holder)
            if other and before.expires > now and not (dead is not None and dead(before.holder)):
                return None
            self.db.db.execute(
                "INSERT INTO scheduler_lease (id, holder, expires, ticked) VALUES (1, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET holder = excluded.holder, "
                "expires = excluded.expires, ticked = excluded.ticked",
                (holder, now + ttl, ticked if ticked is not None or other else before.ticked),
            )
        return before

    def release(self, holder: str) -> None:
        with self.db.transaction():
            self.db.db.execute("DELETE FROM scheduler_lease WHERE holder = ?", (holder,))

    def holder(self, now: float) -> str | None:
        row = self.db.db.execute("SELECT holder, expires FROM scheduler_lease").fetchone()
        return str(row["holder"]) if row is not None and row["expires"] > now else None


def _lease(row: sqlite3.Row) -> Lease:
    ticked = row["ticked"]
    return Lease(str(row["holder"]), float(row["expires"]), None if ticked is None else ticked)


def _schedule(row: sqlite3.Row) -> Schedule:
    data = dict(row)
    data["params"] = json.loads(data["params"])
    data["paused"] = bool(data["paused"])
    return Schedule(**data)
