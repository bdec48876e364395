"""Cancelling a run from another process: ``dagwright runs cancel`` while ``dagwright run``
runs in its own process; the run ends ``cancelled``, its steps stopped, and ``resume`` finishes
it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

PIPELINE = """
import os
import time
from pathlib import Path

from dagwright import ExitHandler, component, pipeline
from dagwright.runtimes import Process


def _hold(folder: str, name: str) -> None:
    # the first run sleeps (the step is cancelled then); a resumed run goes straight through
    mark = Path(folder) / f"{name}.slept"
    Path(folder, f"{name}.pid").write_text(str(os.getpid()))
    if not mark.exists():
        mark.touch()
        print(f"{name} sleeping", flush=True)
        time.sleep(120)


@component(runtime=Process())
def in_process_of_its_own(folder: str) -> int:
    _hold(folder, "apart")
    return 1


@component
def in_engine_thread(folder: str) -> int:
    _hold(folder, "thread")
    return 2


@component
def after(a: int, b: int) -> int:
    return a + b


@component
def cleanup(folder: str) -> str:
    Path(folder, "cleaned").write_text("yes")
    return "ok"


@pipeline
def slow(folder: str):
    with ExitHandler(cleanup(folder=folder)):
        a = in_process_of_its_own(folder=folder)
        b = in_engine_thread(folder=folder)
        after(a=a.output, b=b.output)
