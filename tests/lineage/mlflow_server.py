"""A real ``mlflow server`` on 127.0.0.1 for the lineage tests (see conftest.py).

The server is MLflow's own (``python -m mlflow server``) with a SQLite backend and served
artifacts, both under a temporary folder; its job runner is switched off (it is not used and
costs two cores' worth of start-up here). Its access log tells how many REST calls reached it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REST_CALL = re.compile(r'"(GET|POST|PUT|PATCH|DELETE) /(api|ajax-api)/')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MlflowServer:
    """A running ``mlflow server``: its URI and the REST calls it has answered."""

    uri: str
    access_log: Path

    def rest_calls(self) -> int:
        text = self.access_log.read_text(encoding="utf-8", errors="replace")
        return sum(1 for line in text.splitlines() if REST_CALL.search(line))


def start_server(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "PYTHONUNBUFFERED": "1",  # the access log is read while the server runs
    }
    command = [sys.executable, "-m", "mlflow", "server"]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    command += ["--artifacts-destination", str(folder / "artifacts")]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    with open(folder / "access.log", "ab") as out, open(folder / "server.log", "ab") as err:
        return subprocess.Popen(command, stdout=out, stderr=err, env=env, start_new_session=True)


def wait_until_up(proc: subprocess.Popen[bytes], uri: str, folder: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (folder / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mlflow server exited with {proc.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("mlflow server did not answer /health in 90 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
