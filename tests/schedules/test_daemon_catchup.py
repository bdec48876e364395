"""Which slots fire after an outage, a pause or a slow tick, that a schedule whose cron never
fires harms no other, and that ticks stay fast as firings pile up; with an injected clock and
a launcher that records what it starts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from daemon_doubles import T0, FakeClock, RecordingLauncher, add_schedule, minute

from dagwright.errors import ValidationError
from dagwright.schedules import cron
from dagwright.schedules.daemon import CATCHUP_BATCH, CronDaemon, run_id_for
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import ENDED, SKIPPED, STARTED, ScheduleBook

DAY = 86400


def _scheduler(root: Path, clock: FakeClock, launcher: RecordingLauncher) -> CronDaemon:
    return CronDaemon(root, clock=clock, launcher=launcher, holder="a", lease=30, grace=5)


def test_a_cron_that_never_fires_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="never fires") as info:
        cron.check("0 0 31 2 *")
    assert info.value.field == "--cron" and info.value.fix
    cron.check("0 0 29 2 *")  # a leap day comes


def test_a_schedule_that_fails_does_not_stop_the_others(tmp_path: Path) -> None:
    # stored before 'check' knew better: every look at its slots fails
    add_schedule(tmp_path, name="broken", cron="0 0 31 2 *")
    add_schedule(tmp_path)
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    scheduler = _scheduler(tmp_path, clock, launcher)
    events = scheduler.tick()
    assert [(e.schedule, e.action) for e in events] == [("broken", "error"), ("ticker", "started")]
    assert "failed to find" in events[0].detail
    clock.t = T0 + 121
    scheduler.tick()
    assert launcher.started == [minute(1), minute(2)]


def test_a_slow_tick_does_not_make_catchup_none_miss_slots(tmp_path: Path) -> None:
    """A 'replace' whose run takes 10 s to stop holds the tick up; a 'none' schedule's slot that
    came due meanwhile is fired on the next tick, not counted missed while no scheduler ran."""
    add_schedule(tmp_path, name="a-replace", concurrency="replace")
    add_schedule(tmp_path, name="b-none", cron="3 * * * * *")  # second 3 of every minute
    clock, launcher = FakeClock(T0 + 60.5), RecordingLauncher()
    stop = launcher.stop

    def slow_stop(pid: int, run_id: str) -> None:
        clock.t += 10
        stop(pid, run_id)

    launcher.stop = slow_stop  # type: ignore[method-assign]
    scheduler = CronDaemon(tmp_path, clock=clock, launcher=launcher, holder="a", lease=30)
    missed = []
    for _ in range(200):
        missed += [e.slot for e in scheduler.tick() if e.action == "missed"]
        clock.t += 1
    assert launcher.slots("b-none") == [T0 + 63 + 60 * n for n in range(4)]
    assert clock.t < T0 + 303  # every slot of b-none that came due fired
    assert missed == [T0 + 3]  # only the slot due before the scheduler started


def test_ticks_look_at_each_finished_run_once(tmp_path: Path) -> None:
    add_schedule(tmp_path, cron="* * * * * *")
    db = RunDatabase(tmp_path / "runs.db")
    with db.transaction():  # a day's worth of firings whose runs have ended
        db.db.executemany(
            "INSERT INTO firings (schedule, slot, run_id, status, pid, recorded) "
            "VALUES ('ticker', ?, ?, 'started', ?, ?)",
            [(T0 - 5000 + i, f"ticker-old-{i}", 5000 + i, T0) for i in range(5000)],
        )
    db.close()
    clock, launcher = FakeClock(T0 + 0.5), RecordingLauncher(end_at_once=True)
    scheduler = _scheduler(tmp_path, clock, launcher)
    clock.t += 1
    scheduler.tick()
    assert launcher.looked == 5000  # each looked at once, then marked ended
    assert {f.status for f in scheduler.book.firings("ticker") if f.slot < T0} == {ENDED}
    clock.t += 1
    launcher.looked = 0
    scheduler.tick()
    assert launcher.looked == 1  # only the run the first tick started
    assert len(launcher.started) == 2


def test_resume_drops_the_paused_slots_without_a_scheduler(tmp_path: Path) -> None:
    add_schedule(tmp_path, catchup="all")
    book = ScheduleBook(RunDatabase(tmp_path / "runs.db"))
    book.set_paused("ticker", True, T0)
    book.set_paused("ticker", False, T0 + 300)  # no scheduler ran in between
    launcher = RecordingLauncher()
    _scheduler(tmp_path, FakeClock(T0 + 361), launcher).tick()
    assert launcher.started == [minute(6)]


def test_latest_after_a_long_outage_fires_the_newest_slot_only(tmp_path: Path) -> None:
    add_schedule(tmp_path, cron="* * * * * *", catchup="latest")  # every second
    clock, launcher = FakeClock(T0 + 2 * DAY + 0.5), RecordingLauncher(end_at_once=True)
    scheduler = _scheduler(tmp_path, clock, launcher)
    began = time.monotonic()
    events = scheduler.tick()
    assert time.monotonic() - began < 5  # not a walk over two days of slots
    assert launcher.started == [run_id_for("ticker", T0 + 2 * DAY)]
    assert [e.action for e in events] == ["missed", "started"]
    assert events[0].slot == T0 + 2 * DAY - 1
    scheduler.tick()
    assert len(launcher.started) == 1


def test_all_after_a_long_outage_fires_oldest_first_a_batch_a_tick(tmp_path: Path) -> None:
    add_schedule(tmp_path, cron="* * * * * *", catchup="all")
    clock, launcher = FakeClock(T0 + DAY + 0.5), RecordingLauncher(end_at_once=True)
    scheduler = _scheduler(tmp_path, clock, launcher)
    scheduler.tick()
    assert launcher.slots("ticker") == [T0 + 1 + i for i in range(CATCHUP_BATCH)]
    scheduler.tick()
    assert launcher.slots("ticker") == [T0 + 1 + i for i in range(2 * CATCHUP_BATCH)]


def test_replace_starts_only_the_newest_of_slots_due_together(tmp_path: Path) -> None:
    """Catch-up 'all' under 'replace': each older slot's run would be stopped at once."""
    add_schedule(tmp_path, concurrency="replace", catchup="all")
    launcher = RecordingLauncher()
    scheduler = _scheduler(tmp_path, FakeClock(T0 + 185), launcher)
    events = scheduler.tick()
    assert launcher.started == [minute(3)] and launcher.stopped == []
    assert [e.action for e in events] == ["skipped", "skipped", "started"]
    statuses = {f.run_id: f.status for f in scheduler.book.firings("ticker")}
    assert statuses == {minute(1): SKIPPED, minute(2): SKIPPED, minute(3): STARTED}
    assert "replace: slot 2026-01-01T00:03:00Z is due too" in events[0].detail


def test_forbid_under_all_starts_the_oldest_and_skips_the_rest_while_it_runs(
    tmp_path: Path,
) -> None:
    add_schedule(tmp_path, concurrency="forbid", catchup="all")
    launcher = RecordingLauncher()
    scheduler = _scheduler(tmp_path, FakeClock(T0 + 185), launcher)
    scheduler.tick()
    assert launcher.started == [minute(1)]
    statuses = {f.run_id: f.status for f in scheduler.book.firings("ticker")}
    assert statuses == {minute(1): STARTED, minute(2): SKIPPED, minute(3): SKIPPED}
