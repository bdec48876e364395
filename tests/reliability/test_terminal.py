"""Reliability catalogue, terminal topic: bad input typed at a terminal and faults met there.

Every case runs the ``dagwright`` command in a real pseudo-terminal (pexpect, see
``tests/terminal_pty.py``). Bad input: exit 2, the message names the field, no traceback, the
cursor is not left hidden and nothing is written. Faults (a flood of output, rich inside a
step, bytes that are not UTF-8, a step killed from outside, an interpreter gone, a resized or
tiny terminal, Ctrl-C twice, a resume after Ctrl-C): the command ends with the exact outcome
and each step's outcome stays on screen.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from terminal_pty import run_in_terminal, spawn, write_pipeline

pytestmark = pytest.mark.integration

HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"

ONE = """
@component
def double(n: int) -> int:
    return n * 2


@pipeline
def one(n: int) -> int:
    return double(n=n).output
"""

BAD_PYTHON = """
@component(runtime=Process(python=" "))
def f() -> int:
    return 1


@pipeline
def p() -> int:
    return f().output
"""

BAD_TIMEOUT = """
@component(timeout=-1)
def f() -> int:
    return 1


@pipeline
def p() -> int:
    return f().output
"""

BAD_RUNS = [
    pytest.param(ONE, ["-p", "n"], "field '-p'", id="param-not-name-value"),
    pytest.param(ONE, ["-p", "n=abc"], "field 'n': cannot read 'abc' as int", id="param-type"),
    pytest.param(ONE, ["-p", "n=1", "-p", "x=1"], "field 'x': unknown parameter", id="unknown"),
    pytest.param(ONE, [], "field 'n'", id="param-missing"),
    pytest.param(ONE, ["-p", "n=1", "--parallelism", "0"], "'--parallelism'", id="parallelism"),
    pytest.param(ONE, ["-p", "n=1", "--run-id", "Not_A_Name"], "field 'run_id'", id="run-id"),
    pytest.param(BAD_PYTHON, [], "field 'runtime.python'", id="process-python-blank"),
    pytest.param(BAD_TIMEOUT, [], "field 'timeout'", id="timeout-negative"),
]


def cursor_visible(raw: str) -> bool:
    """The terminal's cursor is shown at the end: never hidden, or shown again after."""
    return (
        HIDE not in raw or raw.rindex(SHOW) > raw.rindex(HIDE) if SHOW in raw else HIDE not in raw
    )


def assert_clean_refusal(session: object, needle: str) -> None:
    text = session.text  # type: ignore[attr-defined]
    assert session.exit_code == 2, text  # type: ignore[attr-defined]
    assert needle in text, text
    assert "Traceback" not in text
    raw = session.raw  # type: ignore[attr-defined]
    assert cursor_visible(raw), "the cursor was left hidden"


