"""Each slot starts at most once and none is lost: the claim before each launch, the lease
renewed while a tick works, firings left half-started by a scheduler that died, pids of runs
the scheduler did not start itself, and the exit status of finished runs collected. The real
``ProcessLauncher`` runs real processes here; the policy tests use the recording launcher."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from daemon_doubles import (
    T0,
    FakeClock,
    RecordingLauncher,
    add_schedule,
    minute,
    ticker_ir,
)

from dagwright.schedules.daemon import (
    CronDaemon,
    default_holder,
    holder_alive,
    run_id_for,
)
from dagwright.schedules.launcher import ProcessLauncher
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import (
    RECORDED,
    SKIPPED,
    STARTED,
    STARTING,
    Firing,
    Schedule,
    ScheduleBook,
)


def _scheduler(
    root: Path, clock: FakeClock, launcher: RecordingLauncher, holder: str
) -> CronDaemon:
    return CronDaemon(root, clock=clock, launcher=launcher, holder=holder, lease=30, grace=5)


def _seen(book: ScheduleBook, slot: float) -> Firing:
    (firing,) = [f for f in book.firings("ticker") if f.slot == slot]
    return firing


def _gone_pid() -> int:
    """The pid of a process that has exited (and been collected)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_tick_that_outlasts_its_lease_does_not_start_the_slot_twice(tmp_path: Path) -> None:
    """A 'replace' stop that takes longer than the lease: a standby takes over meanwhile and
    starts the recorded firing; the first scheduler finds its lease gone and starts nothing."""
    add_schedule(tmp_path, concurrency="replace")
    clock = FakeClock(T0 + 61)
    launch_a, launch_b = RecordingLauncher(), RecordingLauncher()
    a = _scheduler(tmp_path, clock, launch_a, "a")
    b = _scheduler(tmp_path, clock, launch_b, "b")
    a.tick()
    during: list[str] = []
    stop = launch_a.stop

    def slow_stop(pid: int, run_id: str) -> None:
        clock.t += 31  # a's lease lapses while its run is slow to stop
        during.extend(e.action for e in b.tick())
        stop(pid, run_id)

    launch_a.stop = slow_stop  # type: ignore[method-assign]
    clock.t = T0 + 121
    events = a.tick()
    assert during == ["recovered"] and launch_b.started == [minute(2)]
    assert launch_a.started == [minute(1)]  # a did not start minute 2 as well
    assert [e.action for e in events] == []
    assert b.book.holder(clock.now()) == "b"


def test_a_long_tick_keeps_its_lease(tmp_path: Path) -> None:
    """Two runs slow to stop, 20 s each: the lease is renewed after each stop, so a standby
    that looks 40 s into the tick stays a standby."""
    for name in ("one", "two"):
        add_schedule(tmp_path, name=name, concurrency="replace")
    clock = FakeClock(T0 + 61)
    launch_a = RecordingLauncher()
    a = _scheduler(tmp_path, clock, launch_a, "a")
    b = _scheduler(tmp_path, clock, RecordingLauncher(), "b")
    a.tick()
    during: list[list[str]] = []
    stop = launch_a.stop

    def slow_stop(pid: int, run_id: str) -> None:
        clock.t += 20
        during.append([e.action for e in b.tick()])
        stop(pid, run_id)

    launch_a.stop = slow_stop  # type: ignore[method-assign]
    clock.t = T0 + 121
    assert [e.action for e in a.tick()] == ["started", "started"]
    assert during == [[], []] and b.book.holder(clock.now()) == "a"


def test_a_firing_is_started_by_one_of_two_schedulers_whose_clocks_disagree(
    tmp_path: Path,
) -> None:
    """b's clock runs 31 s ahead: it takes the lease between a's renewal and a's claim of a
    firing both see recorded. The claim (a compare-and-set) lets only b start it."""
    add_schedule(tmp_path)
    launch_a, launch_b = RecordingLauncher(), RecordingLauncher()
    a = _scheduler(tmp_path, FakeClock(T0 + 61), launch_a, "a")
    b = _scheduler(tmp_path, FakeClock(T0 + 92), launch_b, "b")
    claim = a.book.claim

    def raced(name: str, slot: float, holder: str, seen: Firing) -> bool:
        assert [e.action for e in b.tick()] == ["recovered"]
        return claim(name, slot, holder, seen)

    a.book.claim = raced  # type: ignore[method-assign]
    assert a.tick() == []
    assert (launch_a.started, launch_b.started) == ([], [minute(1)])


