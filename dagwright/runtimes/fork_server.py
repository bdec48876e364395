"""The warm fork server behind ``Process()``: a process with dagwright (and the components'
modules) imported that forks one child per step, so a step costs a fork, not an interpreter.

``runtimes/warm.py`` starts it as ``python -m dagwright.runtimes.fork_server --control FD`` in
its own session, with the engine's environment, working folder and import folders. Each
request on the control socket (``SOCK_SEQPACKET``: one message each) is JSON (the step's
``folder``, its ``step``/``result`` files, the child's ``env``, the ``module`` to import
first) with three descriptors: the step's socket, its stdout file and its stderr file. The
server

- answers ``{"stale": ...}`` without forking when a module file it imported from the user's
  folders changed since (the engine then starts a new server: old code never runs);
- imports ``module`` once, into itself, with its output going to that step's files (telling
  the step ``{"importing": ...}`` first: an import that hangs past the step's deadline makes
  the engine kill the server). An import that failed is not tried again while its file is
  unchanged (the step imports it itself and reports why). An import that started threads
  answers ``{"threads": ...}`` (a fork copies the locks they hold: the engine runs that
  module's steps in new interpreters) and every later request ``{"stale": ...}``;
- forks. The child starts a session of its own, records it in the folder's ``group.pid``
  (``scratch.record_group``, before the step runs), takes the files as fds 1 and 2, writes
  ``{"pid": ...}`` to the step's socket, then runs ``dagwright.executor``'s ``main`` under the
  request's environment and ends with ``os._exit`` (after its non-daemon threads, as a
  ``multiprocessing`` child does);
- writes ``{"exit": code, "pid": ...}`` when the child ended (``code`` minus the signal that
  ended it) and keeps it unreaped until the engine closes the step's socket, so its process
  group id cannot be reused before the engine has killed the group.

The standard library's ``multiprocessing`` "forkserver" is not used: it runs the engine's
``__main__`` script again in the server and in every child (a script calling
``dagwright.run`` at its top level would start its pipeline again), keeps one server per
interpreter whose preloaded modules cannot change, and tells a child's exit but not keeps it
unreaped for its process group. The server exits when the engine's end of the control socket
closes (the engine ended or replaced it) once no step is waiting, or after ``--idle`` seconds
without a step; steps still running are left to the engine (it kills their groups).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.util
import json
import os
import select
import selectors
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from dagwright import executor, tracebacks  # what every step needs, imported once here
from dagwright.runtimes.scratch import record_group

MAX_REQUEST = 1 << 18  # bytes; a request is a few KB (mostly the environment)
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(tracebacks.__file__))) + os.sep


@dataclass
class _Child:
    """A step's process: its pid and pidfd, and the step's socket while the engine holds it."""

    pid: int
    pidfd: int
    sock: socket.socket | None
    exited: bool = False


class Server:
    """The server's loop: requests on ``control``, children's exits, steps released."""

    def __init__(self, control: socket.socket, idle: float) -> None:
        self.control: socket.socket | None = control
        self.idle = idle
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, _Child] = {}
        # the user's module files imported here, with (mtime, size) when they were
        self.files: dict[str, tuple[int, int]] = {}
        self._seen: set[str] = set()
        # modules whose import failed, with their file's (path, mtime) then: not tried again
        self.failed: dict[str, tuple[str | None, int | None]] = {}
        self.threads: str | None = None  # why this server no longer forks
        self.roots = [
            os.path.realpath(p) + os.sep
            for p in [os.getcwd(), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
            if p and "site-packages" not in p and "dist-packages" not in p
        ]

    def serve(self) -> None:
        """Answer requests until the engine is gone (or ``idle`` seconds pass with no step)."""
        assert self.control is not None
        self.selector.register(self.control, selectors.EVENT_READ, ("control", None))
        self._note_files()
        gc.freeze()  # what is imported now stays shared with the children (fewer page copies)
        while self.control is not None or any(c.sock for c in self.children.values()):
            waiting = self.idle if self.control is not None and not self.children else None
            events = self.selector.select(waiting)
            if not events and waiting is not None:
                return
            for key, _ in events:
                what, child = key.data
                if what == "control":
                    self._receive()
                elif what == "exit":
                    self._exited(child)
                else:
                    self._released(child)

    def _receive(self) -> None:
        assert self.control is not None
        try:
            data, fds, flags, _ = socket.recv_fds(self.control, MAX_REQUEST, 3)
        except OSError:
            data, fds, flags = b"", [], 0
        if not data and not fds:  # the engine closed its end
            self.selector.unregister(self.control)
            self.control.close()
            self.control = None
            return
        if len(fds) != 3 or flags & socket.MSG_TRUNC:
            for fd in fds:
                os.close(fd)
            return
        sock = socket.socket(fileno=fds[0])
        try:
            request = json.loads(data)
            refusal = self._prepare(request, sock, fds[1], fds[2])
            if refusal is not None:
                _tell(sock, refusal)
                sock.close()
            elif _peer_gone(sock):  # the engine stopped waiting for this step
                sock.close()
            else:
                self._fork(request, sock, fds[1], fds[2])
        except Exception as exc:  # a bad request or a failed fork: the engine runs it anew
            _tell(sock, {"error": f"{type(exc).__name__}: {exc}"})
            sock.close()
        finally:
            os.close(fds[1])
            os.close(fds[2])

    def _prepare(
        self, request: dict[str, object], sock: socket.socket, out: int, err: int
    ) -> dict[str, str] | None:
        """None when the step can fork from here, else why not."""
        changed = self._changed()
        if changed is not None:
            return {"stale": f"{changed} changed since the fork server imported it"}
        if self.threads is not None:  # forks of it could deadlock: a new server serves on
            return {"stale": self.threads}
        module = request.get("module")
        if isinstance(module, str) and module and module not in sys.modules:
            if module in self.failed and self.failed[module] == _stamp(module):
                return None  # it failed as it is now: the step imports it itself
            env = request["env"]
            assert isinstance(env, dict)
            _set_environ(env)
            _tell(sock, {"importing": module})  # past the step's deadline, the engine ends us
            with _output_to(out, err):
                importlib.invalidate_caches()  # files written since the last import
                try:
                    importlib.import_module(module)
                except BaseException:  # noqa: BLE001 - the step imports it again and reports why
                    self.failed[module] = _stamp(module)
            self._note_files()
            gc.freeze()
            if threading.active_count() > 1:
                names = ", ".join(t.name for t in threading.enumerate()[1:])
                self.threads = f"importing {module} started threads ({names})"
                return {"threads": self.threads}
        return None

    def _fork(self, request: dict[str, object], sock: socket.socket, out: int, err: int) -> None:
        pid = os.fork()
        if pid == 0:  # the step's process: never returns into the server's loop
            code = 1
            try:
                self._close_inherited()
                code = run_child(request, sock, out, err)
            finally:
                os._exit(code)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # out of descriptors: the step must not run unwatched
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        child = _Child(pid, pidfd, sock)
        self.children[pid] = child
        self.selector.register(child.pidfd, selectors.EVENT_READ, ("exit", child))
        self.selector.register(sock, selectors.EVENT_READ, ("released", child))

    def _exited(self, child: _Child) -> None:
        info = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None:
            return
        self.selector.unregister(child.pidfd)
        child.exited = True
        if child.sock is None:
            self._reap(child)
            return
        code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        _tell(child.sock, {"exit": code, "pid": child.pid})

    def _released(self, child: _Child) -> None:
        """The engine closed the step's socket: it has killed what it had to."""
        assert child.sock is not None
        self.selector.unregister(child.sock)
        child.sock.close()
        child.sock = None
        if child.exited:
            self._reap(child)

    def _reap(self, child: _Child) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child.pid, 0)
        os.close(child.pidfd)
        del self.children[child.pid]

    def _close_inherited(self) -> None:
        """In a child: close the server's descriptors (a step holding them would hide the
        server's end from the engine and from other steps)."""
        self.selector.close()
        if self.control is not None:
            self.control.close()
        for other in self.children.values():
            if other.sock is not None:
                other.sock.close()
            os.close(other.pidfd)

    def _note_files(self) -> None:
        """Remember the files of user modules imported since the last call."""
        for name, module in list(sys.modules.items()):
            if name in self._seen:
                continue
            self._seen.add(name)
            path = getattr(module, "__file__", None)
            if not isinstance(path, str):
                continue
            real = os.path.realpath(path)
            if real.startswith(_PACKAGE) or not any(real.startswith(r) for r in self.roots):
                continue
            with contextlib.suppress(OSError):
                found = os.stat(real)
                self.files[real] = (found.st_mtime_ns, found.st_size)

    def _changed(self) -> str | None:
        for path, (mtime, size) in self.files.items():
            try:
                found = os.stat(path)
            except OSError:
                return path
            if (found.st_mtime_ns, found.st_size) != (mtime, size):
                return path
        return None


