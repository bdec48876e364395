"""Who holds the cron daemon's lease or a firing's claim, and whether that process still runs.

A daemon's name is ``host:pid:start:suffix``: ``start`` is the process's start time
(``/proc/<pid>/stat`` field 22, clock ticks since boot), so a pid reused by another process
is told apart from the daemon that had it; the random suffix tells apart two daemons of
one process. Where ``/proc`` is missing the name is ``host:pid:suffix`` and a live pid counts
as the daemon.
"""

from __future__ import annotations

import os
import secrets
import socket

from dagwright.store.owner import Owner, alive, process_start


def default_holder() -> str:
    """This process's name as a lease holder: ``host:pid:start:suffix``."""
    pid = os.getpid()
    start = process_start(pid)
    stamp = f"{start}:" if start is not None else ""
    return f"{socket.gethostname()}:{pid}:{stamp}{secrets.token_hex(3)}"


def _parts(holder: str) -> tuple[int, int | None] | None:
    """``(pid, start)`` of a holder name of this host, or None for another host or form."""
    parts = holder.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return None
    start = int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else None
    return int(parts[1]), start


def holder_dead(holder: str) -> bool:
    """Whether ``holder`` is known to have ended: a name of this host whose pid does not run,
    or runs but started at another time than the name says (the pid was reused).

    A holder on another host, or with a name of another form, is never known dead.
    """
    parts = _parts(holder)
    if parts is None:
        return False
    pid, start = parts
    if start is None:  # no /proc where it was named: only whether the pid runs can be told
        return not alive(Owner(socket.gethostname(), pid, None))
    return process_start(pid) != start  # gone, a zombie, or the pid now another process's


def holder_alive(holder: str) -> bool:
    """Whether the daemon named ``holder`` may still run, as far as this host can tell.

    Only a name of this host can be told alive (its pid runs, started when the name says);
    any other counts as gone, which callers trust only once its lease lapsed.
    """
    return _parts(holder) is not None and not holder_dead(holder)
