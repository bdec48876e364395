"""Temporary step folders that say who owns them, so the ones a killed engine left are removed.

A ``Process()`` step's folder is ``<tmp>/dagwright-step-<host>-<pid>-<start>-<random>`` (a fork
server's ``dagwright-forkserver-...``): digests
of the engine's host name and process start time (``store.owner``: boot id and start tick;
``0`` where it cannot be read) around its process id. A SIGKILLed engine cannot remove its
folder; the next engine on the same host removes every folder whose owner is gone. A folder is
never removed while its owner runs: the same pid with another start time is another process
(pids are reused), and folders of other hosts (containers sharing ``/tmp``), of other users,
without an owner in their name, or links planted under such a name are left alone. The step
process group such an engine left running is killed with its folder, when its leader still
runs that step (or a fork server, ``runtimes/warm.py``, that the engine started).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
import signal
import socket
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagwright.store.owner import Owner, alive, start_time

PREFIX = "dagwright-step-"
SERVER_PREFIX = "dagwright-forkserver-"  # a fork server's folder (``runtimes/warm.py``)
GROUP_FILE = "group.pid"
_OWNED = re.compile(r"^dagwright-(?:step|forkserver)-([0-9a-f]{8})-(\d+)-([0-9a-f]{8}|0)-")
log = logging.getLogger(__name__)


def host_tag() -> str:
    """A short digest of this host's name, as step folders carry it."""
    return _short(socket.gethostname())


def start_tag(pid: int) -> str:
    """A short digest of when ``pid`` started (``store.owner``: boot id and start tick);
    ``0`` where this host cannot tell."""
    started = start_time(pid)
    return _short(started) if started else "0"


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def owner_alive(pid: int, started: str) -> bool:
    """The process that made a folder still runs: its pid exists and, where start times are
    known, it started when the folder's owner did (pids are reused)."""
    if not alive(Owner(socket.gethostname(), pid, None)):
        return False
    return started == "0" or start_tag(pid) in ("0", started)


def record_group(folder: Path, pid: int) -> None:
    """Note the process group of the step running from ``folder``: its leader's pid and when
    that leader started, so only that process's group is killed if the engine dies."""
    (folder / GROUP_FILE).write_text(f"{pid} {start_tag(pid)}", encoding="utf-8")


def _stop_orphan(folder: Path) -> None:
    """Kill the step a dead engine left running from ``folder``: only while the group leader
    is the process recorded (same start time) or, for a record without one, still runs a
    command that names the folder (a reused pid is someone else's)."""
    try:
        pid_text, _, started = (folder / GROUP_FILE).read_text(encoding="utf-8").partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return
    if started not in ("", "0"):  # a forked step names no folder: its start time tells it
        ours = start_tag(pid) == started
    else:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return
        ours = any(str(folder).encode() in part for part in command)
    if ours:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
            log.info("killed process group %d left by a dead engine", pid)


def _own_folder(entry: Path) -> bool:
    """A real folder (not a link planted under the name) of this user."""
    try:
        info = entry.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def owned_prefix(prefix: str = PREFIX) -> str:
    """The name start of a folder this process owns (its host, pid and start time)."""
    pid = os.getpid()
    return f"{prefix}{host_tag()}-{pid}-{start_tag(pid)}-"


@contextmanager
def step_folder() -> Iterator[Path]:
    """A fresh temporary folder named after this process, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=owned_prefix()) as folder:
        yield Path(folder)


def remove_stale(folder: str | Path | None = None) -> list[Path]:
    """Remove the step folders in ``folder`` (the temp folder) whose owner on this host is gone."""
    base = Path(folder or tempfile.gettempdir())
    host = host_tag()
    removed: list[Path] = []
    try:
        # names, not Path objects: a shared temp folder may hold thousands of entries, and
        # every run looks through it
        names = os.listdir(base)
    except OSError:
        return removed
    for name in names:
        # a step's folder or a fork server's (a server stuck in an import outlives its engine)
        found = _OWNED.match(name) if name.startswith("dagwright-") else None
        if not found or found.group(1) != host:
            continue
        entry = base / name
        pid, started = int(found.group(2)), found.group(3)
        if owner_alive(pid, started) or not _own_folder(entry):
            continue
        _stop_orphan(entry)
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
            log.info("removed %s, left by engine process %d that is gone", entry, pid)
    return removed