@pytest.mark.parametrize(("source", "args", "needle"), BAD_RUNS)
def test_bad_run_input_at_a_terminal(
    tmp_path: Path, source: str, args: list[str], needle: str
) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "pipe", source)
    session = run_in_terminal(["run", str(path), *args], tmp_path, home, timeout=60)
    assert_clean_refusal(session, needle)
    assert not home.exists(), "a refused run wrote to the store"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A store with one finished run: (folder, home, run id)."""
    folder = tmp_path_factory.mktemp("recorded")
    home = folder / "home"
    path = write_pipeline(folder, "pipe", ONE)
    # a module fixture runs before the suite turns tracking off: with mlflow installed the run
    # records to MLflow, and waits for it, so no background upload changes the store later
    tracking_on = os.environ.get("DAGWRIGHT_TRACKING", "").lower() not in (
        "off",
        "0",
        "false",
        "no",
    )
    wait = ["--wait-lineage"] if importlib.util.find_spec("mlflow") and tracking_on else []
    session = run_in_terminal(["run", str(path), "-p", "n=2", *wait], folder, home, timeout=60)
    assert session.exit_code == 0, session.text
    run_id = re.search(r"run (one-\S+) succeeded", session.text).group(1)
    return folder, home, run_id


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.endswith(("-wal", "-shm")):
            h.update(path.name.encode() + path.read_bytes())
    return h.hexdigest()


BAD_LOOKUPS = [
    pytest.param(["logs", "{run}", "nope"], "field 'STEP'", id="logs-unknown-step"),
    pytest.param(["logs", "no-such-run"], "no-such-run", id="logs-unknown-run"),
    pytest.param(["runs", "show", "no-such-run"], "no-such-run", id="show-unknown-run"),
    pytest.param(["resume", "no-such-run"], "no-such-run", id="resume-unknown-run"),
    pytest.param(["runs", "ls", "--root", "{folder}/empty"], "field '--root'", id="ls-no-store"),
]


@pytest.mark.parametrize(("args", "needle"), BAD_LOOKUPS)
def test_bad_lookup_at_a_terminal(
    recorded: tuple[Path, Path, str], args: list[str], needle: str
) -> None:
    folder, home, run_id = recorded
    before = digest(home)
    args = [a.format(run=run_id, folder=folder) for a in args]
    session = run_in_terminal(args, folder, home, timeout=60)
    assert_clean_refusal(session, needle)
    assert digest(home) == before
    assert not (folder / "empty").exists()


def steps_of(home: Path, run_id: str) -> dict[str, str]:
    with sqlite3.connect(home / "runs.db") as db:
        return dict(db.execute("SELECT task, status FROM steps WHERE run_id=?", (run_id,)))


def run_status(home: Path, run_id: str) -> str:
    with sqlite3.connect(home / "runs.db") as db:
        return db.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()[0]


def final(raw: str) -> str:
    from terminal_pty import plain

    return plain(raw.rsplit(SHOW, 1)[-1])


OUTPUT_FAULTS = [
    pytest.param(
        """
        @component
        def noisy() -> int:
            for i in range(100_000):
                print("line", i)
                print("err", i, file=sys.stderr)
            return 1
        """,
        "noisy",
        id="flood",
    ),
    pytest.param(
        """
        @component
        def fancy() -> int:
            from rich.progress import track

            for _ in track(range(30), description="working"):
                time.sleep(0.02)
            return 1
        """,
        "fancy",
        id="rich-progress-inside-a-step",
    ),
    pytest.param(
        """
        @component(runtime=Process())
        def binary() -> int:
            os.write(1, b"\\xff\\xfe not utf-8 \\x80\\n")
            os.write(2, b"\\xc3\\x28\\n")
            return 1
        """,
        "binary",
        id="bytes-not-utf8",
    ),
    pytest.param(
        """
        @component
        def chatty() -> int:
            import threading

            def talk():
                for i in range(40):
                    print("after the step", i)
                    time.sleep(0.05)

            threading.Thread(target=talk, daemon=True).start()
            return 1
        """,
        "chatty",
        id="thread-printing-after-its-step",
    ),
]


@pytest.mark.parametrize(("component_source", "task"), OUTPUT_FAULTS)
def test_fault_step_output_at_a_terminal(tmp_path: Path, component_source: str, task: str) -> None:
    import textwrap

    home = tmp_path / "home"
    body = textwrap.dedent(component_source) + (
        f"\n\n@component\ndef slow() -> int:\n    time.sleep(1)\n    return 2\n\n\n"
        f"@pipeline\ndef outputs() -> int:\n    slow()\n    return {task}().output\n"
    )
    path = write_pipeline(tmp_path, "outputs", body)
    session = run_in_terminal(["run", str(path)], tmp_path, home, timeout=120)
    assert session.exit_code == 0, session.text[-3000:]
    assert session.peak_rss_kb < 600 * 1024
    shown = final(session.raw)
    assert re.search(rf"^ *{task} +succeeded", shown, re.M), shown
    assert re.search(r"^ *slow +succeeded", shown, re.M), shown
    run_id = re.search(r"run (outputs-\S+) succeeded: 2 succeeded", shown).group(1)
    assert steps_of(home, run_id) == {task: "succeeded", "slow": "succeeded"}
    if task == "noisy":
        assert "line 99999" not in session.text  # captured, not thrown on the screen
        with sqlite3.connect(home / "runs.db") as db:
            (out,) = db.execute("SELECT stdout FROM steps WHERE task='noisy'").fetchone()
        assert out.endswith("line 99999\n")
    if task == "binary":
        with sqlite3.connect(home / "runs.db") as db:
            (out,) = db.execute("SELECT stdout FROM steps WHERE task='binary'").fetchone()
        assert out == "\ufffd\ufffd not utf-8 \ufffd\n"


KILLED = """
@component(runtime=Process())
def victim(pidfile: str) -> None:
    with open(pidfile, "w") as out:
        out.write(str(os.getpid()))
    time.sleep(60)


@component
def bystander() -> int:
    return 1


@pipeline
def killed(pidfile: str) -> None:
    victim(pidfile=pidfile)
    bystander()
