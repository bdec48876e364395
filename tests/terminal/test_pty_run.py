"""``dagwright run`` at a real terminal (a pseudo-terminal): it finishes, leaves each step's
outcome and where the results are on screen, and Ctrl-C stops it at once.

Before the fix every run over ~0.5 s hung here: rich's live display redirected stderr through a
proxy that printed on a console writing to ``sys.stderr``, which the step capture had wrapped
around that proxy, so each write wrote itself again (only ``ESC[?25l`` came out, memory grew).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from terminal_pty import REPO, env_for, run_in_terminal, spawn, wait_gone, write_pipeline

pytestmark = pytest.mark.integration

CURSOR_SHOWN = "\x1b[?25h"  # the live display gives the cursor back when it stops


def after_live(raw: str) -> str:
    """What stays on screen: the output after the live display stopped."""
    from terminal_pty import plain

    assert CURSOR_SHOWN in raw, "the live display never ran or never stopped"
    return plain(raw.rsplit(CURSOR_SHOWN, 1)[1])


def run_status(home: Path, run_id: str) -> tuple[str, dict[str, str]]:
    with sqlite3.connect(home / "runs.db") as db:
        (status,) = db.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
        steps = dict(db.execute("SELECT task, status FROM steps WHERE run_id=?", (run_id,)))
    return status, steps


def test_iris_finishes_in_a_terminal_and_leaves_each_outcome(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    home = tmp_path / "home"
    session = run_in_terminal(["run", str(REPO / "examples" / "iris_training.py")], tmp_path, home)
    assert session.exit_code == 0, session.text[-3000:]
    shown = after_live(session.raw)
    run_id = re.search(r"run (iris-training-\S+) succeeded: 5 succeeded", shown).group(1)
    for task in ("load-data", "split-data", "train-model", "evaluate", "publish"):
        assert re.search(rf"^ *{task} +succeeded +\d+\.\d\ds", shown, re.M), shown
    assert re.search(r"metrics evaluate\.metrics: accuracy=[0-9.]+ \(.*evaluate/metrics\)", shown)
    assert f"artifacts  {(home / 'artifacts' / run_id).absolute()}" in shown
    assert f"run record {(home / 'runs.db').absolute()}" in shown
    assert f"dagwright runs show {run_id}" in shown
    assert re.search(rf"dagwright logs {run_id} [a-z-]+ ", shown)
    assert f"dagwright lineage show {run_id}" in shown
    assert session.peak_rss_kb < 600 * 1024, f"{session.peak_rss_kb // 1024} MiB"
    # the command the footer gives works, from the same place
    shown_run = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "runs", "show", run_id],
        cwd=tmp_path,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown_run.returncode == 0 and "train-model" in shown_run.stdout


SIDE_BY_SIDE = """
@component(runtime=Process(), timeout=2)
def stuck() -> None:
    time.sleep(60)


@component
def quick(n: int) -> int:
    time.sleep(1)
    print("quick printed this")
    return n * 2


@pipeline
def side_by_side() -> int:
    stuck()
    return quick(n=21).output
"""


def test_a_process_step_timing_out_beside_a_local_step(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "side", SIDE_BY_SIDE)
    session = run_in_terminal(["run", str(path)], tmp_path, home, timeout=60)
    assert session.exit_code == 1, session.text[-3000:]
    assert session.seconds < 50  # the stuck step's 60 s sleep was cut at 2 s
    shown = after_live(session.raw)
    run_id = re.search(r"run (side-by-side-\S+) failed", shown).group(1)
    assert re.search(r"^ *quick +succeeded", shown, re.M), shown
    assert re.search(
        r"^ *stuck +failed .*TimeoutError: step 'stuck' did not finish within 2", shown, re.M
    )
    assert f"dagwright logs {run_id} stuck" in shown
    assert f"dagwright resume {run_id}" in shown
    # the Local step's print was captured for its record, not thrown on the screen
    assert "quick printed this" not in session.text
    status, steps = run_status(home, run_id)
    assert (status, steps) == ("failed", {"stuck": "failed", "quick": "succeeded"})


MANY = """
@component
def numbers(n: int) -> list:
    return list(range(n))


@component
def square(x: int) -> int:
    if x % 500 == 7:
        raise ValueError(f"bad item {x}")
    return x * x


@pipeline
def many(n: int = 2000) -> None:
    with ParallelFor(numbers(n=n).output) as x:
        square(x=x)
