"""What a step prints reaches ``<root>/logs/<run>/<task>.stdout`` while the step runs, secrets
masked; the step row holds the whole text once it ended; ``runs rm`` removes the files."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright import component, pipeline
from dagwright.errors import ValidationError
from dagwright.runtimes import Local, Process
from dagwright.store import LocalStore, live_log_path

SECRET = "tok-7Hq2mZ9xW4kP1vN8"


def _wait_for(check: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("runtime", [Local(), Process()], ids=["local", "process"])
def test_a_running_step_s_prints_are_in_its_live_log_secrets_masked(
    tmp_path: Path, runtime: Any
) -> None:
    @component(runtime=runtime)
    def talker(gate: str, api_token: str) -> int:
        import sys
        import time
        from pathlib import Path

        print(f"first line, token {api_token}")
        print("to stderr", file=sys.stderr)
        while not Path(gate).exists():  # the test reads the live log meanwhile
            time.sleep(0.02)
        print("second line")
        return 1

    @pipeline
    def talks(gate: str, api_token: str):
        talker(gate=gate, api_token=api_token)

    root, gate = tmp_path / "store", tmp_path / "gate"
    box: list[Any] = []
    runner = threading.Thread(
        target=lambda: box.append(
            dagwright.run(talks, root=root, echo=False, gate=str(gate), api_token=SECRET)
        )
    )
    runner.start()
    try:
        logs = root / "logs"
        _wait_for(lambda: logs.is_dir() and any(logs.iterdir()), "a run's log folder")
        (run_id,) = [p.name for p in logs.iterdir()]
        stdout = live_log_path(root, run_id, "talker", (), "stdout")
        stderr = live_log_path(root, run_id, "talker", (), "stderr")
        _wait_for(lambda: stdout.exists() and stdout.read_text().endswith("\n"), "the first line")
        _wait_for(lambda: stderr.exists(), "the stderr line")
        time.sleep(0.3)  # the step is held at the gate: nothing else can come
        assert stdout.read_text() == "first line, token ***\n"
        assert stderr.read_text() == "to stderr\n"
    finally:
        gate.touch()
        runner.join(60)
    (result,) = box
    assert result.succeeded
    assert stdout.read_text() == "first line, token ***\nsecond line\n"
    db = LocalStore(root).database()
    (row,) = db.steps(result.run_id)
    db.close()
    assert row["stdout"] == f"first line, token {SECRET}\nsecond line\n"  # masked when shown
    assert SECRET not in stdout.read_text() + stderr.read_text()
    assert oct(stdout.stat().st_mode & 0o777) == oct(0o600)

    removed = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "runs", "rm", run_id, "--root", str(root)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert removed.returncode == 0, removed.stderr
    assert not (root / "logs" / run_id).exists()


def test_a_loop_iteration_has_its_own_live_log(tmp_path: Path) -> None:
    @component
    def say(x: int) -> int:
        print(f"item {x}")
        return x

    @pipeline
    def loop():
        with dagwright.ParallelFor([1, 2]) as x:
            say(x=x)

    result = dagwright.run(loop, root=tmp_path, echo=False)
    assert result.succeeded
    for i in (0, 1):
        path = live_log_path(tmp_path, result.run_id, "say", (i,), "stdout")
        assert path.name == f"say.{i}.stdout"
        assert path.read_text() == f"item {i + 1}\n"
    assert live_log_path(tmp_path, result.run_id, "say", "0", "stdout").name == "say.0.stdout"
    assert live_log_path(tmp_path, "r", "say", "1,2", "stderr").name == "say.1.2.stderr"


@pytest.mark.parametrize(
    ("run_id", "task", "iteration", "stream", "field"),
    [
        ("run-1", f"{os.pardir}/{os.pardir}/etc", (), "stdout", "task"),
        ("..", "say", (), "stdout", "run id"),
        ("run-1", "say", "0/../1", "stdout", "iteration"),
        ("run-1", "say", (), "stdin", "stream"),
    ],
)
def test_bad_live_log_names_cannot_leave_the_logs_folder(
    tmp_path: Path, run_id: str, task: str, iteration: Any, stream: str, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        live_log_path(tmp_path, run_id, task, iteration, stream)
    assert caught.value.field == field and caught.value.fix


def test_a_live_log_that_cannot_be_written_never_fails_the_step(tmp_path: Path) -> None:
    @component
    def chatty() -> int:
        for i in range(3):
            print(f"line {i}")
        return 1

    @pipeline
    def chats():
        chatty()

    (tmp_path / "logs").write_text("a file where the logs folder goes")
    result = dagwright.run(chats, root=tmp_path, echo=False)
    assert result.succeeded
    assert result.step("chatty").stdout == "line 0\nline 1\nline 2\n"


def test_a_progress_bar_s_redrawn_line_reaches_the_live_log(tmp_path: Path) -> None:
    from dagwright.store.live_logs import LiveLog

    live = LiveLog(tmp_path, "run-1", "train", (), [SECRET])
    live.write("stderr", "10%\r")
    live.write("stderr", "50%\r")
    live.write("stdout", f"key {SECRET} then no newline")
    path = live_log_path(tmp_path, "run-1", "train", (), "stderr")
    assert path.read_bytes() == b"10%\r50%\r"
    assert not live_log_path(tmp_path, "run-1", "train", (), "stdout").exists()
    live.close()
    stdout = live_log_path(tmp_path, "run-1", "train", (), "stdout").read_text()
    assert stdout == "key *** then no newline"
    live.write("stdout", "after close\n")  # an abandoned step printing on: dropped
    assert live_log_path(tmp_path, "run-1", "train", (), "stdout").read_text() == stdout


def test_a_symlink_planted_for_the_run_s_log_folder_is_not_written_through(
    tmp_path: Path,
) -> None:
    from dagwright.store.live_logs import LiveLog

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "run-1").symlink_to(elsewhere)  # the run's folder, leading out
    live = LiveLog(tmp_path, "run-1", "train", (), [])
    live.write("stdout", "a line\n")
    live.close()
    assert list(elsewhere.iterdir()) == []
    # nor through the logs folder itself
    (tmp_path / "logs" / "run-1").unlink()
    (tmp_path / "logs").rmdir()
    (tmp_path / "logs").symlink_to(elsewhere)
    live = LiveLog(tmp_path, "run-2", "train", (), [])
    live.write("stdout", "a line\n")
    live.close()
    assert list(elsewhere.iterdir()) == []


def test_a_named_pipe_planted_as_a_live_log_never_holds_the_step(tmp_path: Path) -> None:
    import threading

    from dagwright.store.live_logs import LiveLog

    path = live_log_path(tmp_path, "run-1", "train", (), "stdout")
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    live = LiveLog(tmp_path, "run-1", "train", (), [])
    writer = threading.Thread(target=lambda: live.write("stdout", "a line\n"), daemon=True)
    writer.start()
    writer.join(10)
    if writer.is_alive():  # let the writer go, so no thread is left behind
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(10)
        pytest.fail("the step's print waited on a planted pipe")
    live.close()
