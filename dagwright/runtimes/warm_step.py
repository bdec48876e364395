"""The engine's view of one ``Process()`` step forked by the warm server (``runtimes/warm.py``
sends it, ``runtimes/fork_server.py`` forks it): the server's messages on the step's socket,
and the step's own process when the server died under it."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.runtimes.scratch import GROUP_FILE, start_tag

if TYPE_CHECKING:
    from dagwright.runtimes.warm import ForkServer


def time_left(deadline: float) -> float:
    """Seconds until ``deadline`` (``time.monotonic``), never below 0."""
    return max(0.0, deadline - time.monotonic())


class WarmStep:
    """A step in a fork of the server, as ``process.run_process`` waits for it.

    The step's process leads a session of its own: it runs on if its server dies (killed when
    another step's import hung, say). The engine then waits on the step's own pidfd, opened when
    the step said its pid, and the step's ``result.json`` says how it ended.
    """

    def __init__(self, sock: socket.socket, server: ForkServer, folder: Path, result: Path) -> None:
        self.sock = sock
        self.server = server
        self.folder = folder
        self.result = result
        self.pid: int | None = None
        self._pidfd: int | None = None
        self.code: int | None = None
        self.lost: str | None = None  # why the step's end cannot be known
        self.timed_out = False  # the deadline passed before the server answered
        self._buffer = b""
        self._eof = False

    def _next(self, deadline: float | None) -> dict[str, Any] | None:
        """The next message; None at ``deadline`` or when the server's end closed."""
        while b"\n" not in self._buffer:
            if self._eof:
                return None
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self.sock], [], [], left)[0]:
                return None
            try:
                data = self.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                self._eof = True
            self._buffer += data
        line, _, self._buffer = self._buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        self.server.answered = True
        if "pid" in message and self.pid is None:
            self.pid = message["pid"]
            self._watch(message["pid"])
        if "exit" in message:
            self.code = message["exit"]
        return message

    def _watch(self, pid: int) -> None:
        """Hold a pidfd of the step's process, to wait on it should the server die."""
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return
        # the child wrote its group record before its pid: the same start time after the pidfd
        # was opened means the pidfd is that child's, not a process that reused a reaped pid
        try:
            recorded = (self.folder / GROUP_FILE).read_text(encoding="utf-8").split()
        except OSError:
            recorded = []
        if recorded == [str(pid), start_tag(pid)]:
            self._pidfd = pidfd
        else:
            os.close(pidfd)

    def first(self, deadline: float | None) -> str:
        """Wait for the server's first answer: ``started`` (the pid or the exit is known, or
        ``deadline`` passed), ``retry`` (the server is stale or died) or ``fresh`` (it could not
        fork: run the step in a new interpreter)."""
        importing = False
        while (message := self._next(deadline)) is not None:
            if "importing" in message:
                importing = True
                continue
            if "stale" in message:
                return "retry"
            if "threads" in message:
                return "threads"
            return "fresh" if "error" in message else "started"
        if self._eof:
            return "retry"
        self.timed_out = True  # the engine closes the socket: the server will not fork it
        if importing:  # stuck in the import of this step's module: end the server
            self.server.kill()
            self._drain()  # a child forked before the kill says its pid: its group dies
        return "started"

    def _drain(self) -> None:
        deadline = time.monotonic() + 2.0  # a forked child writes its pid at once
        while self._next(deadline) is not None:
            pass

    def wait_exit(self, timeout: float | None) -> int | None:
        """The step's exit code (minus the signal that ended it); None when ``timeout``
        passed first or the server died (``lost`` says so)."""
        if self.timed_out:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.code is None:
            if self._next(deadline) is None:
                return self._orphan_exit(deadline) if self._eof else None
        return self.code

    def _orphan_exit(self, deadline: float | None) -> int | None:
        """The server died under the step: wait on the step's own process instead; 0 when it
        left a result (which says whether the step failed), None at ``deadline``."""
        if self._pidfd is None:
            self.lost = "the Process fork server ended while the step ran"
            return None
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not select.select([self._pidfd], [], [], left)[0]:
            return None  # still running: its group id is still its own, to kill
        if self.result.exists():  # written whole (renamed into place) before the step exits
            return 0
        self.lost = "the step's process ended without a result after its Process fork server died"
        return None

    def kill(self) -> None:
        """Kill the step's process group (SIGKILL)."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def release(self) -> None:
        """Let the server reap the step's process (its group id is free again after)."""
        self.sock.close()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