def test_only_one_of_two_claims_of_a_firing_wins(tmp_path: Path) -> None:
    add_schedule(tmp_path)
    book_a = ScheduleBook(RunDatabase(tmp_path / "runs.db"))
    book_b = ScheduleBook(RunDatabase(tmp_path / "runs.db"))
    assert book_a.record("ticker", T0 + 60, minute(1), RECORDED, T0 + 61)
    seen = _seen(book_b, T0 + 60)
    assert book_a.claim("ticker", T0 + 60, "a", seen)
    assert not book_b.claim("ticker", T0 + 60, "b", seen)
    assert _seen(book_b, T0 + 60).holder == "a"


def _crashed_between_claim_and_launch(root: Path, holder: str) -> None:
    add_schedule(root)
    book = ScheduleBook(RunDatabase(root / "runs.db"))
    assert book.record("ticker", T0 + 60, minute(1), RECORDED, T0 + 61)
    assert book.claim("ticker", T0 + 60, holder, _seen(book, T0 + 60))
    book.db.close()


def test_a_firing_left_starting_by_a_dead_scheduler_starts_once(tmp_path: Path) -> None:
    _crashed_between_claim_and_launch(tmp_path, f"{socket.gethostname()}:{_gone_pid()}:abc")
    launcher = RecordingLauncher()
    restarted = _scheduler(tmp_path, FakeClock(T0 + 95), launcher, "b")  # the lease lapsed
    assert [e.action for e in restarted.tick()] == ["recovered"]
    restarted.tick()
    assert launcher.started == [minute(1)]
    firing = _seen(restarted.book, T0 + 60)
    assert (firing.status, firing.pid, firing.holder) == (STARTED, 1000, "b")


def test_a_firing_a_live_scheduler_is_starting_is_left_to_it(tmp_path: Path) -> None:
    # the claimer is this very process: alive, perhaps still inside its launch
    _crashed_between_claim_and_launch(tmp_path, f"{socket.gethostname()}:{os.getpid()}:abc")
    launcher = RecordingLauncher()
    other = _scheduler(tmp_path, FakeClock(T0 + 95), launcher, "b")
    other.tick()
    assert launcher.started == []
    assert _seen(other.book, T0 + 60).status == STARTING


def test_a_started_run_is_marked_with_its_pid_on_recovery(tmp_path: Path) -> None:
    """The scheduler died after the launch, before it wrote the pid: the run row exists."""
    _crashed_between_claim_and_launch(tmp_path, f"{socket.gethostname()}:{_gone_pid()}:abc")
    RunDatabase(tmp_path / "runs.db").start_run(minute(1), "ticker", {}, "{}", "")
    launcher = RecordingLauncher()
    launcher.pids[minute(1)] = 4242
    launcher.alive_pids.add(4242)
    restarted = _scheduler(tmp_path, FakeClock(T0 + 95), launcher, "b")
    assert restarted.tick() == []
    assert launcher.started == []  # not started again
    firing = _seen(restarted.book, T0 + 60)
    assert (firing.status, firing.pid) == (STARTED, 4242)


def test_a_failed_launch_is_reported_and_tried_again(tmp_path: Path) -> None:
    add_schedule(tmp_path)
    add_schedule(tmp_path, name="other")
    clock, launcher = FakeClock(T0 + 61), RecordingLauncher()
    start = launcher.start

    def broken(schedule: Schedule, run_id: str) -> int:
        if schedule.name == "ticker":
            raise OSError("no room for the log")
        return start(schedule, run_id)

    launcher.start = broken  # type: ignore[method-assign]
    scheduler = _scheduler(tmp_path, clock, launcher, "a")
    events = scheduler.tick()
    assert [(e.schedule, e.action) for e in events] == [("other", "started"), ("ticker", "error")]
    assert "no room for the log" in events[1].detail
    assert _seen(scheduler.book, T0 + 60).status == RECORDED  # given back, not lost
    launcher.start = start  # type: ignore[method-assign]
    assert [e.action for e in scheduler.tick()] == ["recovered"]
    assert launcher.started == [minute(1, "other"), minute(1)]


@pytest.mark.parametrize("change", ["pause", "remove"])
def test_a_schedule_paused_or_removed_mid_tick_records_nothing(tmp_path: Path, change: str) -> None:
    add_schedule(tmp_path)
    book = ScheduleBook(RunDatabase(tmp_path / "runs.db"))
    if change == "pause":
        book.set_paused("ticker", True, T0)
    else:
        book.remove("ticker")
    # the scheduler read the schedule before the change: its record finds it gone
    assert not book.record("ticker", T0 + 60, minute(1), RECORDED, T0 + 61)
    assert book.firings("ticker") == []


