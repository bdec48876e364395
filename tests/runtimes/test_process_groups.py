"""Process() steps with real child processes: a daemon child does not hold the step, a timeout or
failure kills everything the step started, and a SIGKILLed engine's step folder is removed by
the next engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from terminal_pty import REPO, pid_alive, read_pids, wait_gone, write_pipeline

from dagwright import component, pipeline
from dagwright.runtimes import Process
from dagwright.runtimes.scratch import host_tag, remove_stale, start_tag

pytestmark = pytest.mark.integration


@component(runtime=Process())
def leaves_a_daemon(pidfile: str) -> str:
    import subprocess

    # inherits the step's stdout and stderr, as a daemon started carelessly does
    child = subprocess.Popen(["sleep", "30"])
    with open(pidfile, "w") as out:
        out.write(str(child.pid))
    print("started a daemon")
    return "done"


def test_a_daemon_child_does_not_hold_the_step(run: Any, tmp_path: Path, pids: list[int]) -> None:
    @pipeline
    def p(pidfile: str) -> str:
        return leaves_a_daemon(pidfile=pidfile).output

    pidfile = tmp_path / "daemon"
    started = time.monotonic()
    result = run(p, {"pidfile": str(pidfile)})
    took = time.monotonic() - started
    (daemon,) = read_pids(pidfile)
    pids.append(daemon)
    assert result.outputs == {"output": "done"}
    assert took < 20, f"the step waited {took:.1f} s for its daemon"
    assert result.step("leaves-a-daemon").stdout == "started a daemon\n"
    assert pid_alive(daemon)  # a step that succeeded keeps what it started


@component(runtime=Process(), timeout=2)
def hangs_with_children(pidfile: str) -> None:
    import os
    import subprocess
    import time

    shell = subprocess.Popen(["sh", "-c", 'sleep 60 & echo $! > "$0"; wait', pidfile + ".sh"])
    while not os.path.exists(pidfile + ".sh") or not open(pidfile + ".sh").read().strip():
        time.sleep(0.01)
    grandchild = open(pidfile + ".sh").read().strip()
    with open(pidfile, "w") as out:
        out.write(f"{os.getpid()} {shell.pid} {grandchild}")
    time.sleep(60)


def test_a_timeout_kills_the_steps_whole_process_group(
    run: Any, tmp_path: Path, pids: list[int]
) -> None:
    @pipeline
    def p(pidfile: str) -> None:
        hangs_with_children(pidfile=pidfile)

    pidfile = tmp_path / "tree"
    started = time.monotonic()
    result = run(p, {"pidfile": str(pidfile)})
    assert time.monotonic() - started < 30
    found = read_pids(pidfile)
    pids.extend(found)
    record = result.step("hangs-with-children")
    assert record.status == "failed" and "did not finish within 2 s" in (record.error or "")
    assert len(found) == 3
    for pid in found:  # the step, its shell and the shell's background sleep
        assert wait_gone(pid), f"process {pid} outlived the step's timeout"


@component(runtime=Process())
def fails_with_a_child(pidfile: str) -> None:
    import subprocess

    child = subprocess.Popen(["sleep", "60"])
    with open(pidfile, "w") as out:
        out.write(str(child.pid))
    raise RuntimeError("gave up")


def test_a_failure_kills_what_the_step_started(run: Any, tmp_path: Path, pids: list[int]) -> None:
    @pipeline
    def p(pidfile: str) -> None:
        fails_with_a_child(pidfile=pidfile)

    pidfile = tmp_path / "child"
    started = time.monotonic()
    result = run(p, {"pidfile": str(pidfile)})
    assert time.monotonic() - started < 20  # not held by the child until its sleep ends
    (child,) = read_pids(pidfile)
    pids.append(child)
    assert result.step("fails-with-a-child").error == "RuntimeError: gave up"
    assert wait_gone(child), "the failed step's child was left running"


SLOW = """
@component(runtime=Process())
def slow(pidfile: str) -> None:
    with open(pidfile, "w") as out:
        out.write(str(os.getpid()))
    time.sleep(60)


@component
def fast() -> int:  # a Local step: starting any run cleans up
    return 1


@pipeline
def killed(pidfile: str = "") -> None:
    slow(pidfile=pidfile)


@pipeline
def later() -> int:
    return fast().output
"""


def step_folders(tmp: Path) -> set[Path]:
    return set(tmp.glob("dagwright-step-*"))


def test_the_next_engine_removes_a_sigkilled_engines_step_folder(
    tmp_path: Path, pids: list[int]
) -> None:
    tmp = tmp_path / "tmp"  # the engines' temp folder: nothing else's is looked at
    tmp.mkdir()
    path = write_pipeline(tmp_path, "pipes", SLOW)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp), "DAGWRIGHT_HOME": "home"}
    pidfile = tmp_path / "step"
    engine = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagwright.cli",
            "run",
            f"{path}:killed",
            "-p",
            f"pidfile={pidfile}",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids.append(engine.pid)
    (step,) = read_pids(pidfile, seconds=60)
    pids.append(step)
    (left,) = step_folders(tmp)
    assert f"-{engine.pid}-" in left.name
    # a folder of a live engine (this test's process) must survive the cleanup
    alive = tmp / f"dagwright-step-{host_tag()}-{os.getpid()}-{start_tag(os.getpid())}-live"
    alive.mkdir()
    engine.send_signal(signal.SIGKILL)
    engine.wait(timeout=30)
    assert left.exists()  # nothing could remove it: the engine was killed
    assert pid_alive(step)  # in its own session, the step outlived the engine
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "run", f"{path}:later", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert not left.exists()
    assert step_folders(tmp) == {alive}
    assert wait_gone(step), "the dead engine's step was left running"


def test_remove_stale_spares_live_owners_other_hosts_and_planted_links(tmp_path: Path) -> None:
    me = os.getpid()
    host = host_tag()
    dead = subprocess.Popen(["true"])
    dead.wait()
    other_start = f"{int(start_tag(me), 16) ^ 1:08x}"  # this pid, as another process had it
    folders = {
        "live": tmp_path / f"dagwright-step-{host}-{me}-{start_tag(me)}-a",
        "dead": tmp_path / f"dagwright-step-{host}-{dead.pid}-0123abcd-b",
        "reused pid": tmp_path / f"dagwright-step-{host}-{me}-{other_start}-c",
        "other host": tmp_path
        / f"dagwright-step-0000000{'1' if host[-1] != '1' else '2'}-{dead.pid}-0123abcd-d",
        "no owner": tmp_path / "dagwright-step-k2j3h4",
    }
    for folder in folders.values():
        folder.mkdir()
    # a recorded group whose leader is now another process (this one) must not be killed
    (folders["dead"] / "group.pid").write_text(str(me))
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep").write_text("x")
    link = tmp_path / f"dagwright-step-{host}-{dead.pid}-0123abcd-e"
    link.symlink_to(target)
    removed = remove_stale(tmp_path)
    assert set(removed) == {folders["dead"], folders["reused pid"]}
    assert folders["live"].exists() and folders["other host"].exists()
    assert folders["no owner"].exists() and link.is_symlink() and (target / "keep").exists()