"""


def test_a_two_thousand_step_run_finishes_and_stays_readable(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "many", MANY)
    session = run_in_terminal(["run", str(path), "--keep-going"], tmp_path, home, timeout=240)
    assert session.exit_code == 1, session.text[-3000:]
    assert session.peak_rss_kb < 800 * 1024, f"{session.peak_rss_kb // 1024} MiB"
    shown = after_live(session.raw)
    # a row per task, not 2,000 lines; every failure by name
    assert re.search(r"^ *square +2000 +1996 succeeded, 4 failed +\d+\.\d\ds", shown, re.M), shown
    assert re.search(r"^ *numbers +1 +1 succeeded", shown, re.M)
    for item in (7, 507, 1007, 1507):
        assert re.search(rf"✗ square\[{item}\] failed .*ValueError: bad item {item}", shown)
    assert len(shown.splitlines()) < 80, shown
    run_id = re.search(r"run (many-\S+) failed: 1997 succeeded, 4 failed", shown).group(1)
    assert f"dagwright logs {run_id} 'square[7]'" in shown  # quoted for the shell
    logs = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "logs", run_id, "square[7]"],
        cwd=tmp_path,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert logs.returncode == 0 and "ValueError: bad item 7" in logs.stdout, logs.stderr


INTERRUPTIBLE = """
@component
def first() -> int:
    return 1


@component(runtime=Process())
def sleeper(x: int, pidfile: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(pidfile + ".tmp", "w") as out:
        out.write(f"{os.getpid()} {child.pid}")
    os.replace(pidfile + ".tmp", pidfile)
    time.sleep(120)


@component
def napper(x: int) -> None:
    time.sleep(120)


@pipeline
def interruptible(pidfile: str) -> None:
    a = first()
    sleeper(x=a.output, pidfile=pidfile)
    napper(x=a.output)
"""


def test_ctrl_c_stops_the_run_at_once_and_records_it_interrupted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pidfile = tmp_path / "pids"
    path = write_pipeline(tmp_path, "stoppable", INTERRUPTIBLE)
    session = spawn(["run", str(path), "-p", f"pidfile={pidfile}"], tmp_path, home)
    session.expect(r"napper", timeout=60)
    deadline = time.monotonic() + 60
    while not pidfile.exists():
        assert time.monotonic() < deadline, session.text[-3000:]
        session.expect(r"running", timeout=60)
    step_pid, grandchild = (int(p) for p in pidfile.read_text().split())
    session.child.send("\x03")
    session.finish(timeout=30)
    assert session.exit_code == 130, session.text[-3000:]
    text = session.text
    found = re.search(r"run (interruptible-\S+) interrupted \(interrupted by Ctrl-C", text)
    run_id = found.group(1)
    assert text.count(f"dagwright resume {run_id}") == 1  # said once, by the report
    shown = after_live(session.raw)  # the outcome stays: what ran, what was stopped
    assert re.search(r"^ *first +succeeded", shown, re.M), shown
    assert re.search(r"^ *sleeper +interrupted", shown, re.M), shown
    assert re.search(r"^ *napper +interrupted", shown, re.M), shown
    assert "Traceback" not in text
    status, steps = run_status(home, run_id)
    assert status == "interrupted"
    assert steps == {"first": "succeeded", "sleeper": "interrupted", "napper": "interrupted"}
    # the Process step and what it started went with the run
    assert wait_gone(step_pid) and wait_gone(grandchild)


def test_lines_without_a_terminal_end_with_the_same_footer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "side", SIDE_BY_SIDE)
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "run", str(path), "--no-lineage", "--root", "st"],
        cwd=tmp_path,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    run_id = re.search(r"run (side-by-side-\S+) failed", proc.stdout).group(1)
    store = tmp_path / "st"
    assert f"run record {store / 'runs.db'}" in proc.stdout
    # the commands name the store the user chose, so they work as printed
    assert f"dagwright logs {run_id} stuck --root {store}" in proc.stdout
    assert f"dagwright resume {run_id} --root {store}" in proc.stdout
    assert "lineage show" not in proc.stdout  # --no-lineage: there is none to show
    logs = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "logs", run_id, "quick", "--json", "--root", "st"],
        cwd=tmp_path,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(logs.stdout)[0]["stdout"] == "quick printed this\n"
