"""The Process runtime: the step runs in a process of its own (a fork of the warm server, or a
new interpreter), in its own process group, killed with everything it started on timeout or
failure."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import site
import subprocess
import sys
import sysconfig
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from dagwright.executor import Step, StepOutcome
from dagwright.runtimes import (
    Attempt,
    Fragments,
    PodStep,
    RuntimeConfig,
    Session,
    cancelled,
    warm,
)
from dagwright.runtimes.registry import Process
from dagwright.runtimes.scratch import record_group, step_folder
from dagwright.runtimes.step_env import outside

if TYPE_CHECKING:
    from dagwright.store.live_logs import LiveLog


class ProcessRuntime:
    """``Process()``: a process per step; on Kubernetes every step is a pod anyway."""

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        """Run the step in a child process of its own session."""
        return run_process(step, timeout, session=session)

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        """Nothing beyond the step's own container."""
        return Fragments()

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        """Nothing to hand over."""
        return contextlib.nullcontext({})


def child_env() -> dict[str, str]:
    """The parent's own import folders (not its installed packages or standard library), so
    the child imports the user's modules as the parent did, whatever its interpreter."""
    paths = [p for p in sys.path if p and os.path.isdir(p) and _own_folder(p)]
    # not os.environ: Local steps running beside set their variables (Secrets' values) there
    return {**outside(), "PYTHONPATH": os.pathsep.join(paths)}


@functools.lru_cache(maxsize=256)
def _own_folder(path: str) -> bool:
    """Not an installed-packages or standard-library folder (cached: asked for every step)."""
    return (
        os.path.realpath(path) not in _installed()
        and "site-packages" not in path
        and "dist-packages" not in path
    )


@functools.lru_cache(maxsize=1)
def _installed() -> frozenset[str]:
    installed = {os.path.realpath(p) for p in sysconfig.get_paths().values()}
    installed |= {
        os.path.realpath(p) for p in site.getsitepackages() + [site.getusersitepackages()]
    }
    return frozenset(installed)


def _preloaded(step: Step) -> str | None:
    """The module the fork server imports for a step: the component's own; for a component
    imported from KFP, what its steps import (kfp)."""
    if step.component.kfp is not None:
        return "dagwright.kfp_steps.warm"
    return step.component.module


def run_process(
    step: Step,
    timeout: float | None,
    env: dict[str, str] | None = None,
    session: Session | None = None,
) -> Attempt:
    """Run the step in a process of its own; ``env`` adds to the step's env.

    A fork of the warm server (``runtimes/warm.py``) by default; ``python -m
    dagwright.executor`` in a new interpreter for ``Process(python=...)``,
    ``Process(fresh=True)``, or where the server cannot run. Either way the child leads its own
    process group; the step ends when that child exits, whatever it left running (its output
    goes to files, not pipes a daemon could hold open). A timeout or a failure kills the whole
    group, and so does closing ``session`` (the run ended, or Ctrl-C).
    """
    config = step.component.runtime
    groups = session.resource(_GROUPS, Groups, Groups.kill_all) if session else None
    deadline = None if timeout is None else time.monotonic() + timeout
    base = child_env()
    step_env = {**base, **step.component.env, **step.env, **(env or {})}
    with step_folder() as folder:
        step_file, result_file = folder / "step.json", folder / "result.json"
        step_file.write_text(json.dumps(step.to_dict()), encoding="utf-8")
        out_file, err_file = folder / "stdout.txt", folder / "stderr.txt"
        child: _Child | None = None
        with out_file.open("wb") as out, err_file.open("wb") as err:
            if not (isinstance(config, Process) and config.starts_interpreter) and WARM:
                request = {
                    "folder": str(folder),
                    "step": str(step_file),
                    "result": str(result_file),
                    "env": step_env,
                    # imported into the server only when the step's env cannot change it
                    "module": None if step_env != base else _preloaded(step),
                }
                child = warm.start(request, base, out.fileno(), err.fileno(), deadline)
            if child is None:
                python = config.python if isinstance(config, Process) else None
                try:
                    child = _Fresh(
                        python or sys.executable, step_file, result_file, out, err, step_env
                    )
                except OSError as exc:
                    return Attempt(error=f"could not start {python or sys.executable}: {exc}")
        if groups is not None:
            groups.add(child)
        if isinstance(child, _Fresh):  # a forked step records itself before it runs
            record_group(folder, child.proc.pid)
        tail = _Tail(step.live, out_file, err_file)
        try:
            code = _wait(child, deadline, step.stop, tail)
            exited = code is not None
            result = None
            if exited and result_file.exists():
                result = json.loads(result_file.read_text(encoding="utf-8"))
            if code != 0 or result is None or "error" in result:
                child.kill()
        finally:
            if groups is not None:
                groups.discard(child)
            child.release()
            stdout, stderr = tail.finish()
    if child.lost is not None:
        return Attempt(error=child.lost, stdout=stdout, stderr=stderr)
    if not exited and step.stop is not None and step.stop.is_set():
        return cancelled(step, stdout, stderr)
    if not exited:
        return Attempt(
            error=f"TimeoutError: step '{step.task}' did not finish within {timeout:g} s "
            "and was killed",
            stdout=stdout,
            stderr=stderr,
        )
    if result is None:
        return Attempt(
            error=f"the executor exited with code {code} and no result",
            stdout=stdout,
            stderr=stderr,
        )
    if "error" in result:
        return Attempt(
            error=result["error"],
            traceback=result.get("traceback"),
            stdout=stdout,
            stderr=stderr,
        )
    return Attempt(StepOutcome.from_dict(result), stdout=stdout, stderr=stderr)