"""


def test_fault_process_step_killed_from_outside(tmp_path: Path) -> None:
    home, pidfile = tmp_path / "home", tmp_path / "victim"
    path = write_pipeline(tmp_path, "killed", KILLED)
    session = spawn(["run", str(path), "-p", f"pidfile={pidfile}"], tmp_path, home)
    deadline = time.monotonic() + 60
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline
        session.expect("victim", timeout=60)
    os.kill(int(pidfile.read_text()), signal.SIGKILL)  # as the OOM killer would
    session.finish(timeout=60)
    assert session.exit_code == 1, session.text[-3000:]
    shown = final(session.raw)
    assert re.search(r"^ *victim +failed .*the executor exited with code -9", shown, re.M), shown
    run_id = re.search(r"run (killed-\S+) failed", shown).group(1)
    assert f"dagwright resume {run_id}" in shown
    assert run_status(home, run_id) == "failed"
    assert steps_of(home, run_id) == {"victim": "failed", "bystander": "succeeded"}


MISSING_PYTHON = """
@component(runtime=Process(python=os.environ["GONE_PYTHON"]))
def elsewhere() -> int:
    return 1


@pipeline
def gone() -> int:
    return elsewhere().output
"""


def test_fault_process_interpreter_gone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "gone", MISSING_PYTHON)
    missing = str(tmp_path / "venv" / "bin" / "python")
    session = spawn(["run", str(path)], tmp_path, home, GONE_PYTHON=missing).finish(60)
    assert session.exit_code == 1, session.text[-3000:]
    shown = final(session.raw)
    assert re.search(
        rf"^ *elsewhere +failed +\S+ +could not start {re.escape(missing)}", shown, re.M
    )
    assert "Traceback" not in session.text
    run_id = re.search(r"run (gone-\S+) failed", shown).group(1)
    assert run_status(home, run_id) == "failed"


STEADY = """
@component
def tick(i: int) -> int:
    time.sleep(0.3)
    return i


@pipeline
def steady() -> None:
    with ParallelFor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], parallelism=2) as i:
        tick(i=i)
"""


def test_fault_terminal_resized_mid_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "steady", STEADY)
    session = spawn(["run", str(path)], tmp_path, home)
    session.expect(r"tick\[", timeout=60)
    for rows, cols in ((10, 40), (50, 200), (24, 80)):
        session.child.setwinsize(rows, cols)  # SIGWINCH to the command
        time.sleep(0.2)
    session.finish(timeout=60)
    assert session.exit_code == 0, session.text[-3000:]
    shown = final(session.raw)
    for i in range(10):
        assert re.search(rf"^ *tick\[{i}\] +succeeded", shown, re.M), shown


def test_fault_tiny_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "steady", STEADY)
    session = spawn(["run", str(path)], tmp_path, home)
    session.child.setwinsize(6, 30)
    session.finish(timeout=60)
    assert session.exit_code == 0, session.text[-3000:]
    shown = final(session.raw)
    run_id = re.search(r"run (steady-\S+) succeeded: 10 succeeded", shown).group(1)
    assert f"dagwright runs show {run_id}" in shown  # long lines are not cut
    assert len(re.findall(r"^ *tick\[\d\] +succeeded", shown, re.M)) == 10, shown


RESUMABLE = """
@component
def first() -> int:
    return 1


@component
def waits(x: int, marker: str) -> int:
    if not os.path.exists(marker):
        open(marker, "w").close()
        time.sleep(60)
    return x + 1


@pipeline
def resumable(marker: str) -> int:
    return waits(x=first().output, marker=marker).output
"""


def interrupt(tmp_path: Path, home: Path, presses: str) -> tuple[str, str]:
    marker = tmp_path / "marker"
    path = write_pipeline(tmp_path, "resumable", RESUMABLE)
    session = spawn(["run", str(path), "-p", f"marker={marker}"], tmp_path, home)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, session.text[-3000:]
        session.expect("waits", timeout=60)
    for key in presses:
        session.child.send(key)
        time.sleep(0.05)
    session.finish(timeout=30)
    assert session.exit_code == 130, session.text[-3000:]
    assert "Traceback" not in session.text
    found = re.search(r"run (resumable-\S+) interrupted \(interrupted by Ctrl-C", session.text)
    run_id = found.group(1)
    assert run_status(home, run_id) == "interrupted"
    return run_id, session.text


def test_fault_ctrl_c_pressed_three_times(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id, text = interrupt(tmp_path, home, "\x03\x03\x03")
    assert text.count("interrupted (interrupted by Ctrl-C") == 1
    assert steps_of(home, run_id) == {"first": "succeeded", "waits": "interrupted"}


def test_fault_interrupted_run_resumes_in_the_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_id, text = interrupt(tmp_path, home, "\x03")
    assert f"dagwright resume {run_id}" in text
    session = run_in_terminal(["resume", run_id], tmp_path, home, timeout=60)
    assert session.exit_code == 0, session.text[-3000:]
    shown = final(session.raw)
    assert re.search(r"^ *first +reused", shown, re.M) and re.search(
        r"^ *waits +succeeded", shown, re.M
    ), shown
    assert "output output = 2" in shown
    assert run_status(home, run_id) == "succeeded"


LOADING = """
marker = os.environ["LOADING_MARKER"]
open(marker, "w").close()
time.sleep(60)  # a pipeline file that takes its time to import


