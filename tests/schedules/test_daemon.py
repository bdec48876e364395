"""The local scheduler: catch-up and concurrency policies, restarts and two schedulers on one
database, driven by an injected clock and a launcher that records what it starts; and one
real-time run that starts real ``dagwright run`` processes."""

from __future__ import annotations

import threading
import time
from calendar import timegm
from pathlib import Path

import pytest
from daemon_doubles import T0, FakeClock, RecordingLauncher, add_schedule, minute

from dagwright.errors import ValidationError
from dagwright.schedules import cron
from dagwright.schedules.daemon import CronDaemon
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import (
    ENDED,
    RECORDED,
    REPLACED,
    SKIPPED,
    STARTED,
    ScheduleBook,
)


def _scheduler(
    root: Path, clock: FakeClock, launcher: RecordingLauncher, holder: str = "a"
) -> CronDaemon:
    return CronDaemon(root, clock=clock, launcher=launcher, holder=holder, lease=30, grace=5)


@pytest.mark.parametrize(
    ("catchup", "late", "expected"),
    [
        ("none", 2, [5]),  # the slot due now fires; the four missed while down do not
        ("none", 30, []),  # 30 s late is past the grace: missed too
        ("latest", 30, [5]),
        ("all", 30, [1, 2, 3, 4, 5]),
    ],
)
def test_catchup_after_five_minutes_down(
    tmp_path: Path, catchup: str, late: int, expected: list[int]
) -> None:
    add_schedule(tmp_path, catchup=catchup)
    launcher = RecordingLauncher()
    scheduler = _scheduler(tmp_path, FakeClock(T0 + 300 + late), launcher)
    scheduler.tick()
    assert launcher.started == [minute(n) for n in expected]
    scheduler.tick()  # dealt with: nothing fires twice
    assert launcher.started == [minute(n) for n in expected]
    assert [f.run_id for f in scheduler.book.firings("ticker")] == launcher.started


def test_forbid_skips_while_the_previous_run_runs(tmp_path: Path) -> None:
    add_schedule(tmp_path, concurrency="forbid")
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    scheduler = _scheduler(tmp_path, clock, launcher)
    scheduler.tick()
    clock.t = T0 + 121
    events = scheduler.tick()
    assert launcher.started == [minute(1)]
    assert [e.action for e in events] == ["skipped"] and minute(1) in events[0].detail
    launcher.end(minute(1))
    clock.t = T0 + 181
    scheduler.tick()
    assert launcher.started == [minute(1), minute(3)]
    statuses = {f.run_id: f.status for f in scheduler.book.firings("ticker")}
    # minute 1's run was seen finished: marked ended, so later ticks look at it no more
    assert statuses == {minute(1): ENDED, minute(2): SKIPPED, minute(3): STARTED}


def test_replace_stops_the_previous_run_first(tmp_path: Path) -> None:
    add_schedule(tmp_path, concurrency="replace")
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    scheduler = _scheduler(tmp_path, clock, launcher)
    scheduler.tick()
    clock.t = T0 + 121
    (event,) = scheduler.tick()
    assert launcher.stopped == [launcher.pids[minute(1)]]
    assert launcher.started == [minute(1), minute(2)]
    assert event.action == "started" and event.detail == f"replaced {minute(1)}"
    statuses = {f.run_id: f.status for f in scheduler.book.firings("ticker")}
    assert statuses == {minute(1): REPLACED, minute(2): STARTED}


def test_allow_runs_side_by_side(tmp_path: Path) -> None:
    add_schedule(tmp_path, concurrency="allow")
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    scheduler = _scheduler(tmp_path, clock, launcher)
    scheduler.tick()
    clock.t = T0 + 121
    scheduler.tick()
    assert launcher.started == [minute(1), minute(2)] and not launcher.stopped


def test_a_crash_after_recording_starts_the_firing_on_restart_once(tmp_path: Path) -> None:
    add_schedule(tmp_path)
    clock = FakeClock(T0 + 61)
    first = _scheduler(tmp_path, clock, RecordingLauncher())
    # the crash: the slot is recorded (and the schedule moved past it), its run never started
    assert first.book.record("ticker", T0 + 60, minute(1), RECORDED, clock.now())
    first.db.close()  # died without releasing its lease
    launcher = RecordingLauncher()
    clock.t += 31  # the dead scheduler's lease lapses
    restarted = _scheduler(tmp_path, clock, launcher, holder="b")
    events = restarted.tick()
    assert launcher.started == [minute(1)]  # not skipped
    assert [e.action for e in events] == ["recovered"]
    restarted.tick()
    assert launcher.started == [minute(1)]  # and not repeated


def test_a_crash_before_recording_fires_the_slot_on_restart(tmp_path: Path) -> None:
    add_schedule(tmp_path, catchup="latest")
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    # nothing was recorded before the crash: the restarted scheduler still owes slot 1
    _scheduler(tmp_path, clock, launcher).tick()
    assert launcher.started == [minute(1)]


