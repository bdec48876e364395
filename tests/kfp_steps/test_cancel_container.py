"""A KFP container component's command, running on the host (``host_containers``), prints to
its step's live log while it runs, and is killed when its run is cancelled, as it is past its
timeout; the run ends ``cancelled``. (No
``from __future__ import annotations``: kfp reads the component's annotations as objects.)"""

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")

from kfp import dsl  # noqa: E402
from kfp_specs import pipeline_of, spec_of  # noqa: E402

import dagwright  # noqa: E402
from dagwright.kfp_steps.containers import container_engine  # noqa: E402
from dagwright.store import LocalStore, live_log_path  # noqa: E402


@dsl.container_component
def sleeps(pidfile: str):
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c", 'echo started; echo $$ > "$0"; exec sleep 120'],
        args=[pidfile],
    )


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_cancelled_run_kills_its_container_command_on_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if container_engine() is not None:  # a machine with a daemon: hide it
        empty = tmp_path / "no-engine"
        empty.mkdir()
        monkeypatch.setenv("PATH", f"{empty}{os.pathsep}/usr/bin{os.pathsep}/bin")
    pidfile = tmp_path / "pid"
    ir = pipeline_of(
        "sleeping", [("sleeps", spec_of(sleeps, tmp_path), {"pidfile": {"constant": str(pidfile)}})]
    )
    root = tmp_path / "store"
    box: list[Any] = []
    runner = threading.Thread(
        target=lambda: box.append(dagwright.run(ir, root=root, echo=False, host_containers=True))
    )
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while not (pidfile.exists() and pidfile.read_text().strip()):
            assert time.monotonic() < deadline and runner.is_alive(), "the command never started"
            time.sleep(0.02)
        pid = int(pidfile.read_text())
        assert _alive(pid)
        db = LocalStore(root).database()
        (run,) = db.runs()
        db.close()
        live = live_log_path(root, run["run_id"], "sleeps", (), "stdout")
        while not (live.exists() and live.read_text()):
            assert time.monotonic() < deadline, "the live log never got the command's line"
            time.sleep(0.02)
        assert live.read_text() == "started\n"
        dagwright.cancel(run["run_id"], root=root)
        runner.join(10)
    finally:
        if pidfile.exists() and pidfile.read_text().strip() and _alive(int(pidfile.read_text())):
            os.kill(int(pidfile.read_text()), 9)
    assert not runner.is_alive(), "the run did not end after the cancel"
    (result,) = box
    assert result.status == "cancelled"
    assert [(s.task, s.status) for s in result.steps] == [("sleeps", "cancelled")]
    assert result.steps[0].stdout == "started\n"
    assert not _alive(pid), "the container command outlived the cancel"
