"""Runs are never left ``running``, and outputs and cache entries are checked (issue 13, items 3
and 4).

Faults are recreated for real: the CLI in its own process gets SIGTERM, SIGINT or SIGKILL while
a step runs; a Local step calls ``os._exit`` or segfaults; two resumes race; a cached artifact is
changed or deleted on disk. Bad inputs are steps that return what JSON cannot hold or never
write a declared output: that step fails, naming the output, and the engine goes on.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import Dataset, Input, Model, Output, component, pipeline
from dagwright.runtimes import Process
from dagwright.store import RunDatabase

PIPELINES = Path(__file__).with_name("runstate_pipelines.py")
# dagwright's own files: a step's traceback shows none of them
PACKAGE = os.path.dirname(dagwright.__file__) + os.sep
WAIT = 60.0


# helpers: the CLI in real processes


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "DAGWRIGHT_HOME": str(home), "DAGWRIGHT_TRACKING": "off"}


def _start(home: Path, cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", *args],
        env=_env(home),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _cli(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        env=_env(home),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _rows(db: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute(query, args).fetchall()
    except sqlite3.OperationalError:  # the file exists, its tables not yet
        return []


def _wait_running(home: Path, task: str) -> str:
    """The id of the run once ``task`` is recorded running in it."""
    db, deadline = home / "runs.db", time.time() + WAIT
    while time.time() < deadline:
        if db.exists():
            found = _rows(db, "SELECT run_id FROM steps WHERE task=? AND status='running'", task)
            if found:
                return str(found[0][0])
        time.sleep(0.05)
    raise AssertionError(f"step {task} never ran")


def _show(home: Path, cwd: Path, run_id: str) -> dict[str, Any]:
    shown = _cli(home, cwd, "runs", "show", run_id, "--json")
    assert shown.returncode == 0, shown.stderr
    record: dict[str, Any] = json.loads(shown.stdout)
    return record


def _ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def _gated(tmp_path: Path) -> tuple[Path, Path, Path, list[str]]:
    home, log, marker = tmp_path / "home", tmp_path / "log", tmp_path / "marker"
    marker.touch()
    args = ["run", f"{PIPELINES}:gated", "-p", f"log={log}", "-p", f"marker={marker}"]
    return home, log, marker, args


# faults: signals


@pytest.mark.integration
@pytest.mark.parametrize(
    ("signum", "code", "reason"),
    [(signal.SIGTERM, 143, "stopped by SIGTERM"), (signal.SIGINT, 130, "Ctrl-C (SIGINT)")],
    ids=["sigterm", "sigint"],
)
def test_fault_signal_interrupts_the_run_and_resume_finishes_it(
    tmp_path: Path, signum: int, code: int, reason: str
) -> None:
    home, log, marker, args = _gated(tmp_path)
    started = time.time()
    engine = _start(home, tmp_path, *args)
    run_id = _wait_running(home, "gate")
    time.sleep(0.5)
    engine.send_signal(signum)
    _, err = engine.communicate(timeout=WAIT)
    interrupted = time.time()
    assert engine.returncode == code, err
    assert f"dagwright resume {run_id}" in err and "Traceback" not in err
    record = _show(home, tmp_path, run_id)
    assert record["status"] == "interrupted" and reason in record["reason"]
    steps = {s["task"]: s for s in record["steps"]}
    assert steps["step"]["status"] == "succeeded"
    assert steps["gate"]["status"] == "interrupted" and reason in steps["gate"]["error"]
    assert "step-2" not in steps

    time.sleep(2.0)  # a pause between the two spans, which the duration must not count
    marker.unlink()
    resumed_at = time.time()
    resumed = _cli(home, tmp_path, "resume", run_id[:-3], "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.split() == [run_id, "succeeded"]
    assert _ran(log) == ["first", "gate", "gate", "last"]
    record = _show(home, tmp_path, run_id)
    assert record["status"] == "succeeded" and record["reason"] is None
    assert record["outputs"] == {"output": 1}
    ran = (interrupted - started) + (time.time() - resumed_at)
    assert 0.5 < record["duration"] <= ran + 0.5
    assert record["ended"] - record["started"] > record["duration"] + 1.5


@pytest.mark.integration
def test_fault_sigkill_leaves_no_run_running(tmp_path: Path) -> None:
    home, log, marker, args = _gated(tmp_path)
    engine = _start(home, tmp_path, *args)
    run_id = _wait_running(home, "gate")
    # the step is recorded running just before its function starts: kill it once it has
    deadline = time.time() + WAIT
    while "gate" not in _ran(log) and time.time() < deadline:
        time.sleep(0.05)
    engine.kill()
    engine.communicate(timeout=WAIT)
    db = home / "runs.db"
    assert _rows(db, "SELECT status FROM runs") == [("running",)]  # nothing could record it

    listed = _cli(home, tmp_path, "runs", "ls", "--json")  # whoever reads next sees it ended
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["status"] == "interrupted"
    assert row["reason"].startswith("the engine process ended without finishing (killed?)")
    assert "gate" in row["reason"]
    assert _rows(db, "SELECT status FROM runs") == [("interrupted",)]
    assert _rows(db, "SELECT status FROM steps WHERE task='gate'") == [("interrupted",)]

    marker.unlink()
    resumed = _cli(home, tmp_path, "resume", run_id, "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert _ran(log) == ["first", "gate", "gate", "last"]


def _count(db: Path, status: str) -> int:
    found = _rows(db, "SELECT COUNT(*) FROM steps WHERE status=?", status)
    return int(found[0][0]) if found else 0


@pytest.mark.integration
@pytest.mark.parametrize("after", [1, 20, 60])
def test_fault_sigterm_at_any_moment_leaves_a_run_resume_finishes(
    tmp_path: Path, after: int
) -> None:
    """SIGTERM lands wherever the engine is (a round's writes, a step's start, its end)."""
    home, log = tmp_path / "home", tmp_path / "log"
    engine = _start(home, tmp_path, "run", f"{PIPELINES}:many", "-p", f"log={log}")
    deadline = time.time() + WAIT
    while _count(home / "runs.db", "succeeded") < after and time.time() < deadline:
        time.sleep(0.01)
    engine.send_signal(signal.SIGTERM)
    _, err = engine.communicate(timeout=WAIT)
    assert engine.returncode == 143, err
    ((run_id, status),) = _rows(home / "runs.db", "SELECT run_id, status FROM runs")
    assert status == "interrupted"
    assert _count(home / "runs.db", "running") == 0
    done = set(_ran(log))
    resumed = _cli(home, tmp_path, "resume", run_id, "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert _show(home, tmp_path, run_id)["outputs"] == {"output": sum(n * n for n in range(120))}
    assert set(_ran(log)) == {f"square-{n}" for n in range(120)}
    # only what had not succeeded ran again
    assert len(_ran(log)) - len(done) <= 120 - after


# faults: a Local step that takes the process down


def _crashing(tmp_path: Path, how: str) -> tuple[Path, Path, Path, list[str]]:
    home, log, flag = tmp_path / "home", tmp_path / "log", tmp_path / "flag"
    flag.touch()
    args = ["run", f"{PIPELINES}:crashing"]
    args += ["-p", f"log={log}", "-p", f"flag={flag}", "-p", f"how={how}"]
    return home, log, flag, args


@pytest.mark.integration
def test_fault_os_exit_in_a_local_step_fails_that_step_not_the_engine(tmp_path: Path) -> None:
    home, log, flag, args = _crashing(tmp_path, "exit")
    done = _cli(home, tmp_path, *args, "-q")
    assert done.returncode == 1, done.stderr  # the run failed; the engine did not die
    run_id, status = done.stdout.split()
    assert status == "failed"
    record = _show(home, tmp_path, run_id)
    steps = {s["task"]: s for s in record["steps"]}
    assert steps["crash"]["status"] == "failed"
    assert "os._exit(3)" in steps["crash"]["error"]
    # the traceback starts at the step and ends where it called os._exit, not in the guard
    trace = steps["crash"]["traceback"]
    assert "runstate_pipelines.py" in trace and PACKAGE not in trace
    assert steps["step-2"]["status"] == "succeeded"  # beside it, the run went on
    assert steps["step-3"]["status"] == "upstream_failed"

    flag.unlink()
    resumed = _cli(home, tmp_path, "resume", run_id, "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(_ran(log)) == ["beside", "crash", "crash", "first", "last"]


@pytest.mark.integration
@pytest.mark.parametrize("how", ["segv", "kill"])
def test_fault_a_step_that_kills_the_engine_is_recorded_and_resumed(
    tmp_path: Path, how: str
) -> None:
    home, log, flag, args = _crashing(tmp_path, how)
    crashed = _cli(home, tmp_path, *args)
    assert crashed.returncode in (-signal.SIGSEGV, -signal.SIGKILL), crashed.stderr
    if how == "segv":  # faulthandler names the user's frame
        assert "runstate_pipelines.py" in crashed.stderr
    (run_id,) = (r[0] for r in _rows(home / "runs.db", "SELECT run_id FROM runs"))

    record = _show(home, tmp_path, run_id)
    assert record["status"] == "interrupted"
    assert "ended without finishing" in record["reason"] and "crash" in record["reason"]
    steps = {s["task"]: s for s in record["steps"]}
    assert steps["crash"]["status"] == "interrupted"  # recorded running before it started
    assert "the engine process ended while this step ran" in steps["crash"]["error"]

    flag.unlink()
    resumed = _cli(home, tmp_path, "resume", run_id, "-q")
    assert resumed.returncode == 0, resumed.stderr
    assert _ran(log).count("crash") == 2 and _ran(log).count("first") == 1
    assert _show(home, tmp_path, run_id)["outputs"] == {"output": 1}


# faults: resuming a run that is still going


@pytest.mark.integration
def test_fault_resume_of_a_run_still_going_is_refused(tmp_path: Path) -> None:
    home, log, marker, args = _gated(tmp_path)
    engine = _start(home, tmp_path, *args)
    run_id = _wait_running(home, "gate")
    refused = _cli(home, tmp_path, "resume", run_id)
    assert refused.returncode == 2
    assert f"run '{run_id}' is still going (process {engine.pid}" in refused.stderr
    assert "Traceback" not in refused.stderr
    marker.unlink()
    _, err = engine.communicate(timeout=WAIT)
    assert engine.returncode == 0, err
    assert _ran(log) == ["first", "gate", "last"]  # nothing ran twice


@pytest.mark.integration
def test_fault_two_resumes_at_once_run_the_steps_once(tmp_path: Path) -> None:
    home, log, marker, args = _gated(tmp_path)
    engine = _start(home, tmp_path, *args)
    run_id = _wait_running(home, "gate")
    engine.send_signal(signal.SIGTERM)
    engine.communicate(timeout=WAIT)

    both = [_start(home, tmp_path, "resume", run_id, "-q") for _ in range(2)]
    deadline = time.time() + WAIT
    while all(p.poll() is None for p in both) and time.time() < deadline:
        time.sleep(0.05)  # the gate holds the winner while the marker exists
    loser = next(p for p in both if p.poll() is not None)
    _, err = loser.communicate()
    assert loser.returncode == 2 and "is still going" in err
    marker.unlink()
    winner = next(p for p in both if p is not loser)
    out, err = winner.communicate(timeout=WAIT)
    assert winner.returncode == 0, err
    assert out.split() == [run_id, "succeeded"]
    assert _ran(log) == ["first", "gate", "gate", "last"]


# faults: cache entries and reused outputs whose artifacts changed


def _log(path: str, name: str) -> None:
    with open(path, "a") as f:
        f.write(name + "\n")


@component(cache=True)
def produce(log: str, text: str, out: Output[Dataset]) -> None:
    _log(log, "produce")
    with open(out.path, "w") as f:
        f.write(text)


@component(cache=True)
def consume(log: str, data: Input[Dataset]) -> str:
    _log(log, "consume")
    with open(data.path) as f:
        return f.read()


@pipeline
def cached(log: str, text: str = "fresh") -> str:
    return consume(log=log, data=produce(log=log, text=text).outputs["out"]).output


@pytest.mark.parametrize("change", ["modified", "deleted"])
def test_fault_a_cached_artifact_changed_on_disk_runs_the_producer_again(
    run: Any, store: Path, tmp_path: Path, change: str
) -> None:
    log = tmp_path / "log"
    first = run(cached, log=str(log))
    path = Path(first.step("produce").outputs["out"].uri)
    if change == "modified":
        path.write_text("tampered")
    else:
        path.unlink()
    second = run(cached, log=str(log))
    assert second.outputs == {"output": "fresh"}
    assert not second.step("produce").cached
    assert _ran(log) == ["produce", "consume", "produce"]  # the consumer's key is unchanged
    note = second.step("produce").note
    assert note is not None and note.startswith("cache entry invalid: artifact 'out'")
    assert ("changed since it was written" if change == "modified" else "is gone") in note
    rows = RunDatabase(store / "runs.db").steps(second.run_id)
    assert next(r for r in rows if r["task"] == "produce")["note"] == note
    third = run(cached, log=str(log))  # the fresh entry replaced the stale one
    assert third.step("produce").cached and _ran(log).count("produce") == 2


def test_fault_resume_runs_a_step_again_when_its_artifact_changed(
    run: Any, store: Path, tmp_path: Path
) -> None:
    log, flag = tmp_path / "log", tmp_path / "flag"
    flag.touch()

    @component
    def fails_while(flag: str, data: Input[Dataset]) -> str:
        if os.path.exists(flag):
            raise RuntimeError("flag is set")
        with open(data.path) as f:
            return f.read()

    @pipeline
    def p(log: str, flag: str) -> str:
        return fails_while(flag=flag, data=produce(log=log, text="made").outputs["out"]).output

    failed = run(p, log=str(log), flag=str(flag), cache=False)
    Path(failed.step("produce").outputs["out"].uri).write_text("tampered")
    flag.unlink()
    resumed = dagwright.resume(failed.run_id, root=store, echo=False, cache=False)
    assert resumed.outputs == {"output": "made"}
    assert not resumed.step("produce").reused and _ran(log) == ["produce", "produce"]
    assert (resumed.step("produce").note or "").startswith("not reused: artifact 'out' changed")


def test_fault_an_engine_fault_records_the_run_failed_with_the_reason(
    run: Any, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagwright.engine.local import LocalEngine

    def broken(*args: Any) -> None:
        raise RuntimeError("scheduler bug")

    monkeypatch.setattr(LocalEngine, "_finish_task", broken)
    with pytest.raises(RuntimeError, match="scheduler bug"):
        run(cached, log=str(tmp_path / "log"), cache=False)
    (row,) = RunDatabase(store / "runs.db").runs()
    assert row["status"] == "failed"
    assert row["reason"] == "the engine failed: RuntimeError: scheduler bug"
    assert {s["status"] for s in RunDatabase(store / "runs.db").steps(row["run_id"])} == {
        "interrupted"
    }


# bad inputs: values JSON cannot hold


class Point:
    pass


NOT_JSON = {
    "set": ([{1, 2}], "output 'output'[0] is a builtins.set"),
    "bytes": ([b"raw"], "output 'output'[0] is a builtins.bytes"),
    "object": ([Point()], "is a test_runstate.Point"),
    "int-key": ([{1: "one"}], "has the key 1 (int)"),
    "date": ([{"when": datetime.date(2026, 1, 1)}], "['when'] is a datetime.date"),
    "complex": ([1, 2.5j], "output 'output'[1] is a builtins.complex"),
}


@component
def returns(kind: str) -> list:
    return NOT_JSON[kind][0]


@component
def beside(log: str) -> int:
    _log(log, "beside")
    return 1


@component
def uses(x: list) -> int:
    return len(x)


@pipeline
def not_json(log: str, kind: str) -> int:
    beside(log=log)
    return uses(x=returns(kind=kind).output).output


@pytest.mark.parametrize("kind", list(NOT_JSON))
def test_bad_a_value_json_cannot_hold_fails_that_step(
    run: Any, store: Path, tmp_path: Path, kind: str
) -> None:
    result = run(not_json, log=str(tmp_path / "log"), kind=kind)
    assert result.status == "failed"
    failed = result.step("returns")
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.startswith("NotJsonValue: component 'returns' output 'output'")
    assert NOT_JSON[kind][1] in failed.error
    # dagwright's check of the returned value, not a trace through dagwright's own frames
    assert failed.traceback is not None and PACKAGE not in failed.traceback
    assert result.step("uses").status == "upstream_failed"
    assert result.step("beside").status == "succeeded"
    row = RunDatabase(store / "runs.db").find_run(result.run_id)
    assert row["status"] == "failed" and row["outputs"] == {}


@pytest.mark.parametrize(
    ("items", "named"),
    [([{1, 2}], "parameter 'items'[0] is a builtins.set"), ([{2: "b"}], "has the key 2 (int)")],
    ids=["set", "int-key"],
)
def test_bad_a_parameter_json_cannot_hold_is_refused_before_anything_runs(
    run: Any, store: Path, tmp_path: Path, items: list[Any], named: str
) -> None:
    log = tmp_path / "log"

    @pipeline
    def p(log: str, items: list) -> int:
        beside(log=log)
        return uses(x=items).output

    with pytest.raises(dagwright.ValidationError) as refused:
        run(p, log=str(log), items=items)
    assert refused.value.field == "items" and named in str(refused.value)
    assert not log.exists() and not (store / "runs.db").exists()  # nothing ran or was written


# bad inputs: outputs never written


@component
def writes(how: str, data: Output[Dataset], model: Output[Model]) -> None:
    with open(data.path, "w") as f:
        f.write("data")
    if how == "empty-folder":
        os.makedirs(model.path)
    elif how == "written-elsewhere":
        with open(os.path.join(os.path.dirname(model.path), "model.txt"), "w") as f:
            f.write("model")
    elif how == "folder-of-empty-folders":
        os.makedirs(os.path.join(model.path, "weights"))
        os.makedirs(os.path.join(model.path, "config"))


@component
def reads(model: Input[Model]) -> int:
    return 1


@pipeline
def unwritten(how: str) -> int:
    return reads(model=writes(how=how).outputs["model"]).output


@pytest.mark.parametrize(
    ("how", "found"),
    [
        ("never-written", "found nothing"),
        ("empty-folder", "found an empty folder"),
        ("written-elsewhere", "found nothing"),
        ("folder-of-empty-folders", "found a folder without files"),
    ],
    ids=["never-written", "empty-folder", "written-elsewhere", "folder-of-empty-folders"],
)
def test_bad_an_output_never_written_fails_that_step(
    run: Any, store: Path, how: str, found: str
) -> None:
    result = run(unwritten, how=how)
    failed = result.step("writes")
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.startswith(
        "OutputNotWritten: component 'writes' did not write its output 'model' (Output[Model])"
    )
    assert found in failed.error
    assert result.step("reads").status == "upstream_failed"
    published = store / "artifacts" / result.run_id / "writes"
    assert not (published / "model").exists()
    assert not (published / "data").exists()  # the step published nothing, not even 'data'


@component(runtime=Process())
def apart(how: str, out: Output[Dataset]) -> list:
    if how == "unwritten":
        return []
    with open(out.path, "w") as f:
        f.write("x")
    return [{"tags": {"a", "b"}}]


@pipeline
def in_a_process(how: str) -> list:
    return apart(how=how).output


@pytest.mark.integration
@pytest.mark.parametrize(
    ("how", "error"),
    [
        ("not-json", "NotJsonValue: component 'apart' output 'output'[0]['tags'] is a builtins"),
        ("unwritten", "OutputNotWritten: component 'apart' did not write its output 'out'"),
    ],
)
def test_bad_in_a_process_step_fails_that_step_too(run: Any, how: str, error: str) -> None:
    result = run(in_a_process, how=how)
    failed = result.step("apart")
    assert failed.status == "failed" and (failed.error or "").startswith(error)


@pytest.mark.integration
def test_bad_resume_of_a_run_going_in_another_process_names_it(tmp_path: Path) -> None:
    home, _, marker, args = _gated(tmp_path)
    engine = _start(home, tmp_path, *args)
    run_id = _wait_running(home, "gate")
    try:
        with pytest.raises(dagwright.ValidationError) as refused:
            dagwright.resume(run_id, root=home, echo=False)
        assert refused.value.field == "RUN"
        assert f"kill {engine.pid}" in str(refused.value)
        gate = _rows(home / "runs.db", "SELECT status FROM steps WHERE task='gate'")
        assert gate == [("running",)]  # the refused resume forgot nothing
    finally:
        marker.unlink()
        engine.communicate(timeout=WAIT)


# values keep their type across resume and the cache


@component
def tuples() -> list:
    return [(1, 2), (3, 4)]


@component
def int_for_float() -> float:
    return 3


@component
def ints_for_floats() -> dict[str, float]:
    return {"a": 1, "b": 2}


@component
def optional_floats() -> list[float | None]:
    return [1, None]


def _shows(annotation: Any) -> Any:
    def show(x: Any, flag: str) -> str:
        if os.path.exists(flag):
            raise RuntimeError("flag is set")
        return f"{type(x).__name__} {x!r}"

    show.__annotations__ = {"x": annotation, "flag": str, "return": str}
    return component(show)


TYPED = {
    "tuples-in-a-list": (tuples, list, "list [[1, 2], [3, 4]]"),
    "int-for-float": (int_for_float, float, "float 3.0"),
    "ints-for-floats": (ints_for_floats, dict[str, float], "dict {'a': 1.0, 'b': 2.0}"),
    "optional-floats": (optional_floats, list[float | None], "list [1.0, None]"),
}


@pytest.mark.parametrize("case", list(TYPED))
def test_values_have_one_type_in_the_run_and_after_resume(
    run: Any, store: Path, tmp_path: Path, case: str
) -> None:
    make, annotation, expected = TYPED[case]
    show = _shows(annotation)
    flag = tmp_path / "flag"

    @pipeline
    def p(flag: str) -> str:
        return show(x=make().output, flag=flag).output

    fresh = run(p, flag=str(flag))
    flag.touch()
    failed = run(p, flag=str(flag))
    flag.unlink()
    resumed = dagwright.resume(failed.run_id, root=store, echo=False)
    assert next(r for r in resumed.steps if r.task != "show").reused
    assert fresh.outputs == resumed.outputs == {"output": expected}
