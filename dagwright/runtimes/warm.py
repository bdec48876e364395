"""The engine's side of the warm fork server (``runtimes/fork_server.py``) that runs
``Process()`` steps.

One server per engine process, started on the first ``Process()`` step that needs it and kept
for later steps and later runs of the same process, as long as they run from the same working
folder with the same import folders (else a new one replaces it). A server that answers that
a module it imported changed on disk, or that died, is replaced, and the step asked again;
when a new server dies before answering at all, this process runs its steps in new
interpreters from then on (logged once). A module whose import started threads in the server
retires it (a fork copies the locks those threads hold), and its steps start new interpreters
from then on (logged once). ``stop()`` ends the servers; it runs when the engine's
process exits, and a server also ends by itself when the engine's end of its socket closes or
after ``IDLE`` seconds without a step. Each server has an owned scratch folder
(``scratch.SERVER_PREFIX``) with its log and ``group.pid``: if the engine is SIGKILLed, the
next engine's ``scratch.remove_stale`` kills what is left of it.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import json
import logging
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from dagwright.runtimes.scratch import SERVER_PREFIX, owned_prefix, record_group
from dagwright.runtimes.warm_step import WarmStep, time_left

IDLE = 300.0  # seconds a server without steps waits before it exits
MAX_PAYLOAD = 100_000  # bytes of a request (its environment, mostly); larger: a new interpreter
log = logging.getLogger(__name__)


class ForkServer:
    """One running fork server: its process, folder and the engine's end of its socket."""

    def __init__(self, key: tuple[str, str], env: dict[str, str]) -> None:
        self.key = key
        self.folder = Path(tempfile.mkdtemp(prefix=owned_prefix(SERVER_PREFIX)))
        self.answered = False  # it answered a request: it started well
        self.killed = False  # ended by the engine (stuck), not by a fault of its own
        self.closed = False
        self._lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with (self.folder / "server.log").open("wb") as log_file:
                self.proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "dagwright.runtimes.fork_server",
                        "--control",
                        str(theirs.fileno()),
                        "--idle",
                        str(IDLE),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    pass_fds=(theirs.fileno(),),
                    env=env,
                    cwd=key[0],
                    start_new_session=True,
                )
        except BaseException:
            ours.close()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        finally:
            theirs.close()
        self.control = ours
        record_group(self.folder, self.proc.pid)

    def submit(
        self, payload: bytes, out: int, err: int, deadline: float | None
    ) -> tuple[str, socket.socket | None]:
        """Send one step: ``sent`` with the engine's end of the step's socket, ``gone`` (the
        server is), or ``late`` (``deadline`` passed while the server's queue was full: a
        server importing a module reads no requests)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sent = self._send(payload, [theirs.fileno(), out, err], deadline)
        except OSError:
            sent = "gone"
        finally:
            theirs.close()
        if sent == "gone":
            ours.close()
            return sent, None
        return sent, ours

    def _send(self, payload: bytes, fds: list[int], deadline: float | None) -> str:
        if not self._lock.acquire(timeout=-1 if deadline is None else time_left(deadline)):
            return "late"
        try:
            while not self.closed:
                try:
                    # not socket.send_fds: it drops its flags (CPython 3.11)
                    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
                    self.control.sendmsg([payload], rights, socket.MSG_DONTWAIT)
                    return "sent"
                except BlockingIOError:  # the queue is full: wait for room, not past deadline
                    left = None if deadline is None else time_left(deadline)
                    if left == 0.0:
                        return "late"
                    select.select([], [self.control], [], left)
            return "gone"
        finally:
            self._lock.release()

    def log_tail(self) -> str:
        """The end of what the server printed (why it died)."""
        try:
            return (self.folder / "server.log").read_text(errors="replace")[-2000:].strip()
        except OSError:
            return ""

    def shut(self) -> None:
        """Send no more steps: the server ends once the steps it runs are done."""
        with self._lock:  # not while a step is being sent on it (its fd could be reused)
            self.closed = True
            self.control.close()

    def close(self, wait: float) -> None:
        """Let the server end (it finishes the steps it is waiting for); killed after ``wait``
        seconds."""
        self.shut()
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def kill(self) -> None:
        """End the server now (its steps run on, in their own sessions)."""
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()


_LOCK = threading.Lock()
_CURRENT: ForkServer | None = None
_RETIRED: list[ForkServer] = []
_BROKEN: list[str] = []  # why warm starts are off in this process
_THREADED: set[str] = set()  # modules whose import starts threads: steps in new interpreters


def start(
    request: dict[str, Any], base_env: dict[str, str], out: int, err: int, deadline: float | None
) -> WarmStep | None:
    """Run a step in a fork of the server; None when it must run in a new interpreter.

    Args:
        request: ``step``, ``result``, ``env`` and ``module`` (see ``fork_server``).
        base_env: The engine's environment for a new server (without the step's own env).
        out: The step's stdout file descriptor.
        err: The step's stderr file descriptor.
        deadline: When the step's timeout ends (``time.monotonic``), if it has one.
    """
    payload = json.dumps(request).encode()
    if len(payload) > MAX_PAYLOAD or request.get("module") in _THREADED:
        return None  # one message must fit a socket's buffer; see ``_threaded``
    key = (os.getcwd(), base_env.get("PYTHONPATH", ""))
    for _ in range(3):
        server = _server(key, base_env)
        if server is None:
            return None
        sent, sock = server.submit(payload, out, err, deadline)
        if sock is None:
            _retire(server)
            continue
        step = WarmStep(sock, server, Path(request["folder"]), Path(request["result"]))
        if sent == "late":  # never sent: nothing runs, the step timed out
            step.timed_out = True
            return step
        answer = step.first(deadline)
        if answer == "started":
            return step
        step.release()
        if answer == "threads":
            _threaded(str(request["module"]), server)
        if answer in ("fresh", "threads"):
            return None
        if not server.answered:  # it died before answering: did it end at start?
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(2.0)
        _retire(server)
    return None


def _server(key: tuple[str, str], env: dict[str, str]) -> ForkServer | None:
    global _CURRENT
    with _LOCK:
        if _BROKEN:
            return None
        current = _CURRENT
        if current is not None and (current.key != key or current.proc.poll() is not None):
            _retire_locked(current)
            current = None
        if current is None:
            try:
                current = _CURRENT = ForkServer(key, env)
            except (OSError, subprocess.SubprocessError) as exc:
                _broken(f"could not start it: {exc}")
                return None
        return current


def _retire(server: ForkServer) -> None:
    with _LOCK:
        _retire_locked(server)


def _retire_locked(server: ForkServer) -> None:
    """Stop sending ``server`` steps; it ends once the steps it runs are done."""
    global _CURRENT
    if _CURRENT is server:
        _CURRENT = None
    if server not in _RETIRED:
        if server.proc.poll() is not None and not server.answered and not server.killed:
            _broken(f"it ended at start ({server.log_tail() or 'no output'})")
        _RETIRED.append(server)
        server.shut()
    for old in [s for s in _RETIRED if s.proc.poll() is not None]:
        _RETIRED.remove(old)
        shutil.rmtree(old.folder, ignore_errors=True)


def _threaded(module: str, server: ForkServer) -> None:
    """Importing ``module`` started threads in ``server``: a fork of it could inherit a lock a
    thread held, forever. The server takes no more steps; the module's steps start a new
    interpreter from now on (logged once)."""
    with _LOCK:
        _retire_locked(server)
        if module in _THREADED:
            return
        _THREADED.add(module)
    log.warning(
        "Process() steps of %s start a new interpreter each: importing it started threads, "
        "and a fork of a process with threads can deadlock",
        module,
    )


def _broken(reason: str) -> None:
    _BROKEN.append(reason)
    log.warning("Process() steps start a new interpreter each: the fork server failed: %s", reason)


def stop(wait: float = 1.0) -> None:
    """End every fork server this process started (each killed after ``wait`` seconds)."""
    global _CURRENT
    with _LOCK:
        servers = [s for s in (_CURRENT, *_RETIRED) if s is not None]
        _CURRENT = None
        _RETIRED.clear()
    for server in servers:
        server.close(wait)


def running() -> list[int]:
    """The pids of this process's fork servers still running."""
    with _LOCK:
        servers = [s for s in (_CURRENT, *_RETIRED) if s is not None]
    return [s.proc.pid for s in servers if s.proc.poll() is None]


def _forget_in_child() -> None:
    """In a fork of the engine: the servers are the parent's (closing our copies of their
    sockets lets them see the parent's end)."""
    global _CURRENT, _LOCK
    for server in [s for s in (_CURRENT, *_RETIRED) if s is not None]:
        server.control.close()  # no lock: this fork has one thread
    _CURRENT = None
    _RETIRED.clear()
    _LOCK = threading.Lock()


atexit.register(stop, 0.5)
os.register_at_fork(after_in_child=_forget_in_child)