"""


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _rows(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]


def _gone(pid: int) -> bool:
    """The process no longer runs (reaped, or a zombie waiting for its parent)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_run_cancelled_from_another_process_stops_its_steps_and_resumes(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(textwrap.dedent(PIPELINE))
    root, folder = tmp_path / "store", tmp_path / "work"
    folder.mkdir()
    env = {**os.environ, "DAGWRIGHT_TRACKING": "off"}
    command = [sys.executable, "-m", "dagwright.cli", "run", "slow.py:slow", "--root", str(root)]
    engine = subprocess.Popen(
        [*command, "-p", f"folder={folder}"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            (folder / "apart.slept").exists() and (folder / "thread.slept").exists()
        ):
            assert engine.poll() is None, engine.communicate()
            time.sleep(0.05)
        assert (folder / "apart.slept").exists(), "the steps never started"
        sleeping = int((folder / "apart.pid").read_text())
        assert not _gone(sleeping)
        (run_id,) = _rows(root / "runs.db", "SELECT run_id FROM runs")[0]

        asked = time.monotonic()
        cancel = _cli("runs", "cancel", run_id[:8], "--root", str(root), env=env, cwd=tmp_path)
        assert cancel.returncode == 0, cancel.stderr
        assert cancel.stdout.strip() == f"cancel requested for {run_id}"
        out, err = engine.communicate(timeout=30)
        took = time.monotonic() - asked
    finally:
        if engine.poll() is None:
            os.killpg(engine.pid, signal.SIGKILL)
            engine.wait()
    assert engine.returncode == 1, err
    assert took < 5.0, f"the run took {took:.1f} s to end after the cancel"
    deadline = time.monotonic() + 5
    while not _gone(sleeping) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(sleeping), "the Process step's process outlived the cancel"

    db = root / "runs.db"
    assert _rows(db, "SELECT status, reason FROM runs") == [("cancelled", "cancelled by request")]
    steps = dict(_rows(db, "SELECT task, status FROM steps"))
    assert steps == {
        "in-process-of-its-own": "cancelled",
        "in-engine-thread": "cancelled",
        "after": "cancelled",
        "cleanup": "succeeded",  # the exit handler still runs
    }
    errors = {e for (e,) in _rows(db, "SELECT error FROM steps WHERE status='cancelled'")}
    assert errors == {"cancelled by request"}
    assert (folder / "cleaned").read_text() == "yes"
    listed = _cli("runs", "ls", "--status", "cancelled", "--root", str(root), env=env, cwd=tmp_path)
    assert run_id in listed.stdout

    again = _cli("runs", "cancel", run_id, "--root", str(root), env=env, cwd=tmp_path)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "is not running (it is cancelled)" in again.stderr

    resumed = _cli("resume", run_id, "--root", str(root), "-q", env=env, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.split() == [run_id, "succeeded"]
    assert _rows(db, "SELECT status, reason, cancel_requested FROM runs") == [
        ("succeeded", None, None)
    ]
    assert {s for (s,) in _rows(db, "SELECT status FROM steps")} == {"succeeded"}


def test_bad_cancel_of_a_run_that_is_not_running_names_the_run_and_the_fix(
    tmp_path: Path,
) -> None:
    import dagwright
    from dagwright import component, pipeline
    from dagwright.errors import ValidationError
    from dagwright.store import LocalStore

    @component
    def one() -> int:
        return 1

    @pipeline
    def quick():
        one()

    result = dagwright.run(quick, root=tmp_path, echo=False)
    db = LocalStore(tmp_path).database()
    with pytest.raises(ValidationError) as caught:
        db.request_cancel(result.run_id)
    assert caught.value.field == "RUN" and "not running (it is succeeded)" in str(caught.value)
    assert f"dagwright resume {result.run_id}" in (caught.value.fix or "")
    with pytest.raises(ValidationError) as caught:
        db.request_cancel("no-such-run")
    assert caught.value.field == "RUN" and caught.value.fix
    assert not db.cancel_requested(result.run_id)
    db.close()

    cli = _cli(
        "runs", "cancel", "nope", "--root", str(tmp_path), env=dict(os.environ), cwd=tmp_path
    )
    assert cli.returncode == 2
    assert "no run 'nope'" in cli.stderr and "Traceback" not in cli.stderr


def test_dagwright_cancel_is_the_python_entry_point(tmp_path: Path) -> None:
    """``dagwright.cancel`` from another thread of the same process, as a notebook would."""
    import threading

    import dagwright
    from dagwright import component, pipeline

    gate = tmp_path / "gate"

    @component(timeout=60)
    def waits(gate: str) -> int:
        from pathlib import Path

        Path(gate).touch()
        time.sleep(60)
        return 1

    @pipeline
    def waiting(gate: str):
        waits(gate=gate)

    box: list[Any] = []
    runner = threading.Thread(
        target=lambda: box.append(dagwright.run(waiting, root=tmp_path, echo=False, gate=str(gate)))
    )
    runner.start()
    deadline = time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    from dagwright.store import LocalStore

    db = LocalStore(tmp_path).database()
    (run,) = db.runs()
    db.close()
    assert dagwright.cancel(run["run_id"][:10], root=tmp_path) == run["run_id"]
    runner.join(10)
    assert not runner.is_alive()
    (result,) = box
    assert result.status == "cancelled" and result.reason == "cancelled by request"
    assert [(s.task, s.status) for s in result.steps] == [("waits", "cancelled")]


def test_a_cancel_while_the_exit_handler_runs_lets_it_finish(tmp_path: Path) -> None:
    import threading

    import dagwright
    from dagwright import ExitHandler, component, pipeline
    from dagwright.runtimes import Process

    started, gate = tmp_path / "started", tmp_path / "gate"

    @component
    def work() -> int:
        return 1

    @component(runtime=Process(), timeout=60)
    def tidy(started: str, gate: str) -> str:
        import time
        from pathlib import Path

        Path(started).touch()
        while not Path(gate).exists():
            time.sleep(0.02)
        return "tidied"

    @pipeline
    def tidying(started: str, gate: str):
        with ExitHandler(tidy(started=started, gate=gate)):
            work()

    box: list[Any] = []
    runner = threading.Thread(
        target=lambda: box.append(
            dagwright.run(tidying, root=tmp_path, echo=False, started=str(started), gate=str(gate))
        )
    )
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        from dagwright.store import LocalStore

        db = LocalStore(tmp_path).database()
        (run,) = db.runs()
        db.close()
        dagwright.cancel(run["run_id"], root=tmp_path)
        time.sleep(0.6)  # three looks at the request, and the grace for stopping steps
        assert runner.is_alive(), "the run ended while its exit handler was held"
    finally:
        gate.touch()
        runner.join(30)
    (result,) = box
    assert result.status == "cancelled"
    assert {s.task: s.status for s in result.steps} == {"work": "succeeded", "tidy": "succeeded"}
    assert result.step("tidy").outputs == {"output": "tidied"}
