"""Which process owns a run, and whether it still lives.

A run row records its owner: host, pid and the pid's start time (the boot id and the start
tick from ``/proc``), because pids are reused. A process that was SIGKILLed or crashed cannot
record its own end; whoever reads the row later sees that its owner is gone.
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Owner:
    """One process on one host; ``start`` is None where the host cannot tell it."""

    host: str
    pid: int
    start: str | None

    def __str__(self) -> str:
        return f"process {self.pid} on {self.host}"


def start_time(pid: int) -> str | None:
    """``<boot id>:<start tick>`` of process ``pid``; None without ``/proc`` or no process."""
    found = _stat(pid)
    boot = _boot_id()
    return f"{boot}:{found[1]}" if found is not None and boot is not None else None


@functools.lru_cache(maxsize=1)
def _boot_id() -> str | None:
    """This boot's id: it tells start ticks of one boot from another's (read once)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or None when it does not run
    (a zombie, killed and not yet reaped, does not) or this system has no ``/proc``."""
    found = _stat(pid)
    return found[1] if found is not None and found[0] not in "ZX" else None


def _stat(pid: int) -> tuple[str, int] | None:
    """The state letter and the start tick of a process, from ``/proc/<pid>/stat``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: fields follow the last ')'
    fields = stat.rpartition(")")[2].split()
    return fields[0], int(fields[19])  # fields 3 and 22: state, start in clock ticks


def current() -> Owner:
    """This process as a run's owner."""
    return Owner(socket.gethostname(), os.getpid(), start_time(os.getpid()))


def alive(owner: Owner) -> bool:
    """Whether the owner may still run, as far as this host can tell.

    A process on another host cannot be checked and counts as alive. Here, the pid must exist
    and, where ``/proc`` tells start times, have started when the owner did.
    """
    if owner.host != socket.gethostname():
        return True
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    if owner.start is None:
        return True
    # a zombie (Z) has ended; only its parent has not collected it yet
    found = _stat(owner.pid)
    return found is not None and found[0] not in "ZX" and owner.start == f"{_boot_id()}:{found[1]}"