def test_a_restart_does_not_repeat_a_started_firing(tmp_path: Path) -> None:
    add_schedule(tmp_path, catchup="all")
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    scheduler = _scheduler(tmp_path, clock, launcher)
    scheduler.tick()
    scheduler.close()
    again = _scheduler(tmp_path, clock, launcher)
    again.tick()
    assert launcher.started == [minute(1)]


def test_two_schedulers_on_one_database_fire_each_slot_once(tmp_path: Path) -> None:
    add_schedule(tmp_path)
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    a = _scheduler(tmp_path, clock, launcher, holder="a")
    b = _scheduler(tmp_path, clock, launcher, holder="b")
    a.tick()
    assert b.tick() == [] and b.book.holder(clock.now()) == "a"  # standby
    clock.t = T0 + 121
    b.tick()
    a.tick()
    assert launcher.started == [minute(1), minute(2)]
    a.close()  # a clean stop hands over at once
    clock.t = T0 + 181
    b.tick()
    assert launcher.started == [minute(1), minute(2), minute(3)]
    assert b.book.holder(clock.now()) == "b"


def test_the_slot_is_the_last_line_of_defence(tmp_path: Path) -> None:
    """Even two schedulers that both believe they hold the lease record a slot once."""
    add_schedule(tmp_path)
    book_a = ScheduleBook(RunDatabase(tmp_path / "runs.db"))
    book_b = ScheduleBook(RunDatabase(tmp_path / "runs.db"))
    assert book_a.record("ticker", T0 + 60, minute(1), RECORDED, T0 + 61)
    assert not book_b.record("ticker", T0 + 60, minute(1), RECORDED, T0 + 61)


def test_a_paused_schedule_misses_its_slots(tmp_path: Path) -> None:
    add_schedule(tmp_path, catchup="all")
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    scheduler = _scheduler(tmp_path, clock, launcher)
    scheduler.book.set_paused("ticker", True, clock.now())
    clock.t = T0 + 301
    scheduler.tick()
    scheduler.book.set_paused("ticker", False, clock.now())
    clock.t = T0 + 361
    scheduler.tick()
    assert launcher.started == [minute(6)]  # not the slots that passed while paused


def test_a_removed_schedule_stops_firing(tmp_path: Path) -> None:
    add_schedule(tmp_path)
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    scheduler = _scheduler(tmp_path, clock, launcher)
    scheduler.book.remove("ticker")
    scheduler.tick()
    assert launcher.started == []
    with pytest.raises(ValidationError, match="no schedule named 'ticker'") as info:
        scheduler.book.get("ticker")
    assert info.value.field == "name"


def test_time_zones_move_the_slots(tmp_path: Path) -> None:
    # 03:00 in Paris is 02:00 UTC in winter
    (slot,) = cron.slots("0 3 * * *", "Europe/Paris", T0, T0 + 86400)
    assert slot == T0 + 2 * 3600
    add_schedule(tmp_path, cron="0 3 * * *", timezone="Europe/Paris")
    launcher = RecordingLauncher()
    _scheduler(tmp_path, FakeClock(T0 + 2 * 3600 + 1), launcher).tick()
    assert launcher.started == ["ticker-20260101-020000"]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("0 3 * *",), "--cron"),
        (("61 * * * *",), "--cron"),
        (("0 3 * * *", "Mars/Olympus"), "--timezone"),
        (("0 3 * * *", "UTC", "queue"), "--concurrency"),
        (("0 3 * * *", "UTC", "allow", "some"), "--catchup"),
    ],
)
def test_bad_schedules_name_the_field(args: tuple[str, ...], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        cron.check(*args)
    assert info.value.field == field and info.value.fix


@pytest.mark.integration
def test_real_time_every_two_seconds_starts_real_runs(tmp_path: Path) -> None:
    """A real scheduler with the real process launcher: ``dagwright run`` processes."""
    now = time.time()
    add_schedule(tmp_path, cron="*/2 * * * * *", created=now, considered=now, params={"tag": "t"})
    stop = threading.Event()
    lines: list[str] = []
    scheduler = CronDaemon(tmp_path, interval=0.2)
    thread = threading.Thread(target=scheduler.serve, args=(stop, lines.append))
    thread.start()
    time.sleep(5.2)
    stop.set()
    thread.join(10)
    started = [line.split(" run ")[1] for line in lines if line.startswith("started")]
    assert 2 <= len(started) <= 3 and len(set(started)) == len(started)
    slots = [timegm(time.strptime(r.rsplit("-", 2)[1] + r[-6:], "%Y%m%d%H%M%S")) for r in started]
    assert all(s % 2 == 0 for s in slots) and slots == sorted(slots)
    db = RunDatabase(tmp_path / "runs.db")
    deadline = time.time() + 30
    while time.time() < deadline:
        rows = db.runs(limit=10)
        if len(rows) == len(started) and all(r["status"] == "succeeded" for r in rows):
            break
        time.sleep(0.2)
    assert sorted(r["run_id"] for r in rows) == sorted(started)
    assert [(r["status"], r["outputs"]) for r in rows] == [("succeeded", {"out": "t"})] * len(rows)
    assert ScheduleBook(db).holder(time.time()) is None  # the lease was given back
    db.close()
