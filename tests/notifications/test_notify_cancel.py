"""A run cancelled from another process tells the notifiers that want ``cancelled``: a real
``dagwright run`` process, ``dagwright runs cancel``, and a real HTTP receiver."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

PIPELINE = """
import time
from pathlib import Path

from dagwright import Webhook, component, pipeline
from dagwright.runtimes import Process


@component(runtime=Process())
def hold(folder: str) -> int:
    Path(folder, "started").touch()
    time.sleep(120)
    return 1


@pipeline(notify=[Webhook("{url}/cancelled")], on=["cancelled"])
def slow(folder: str):
    hold(folder=folder)
"""


def test_a_cancelled_run_tells_the_notifiers(tmp_path: Path, http_receiver) -> None:
    (tmp_path / "slow.py").write_text(textwrap.dedent(PIPELINE.replace("{url}", http_receiver.url)))
    root, folder = tmp_path / "store", tmp_path / "work"
    folder.mkdir()
    env = {**os.environ, "DAGWRIGHT_TRACKING": "off"}
    cli = [sys.executable, "-m", "dagwright.cli"]
    engine = subprocess.Popen(
        [*cli, "run", "slow.py:slow", "--root", str(root), "-p", f"folder={folder}"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (folder / "started").exists():
            assert engine.poll() is None, engine.communicate()
            time.sleep(0.05)
        with sqlite3.connect(root / "runs.db") as conn:
            (run_id,) = conn.execute("SELECT run_id FROM runs").fetchone()
        cancel = subprocess.run(
            [*cli, "runs", "cancel", run_id, "--root", str(root)],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert cancel.returncode == 0, cancel.stderr
        engine.communicate(timeout=60)
    finally:
        if engine.poll() is None:
            os.killpg(engine.pid, signal.SIGKILL)
            engine.wait()
    [received] = http_receiver.received
    assert received.path == "/cancelled"
    assert received.body["status"] == "cancelled"
    assert received.body["run_id"] == run_id
