"""A run going on while the server shows it: its step's log tails from the live log file
(secrets masked), and a cancel from the API stops it (the engine honours the request)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_server_helpers import SECRET, Server, call, dagwright, env, start, write_pipelines

pytestmark = pytest.mark.integration


@pytest.fixture()
def going(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A server over a store where ``chatty`` is running in another process."""
    home = tmp_path / "store"
    files = write_pipelines(tmp_path)
    dagwright(home, "run", str(files["demo"]))  # the store exists before the server starts
    server = start(home)
    run = subprocess.Popen(
        [sys.executable, "-m", "dagwright.cli", "run", str(files["chatty"]), "--root", str(home)],
        env=env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        run_id = wait_for(server, lambda: _running(server))
        yield {"server": server, "run": run, "run_id": run_id}
    finally:
        if run.poll() is None:
            run.kill()
        run.wait(30)
        assert run.stderr is not None
        run.stderr.close()
        server.stop()


def _running(server: Server) -> str | None:
    runs = call(server.base + "/api/runs?pipeline=chatty&status=running").json["runs"]
    return runs[0]["run_id"] if runs else None


def wait_for(server: Server, found: Any, seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("not seen in time")


def test_a_running_steps_log_tails_masked(going: dict[str, Any]) -> None:
    server, run_id = going["server"], going["run_id"]
    url = server.base + f"/api/runs/{run_id}/logs/talk"
    text, offset = "", 0
    deadline = time.monotonic() + 30
    while "line 4" not in text and time.monotonic() < deadline:
        chunk = call(f"{url}?offset={offset}").json
        assert chunk["done"] is False  # the step is still running
        assert chunk["offset"] >= offset
        text, offset = text + chunk["text"], chunk["offset"]
        time.sleep(0.05)
    assert text == "".join(f"line {i} with ***\n" for i in range(5))
    assert SECRET not in text
    stderr = call(f"{url}?stream=stderr").json
    assert stderr["text"] == "".join(f"warning {i}\n" for i in range(5))
    again = call(f"{url}?offset={offset}").json
    assert again["text"] == "" and again["offset"] == offset


def test_cancel_from_the_api_stops_the_run(going: dict[str, Any]) -> None:
    server, run_id = going["server"], going["run_id"]
    headers = {"X-Dagwright": "1"}
    answer = call(server.base + f"/api/runs/{run_id}/cancel", method="POST", headers=headers)
    assert answer.status == 202, answer.text
    assert answer.json == {"run_id": run_id, "status": "running"}
    assert going["run"].wait(30) != 0  # ended long before its step's 60 s nap
    found = call(server.base + f"/api/runs/{run_id}").json
    assert found["status"] == "cancelled"
    again = call(server.base + f"/api/runs/{run_id}/cancel", method="POST", headers=headers)
    assert again.status == 409 and again.json["field"] == "run_id"
    log = call(server.base + f"/api/runs/{run_id}/logs/talk").json
    assert log["done"] is True and SECRET not in log["text"]
