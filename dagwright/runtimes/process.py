"""The Process runtime: the step runs in ``python -m dagwright.executor``, in its own process
group, killed with everything it started on timeout or failure."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import site
import subprocess
import sys
import sysconfig
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from dagwright.executor import Step, StepOutcome
from dagwright.runtimes import Attempt, Fragments, PodStep, RuntimeConfig, Session
from dagwright.runtimes.registry import Process
from dagwright.runtimes.scratch import record_group, step_folder


class ProcessRuntime:
    """``Process()``: a fresh interpreter per step; on Kubernetes every step is a pod anyway."""

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
    installed = {os.path.realpath(p) for p in sysconfig.get_paths().values()}
    installed |= {
        os.path.realpath(p) for p in site.getsitepackages() + [site.getusersitepackages()]
    }
    paths = [
        p
        for p in sys.path
        if p
        and os.path.isdir(p)
        and os.path.realpath(p) not in installed
        and "site-packages" not in p
        and "dist-packages" not in p
    ]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_process(
    step: Step,
    timeout: float | None,
    env: dict[str, str] | None = None,
    session: Session | None = None,
) -> Attempt:
    """Run the step in ``python -m dagwright.executor``; ``env`` adds to the step's env.

    The child leads its own process group; the step ends when that child exits, whatever it
    left running (its output goes to files, not pipes a daemon could hold open). A timeout or a
    failure kills the whole group, and so does closing ``session`` (the run ended, or Ctrl-C).
    """
    config = step.component.runtime
    python = config.python if isinstance(config, Process) and config.python else sys.executable
    groups = session.resource(_GROUPS, Groups, Groups.kill_all) if session else None
    with step_folder() as folder:
        step_file, result_file = folder / "step.json", folder / "result.json"
        step_file.write_text(json.dumps(step.to_dict()), encoding="utf-8")
        command = [
            python,
            "-m",
            "dagwright.executor",
            "--step",
            str(step_file),
            "--result",
            str(result_file),
        ]
        out_file, err_file = folder / "stdout.txt", folder / "stderr.txt"
        try:
            with out_file.open("wb") as out, err_file.open("wb") as err:
                proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env={**child_env(), **step.component.env, **(env or {})},
                    start_new_session=True,
                )
        except OSError as exc:
            return Attempt(error=f"could not start {python}: {exc}")
        if groups is not None:
            groups.add(proc)
        record_group(folder, proc.pid)
        try:
            code = _wait_exit(proc, timeout)
            exited = code is not None
            result = None
            if exited and result_file.exists():
                result = json.loads(result_file.read_text(encoding="utf-8"))
            if code != 0 or result is None or "error" in result:
                _kill_group(proc)
        finally:
            if groups is not None:
                groups.discard(proc)
            proc.wait()
        stdout, stderr = _read(out_file), _read(err_file)
    if not exited:
        return Attempt(
            error=f"TimeoutError: step '{step.task}' did not finish within {timeout:g} s "
            "and was killed",
            stdout=stdout,
            stderr=stderr,
        )
    if result is None:
        return Attempt(
            error=f"the executor exited with code {proc.returncode} and no result",
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


_GROUPS = "process-step-groups"


class Groups:
    """The process groups of a run's Process steps still running, to kill when it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()

    def add(self, proc: subprocess.Popen[bytes]) -> None:
        """Hold a step's process group until it ends."""
        with self._lock:
            self._running.add(proc)

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        """Forget a step's process group."""
        # under the lock and before the child is reaped, so kill_all never signals a group id
        # that a new process took over
        with self._lock:
            self._running.discard(proc)

    def kill_all(self) -> None:
        """Kill every process group still held (SIGKILL)."""
        with self._lock:
            for proc in self._running:
                _kill_group(proc)


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


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode(errors="replace")
    except OSError:
        return ""
