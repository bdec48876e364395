"""Artifacts behind an fsspec URL (``s3://``, ``gs://``, ``memory://``, ``file://``...).

A step always works on local files. Inputs on another filesystem are copied to a local folder
first; outputs are written locally, then uploaded next to their final key and moved into place,
so a reader never sees half an upload under the final key. fsspec (and s3fs or gcsfs for their
schemes) is imported only when a non-local URI is met.
"""

from __future__ import annotations

import os
import re
import secrets
from typing import Any

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def is_local(uri: str) -> bool:
    """A plain path or a file:// URL."""
    return not _SCHEME.match(uri) or uri.startswith("file://")


def local_path(uri: str) -> str:
    """The path of a ``file://`` URI; any other text as it is."""
    return uri[len("file://") :] if uri.startswith("file://") else uri


def filesystem(uri: str) -> tuple[Any, str]:
    """The fsspec filesystem of a URI and the path within it."""
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(uri)
    return fs, path


def fetch(uri: str, folder: str) -> str:
    """Copy a file or folder artifact into ``folder``; return the local path."""
    fs, path = filesystem(uri)
    fs.invalidate_cache()  # listings cached before another step wrote here are stale
    target = os.path.join(folder, os.path.basename(path.rstrip("/")) or "artifact")
    if fs.isdir(path):
        fs.get(path.rstrip("/") + "/", target, recursive=True)
    else:
        fs.get(path, target)
    return target


def upload(local: str, uri: str) -> None:
    """Put a local file or folder at ``uri``: upload beside it, then move into place.

    A file appears under its key in one step. A folder's files are moved one by one: object
    stores have no folders to rename, so a reader should trust the run database, which records
    the artifact only after the move.
    """
    fs, path = filesystem(uri)
    partial = f"{path}.partial-{secrets.token_hex(4)}"
    if fs.exists(path):
        fs.rm(path, recursive=True)
    if not os.path.isdir(local):
        fs.put(local, partial)
        _move(fs, partial, path)
    else:
        fs.put(local.rstrip("/") + "/", partial, recursive=True)
        for source in fs.find(partial):
            _move(fs, source, path + source[len(partial) :])
        if fs.exists(partial):
            fs.rm(partial, recursive=True)
    fs.invalidate_cache()


def _move(fs: Any, source: str, target: str) -> None:
    """Copy then delete: every object store does both, while native moves vary (and some
    emulators answer a move with 'not implemented' only after retries)."""
    fs.copy(source, target)
    fs.rm(source)


def exists(uri: str) -> bool:
    """Whether something exists at ``uri`` (asked afresh of a remote store)."""
    if is_local(uri):
        return os.path.exists(local_path(uri))
    fs, path = filesystem(uri)
    fs.invalidate_cache()
    return bool(fs.exists(path))