# a fork needs Linux's pidfd (the server waits on its children with them)
WARM = sys.platform == "linux" and hasattr(os, "pidfd_open")


class _Child(Protocol):
    """A step's process, forked by the server or a new interpreter."""

    pid: int | None
    lost: str | None

    def wait_exit(self, timeout: float | None) -> int | None: ...

    def kill(self) -> None: ...

    def release(self) -> None: ...


class _Fresh:
    """``python -m dagwright.executor`` in a new interpreter, in a session of its own."""

    lost: str | None = None

    def __init__(
        self,
        python: str,
        step_file: Path,
        result_file: Path,
        out: IO[bytes],
        err: IO[bytes],
        env: dict[str, str],
    ) -> None:
        command = [python, "-m", "dagwright.executor", "--step", str(step_file)]
        self.proc = subprocess.Popen(
            [*command, "--result", str(result_file)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
        )
        self.pid: int | None = self.proc.pid

    def wait_exit(self, timeout: float | None) -> int | None:
        """The exit code, or None when ``timeout`` passed first (see ``_wait_exit``)."""
        return _wait_exit(self.proc, timeout)

    def kill(self) -> None:
        """Kill its process group (SIGKILL)."""
        _kill_group(self.proc)

    def release(self) -> None:
        """Reap it: its group id is free again after."""
        self.proc.wait()


_GROUPS = "process-step-groups"


class Groups:
    """The process groups of a run's Process steps still running, to kill when it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[_Child] = set()
        self._closed = False

    def add(self, child: _Child) -> None:
        """Hold a step's process group until it ends (killed at once if the run ended)."""
        with self._lock:
            if self._closed:
                child.kill()
            self._running.add(child)

    def discard(self, child: _Child) -> None:
        """Forget a step's process group."""
        # under the lock and before the child is reaped, so kill_all never signals a group id
        # that a new process took over
        with self._lock:
            self._running.discard(child)

    def kill_all(self) -> None:
        """Kill every process group still held (SIGKILL)."""
        with self._lock:
            self._closed = True
            for child in self._running:
                child.kill()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float | None) -> int | None:
    """The exit code of the step's own process (minus the signal that ended it), or None when
    ``timeout`` passed first. On Linux the process is not reaped (a pidfd says when it
    exited): while it is unreaped, its process group id cannot be taken by another process
    before the group is killed. Elsewhere it is reaped, and what it left is killed at once."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # no pidfd (macOS, an old kernel)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
    try:
        if not select.select([pidfd], [], [], timeout)[0]:
            return None
    finally:
        os.close(pidfd)
    info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if info is None:  # readable only once it exited: not reached
        return proc.wait()
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


POLL = 0.1  # seconds between looks at the step's output files and a cancel


def _wait(
    child: _Child, deadline: float | None, stop: threading.Event | None, tail: _Tail
) -> int | None:
    """The child's exit code; None at ``deadline``, when ``stop`` is set (the run was
    cancelled) or when the child was lost. Meanwhile what it printed goes to its live log."""
    watching = stop is not None or tail.live is not None
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        code = child.wait_exit(left if not watching else POLL if left is None else min(left, POLL))
        if code is not None or child.lost is not None or left == 0.0:
            return code
        if stop is not None and stop.is_set():
            return None
        tail.pump()


class _Tail:
    """A Process step's output files, copied to its live log as they grow."""

    def __init__(self, live: LiveLog | None, out: Path, err: Path) -> None:
        self.live = live
        self.files = {"stdout": out, "stderr": err}
        self.read = {"stdout": 0, "stderr": 0}  # bytes already handed to the live log

    def pump(self) -> None:
        """Hand what was written since the last look to the live log."""
        if self.live is None:
            return
        for stream, path in self.files.items():
            try:
                with path.open("rb") as f:
                    f.seek(self.read[stream])
                    data = f.read()
            except OSError:
                continue
            self.read[stream] += len(data)
            self.live.write_bytes(stream, data)

    def finish(self) -> tuple[str, str]:
        """The whole stdout and stderr (the rest handed to the live log too)."""
        texts = []
        for stream, path in self.files.items():
            try:
                data = path.read_bytes()
            except OSError:
                data = b""
            if self.live is not None:
                self.live.write_bytes(stream, data[self.read[stream] :])
            texts.append(data.decode(errors="replace"))
        return texts[0], texts[1]