@component
def f() -> int:
    return 1


@pipeline
def slow_import() -> int:
    return f().output
"""


def test_fault_ctrl_c_while_the_pipeline_file_loads(tmp_path: Path) -> None:
    home, marker = tmp_path / "home", tmp_path / "loading"
    path = write_pipeline(tmp_path, "slow_import", LOADING)
    session = spawn(["run", str(path)], tmp_path, home, LOADING_MARKER=str(marker))
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    session.child.send("\x03")
    session.finish(timeout=30)
    assert session.exit_code == 130, session.text
    assert "interrupted by Ctrl-C (SIGINT)" in session.text
    assert "Traceback" not in session.text
    assert not home.exists()


MARKUP = """
@component
def shouty() -> int:
    print("[bold red]not a style[/bold red]")
    raise KeyError("[link=file:///etc/passwd]click[/link] [missing]")


@pipeline
def markup() -> int:
    return shouty().output
"""


def test_fault_error_text_that_looks_like_rich_markup(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "markup", MARKUP)
    session = run_in_terminal(["run", str(path)], tmp_path, home, timeout=60)
    assert session.exit_code == 1, session.text[-3000:]
    shown = final(session.raw)
    assert "KeyError: '[link=file:///etc/passwd]click[/link] [missing]'" in shown, shown
    assert re.search(r"^ *shouty +failed", shown, re.M)
    assert "\x1b]8;" not in session.raw  # no hyperlink escape was made from the step's text


ENGINE_BREAKS = """
import dagwright.engine.local as engine


def broken(self, arguments):  # the fault: the engine fails after its steps ran
    time.sleep(1)  # long enough for the live display to be drawn
    raise RuntimeError("the engine broke down")


engine.LocalEngine._result = broken


@component
def fine() -> int:
    return 1


@pipeline
def breaks() -> int:
    return fine().output
"""


def test_fault_engine_error_leaves_a_clean_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "breaks", ENGINE_BREAKS)
    session = run_in_terminal(["run", str(path)], tmp_path, home, timeout=60)
    assert session.exit_code == 1, session.text[-3000:]
    assert "RuntimeError: the engine broke down" in session.text
    raw = session.raw
    assert HIDE in raw and cursor_visible(raw), "the cursor was left hidden"
    # the live table was taken down before the error was printed, not drawn over it
    assert raw.rindex(SHOW) < raw.index("the engine broke down")


def test_fault_sigint_without_a_terminal(tmp_path: Path) -> None:
    """The same stop for a run in a CI log (no terminal): SIGINT from outside."""
    import subprocess
    import sys

    from terminal_pty import env_for

    home, marker = tmp_path / "home", tmp_path / "marker"
    path = write_pipeline(tmp_path, "resumable", RESUMABLE)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", "run", str(path), "-p", f"marker={marker}"],
        cwd=tmp_path,
        env=env_for(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    found = re.search(r"run (resumable-\S+) interrupted \(interrupted by Ctrl-C", err)
    run_id = found.group(1)
    assert re.search(r"^ *- waits +interrupted", out, re.M), out
    assert f"dagwright resume {run_id}" in err
    assert "Traceback" not in out + err
    assert run_status(home, run_id) == "interrupted"


@pytest.mark.parametrize(
    "setting",
    [{"TERM": "dumb"}, {"NO_COLOR": "1"}, {"TERM": "xterm-256color", "COLUMNS": "20"}],
    ids=["dumb-terminal", "no-color", "columns-too-narrow"],
)
def test_fault_unusual_terminal_settings(tmp_path: Path, setting: dict[str, str]) -> None:
    home = tmp_path / "home"
    path = write_pipeline(tmp_path, "steady", STEADY)
    session = spawn(["run", str(path)], tmp_path, home, **setting).finish(timeout=60)
    assert session.exit_code == 0, session.text[-3000:]
    text = session.text
    assert len(re.findall(r"^ *tick\[\d\] +succeeded", text, re.M)) >= 10, text
    run_id = re.search(r"run (steady-\S+) succeeded: 10 succeeded", text).group(1)
    assert f"dagwright runs show {run_id}" in text
    assert cursor_visible(session.raw)
    if "NO_COLOR" in setting:
        assert not re.search(r"\x1b\[[0-9;]*3[0-9]m", session.raw)  # no foreground colours
