"""``dagwright schedule add|ls|pause|resume|rm`` on a local store, and ``dagwright scheduler``
as a real process: two of them on one store, real ``dagwright run`` processes, SIGTERM.

The cluster side of ``schedule add`` (``--target kfp|argo``) is tested against the KFP and Argo
stand-in servers in tests/submit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from calendar import timegm
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from daemon_doubles import FakeClock, RecordingLauncher

import dagwright
from dagwright.cli import cli
from dagwright.pipelines.ir import PipelineIR
from dagwright.schedules.daemon import CronDaemon
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import Schedule, ScheduleBook

PIPELINES = """
from dagwright import component, pipeline


@component
def shout(word: str, times: int) -> str:
    return word * times


@pipeline(schedule="0 3 * * *")
def nightly(word: str = "hi", times: int = 1) -> str:
    return shout(word=word, times=times).output


@pipeline
def adhoc(word: str = "x") -> str:
    return shout(word=word, times=1).output
"""


@pytest.fixture
def pipes(tmp_path: Path) -> str:
    path = tmp_path / "pipes.py"
    path.write_text(PIPELINES)
    return str(path)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


def dagwright_cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def stored(root: Path) -> list[Schedule]:
    if not (root / "runs.db").exists():
        return []
    db = RunDatabase(root / "runs.db")
    try:
        return ScheduleBook(db).all()
    finally:
        db.close()


def listed(root: Path) -> list[dict]:
    out = dagwright_cli("schedule", "ls", "--root", str(root), "--json")
    assert out.exit_code == 0, out.output
    return list(json.loads(out.output))


def test_add_ls_pause_resume_rm_round_trip(pipes: str, root: Path) -> None:
    before = time.time()
    out = dagwright_cli(
        "schedule", "add", pipes + ":nightly", "--root", str(root), "--cron", "30 6 * * MON",
        "--timezone", "Europe/Paris", "--concurrency", "forbid", "--catchup", "latest",
        "-p", "times=3", "--name", "weekly",
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "scheduled 'weekly' (nightly): cron '30 6 * * MON' in Europe/Paris" in out.output
    (s,) = stored(root)
    assert (s.name, s.pipeline, s.source, s.cron, s.timezone) == (
        "weekly", "nightly", pipes + ":nightly", "30 6 * * MON", "Europe/Paris"
    )  # fmt: skip
    assert (s.concurrency, s.catchup, s.paused) == ("forbid", "latest", False)
    assert s.params == {"times": 3}  # typed against the pipeline, only what was given
    assert before <= s.created == s.considered <= time.time()  # nothing in the past fires
    assert PipelineIR.from_dict(json.loads(s.ir)).name == "nightly"

    (row,) = listed(root)
    assert (row["name"], row["state"], row["last_run"]) == ("weekly", "active", None)
    # the next Monday 06:30, written in Paris time
    assert row["next"].endswith(("T06:30:00+01:00", "T06:30:00+02:00"))
    table = dagwright_cli("schedule", "ls", "--root", str(root)).output.splitlines()
    assert table[0].split() == [
        "NAME", "PIPELINE", "CRON", "TIMEZONE", "STATE", "NEXT", "LAST", "RUN", "STATUS"
    ]  # fmt: skip
    assert table[1].split()[:5] == ["weekly", "nightly", "30", "6", "*"]
    assert "Europe/Paris  active" in table[1]

    assert dagwright_cli("schedule", "pause", "weekly", "--root", str(root)).exit_code == 0
    assert [(r["state"], r["next"]) for r in listed(root)] == [("paused", None)]
    assert stored(root)[0].paused
    resumed = dagwright_cli("schedule", "resume", "weekly", "--root", str(root))
    assert resumed.output == "resumed 'weekly'\n"
    assert [r["state"] for r in listed(root)] == ["active"]
    removed = dagwright_cli("schedule", "rm", "weekly", "--root", str(root))
    assert removed.output == "removed 'weekly'\n"
    assert stored(root) == [] and listed(root) == []


def test_the_pipelines_own_cron_and_name_are_the_defaults(
    pipes: str, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGWRIGHT_HOME", str(root))  # found like the other commands' store
    out = dagwright_cli("schedule", "add", pipes + ":nightly")
    assert out.exit_code == 0, out.output
    (s,) = stored(root)
    assert (s.name, s.cron, s.timezone, s.concurrency, s.catchup, s.params) == (
        "nightly", "0 3 * * *", "UTC", "allow", "none", {}
    )  # fmt: skip
    assert listed(root)[0]["next"].endswith("T03:00:00+00:00")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--cron", "0 3 * *"), "--cron"),
        (("--cron", "61 * * * *"), "--cron"),
        (("--cron", "0 0 31 2 *"), "--cron"),  # no 31 February: it never fires
        (("--cron", "0 3 * * 7"), "--cron"),  # Argo and KFP read days of the week 0-6
        (("--timezone", "Mars/Olympus"), "--timezone"),
        (("--concurrency", "queue"), "--concurrency"),
        (("--catchup", "some"), "--catchup"),
        (("--name", "Nightly_Run"), "--name"),
        (("--name", "n" * 48), "--name"),  # its run ids would pass 63 characters
        (("-p", "times=two"), "times"),
        (("-p", "colour=red"), "colour"),
        (("-p", "times"), "-p"),
        (("--host", "http://localhost:8080"), "--host"),  # a cluster option, locally
        (("--max-concurrency", "2"), "--max-concurrency"),
        (("--image", "python:3.11"), "--image"),
        (("--target", "airflow"), "--target"),
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    pipes: str, root: Path, args: tuple[str, ...], field: str
) -> None:
    out = dagwright_cli("schedule", "add", pipes + ":nightly", "--root", str(root), *args)
    assert out.exit_code == 2, out.output
    assert f"field '{field}'" in out.output
    assert "Traceback" not in out.output
    assert stored(root) == []


def test_a_pipeline_without_a_schedule_needs_cron(pipes: str, root: Path) -> None:
    out = dagwright_cli("schedule", "add", pipes + ":adhoc", "--root", str(root))
    assert out.exit_code == 2
    assert "field '--cron': pipeline 'adhoc' has no schedule" in out.output
    assert stored(root) == []
    made = dagwright_cli(
        "schedule", "add", pipes + ":adhoc", "--root", str(root), "--cron", "15 * * * *"
    )
    assert made.exit_code == 0, made.output
    assert [(s.name, s.cron) for s in stored(root)] == [("adhoc", "15 * * * *")]


def test_a_duplicate_name_is_refused_unless_replace(pipes: str, root: Path) -> None:
    first = ("schedule", "add", pipes + ":nightly", "--root", str(root), "--name", "job")
    assert dagwright_cli(*first).exit_code == 0
    again = dagwright_cli(*first, "--cron", "0 4 * * *")
    assert again.exit_code == 2
    assert "field '--name': a schedule named 'job' exists already" in again.output
    assert [s.cron for s in stored(root)] == ["0 3 * * *"]
    replaced = dagwright_cli(*first, "--cron", "0 4 * * *", "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert [s.cron for s in stored(root)] == ["0 4 * * *"]


@pytest.mark.parametrize("command", ["pause", "resume", "rm"])
def test_an_unknown_name_exits_2_naming_it(pipes: str, root: Path, command: str) -> None:
    missing = dagwright_cli("schedule", command, "nope", "--root", str(root))
    assert missing.exit_code == 2
    assert "field '--root': no run database" in missing.output
    assert not root.exists()  # looking did not make a store
    assert dagwright_cli("schedule", "add", pipes + ":nightly", "--root", str(root)).exit_code == 0
    out = dagwright_cli("schedule", command, "nope", "--root", str(root))
    assert out.exit_code == 2
    assert "field 'name': no schedule named 'nope' (schedules: nightly)" in out.output
    assert [(s.name, s.paused) for s in stored(root)] == [("nightly", False)]


def test_ls_shows_the_last_run_and_its_status(pipes: str, root: Path) -> None:
    """The firing as the scheduler records it, then the run as ``dagwright run`` makes it."""
    assert (
        dagwright_cli(
            "schedule", "add", pipes + ":nightly", "--root", str(root), "-p", "word=ho"
        ).exit_code
        == 0
    )
    (s,) = stored(root)
    db = RunDatabase(root / "runs.db")
    ScheduleBook(db).record(s.name, 1_800_000_000.0, "nightly-20270115-080000", "started", 0.0)
    db.close()
    assert listed(root)[0]["last_status"] == "started"  # recorded, no run yet
    ir = PipelineIR.from_dict(json.loads(s.ir))
    result = dagwright.run(ir, root=root, echo=False, run_id="nightly-20270115-080000", **s.params)
    assert result.outputs == {"output": "ho"}
    (row,) = listed(root)
    assert (row["last_run"], row["last_status"]) == ("nightly-20270115-080000", "succeeded")
    line = dagwright_cli("schedule", "ls", "--root", str(root)).output.splitlines()[1]
    assert line.endswith("nightly-20270115-080000  succeeded")


def test_resume_does_not_fire_the_slots_missed_while_paused(pipes: str, root: Path) -> None:
    """Even with catch-up 'all', the slots of a pause are gone once resumed."""
    add = ("schedule", "add", pipes + ":nightly", "--root", str(root), "--cron", "* * * * * *")
    assert dagwright_cli(*add, "--catchup", "all").exit_code == 0
    assert dagwright_cli("schedule", "pause", "nightly", "--root", str(root)).exit_code == 0
    clock, launcher = FakeClock(float(int(time.time())) + 0.5), RecordingLauncher(end_at_once=True)
    daemon = CronDaemon(root, clock=clock, launcher=launcher, holder="test")
    clock.t += 600
    assert daemon.tick() == []  # ten minutes paused: 600 slots, none fired
    assert dagwright_cli("schedule", "resume", "nightly", "--root", str(root)).exit_code == 0
    clock.t += 1
    events = daemon.tick()
    daemon.close()
    assert [e.action for e in events] == ["started"]
    assert launcher.started == [events[0].run_id]


def test_ls_survives_a_stored_cron_that_never_fires(pipes: str, root: Path) -> None:
    """Stored before 'schedule add' checked for it: listed with no next fire time."""
    assert dagwright_cli("schedule", "add", pipes + ":nightly", "--root", str(root)).exit_code == 0
    db = RunDatabase(root / "runs.db")
    with db.transaction():
        db.db.execute("UPDATE schedules SET cron = '0 0 31 2 *'")
    db.close()
    (row,) = listed(root)
    assert (row["cron"], row["next"]) == ("0 0 31 2 *", None)


def test_an_interval_near_the_lease_is_refused(root: Path) -> None:
    out = dagwright_cli("scheduler", "--root", str(root), "--interval", "11")
    assert out.exit_code == 2
    assert "field '--interval'" in out.output and "lease" in out.output
    assert not (root / "runs.db").exists()


# the daemon, as a real process


def _scheduler(root: Path, cwd: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "dagwright.cli", "scheduler", "--root", str(root)]
    return subprocess.Popen(
        [*command, "--interval", "0.25"],
        cwd=cwd,  # where a run's `module:function` references resolve, as for `dagwright run`
        env={**os.environ, "DAGWRIGHT_TRACKING": "off"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _slot(run_id: str) -> int:
    return timegm(time.strptime(run_id[-15:], "%Y%m%d-%H%M%S"))


@pytest.mark.integration
def test_two_schedulers_fire_each_two_second_slot_once(
    pipes: str, root: Path, tmp_path: Path
) -> None:
    """Two real ``dagwright scheduler`` processes on one store for ~7 s, then SIGTERM."""
    add = (
        "schedule",
        "add",
        pipes + ":nightly",
        "--root",
        str(root),
        "--name",
        "tick",
        "-p",
        "word=ok",
    )
    assert dagwright_cli(*add, "--cron", "*/2 * * * * *").exit_code == 0
    daemons = [_scheduler(root, tmp_path), _scheduler(root, tmp_path)]
    time.sleep(7)
    for daemon in daemons:
        daemon.send_signal(signal.SIGTERM)
    outputs = [d.communicate(timeout=15)[0] for d in daemons]
    assert [d.returncode for d in daemons] == [0, 0], outputs
    for out in outputs:
        assert f"on store {root}" in out.splitlines()[0]
    active = [o for o in outputs if "active:" in o]
    standby = [o for o in outputs if "standby:" in o]
    assert len(active) == len(standby) == 1, outputs  # one fired, the other waited
    assert "started" not in standby[0]
    assert active[0].rstrip().endswith("stopped; lease released")
    started = [line.split(" run ")[1] for line in active[0].splitlines() if "started" in line]
    assert 2 <= len(started) <= 4 and len(set(started)) == len(started), active[0]
    assert all(r.startswith("tick-") and _slot(r) % 2 == 0 for r in started)
    # the runs go on after the schedulers stop: wait for them to end
    db = RunDatabase(root / "runs.db")
    deadline = time.time() + 15
    while time.time() < deadline:
        rows = db.runs(limit=20)
        if len(rows) >= len(started) and all(r["status"] != "running" for r in rows):
            break
        time.sleep(0.2)
    book = ScheduleBook(db)
    assert book.holder(time.time()) is None  # both gave the lease back
    assert db.db.execute("SELECT COUNT(*) FROM scheduler_lease").fetchone()[0] == 0
    assert sorted(f.run_id for f in book.firings("tick")) == sorted(started)
    db.close()
    assert sorted(r["run_id"] for r in rows) == sorted(started)
    assert {(r["status"], r["outputs"]["output"]) for r in rows} == {("succeeded", "ok")}
    runs = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "runs", "ls", "--root", str(root)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert sorted(line.split()[0] for line in runs.stdout.splitlines()[1:]) == sorted(started)


@pytest.mark.integration
def test_ctrl_c_stops_the_scheduler_with_130(root: Path, tmp_path: Path) -> None:
    daemon = _scheduler(root, tmp_path)
    assert daemon.stdout is not None
    first = daemon.stdout.readline()  # it has started and installed its handlers
    assert first.startswith("scheduler ") and "SIGTERM or Ctrl-C stops it" in first
    assert daemon.stdout.readline().startswith("active: ")  # it holds the lease
    daemon.send_signal(signal.SIGINT)
    rest = daemon.communicate(timeout=10)[0]
    assert daemon.returncode == 130
    assert "Traceback" not in rest and rest.rstrip().endswith("lease released")
    db = RunDatabase(root / "runs.db")
    assert ScheduleBook(db).holder(time.time()) is None
    db.close()
