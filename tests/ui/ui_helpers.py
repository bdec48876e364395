"""Helpers of the browser tests: real runs, the real ``dagwright ui`` server.

Every process here is real: the runs are ``dagwright run`` commands on
``tests/ui/ui_pipelines.py``, the server is ``dagwright ui`` started as a subprocess on a free
port (in its own process group, killed with it when the module ends), and the browser is the
system's Chromium (conftest.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PIPELINES = Path(__file__).with_name("ui_pipelines.py")
CLI = [sys.executable, "-m", "dagwright.cli"]


def free_port() -> int:
    # `dagwright ui` takes no port 0: a port the OS just handed out is free a moment later
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_env() -> dict[str, str]:
    """The environment of the runs and the server: lineage local only (no MLflow)."""
    env = {**os.environ, "DAGWRIGHT_TRACKING": "off", "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("DAGWRIGHT_HOME", None)
    return env


def dagwright(*args: str, timeout: float = 120, ok: bool = True) -> subprocess.CompletedProcess:
    """``dagwright ARGS`` in a subprocess, waited for."""
    proc = subprocess.run(
        [*CLI, *args], env=run_env(), capture_output=True, text=True, timeout=timeout
    )
    if ok:
        assert proc.returncode == 0, f"dagwright {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def run_pipeline(root: Path, name: str, run_id: str, *params: str, ok: bool = True) -> None:
    """One real run of a pipeline of ui_pipelines.py, with ``-p NAME=VALUE`` params."""
    args = ["run", f"{PIPELINES}:{name}", "--root", str(root), "--run-id", run_id, "-q"]
    for param in params:
        args += ["-p", param]
    dagwright(*args, ok=ok)


def start_run(root: Path, name: str, run_id: str, *params: str) -> subprocess.Popen[bytes]:
    """A run in a process of its own (its own process group), not waited for."""
    args = [*CLI, "run", f"{PIPELINES}:{name}", "--root", str(root), "--run-id", run_id, "-q"]
    for param in params:
        args += ["-p", param]
    return subprocess.Popen(
        args,
        env=run_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """End a process started in its own session, and all it started (SIGKILL after 5 s)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass


@dataclass
class UiServer:
    """A running ``dagwright ui``: its base URL and store folder."""

    url: str
    root: Path

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.loads(response.read())

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


@contextmanager
def ui_server(root: Path) -> Iterator[UiServer]:
    """``dagwright ui --root ROOT --port N`` until the block ends; its log in ROOT/../ui.log."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = root.parent / f"ui-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*CLI, "ui", "--root", str(root), "--port", str(port)],
            env=run_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagwright ui exited {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url + "/api/runs?limit=1", timeout=2):
                    break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    pytest.fail(f"dagwright ui did not answer in 30 s:\n{log.read_text()}")
                time.sleep(0.1)
        yield UiServer(url, root)
    finally:
        kill_group(proc)
