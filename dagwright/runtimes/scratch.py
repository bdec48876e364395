"""Temporary step folders that say who owns them, so the ones a killed engine left are removed.

A ``Process()`` step's folder is ``<tmp>/dagwright-step-<host>-<pid>-<start>-<random>``: the
engine's host tag, process id and process start time (clock ticks since boot, from ``/proc``;
``0`` where it cannot be read). A SIGKILLed engine cannot remove its folder; the next engine
on the same host removes every folder whose owner is gone. A folder is never removed while its
owner runs: the same pid with another start time is another process (pids are reused), and
folders of other hosts (containers sharing ``/tmp``), of other users, without an owner in
their name, or links planted under such a name are left alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "dagwright-step-"
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
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            removed.append(entry)
            log.info("removed %s, left by engine process %d that is gone", entry, pid)
    return removed
