"""Caching (opt in per component, overridden per run) and resume (after a failure or a kill)."""

from __future__ import annotations

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
from dagwright import Dataset, Input, Output, component, pipeline

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _log(path: str, name: str) -> None:
    with open(path, "a") as f:
        f.write(name + "\n")


@component(cache=True)
def produce(log: str, n: int, out: Output[Dataset]) -> int:
    _log(log, "produce")
    with open(out.path, "w") as f:
        f.write(str(n))
    return n


@component(cache=True)
def consume(log: str, data: Input[Dataset]) -> str:
    _log(log, "consume")
    with open(data.path) as f:
        return f.read() * 2


@component
def plain(log: str, n: int) -> int:
    _log(log, "plain")
    return n


@pipeline
def cached(log: str, n: int = 3) -> str:
    made = produce(log=log, n=n)
    plain(log=log, n=n)
    return consume(log=log, data=made.outputs["out"]).output


def _ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_a_second_run_reuses_cached_steps(run: Any, tmp_path: Path) -> None:
    log = tmp_path / "log"
    first = run(cached, log=str(log))
    second = run(cached, log=str(log))
    assert second.outputs == first.outputs == {"output": "33"}
    assert sorted(_ran(log)) == ["consume", "plain", "plain", "produce"]
    assert second.step("produce").cached and second.step("consume").cached
    assert not second.step("plain").cached
    assert second.step("produce").outputs["out"].uri == first.step("produce").outputs["out"].uri


def test_the_key_follows_parameters_inputs_and_cache_version(run: Any, tmp_path: Path) -> None:
    log = tmp_path / "log"
    run(cached, log=str(log), n=3)
    run(cached, log=str(log), n=4)  # new parameter: both run
    assert _ran(log).count("produce") == 2 and _ran(log).count("consume") == 2
    bumped = component(cache=True, cache_version="2")(produce.func)

    @pipeline
    def p(log: str) -> int:
        return bumped(log=log, n=3).output

    run(p, log=str(log))
    assert _ran(log).count("produce") == 3


def test_run_level_override(run: Any, tmp_path: Path) -> None:
    log = tmp_path / "log"
    run(cached, log=str(log))
    run(cached, log=str(log), cache=False)
    assert _ran(log).count("produce") == 2
    run(cached, log=str(log), cache=True)  # now plain is cached too (it ran uncached before)
    run(cached, log=str(log), cache=True)
    assert _ran(log).count("plain") == 3


def test_a_cached_artifact_that_is_gone_is_a_miss(run: Any, tmp_path: Path) -> None:
    log = tmp_path / "log"
    first = run(cached, log=str(log))
    os.remove(first.step("produce").outputs["out"].uri)
    second = run(cached, log=str(log))
    assert not second.step("produce").cached
    assert second.outputs == {"output": "33"}


@component
def flaky(flag: str) -> int:
    if os.path.exists(flag):
        raise RuntimeError("flag is set")
    return 7


@pipeline
def recovering(log: str, flag: str) -> int:
    plain(log=log, n=1)
    return flaky(flag=flag).output


def test_resume_reruns_only_what_did_not_succeed(run: Any, store: Path, tmp_path: Path) -> None:
    log, flag = tmp_path / "log", tmp_path / "flag"
    flag.touch()
    failed = run(recovering, log=str(log), flag=str(flag))
    assert failed.status == "failed"
    flag.unlink()
    resumed = dagwright.resume(failed.run_id[:-2], root=store, echo=False)
    assert resumed.run_id == failed.run_id
    assert resumed.status == "succeeded" and resumed.outputs == {"output": 7}
    assert _ran(log) == ["plain"]
    assert resumed.step("plain").reused and not resumed.step("flaky").reused


def test_resume_of_an_unknown_run(store: Path) -> None:
    store.mkdir()
    with pytest.raises(dagwright.ValidationError, match="no run 'nope'"):
        dagwright.resume("nope", root=store, echo=False)


def _steps(db: Path, run_id: str) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT task, status FROM steps WHERE run_id=?", (run_id,))
        return dict(rows.fetchall())


@pytest.mark.integration
def test_resume_after_sigkill_reruns_only_the_interrupted_step(tmp_path: Path) -> None:
    """The engine process is killed while a step is half way through writing an artifact."""
    home, log, marker = tmp_path / "home", tmp_path / "log", tmp_path / "marker"
    marker.touch()
    env = {**os.environ, "DAGWRIGHT_HOME": str(home)}
    args = ["-p", f"log={log}", "-p", f"marker={marker}"]
    engine = subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", "run", str(FIXTURES / "resumable.py"), *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    db = home / "runs.db"
    deadline = time.time() + 60
    run_id = None
    while time.time() < deadline:
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    row = conn.execute("SELECT run_id FROM runs").fetchone()
            except sqlite3.OperationalError:  # made, but its tables not yet
                row = None
            if row and _steps(db, row[0]).get("middle") == "running":
                run_id = row[0]
                break
        time.sleep(0.05)
    assert run_id is not None, "the run never reached the middle step"
    folder = home / "artifacts" / run_id / "middle"
    while time.time() < deadline and not list(folder.glob("out.partial-*")):
        time.sleep(0.05)  # until the step has written part of its artifact
    engine.send_signal(signal.SIGKILL)
    engine.wait(timeout=30)
    partial = list(folder.glob("out.partial-*"))
    assert partial, "the interrupted step should have left only a partial file"
    assert not (home / "artifacts" / run_id / "middle" / "out").exists()

    marker.unlink()
    resumed = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "resume", run_id[:12], "-q"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.split() == [run_id, "succeeded"]
    assert _ran(log) == ["first", "middle", "middle", "last"]
    assert (home / "artifacts" / run_id / "middle" / "out").read_text() == "partial and complete"
    assert not list((home / "artifacts" / run_id).rglob("*.partial-*"))

    shown = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "runs", "show", run_id, "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    record = json.loads(shown.stdout)
    assert record["outputs"] == {"output": "partial and complete 1000"}
    assert {s["task"]: s["status"] for s in record["steps"]} == {
        "first": "succeeded",
        "middle": "succeeded",
        "last": "succeeded",
    }


def test_resume_drops_rows_of_steps_that_did_not_run(run: Any, store: Path, tmp_path: Path) -> None:
    from dagwright import ParallelFor
    from dagwright.store import RunDatabase

    flag = tmp_path / "flag"
    flag.touch()

    @pipeline
    def p(flag: str) -> None:
        first = flaky(flag=flag)
        with ParallelFor([1, 2]) as n:
            plain(log=str(tmp_path / "log"), n=n).after(first)

    failed = run(p, flag=str(flag))
    db = RunDatabase(store / "runs.db")
    assert {s["status"] for s in db.steps(failed.run_id)} == {"failed", "upstream_failed"}
    flag.unlink()
    resumed = dagwright.resume(failed.run_id, root=store, echo=False)
    assert resumed.status == "succeeded"
    rows = db.steps(failed.run_id)
    assert {(s["task"], s["iteration"], s["status"]) for s in rows} == {
        ("flaky", "", "succeeded"),
        ("plain", "0", "succeeded"),
        ("plain", "1", "succeeded"),
    }


def test_ambiguous_run_prefixes_are_named(run: Any, store: Path, tmp_path: Path) -> None:
    log = str(tmp_path / "log")
    run(cached, log=log, cache=False)
    run(cached, log=log, cache=False)
    with pytest.raises(dagwright.ValidationError, match="'cached-' names more than one run"):
        dagwright.resume("cached-", root=store, echo=False)
