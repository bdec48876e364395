"""How the cron daemon starts and stops runs: the ``Launcher`` protocol, and
``ProcessLauncher``, which runs each firing as a ``dagwright run`` process of its own session.

Its own children are polled (and so collected: a finished child not waited for stays a zombie
process). A pid it did not start itself (a run started before the daemon restarted) counts
as the run only while the process's command line says ``--run-id <run id>``, as a pid from
before a reboot may be another process's now; where ``/proc`` is missing the pid is trusted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol

from dagwright.store.schedules import Schedule

STOP_WAIT = 10.0  # seconds a replaced run gets to stop before it is killed


class Launcher(Protocol):
    """Starts and stops the runs of schedules."""

    def start(self, schedule: Schedule, run_id: str) -> int:
        """Start the run; return its process id."""
        ...

    def alive(self, pid: int, run_id: str) -> bool:
        """Whether process ``pid`` runs and is the run ``run_id``."""
        ...

    def stop(self, pid: int, run_id: str) -> None:
        """Stop the run ``run_id`` if ``pid`` still is it."""
        ...

    def find(self, run_id: str) -> int | None:
        """The process id of the run ``run_id``, if it runs."""
        ...

    def reap(self) -> None:
        """Forget (and collect) the runs that have ended."""
        ...


class ProcessLauncher:
    """Runs each firing as ``python -m dagwright.cli run IR --run-id ID`` in the store folder.

    Its output goes to ``<root>/schedules/logs/<run_id>.log``. A pid that is not one of its own
    children (a run started before a restart) counts as the run only while the process's
    command line names the run id, as pids are reused (where ``/proc`` exists).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.children: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, schedule: Schedule, run_id: str) -> int:
        """Start the run of a firing as a ``dagwright run`` process; its pid."""
        self.reap()
        folder = self.root / "schedules"
        (folder / "logs").mkdir(parents=True, exist_ok=True)
        ir_file = folder / f"{schedule.name}.json"
        tmp = ir_file.with_suffix(".json.tmp")
        tmp.write_text(schedule.ir, encoding="utf-8")
        os.replace(tmp, ir_file)
        command = [sys.executable, "-m", "dagwright.cli", "run", str(ir_file)]
        command += ["--run-id", run_id, "--quiet"]
        for key, value in schedule.params.items():
            # -p text is read by the parameter's type: a str as it is, anything else as JSON
            text = value if isinstance(value, str) else json.dumps(value)
            command += ["-p", f"{key}={text}"]
        env = {**os.environ, "DAGWRIGHT_HOME": str(self.root)}
        with open(folder / "logs" / f"{run_id}.log", "ab") as log:
            child = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self.children[child.pid] = child
        return child.pid

    def reap(self) -> None:
        """Collect the children that have exited, or each stays a zombie process."""
        for pid, child in list(self.children.items()):
            if child.poll() is not None:
                del self.children[pid]

    def alive(self, pid: int, run_id: str) -> bool:
        """Whether ``pid`` is still the run ``run_id``."""
        child = self.children.get(pid)
        if child is not None:  # our own child: poll reaps it, or it stays a zombie that looks alive
            return child.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return _is_run(pid, run_id)

    def stop(self, pid: int, run_id: str) -> None:
        """SIGTERM to the run's process group, SIGKILL after ``STOP_WAIT`` seconds."""
        if not self.alive(pid, run_id):
            return  # ended, or the pid is another process's now
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_WAIT
        while self.alive(pid, run_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive(pid, run_id):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            if pid in self.children:
                self.children[pid].wait()

    def find(self, run_id: str) -> int | None:
        """The pid of a process running ``run_id`` (found in ``/proc``), or None."""
        # only asked about runs a daemon that died started, never about our own children
        proc = Path("/proc")
        if not proc.is_dir():
            return None
        for entry in proc.iterdir():
            if entry.name.isdigit() and _is_run(int(entry.name), run_id, trust=False):
                return int(entry.name)
        return None


def _is_run(pid: int, run_id: str, *, trust: bool = True) -> bool:
    """Whether process ``pid``'s command line has ``--run-id run_id``.

    Where it cannot be read (no ``/proc``, or not allowed) the answer is ``trust``.
    """
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return trust and not Path("/proc/self").exists()
    except OSError:
        return trust
    want = run_id.encode()
    return any(a == b"--run-id" and b == want for a, b in zip(args, args[1:], strict=False))
