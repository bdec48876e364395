"""Files dagwright writes for the user (compiled specs, run databases, lineage, markers).

A file is written to a temporary sibling created exclusively (``O_CREAT | O_EXCL``, a random
name, never following a symlink planted there) and renamed over the target, so a reader sees
the old file or the new one and nothing else is touched. A target that exists and is not a
regular file (a device such as ``/dev/full``, a FIFO, a folder, a symlink to one of those) is
refused: renaming over it would replace the device node instead of writing to it.

Private files (the run database, MLflow's database, lineage, ``.pending`` markers) are created
0600 and their folders 0700; the user's umask still applies, so a stricter one wins.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from dagwright.errors import ValidationError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_PUBLIC_FILE = 0o666  # as open() creates files: the umask decides


def check_target(path: str | Path, field: str = "path") -> None:
    """Refuse a target that exists and is not a regular file (followed through symlinks).

    Raises:
        ValidationError: naming ``field``.
    """
    target = Path(path)
    if not os.path.lexists(target):
        return
    try:
        mode = os.stat(target).st_mode
    except OSError:  # a dangling symlink: the rename replaces the link itself
        return
    if not stat.S_ISREG(mode):
        raise ValidationError(
            f"'{target}' exists and is {_kind(mode)}, not a regular file; dagwright writes a "
            "new file and renames it into place, which would replace it",
            field=field,
            fix="name a regular file (or a new one), or leave the option out to print to "
            "standard output",
        )


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a folder",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "a special file")


def write_file(
    path: str | Path, data: str | bytes, *, private: bool = False, field: str = "path"
) -> Path:
    """Write ``data`` to ``path`` atomically through an exclusively created temporary file.

    Args:
        path: The target; its folder is created (0700 when ``private``).
        data: Text (UTF-8) or bytes.
        private: Create the file 0600 (else 0666, both masked by the umask).
        field: What to name in the error for a target that is not a regular file.

    Raises:
        ValidationError: when the target exists and is not a regular file, or its folder
            cannot be made or written (the old file, if any, is left whole).
    """
    target = Path(path)
    check_target(target, field)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        make_dir(target.parent, private=private)
        fd, tmp = _exclusive(target, PRIVATE_FILE if private else _PUBLIC_FILE)
    except OSError as exc:
        raise _unwritable(target, field, exc) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)  # the old file, if any, is left whole
        if isinstance(exc, OSError):
            raise _unwritable(target, field, exc) from exc
        raise
    return target


def _unwritable(target: Path, field: str, exc: OSError) -> ValidationError:
    reason = "no space left on the device" if exc.errno == errno.ENOSPC else exc.strerror
    return ValidationError(
        f"cannot write '{target}' ({reason or exc})",
        field=field,
        fix="name a file in a folder you can write to, on a disk with free space",
    )


def _exclusive(target: Path, mode: int) -> tuple[int, Path]:
    """A new file beside ``target`` that nobody else could have prepared (O_EXCL fails on
    any existing name, a symlink included; O_NOFOLLOW for good measure)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name beside", str(target))


def make_dir(folder: str | Path, *, private: bool = False) -> Path:
    """Create a folder (and its parents); a new one is 0700 when ``private``."""
    folder = Path(folder)
    if not folder.is_dir():
        os.makedirs(folder, mode=PRIVATE_DIR if private else 0o777, exist_ok=True)
    return folder


def private_file(path: str | Path) -> Path:
    """Create an empty file 0600 unless it exists, so a program that then opens it (SQLite,
    MLflow) keeps those permissions instead of its own 0644."""
    target = Path(path)
    make_dir(target.parent, private=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        os.close(os.open(target, flags, PRIVATE_FILE))
    except FileExistsError:
        pass
    return target
