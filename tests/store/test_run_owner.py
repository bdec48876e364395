"""The owner of a run (pid and start time) and the columns added to older run databases."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagwright.store import RunDatabase
from dagwright.store.owner import Owner, alive, current, start_time

needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

_OLD_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, status TEXT NOT NULL,
    params TEXT NOT NULL, outputs TEXT, ir TEXT NOT NULL, artifacts TEXT NOT NULL,
    started REAL NOT NULL, ended REAL);
CREATE TABLE steps (run_id TEXT NOT NULL, task TEXT NOT NULL, iteration TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, started REAL, ended REAL,
    error TEXT, traceback TEXT, outputs TEXT, cache_key TEXT, cached INTEGER NOT NULL DEFAULT 0,
    stdout TEXT, stderr TEXT, PRIMARY KEY (run_id, task, iteration));
"""


def test_an_older_database_gets_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(_OLD_SCHEMA)
        conn.execute(
            "INSERT INTO runs VALUES ('old', 'p', 'succeeded', '{}', NULL, '{}', '', 100, 160)"
        )
        conn.execute(
            "INSERT INTO runs VALUES ('left', 'p', 'running', '{}', NULL, '{}', '', 1, NULL)"
        )
    db = RunDatabase(path)
    with sqlite3.connect(path) as conn:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        step_columns = {r[1] for r in conn.execute("PRAGMA table_info(steps)")}
    assert {"reason", "owner_host", "owner_pid", "owner_start", "resumed", "elapsed"} <= columns
    assert "note" in step_columns
    assert db.find_run("old")["duration"] == 60
    # a run left running before owners were recorded: nobody can tell, so it may be resumed
    assert db.find_run("left")["status"] == "running"
    claimed = db.claim_run("left")
    assert claimed["owner_pid"] == os.getpid() and claimed["status"] == "running"
    RunDatabase(path).close()  # opening it again adds nothing twice


def test_a_run_records_its_owner_and_its_running_spans(tmp_path: Path) -> None:
    db = RunDatabase(tmp_path / "runs.db")
    db.start_run("r", "p", {}, "{}", "")
    row = db.find_run("r")
    assert Owner(row["owner_host"], row["owner_pid"], row["owner_start"]) == current()
    db.finish_run("r", "failed", {})
    first = db.find_run("r")["duration"]
    time.sleep(0.3)  # not running: not counted
    db.claim_run("r")
    db.finish_run("r", "succeeded", {})
    row = db.find_run("r")
    assert row["duration"] < first + 0.2 and row["ended"] - row["started"] >= 0.3


def test_a_live_owner_refuses_a_claim(tmp_path: Path) -> None:
    from dagwright.errors import ValidationError

    db = RunDatabase(tmp_path / "runs.db")
    db.start_run("r", "p", {"a": 1}, "{}", "")
    with pytest.raises(ValidationError, match=f"still going \\(process {os.getpid()} on "):
        db.claim_run("r")
    assert json.loads(json.dumps(db.find_run("r")["params"])) == {"a": 1}


def _ended_child() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_alive_tells_a_dead_or_reused_pid(tmp_path: Path) -> None:
    me = current()
    assert alive(me)
    assert not alive(Owner(me.host, _ended_child(), None))
    assert alive(Owner("another-host.example", _ended_child(), None))  # cannot tell: alive
    if me.start is not None:
        assert not alive(Owner(me.host, me.pid, me.start + "0"))  # the pid is another's now


@needs_proc
def test_a_zombie_owner_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = Owner(socket.gethostname(), child.pid, start_time(child.pid))
        assert alive(owner)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.time() + 10
        while alive(owner) and time.time() < deadline:
            time.sleep(0.05)  # not collected yet: a zombie
        assert not alive(owner)
    finally:
        child.kill()
        child.wait()
