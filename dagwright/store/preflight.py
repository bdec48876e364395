"""Checks a store passes before any step runs: its folders can be made and written (not
read-only, not full), and an fsspec URL names a protocol that is known and installed.

A failed check leaves nothing behind: folders it made are removed again.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from dagwright.errors import ValidationError
from dagwright.extras import install_hint
from dagwright.store.remote import is_local, local_path
from dagwright.writes import PRIVATE_DIR

# protocols whose fsspec implementation lives in a package an extra of dagwright installs
_PROTOCOL_PACKAGE = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs"}
_SQLITE_HEADER = b"SQLite format 3\x00"
_PROBE_BYTES = 4096  # a block: a full disk refuses it, where an empty file might still fit


def check_store(root: Path, artifacts: str) -> None:
    """Refuse a store whose run folder or artifact location cannot be used.

    Raises:
        ValidationError: naming ``--root`` or ``--store`` and what to do.
    """
    run_database(root / "runs.db")
    made: list[Path] = []
    try:
        writable_folder(root, "--root", made, private=True)
        if is_local(artifacts):
            writable_folder(Path(local_path(artifacts)), "--store", made)
        else:
            known_protocol(artifacts)
    except BaseException:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise


def run_database(path: Path) -> None:
    """Refuse a ``runs.db`` that is there but is no SQLite file (nor an empty one).

    The verdict comes from one read: another run may be creating the database right now, so a
    file empty (or holding part of the header) when read is one being made, whatever its size
    a moment later.
    """
    if not os.path.lexists(path):
        return
    header: bytes | None = None
    if path.is_file():
        with open(path, "rb") as f:
            header = f.read(len(_SQLITE_HEADER))
    if header is None or not _SQLITE_HEADER.startswith(header):
        raise ValidationError(
            f"'{path}' is not a run database (not a SQLite file)",
            field="--root",
            fix="point --root at another folder, or move that file away",
        )


def writable_folder(folder: Path, field: str, made: list[Path], private: bool = False) -> None:
    """Make ``folder`` (recording what was made; 0700 when ``private``, less as the umask
    says) and write and remove a probe file in it."""
    missing: list[Path] = []
    parent = folder.absolute()
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    try:
        for path in reversed(missing):
            try:
                path.mkdir(mode=PRIVATE_DIR if private and path == missing[0] else 0o777)
            except FileExistsError:
                if path.is_dir():  # another run made it just now: theirs, not ours to remove
                    continue
                raise
            made.append(path)
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
        fd, probe = tempfile.mkstemp(prefix=".dagwright-probe-", dir=folder)
        try:
            os.write(fd, b"\0" * _PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise ValidationError(
            f"cannot write to '{folder}' ({_reason(exc)})",
            field=field,
            fix=f"point {field} at a folder you can write to, with free space",
        ) from exc


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or str(exc)


def known_protocol(url: str) -> None:
    """Refuse an fsspec URL whose protocol fsspec does not know or cannot import."""
    from fsspec.registry import get_filesystem_class

    protocol, rest = url.split("://", 1)
    if not rest.strip("/") and protocol != "memory":
        raise ValidationError(
            f"'{url}' names no bucket or folder",
            field="--store",
            fix=f"write {protocol}://BUCKET/PREFIX",
        )
    try:
        get_filesystem_class(protocol)
    except ValueError as exc:
        raise ValidationError(
            f"'{url}' uses the protocol '{protocol}', which fsspec does not know",
            field="--store",
            fix="use a folder or a URL such as s3://bucket/prefix, gs://bucket/prefix or memory://",
        ) from exc
    except ImportError as exc:
        package = _PROTOCOL_PACKAGE.get(protocol)
        needs = f"the Python package '{package}'" if package else "a package"
        raise ValidationError(
            f"'{url}' needs {needs}, which is not installed",
            field="--store",
            fix=install_hint(package) if package else str(exc),
        ) from exc
