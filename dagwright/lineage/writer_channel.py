"""The engine's side of the MLflow writer process: one per Python process, fed from a bounded
queue by a feeder thread, its answers read back by another.

``channel()`` starts the writer on first use (and again if it died or the process forked);
``Channel.post`` never blocks the engine's thread unless asked to wait; ``Channel.expect``
registers for the answer to a ``finish`` or ``sync`` message before it is sent.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

QUEUE_SIZE = 10_000  # messages; a step's is ~1 KB, and the writer drains it at once


class _Reply:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.message: dict[str, Any] = {}
        self.sent = 0  # steps in MLflow so far, from the writer's progress messages
        self.moved = time.monotonic()  # when the writer last said it got further

    def set(self, message: dict[str, Any]) -> None:
        self.message = message
        self.event.set()

    def progressed(self, message: dict[str, Any]) -> None:
        self.sent = max(self.sent, int(message.get("steps") or 0))
        self.moved = time.monotonic()

    def wait_while_moving(self, idle: float) -> bool:
        """Wait for the answer as long as the writer reports progress at least every
        ``idle`` seconds; False when it went quiet that long without answering."""
        while not self.event.wait(max(0.0, self.moved + idle - time.monotonic())):
            if time.monotonic() - self.moved >= idle:
                return self.event.is_set()
        return True


class Channel:
    """The writer process, fed from a bounded queue by a feeder thread."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        env = dict(os.environ)
        package_parent = Path(__file__).resolve().parents[2]
        if package_parent.name not in ("site-packages", "dist-packages"):
            # a source checkout put on sys.path by hand: the writer must import this dagwright
            paths = (str(package_parent), env.get("PYTHONPATH"))
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        log_file = os.environ.get("DAGWRIGHT_TRACKING_LOG")
        self._stderr: IO[Any] | int = subprocess.DEVNULL
        if log_file:  # the writer's own messages (mlflow's logs, errors), for debugging
            self._stderr = open(log_file, "a", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dagwright.lineage.writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            text=True,
            encoding="utf-8",
            start_new_session=True,  # Ctrl-C in a terminal stops the run, not its flush
        )
        self.pid = os.getpid()
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=queue_size)
        self.alive = True
        self._replies: dict[str, _Reply] = {}
        self._lock = threading.Lock()
        for target in (self._feed, self._read):
            threading.Thread(target=target, name="dagwright-lineage", daemon=True).start()

    def post(self, message: dict[str, Any], timeout: float | None = None) -> bool:
        """Queue a message; False when the writer is gone or the queue stays full.

        Args:
            timeout: None never waits (the engine's thread); else wait this long for room.
        """
        if not self.alive:
            return False
        try:
            if timeout is None:
                self.queue.put_nowait(message)
            else:
                self.queue.put(message, timeout=timeout)
        except queue.Full:
            return False
        return True

    def expect(self, token: str) -> _Reply:
        """Register for the answer to a finish or sync message before sending it."""
        reply = _Reply()
        with self._lock:
            if not self.alive:
                reply.set({"ok": False, "error": "the MLflow writer process is not running"})
            else:
                self._replies[token] = reply
        return reply

    def close(self) -> None:
        """Let the writer finish what it has and exit; do not wait for it."""
        if self.alive:
            self.queue.put(None)

    def _feed(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        while True:
            batch = [self.queue.get()]
            while batch[-1] is not None and len(batch) < 256:  # one write for what piled up
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                stdin.write("".join(json.dumps(m) + "\n" for m in batch if m is not None))
                stdin.flush()
                if batch[-1] is None:
                    stdin.close()
                    return
            except (OSError, ValueError):
                self._gone("the MLflow writer process stopped")
                return

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            with self._lock:
                if message.get("op") == "progress":
                    reply = self._replies.get(message.get("token", ""))
                    if reply is not None:
                        reply.progressed(message)
                    continue
                reply = self._replies.pop(message.get("token", ""), None)
            if reply is not None:
                reply.set(message)
        self._gone(f"the MLflow writer process exited ({self.proc.wait()})")

    def _gone(self, reason: str) -> None:
        with self._lock:
            self.alive = False
            replies, self._replies = self._replies, {}
        for reply in replies.values():
            reply.set({"ok": False, "error": reason})


_channel: Channel | None = None
_channel_lock = threading.Lock()
_registered: list[bool] = []  # atexit hook installed


def channel() -> Channel:
    """This process's writer, started on first use (and again if it died or we forked)."""
    global _channel
    with _channel_lock:
        if _channel is None or not _channel.alive or _channel.pid != os.getpid():
            if not _registered:
                atexit.register(_close)
                _registered.append(True)
            _channel = Channel()
        return _channel


def close_writer() -> None:
    """Let this process's writer finish and exit; the next run starts a new one (as each
    ``dagwright run`` command does)."""
    global _channel
    with _channel_lock:
        _close()
        _channel = None


def _close() -> None:
    if _channel is not None and _channel.pid == os.getpid():
        _channel.close()
