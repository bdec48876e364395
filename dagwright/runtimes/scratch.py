"""Temporary step folders that say who owns them, so the ones a killed engine left are removed.

A ``Process()`` step's folder is ``<tmp>/dagwright-step-<host>-<pid>-<start>-<random>``: the
engine's host tag, process id and process start time (clock ticks since boot, from ``/proc``;
``0`` where it cannot be read). A SIGKILLed engine cannot remove its folder; the next engine
on the same host removes every folder whose owner is gone. A folder is never removed while its
owner runs: the same pid with another start time is another process (pids are reused), and
folders of other hosts (containers sharing ``/tmp``), of other users, without an owner in
their name, or links planted under such a name are left alone. The step process group such
an engine left running is killed with its folder, when its leader still runs that step.
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

PREFIX = "dagwright-step-"
GROUP_FILE = "group.pid"
_OWNED = re.compile(rf"^{PREFIX}([0-9a-f]{{8}})-(\d+)-(\d+)-")
log = logging.getLogger(__name__)


def host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot); 0 when unknown, None when not running."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _exists(pid)
    except OSError:
        return _exists(pid)
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has ended; only its parent has not reaped it yet
        return None
    return int(fields[19])


def _exists(pid: int) -> int | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return 0


def owner_alive(pid: int, started: int) -> bool:
    """The process that made a folder still runs (``started`` 0: any process with its pid)."""
    now = start_time(pid)
    return now is not None and (started == 0 or now in (0, started))


def record_group(folder: Path, pid: int) -> None:
    """Note the process group of the step running from ``folder`` (its leader's pid)."""
    (folder / GROUP_FILE).write_text(str(pid), encoding="utf-8")


def _stop_orphan(folder: Path) -> None:
    """Kill the step a dead engine left running from ``folder``: only while the group leader
    still runs a command that names the folder (a reused pid is someone else's)."""
    try:
        pid = int((folder / GROUP_FILE).read_text(encoding="utf-8"))
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if any(str(folder).encode() in part for part in command):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
            log.info("killed step process group %d left by a dead engine", pid)


def _own_folder(entry: Path) -> bool:
    """A real folder (not a link planted under the name) of this user."""
    try:
        info = entry.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


@contextmanager
def step_folder() -> Iterator[Path]:
    """A fresh temporary folder named after this process, removed afterwards."""
    pid = os.getpid()
    prefix = f"{PREFIX}{host_tag()}-{pid}-{start_time(pid) or 0}-"
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        yield Path(folder)


def remove_stale(folder: str | Path | None = None) -> list[Path]:
    """Remove the step folders in ``folder`` (the temp folder) whose owner on this host is gone."""
    base = Path(folder or tempfile.gettempdir())
    host = host_tag()
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        found = _OWNED.match(entry.name)
        if not found or found.group(1) != host:
            continue
        pid, started = int(found.group(2)), int(found.group(3))
        if owner_alive(pid, started) or not _own_folder(entry):
            continue
        _stop_orphan(entry)
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
            log.info("removed %s, left by engine process %d that is gone", entry, pid)
    return removed
