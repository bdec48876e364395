"""Live updates: ``/api/events`` names the run another process starts, while it runs and
when it ends (the run database polled on the stream's own connection)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_server_helpers import Server, dagwright, env, start, write_pipelines

pytestmark = pytest.mark.integration


@pytest.fixture()
def setup(tmp_path: Path) -> Iterator[dict[str, Any]]:
    home = tmp_path / "store"
    files = write_pipelines(tmp_path)
    dagwright(home, "run", str(files["demo"]))
    server = start(home)
    yield {"home": home, "files": files, "server": server}
    server.stop()


class Events:
    """A raw ``GET /api/events`` stream, read event by event."""

    def __init__(self, server: Server) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        request = f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n"
        self.sock.sendall(request.encode())
        self.buffer = b""
        head = self._until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"text/event-stream" in head

    def _until(self, mark: bytes) -> bytes:
        while mark not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"the stream ended: {self.buffer!r}")
            self.buffer += chunk
        found, self.buffer = self.buffer.split(mark, 1)
        return found

    def changes(self, deadline: float) -> Iterator[list[str]]:
        """The run ids of each ``change`` event until the deadline."""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                block = self._until(b"\n\n")
            except TimeoutError:
                return
            # chunked transfer: drop the chunk-size lines between events
            lines = [line for line in block.decode().splitlines() if ":" in line]
            fields = dict(line.split(": ", 1) for line in lines if not line.startswith(":"))
            if fields.get("event") == "change":
                yield json.loads(fields["data"])["runs"]

    def close(self) -> None:
        self.sock.close()


def test_a_run_in_another_process_is_announced(setup: dict[str, Any]) -> None:
    stream = Events(setup["server"])
    home = setup["home"]
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagwright.cli",
            "run",
            str(setup["files"]["slow"]),
            "--root",
            str(home),
        ],
        env=env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        named: list[list[str]] = []
        deadline = time.monotonic() + 60
        while run.poll() is None and time.monotonic() < deadline:
            named += stream.changes(time.monotonic() + 0.5)
        assert run.wait(60) == 0
        # the run's end was committed before its process exited: its event follows within a poll
        named += stream.changes(time.monotonic() + 1.5)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        stream.close()
    slow = [r for runs in named for r in runs if r.startswith("slow-")]
    assert slow, named
    assert len(set(slow)) == 1  # the one run, named again as it moves
    assert len([runs for runs in named if slow[0] in runs]) >= 2  # while running, and ended
    assert all(not r.startswith("demo-") for runs in named for r in runs)  # quiet runs are not
