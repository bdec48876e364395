"""The embedded default store: a folder on the local disk, artifacts there or at an fsspec URL.

Layout under the root (``$DAGWRIGHT_HOME``, else ``./.dagwright``)::

    runs.db                                        the run database (SQLite)
    artifacts/<run_id>/<task>/<output>             an artifact of a task outside loops
    artifacts/<run_id>/<task>/<i>[.<j>]/<output>   of loop iteration i (nested loops: i.j)

With ``artifacts="s3://bucket/prefix"`` (or ``$DAGWRIGHT_ARTIFACTS``) the same
``<run_id>/<task>/...`` keys live under that URL instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dagwright.errors import ValidationError
from dagwright.store.remote import is_local, local_path
from dagwright.store.rundb import RunDatabase

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def default_root() -> Path:
    """The store folder: ``$DAGWRIGHT_HOME``, else ``./.dagwright``."""
    return Path(os.environ.get("DAGWRIGHT_HOME") or ".dagwright")


class LocalStore:
    """The run database under a root folder, and artifact URIs under an artifact location."""

    def __init__(self, root: str | Path | None = None, artifacts: str | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        location = artifacts or os.environ.get("DAGWRIGHT_ARTIFACTS")
        if location is None:
            location = str((self.root / "artifacts").absolute())
        elif is_local(location):
            location = str(Path(local_path(location)).absolute())
        trimmed = location.rstrip("/")
        if not is_local(location) and is_local(trimmed):  # "memory://" is a URL, not "memory:"
            trimmed = location[: location.index("://") + 3]
        self.artifacts = trimmed

    def run_dir(self, run_id: str) -> Path:
        """The local folder of one run's artifacts (for a local artifact location)."""
        return Path(self.run_uri(run_id))

    def run_uri(self, run_id: str) -> str:
        """The location of a run's artifacts."""
        return f"{self.artifacts}/{_key(run_id, 'run id')}"

    def artifact_uri(self, run_id: str, task: str, iteration: tuple[int, ...], output: str) -> str:
        """Where one output goes; every part is checked so no key leaves the artifact root."""
        parts = [self.run_uri(run_id), _key(task, "task")]
        if iteration:
            parts.append(".".join(str(int(i)) for i in iteration))
        parts.append(_key(output, "output"))
        return "/".join(parts)

    @property
    def local(self) -> bool:
        """Whether artifacts are kept on this machine (not at an fsspec URL)."""
        return is_local(self.artifacts)

    def database(self) -> RunDatabase:
        """The run database (a new connection)."""
        return RunDatabase(self.root / "runs.db")

    def existing_database(self, run_id: str | None = None) -> RunDatabase:
        """The run database, refused (not made) when the root holds none: for commands that
        read runs (``run_id``, when one is looked for), so a mistyped --root creates nothing."""
        if not (self.root / "runs.db").exists():
            looked_for = f"no run '{run_id}': " if run_id else ""
            raise ValidationError(
                f"{looked_for}no run database in '{self.root}'",
                field="--root",
                fix="run a pipeline first, or point --root at its store",
            )
        return self.database()

    def check(self) -> None:
        """Refuse, before anything runs, a root or artifact location that cannot be used."""
        from dagwright.store.preflight import check_store

        check_store(self.root, self.artifacts)


def _key(part: str, what: str) -> str:
    if not _PART.match(part) or ".." in part:
        raise ValidationError(
            f"{what} {part!r} cannot be part of an artifact key",
            field=what,
            fix="use letters, digits, '.', '_' and '-' (no '..' and no '/')",
        )
    return part
