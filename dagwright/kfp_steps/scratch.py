"""The KFP step's folder (kfp's task root: output parameter files, the output metadata file),
taken from a pool of emptied folders instead of made and removed for every step: removing a
folder costs milliseconds on some disks, more than the rest of a step.

The folders are named as ``runtimes/scratch.py`` names step folders (host, pid and start time),
so those a killed engine leaves are removed by the next engine's ``remove_stale``; a process
removes its own at exit. A forked child (the ``Process()`` runtime) starts its own pool.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dagwright.runtimes.scratch import owned_prefix

_LOCK = threading.Lock()
_FREE: list[str] = []
_MADE: list[str] = []
_PID = [0]  # the process the pool belongs to


@contextmanager
def task_folder() -> Iterator[str]:
    """An empty folder for one step, emptied and kept for a later step afterwards."""
    folder = _take()
    try:
        yield folder
    finally:
        if _empty(folder):
            with _LOCK:
                _FREE.append(folder)


def _take() -> str:
    with _LOCK:
        if _PID[0] != os.getpid():  # a fork: the parent's folders are the parent's
            _PID[0] = os.getpid()
            _FREE.clear()
            _MADE.clear()
        if _FREE:
            return _FREE.pop()
        folder = tempfile.mkdtemp(prefix=owned_prefix())
        _MADE.append(folder)
        return folder


def _empty(folder: str) -> bool:
    """Remove what a step left in its folder; False when that failed (the folder is dropped)."""
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return False
    return True


@atexit.register
def _remove_all() -> None:
    if _PID[0] == os.getpid():  # a forked child inherits the handler, not the folders
        for folder in _MADE:
            shutil.rmtree(folder, ignore_errors=True)
