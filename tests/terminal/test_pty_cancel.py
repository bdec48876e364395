"""``dagwright runs cancel`` while ``dagwright run`` shows its live display at a real terminal
(a pseudo-terminal): the run ends at once, ``cancelled``, its Process step's process gone, the
screen left clean with the command that continues it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from terminal_pty import env_for, read_pids, spawn, wait_gone, write_pipeline

pytestmark = pytest.mark.integration

SLEEPERS = """
@component(runtime=Process())
def apart(pids: str) -> int:
    with open(pids, "a") as f:
        f.write(f"{os.getpid()}\\n")
    time.sleep(120)
    return 1


@component
def in_thread() -> int:
    time.sleep(120)  # no timeout: its thread is abandoned, the command still ends
    return 2


@component
def total(a: int, b: int) -> int:
    return a + b


@pipeline
def sleepers(pids: str):
    total(a=apart(pids=pids).output, b=in_thread().output)
"""


def test_a_run_at_a_terminal_cancelled_from_another_process_ends_at_once(tmp_path: Path) -> None:
    home, pids = tmp_path / "home", tmp_path / "pids"
    write_pipeline(tmp_path, "sleepers", SLEEPERS)
    session = spawn(["run", "sleepers.py:sleepers", "-p", f"pids={pids}"], tmp_path, home)
    (sleeping,) = read_pids(pids)
    db = sqlite3.connect(home / "runs.db")
    ((run_id,),) = db.execute("SELECT run_id FROM runs").fetchall()
    db.close()
    cancel = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "runs", "cancel", run_id],
        cwd=tmp_path,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cancel.returncode == 0, cancel.stderr
    session.finish(timeout=20)
    assert session.exit_code == 1, session.text[-3000:]
    assert wait_gone(sleeping, 5), "the Process step's process outlived the cancel"
    shown = session.text
    assert f"run {run_id} cancelled" in shown
    assert f"dagwright resume {run_id}" in shown
    assert "Traceback" not in shown
    with sqlite3.connect(home / "runs.db") as db:
        assert db.execute("SELECT status, reason FROM runs").fetchone() == (
            "cancelled",
            "cancelled by request",
        )
        steps = dict(db.execute("SELECT task, status FROM steps"))
    assert steps == {"apart": "cancelled", "in-thread": "cancelled", "total": "cancelled"}
