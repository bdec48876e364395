"""An artifact's file as the previews read it: only inside the store (or a location the run
recorded for its artifacts), opened for streaming, never read whole.

A local URI is resolved (symlinks followed, ``..`` collapsed) and must land inside one of the
allowed folders; a remote one (``s3://``...) must start with an allowed location and hold no
``..`` segment, and its store must answer a plain connect first (``store.remote.reachable``)
rather than s3fs's minutes of retries. The UI's HTTP layer checks paths too; this module does
not rely on it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from dagwright.errors import DagwrightError

# how many files a folder listing names at most (a model folder, a Spark dataset)
MAX_FILES = 200


class Unreadable(DagwrightError, OSError):
    """An artifact's file that cannot be previewed: missing, outside the store, unreachable."""


@dataclass
class ArtifactFile:
    """One artifact's file or folder, checked to be inside an allowed location.

    Attributes:
        uri: The URI as the run database records it.
        path: The resolved local path, or the path within ``fs`` for a remote URI.
        fs: The fsspec filesystem of a remote URI; None for a local one.
    """

    uri: str
    path: str
    fs: Any = field(default=None, repr=False)

    def exists(self) -> bool:
        """Whether anything is there."""
        return bool(self.fs.exists(self.path)) if self.fs else os.path.exists(self.path)

    def is_dir(self) -> bool:
        """Whether it is a folder."""
        return bool(self.fs.isdir(self.path)) if self.fs else os.path.isdir(self.path)

    def size(self) -> int:
        """The size in bytes of a file; of a folder, the sum of the files it lists."""
        if self.is_dir():
            return sum(size for _, size in self.files(limit=None))
        return int(self.fs.size(self.path)) if self.fs else os.path.getsize(self.path)

    def open(self, relative: str = "") -> IO[bytes]:
        """The file (or a file of the folder, by relative path) opened for reading bytes."""
        path = self.path if not relative else f"{self.path.rstrip('/')}/{relative}"
        if self.fs:
            return self.fs.open(path, "rb")
        # a file of a folder artifact may be a symlink: it must stay inside the folder too
        if relative and not _inside(os.path.realpath(path), self.path):
            raise Unreadable(f"'{self.uri}/{relative}' is not inside the store")
        # without blocking: a named pipe left as an output would wait for a writer forever
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            shown = f"{self.uri}/{relative}" if relative else self.uri
            raise Unreadable(f"'{shown}' is not a regular file")
        os.set_blocking(fd, True)
        return open(fd, "rb")

    def head(self, count: int, relative: str = "") -> bytes:
        """The first ``count`` bytes."""
        with self.open(relative) as stream:
            return stream.read(count)

    def files(self, limit: int | None = MAX_FILES) -> Iterator[tuple[str, int]]:
        """The files of a folder as (relative path, size), sorted, at most ``limit``; a plain
        file lists itself under its name. Symbolic links are not followed."""
        if not self.is_dir():
            name = os.path.basename(self.path.rstrip("/"))
            yield name, self.size()
            return
        found = self._remote_files() if self.fs else self._local_files()
        for count, entry in enumerate(found):
            if limit is not None and count >= limit:
                return
            yield entry

    def _local_files(self) -> Iterator[tuple[str, int]]:
        for folder, dirs, names in os.walk(self.path, followlinks=False):
            dirs.sort()
            for name in sorted(names):
                full = os.path.join(folder, name)
                yield os.path.relpath(full, self.path), os.lstat(full).st_size

    def _remote_files(self) -> Iterator[tuple[str, int]]:
        base = self.path.rstrip("/") + "/"
        found = self.fs.find(self.path, detail=True)
        for name in sorted(found):
            yield name[len(base) :] if name.startswith(base) else name, int(found[name]["size"])


def locate(uri: str, root: str | Path, locations: Sequence[str] = ()) -> ArtifactFile:
    """The artifact file at ``uri`` when it lies inside ``root`` or one of ``locations``.

    Args:
        uri: A local path, ``file://`` URL or fsspec URL.
        root: The store folder.
        locations: Other folders or URLs holding artifacts (a run's ``artifacts`` location
            when it is outside the store).

    Raises:
        Unreadable: outside every allowed location, or a remote store that does not answer.
    """
    from dagwright.store import remote

    if not uri:
        raise Unreadable("the artifact has no URI")
    if remote.is_local(uri):
        path = os.path.realpath(remote.local_path(uri))
        bases = [os.path.realpath(root)]
        bases += [os.path.realpath(remote.local_path(x)) for x in locations if remote.is_local(x)]
        if not any(_inside(path, base) for base in bases):
            raise Unreadable(f"'{uri}' is not inside the store")
        return ArtifactFile(uri, path)
    prefixes = [x.rstrip("/") + "/" for x in locations if not remote.is_local(x)]
    if not any(uri.startswith(p) for p in prefixes) or ".." in uri.split("/"):
        raise Unreadable(f"'{uri}' is not inside the store")
    try:
        fs, path = remote.filesystem(uri)
        remote.reachable(fs, uri)
    except ImportError as exc:
        raise Unreadable(f"cannot read '{uri}': {exc}") from exc
    except (OSError, ValueError) as exc:
        raise Unreadable(str(exc)) from exc
    return ArtifactFile(uri, path, fs)


def _inside(path: str, base: str) -> bool:
    try:
        return os.path.commonpath([path, base]) == base
    except ValueError:  # one relative, one absolute (cannot be inside)
        return False