def test_a_recorded_firing_of_a_removed_schedule_is_marked_skipped(tmp_path: Path) -> None:
    add_schedule(tmp_path)
    book = ScheduleBook(RunDatabase(tmp_path / "runs.db"))
    assert book.record("ticker", T0 + 60, minute(1), RECORDED, T0 + 61)
    book.remove("ticker")  # then the scheduler died before starting its run
    launcher = RecordingLauncher()
    scheduler = _scheduler(tmp_path, FakeClock(T0 + 95), launcher, "b")
    assert [e.action for e in scheduler.tick()] == ["skipped"]
    firing = _seen(scheduler.book, T0 + 60)
    assert (firing.status, firing.reason) == (SKIPPED, "schedule removed before its run started")
    assert scheduler.tick() == [] and launcher.started == []


def test_holder_names_tell_apart_schedulers_and_dead_ones() -> None:
    first, second = default_holder(), default_holder()
    assert first != second and first.rsplit(":", 1)[0] == second.rsplit(":", 1)[0]
    assert holder_alive(first)
    assert not holder_alive(f"{socket.gethostname()}:{_gone_pid()}:abc")
    assert not holder_alive("a")  # a name of no known form: taken as gone once its lease lapsed


# the real process launcher


def _sleeper(*args: str) -> subprocess.Popen[bytes]:
    code = "import time; time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code, *args])
    deadline = time.monotonic() + 10
    while code not in psutil.Process(child.pid).cmdline():  # until it has exec'd python
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return child


@pytest.mark.integration
def test_a_pid_that_is_not_the_run_is_not_trusted(tmp_path: Path) -> None:
    """After a reboot a recorded pid may be another process's: it is neither alive as the run
    nor stopped. A process whose command line names the run id is."""
    launcher = ProcessLauncher(tmp_path)
    stranger, run = _sleeper(), _sleeper("--run-id", minute(1))
    try:
        assert not launcher.alive(stranger.pid, minute(1))
        launcher.stop(stranger.pid, minute(1))
        assert stranger.poll() is None  # not killed
        assert launcher.alive(run.pid, minute(1))
        assert launcher.find(minute(1)) == run.pid
        assert launcher.find(minute(2)) is None
    finally:
        for child in (stranger, run):
            child.kill()
            child.wait()


@pytest.mark.integration
def test_finished_runs_leave_no_zombie_processes(tmp_path: Path) -> None:
    """Real ``dagwright run`` processes that end are collected by the next start and the next
    tick, whether or not the runs' rows say they ended."""
    launcher = ProcessLauncher(tmp_path)
    schedule = Schedule("ticker", "ticker", "ticker.py", ticker_ir(), "* * * * *")
    pids = [launcher.start(schedule, run_id_for("ticker", T0 + 60 * n)) for n in range(3)]
    _wait_until_all_exited(pids)
    later = launcher.start(schedule, minute(9))  # the start collects the three that ended
    assert [_zombie(pid) for pid in pids] == [False] * 3
    _wait_until_all_exited([later])
    assert _zombie(later)  # ended and not collected yet: what a tick is for
    scheduler = CronDaemon(tmp_path, launcher=launcher, holder="z")
    scheduler.tick()
    scheduler.close()
    assert not _zombie(later) and launcher.children == {}


def _zombie(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _wait_until_all_exited(pids: list[int]) -> None:
    deadline = time.monotonic() + 60
    while not all(_zombie(pid) for pid in pids):
        assert time.monotonic() < deadline, "the runs did not end"
        time.sleep(0.1)


def test_a_database_from_before_claims_gets_the_claimer_column(tmp_path: Path) -> None:
    db = RunDatabase(tmp_path / "runs.db")
    with db.transaction():  # the firings table as the first scheduler made it
        db.db.execute(
            "CREATE TABLE firings (schedule TEXT NOT NULL, slot REAL NOT NULL, run_id TEXT NOT "
            "NULL, status TEXT NOT NULL, reason TEXT, pid INTEGER, recorded REAL NOT NULL, "
            "PRIMARY KEY (schedule, slot))"
        )
        db.db.execute("INSERT INTO firings VALUES ('ticker', 60, 'r', 'recorded', NULL, NULL, 0)")
    book = ScheduleBook(db)
    (firing,) = book.firings()
    assert firing.holder is None and book.claim("ticker", 60, "a", firing)
    assert book.firings()[0].holder == "a"