def _stamp(module: str) -> tuple[str | None, int | None]:
    """The file a module imports from and its mtime, as far as they can be found (never by
    importing its parent package: that could hang before the engine knows of an import)."""
    parent = module.rpartition(".")[0]
    if parent and parent not in sys.modules:
        return None, None
    try:
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        return origin, os.stat(origin).st_mtime_ns if origin else None
    except Exception:  # noqa: BLE001 - a parent that fails to import, a file gone
        return None, None


def run_child(request: dict[str, object], sock: socket.socket, out: int, err: int) -> int:
    """In the forked child: become the step's process and run it; the exit code."""
    os.setsid()  # before the engine learns the pid: its group then exists to be killed
    # before the step runs: if the engine dies, the next one finds this group by the record
    record_group(Path(str(request["folder"])), os.getpid())
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    try:
        sock.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
    except OSError:  # the engine is gone
        return 1
    finally:
        sock.close()
    env = request["env"]
    assert isinstance(env, dict)
    _set_environ(env)
    argv = ["--step", str(request["step"]), "--result", str(request["result"])]
    sys.argv = [executor.__file__, *argv]  # as ``python -m dagwright.executor`` has it
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:  # forks share the server's seed; a new interpreter would not
        numpy_random.seed()
    code = 1
    try:
        code = executor.main(argv)
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # noqa: BLE001 - an interpreter would print it and exit 1
        traceback.print_exc()
    finally:
        for thread in threading.enumerate():  # an interpreter waits for them before it exits
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


