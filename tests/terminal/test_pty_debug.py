"""Debugging a step at a real terminal (a pseudo-terminal): ``dagwright replay --pdb`` and
``run --pdb`` open pdb's post-mortem where the step raised, ``breakpoint()`` in a step stops at
a prompt on the terminal, and what is typed there is answered there.

Before ``run --pdb``, a failing step's traceback was all there was, and a ``breakpoint()``
wrote its prompt into the step's captured output while the run waited on stdin unseen.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest
from replay_pipeline import dagwright, run_id, write
from terminal_pty import spawn

pytestmark = pytest.mark.integration

PROMPT = r"\(Pdb\) "


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    write(tmp_path)
    (tmp_path / "tmp").mkdir()
    return tmp_path


def recorded_run(folder: Path) -> str:
    proc = dagwright(folder, "run", "replayed.py:demo", "-q", "--keep-going")
    assert proc.returncode == 1, proc.stderr
    return run_id(proc)


def test_replay_pdb_opens_a_post_mortem_at_the_exception(folder: Path) -> None:
    run = recorded_run(folder)
    session = spawn(
        ["replay", run, "use[2]", "--pdb"], folder, folder / "home", TMPDIR=str(folder / "tmp")
    )
    session.expect(PROMPT)
    assert 'raise ValueError("k may not be 3")' in session.text  # where it stopped
    session.child.sendline("p marker_local")
    # a local of the failed frame (its loop item and its input), then the prompt again
    session.expect(r"'k=3:4'\s+" + PROMPT)
    session.child.sendline("q")
    session.finish(60)
    assert session.exit_code == 1, session.text[-2000:]
    assert "step use[2] failed: ValueError: k may not be 3" in session.text


def test_breakpoint_in_a_replayed_step_stops_at_the_terminal(folder: Path) -> None:
    run = recorded_run(folder)
    session = spawn(
        ["replay", run, "use[0]", "-p", "debug=true"],
        folder,
        folder / "home",
        TMPDIR=str(folder / "tmp"),
    )
    session.expect(PROMPT)
    session.child.sendline("p text, k")
    session.expect(r"\('xxxx', 1\)\s+" + PROMPT)
    session.child.sendline("c")
    session.finish(60)
    assert session.exit_code == 0, session.text[-2000:]
    assert re.search(r'^output +"x" +"x" +same$', session.text, re.M), session.text[-2000:]


def test_run_pdb_opens_a_post_mortem_then_the_run_goes_on(folder: Path) -> None:
    session = spawn(
        ["run", "replayed.py:demo", "--pdb", "--keep-going"],
        folder,
        folder / "home",
        TMPDIR=str(folder / "tmp"),
    )
    session.expect(PROMPT)
    assert "--- step use[2] raised ValueError" in session.text
    # Process steps are not stopped in: said once, before the run
    assert session.text.count("--pdb stops only in steps run in this process; make run") == 1
    session.child.sendline("p marker_local")
    session.expect(r"'k=3:4'\s+" + PROMPT)
    session.child.sendline("c")
    session.finish(120)
    assert session.exit_code == 1, session.text[-2000:]
    run = re.search(r"run (demo-\S+) failed", session.text).group(1)
    assert f"dagwright replay {run} 'use[2]' --pdb" in session.text  # the footer's next step
    with sqlite3.connect(folder / "home" / "runs.db") as db:
        steps = dict(
            db.execute("SELECT task || iteration, status FROM steps WHERE run_id=?", (run,))
        )
        (captured,) = db.execute(
            "SELECT stdout FROM steps WHERE run_id=? AND task='use' AND iteration='2'", (run,)
        ).fetchone()
    # the failed step is recorded failed and the run went on to its end
    assert steps == {
        "make": "succeeded",
        "use0": "succeeded",
        "use1": "succeeded",
        "use2": "failed",
        "total": "upstream_failed",
    }
    assert captured == "use read 4 characters\n"  # the debugger's words were not captured


def test_breakpoint_in_a_local_step_under_run_pdb_prompts_at_the_terminal(folder: Path) -> None:
    session = spawn(
        ["run", "replayed.py:paused", "--pdb"], folder, folder / "home", TMPDIR=str(folder / "tmp")
    )
    session.expect(PROMPT)
    session.child.sendline("p y")
    session.expect(r"\b42\s+" + PROMPT)
    session.child.sendline("c")
    session.finish(120)
    assert session.exit_code == 0, session.text[-2000:]
    assert "--pdb stops only" not in session.text  # every step is Local
    with sqlite3.connect(folder / "home" / "runs.db") as db:
        (captured,) = db.execute("SELECT stdout FROM steps WHERE task='pause'").fetchone()
    assert captured == "after the breakpoint y=42\n"  # the prompt was on the terminal only


def test_quitting_at_a_breakpoint_fails_the_step_without_a_post_mortem(folder: Path) -> None:
    session = spawn(
        ["run", "replayed.py:paused", "--pdb"], folder, folder / "home", TMPDIR=str(folder / "tmp")
    )
    session.expect(PROMPT)
    session.child.sendline("q")
    session.finish(60)
    assert session.exit_code == 1, session.text[-2000:]
    assert "post-mortem" not in session.text and session.text.count("(Pdb)") == 1
    with sqlite3.connect(folder / "home" / "runs.db") as db:
        (error,) = db.execute("SELECT error FROM steps WHERE task='pause'").fetchone()
    assert error.startswith("BdbQuit")


def test_a_post_mortem_outlasts_the_steps_timeout(folder: Path) -> None:
    session = spawn(
        ["run", "replayed.py:timed", "--pdb"], folder, folder / "home", TMPDIR=str(folder / "tmp")
    )
    session.expect(PROMPT)
    assert "--pdb lifts the timeout of hasty" in session.text
    time.sleep(1.5)  # past the step's 1 s timeout, at the prompt
    session.child.sendline("p doubled")
    session.expect(r"\b42\s+" + PROMPT)
    session.child.sendline("c")
    session.finish(60)
    assert session.exit_code == 1
    with sqlite3.connect(folder / "home" / "runs.db") as db:
        (error,) = db.execute("SELECT error FROM steps WHERE task='hasty'").fetchone()
    assert error == "RuntimeError: gave up on 42"  # its own failure, not a timeout


def test_run_pdb_runs_one_step_at_a_time(folder: Path) -> None:
    proc = dagwright(folder, "run", "replayed.py:demo", "--pdb", "--parallelism", "4")
    assert proc.returncode == 2
    assert "field '--parallelism'" in proc.stderr and "leave out --parallelism" in proc.stderr
    assert not (folder / "home" / "runs.db").exists()  # refused before anything ran


def test_breakpoint_under_run_without_pdb_fails_the_step_naming_the_fix(folder: Path) -> None:
    """Without --pdb the step's output is captured: its prompt would show nowhere while the
    run waited on the terminal for ever. The step fails at once, saying what to do instead."""
    session = spawn(
        ["run", "replayed.py:paused"], folder, folder / "home", TMPDIR=str(folder / "tmp")
    )
    session.finish(60)
    assert session.exit_code == 1, session.text[-2000:]
    assert "(Pdb)" not in session.text
    with sqlite3.connect(folder / "home" / "runs.db") as db:
        (error,) = db.execute("SELECT error FROM steps WHERE task='pause'").fetchone()
    assert error.startswith("UsageError: breakpoint() in a step whose output is captured"), error
    assert "--pdb" in error and "dagwright replay" in error
