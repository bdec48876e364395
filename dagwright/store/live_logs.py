"""What a step prints while it runs, as files beside the run database.

``<root>/logs/<run_id>/<task>[.<i>.<j>].stdout|.stderr`` (``<i>.<j>``: the loop iteration, as
the run database writes it) is written line by line as the step prints, secrets masked as
``runs show`` masks the step row (``redact.scrub`` with the run's secret values), so a reader
(the UI) can tail it while the step runs; the step row gets the whole text when the step ends.
The files are local even when artifacts go to ``s3://`` or ``gs://``: they sit in the store
folder with ``runs.db``. ``runs rm`` and ``runs gc`` remove them with the run.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import re
import shutil
import stat
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from dagwright.errors import ValidationError
from dagwright.redact import scrub

STREAMS = ("stdout", "stderr")
_UTF8 = codecs.getincrementaldecoder("utf-8")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ITERATION = re.compile(r"^\d+(\.\d+)*$")
log = logging.getLogger(__name__)


def _checked(value: str, field: str) -> str:
    if not _NAME.match(value) or ".." in value:
        raise ValidationError(
            f"{field} {value!r} cannot name a log file",
            field=field,
            fix="use a run id or task name as dagwright writes them (letters, digits, '.', "
            "'_', '-')",
        )
    return value


def live_log_path(
    root: str | Path,
    run_id: str,
    task: str,
    iteration: Iterable[int] | str = (),
    stream: str = "stdout",
) -> Path:
    """The file a running step's ``stream`` goes to (it may not exist: nothing printed yet).

    Args:
        root: The store folder (the one holding ``runs.db``).
        run_id: The run's full id.
        task: The task's name.
        iteration: The loop iteration, as indexes or as text (``0.2`` as the run database
            writes it, or ``0,2``).
        stream: ``stdout`` or ``stderr``.

    Raises:
        ValidationError: a part that could lead out of the logs folder, or another stream.
    """
    if stream not in STREAMS:
        raise ValidationError(
            f"no log stream {stream!r}", field="stream", fix="use stdout or stderr"
        )
    if isinstance(iteration, str):
        text = iteration.replace(",", ".")  # "0,1" as progress lines print it
    else:
        text = ".".join(str(int(i)) for i in iteration)
    if text and not _ITERATION.match(text):
        raise ValidationError(
            f"iteration {text!r} is not a loop iteration",
            field="iteration",
            fix="give the iteration's indexes separated by '.' or ',' (0 or 1.2)",
        )
    name = _checked(task, "task") + (f".{text}" if text else "")
    return Path(root) / "logs" / _checked(run_id, "run id") / f"{name}.{stream}"


def remove_live_logs(root: str | Path, run_id: str) -> None:
    """Remove a run's log folder (a real folder only: a symlink planted there is left)."""
    if not _NAME.match(run_id) or ".." in run_id:  # no such folder was ever made
        return
    folder = Path(root) / "logs" / run_id
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder, ignore_errors=True)


class LiveLog:
    """One step execution's two log files, written whole lines at a time, secrets masked.

    A file is made on the first line its stream gets (a step that prints nothing costs no
    file). ``write`` takes text; ``write_bytes`` takes a child process's output as it grows
    (decoded as UTF-8, a character split between two reads kept for the next). Safe from
    several threads; writes after ``close`` are dropped (a step abandoned on timeout or
    cancel prints on).
    """

    def __init__(
        self, root: str | Path, run_id: str, task: str, iteration: Iterable[int], secrets: list[str]
    ) -> None:
        # the paths are made on the first line (most steps print nothing: no cost for them)
        self._where = (root, run_id, task, tuple(iteration))
        self._secrets = secrets
        self._lock = threading.RLock()  # see _emit
        self._files: dict[str, IO[str]] = {}
        self._partial = {"stdout": "", "stderr": ""}
        self._decoders: dict[str, codecs.IncrementalDecoder] = {}  # for write_bytes only
        self._closed = False

    def path(self, stream: str) -> Path:
        """Where ``stream`` goes."""
        return live_log_path(*self._where, stream)

    def write(self, stream: str, text: str) -> None:
        """Append what the step printed; complete lines reach the file at once."""
        if not text:
            return
        with self._lock:
            if self._closed:
                return
            pending = self._partial[stream] + text
            # a line ends at "\n", or at "\r" (a progress bar redrawing its line)
            cut = max(pending.rfind("\n"), pending.rfind("\r")) + 1
            self._partial[stream] = pending[cut:]
            if cut:
                self._emit(stream, pending[:cut])

    def write_bytes(self, stream: str, data: bytes) -> None:
        """Append raw output of a child process (UTF-8, invalid bytes replaced)."""
        if data:
            decoder = self._decoders.get(stream)
            if decoder is None:
                decoder = self._decoders[stream] = _UTF8("replace")
            self.write(stream, decoder.decode(data))

    def close(self) -> None:
        """Write what is left of an unfinished last line and close the files."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for stream in STREAMS:
                decoder = self._decoders.get(stream)
                rest = self._partial[stream] + (decoder.decode(b"", True) if decoder else "")
                if rest:
                    self._emit(stream, rest)
            for file in self._files.values():
                file.close()

    def _emit(self, stream: str, text: str) -> None:
        try:
            self._append(stream, text)
        except (OSError, ValidationError) as exc:  # never the step's failure: no live log then
            self._closed = True
            for file in self._files.values():
                with contextlib.suppress(OSError):
                    file.close()
            # a warning printed by the step's own thread comes back here: dropped, as closed
            log.warning("live log of %s stopped: %s", self._where[2], exc)

    def _append(self, stream: str, text: str) -> None:
        file = self._files.get(stream)
        if file is None:
            path = self.path(stream)
            for folder in (path.parent.parent, path.parent):  # the store folder exists
                folder.mkdir(exist_ok=True, mode=0o700)
                if folder.is_symlink():  # planted: nothing is written (or made) through it
                    raise ValidationError(
                        f"'{folder}' is a symbolic link: no live log is written through it",
                        field="--root",
                        fix=f"remove the link '{folder}'; dagwright makes the folder itself",
                    )
            # private as runs.db is; a step run again by a resume starts its file anew
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK
            fd = os.open(path, flags, 0o600)  # not blocking: on a planted pipe, an error
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise ValidationError(
                    f"'{path}' is not a regular file: no live log is written to it",
                    field="--root",
                    fix=f"remove '{path}'; dagwright makes the file itself",
                )
            os.set_blocking(fd, True)
            file = self._files[stream] = open(fd, "w", encoding="utf-8", errors="replace")
        lines = text.splitlines(keepends=True)
        file.write("".join(scrub(line, self._secrets) or "" for line in lines))
        file.flush()