def _exit_code(exc: SystemExit) -> int:
    """The code ``sys.exit(value)`` ends an interpreter with (a message is printed, code 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code & 0xFF
    print(exc.code, file=sys.stderr)
    return 1


def _set_environ(env: dict[str, str]) -> None:
    if dict(os.environ) != env:
        os.environ.clear()
        os.environ.update(env)


@contextlib.contextmanager
def _output_to(out: int, err: int) -> Iterator[None]:
    """Point fds 1 and 2 at the given files for a while: what an import prints is the step's."""
    saved = os.dup(1), os.dup(2)
    os.dup2(out, 1)
    os.dup2(err, 2)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _tell(sock: socket.socket, message: Mapping[str, object]) -> None:
    with contextlib.suppress(OSError):  # the engine stopped listening: nothing to tell
        sock.sendall(json.dumps(message).encode() + b"\n")


def _peer_gone(sock: socket.socket) -> bool:
    """The engine closed its end of a step's socket (it never writes to it)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def main(argv: list[str] | None = None) -> int:
    """``python -m dagwright.runtimes.fork_server --control FD [--idle SECONDS]``."""
    parser = argparse.ArgumentParser(prog="python -m dagwright.runtimes.fork_server")
    parser.add_argument("--control", type=int, required=True, help="the control socket's fd")
    parser.add_argument("--idle", type=float, default=300.0, help="exit after this long idle")
    args = parser.parse_args(argv)
    Server(socket.socket(fileno=args.control), args.idle).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
