"""One process at a time creates or migrates an MLflow SQLite store.

MLflow creates a SQLite tracking store's tables and migrates them (alembic) the first time a
process opens it. Two processes doing that at once leave the file half-migrated (``table
_alembic_tmp_latest_metrics already exists``), which breaks every later run and ``dagwright
lineage sync``. So each process opens a ``sqlite:///`` store for the first time holding an
exclusive ``flock`` on ``<db>.lock`` beside the database: the first migrates, the others wait
and find it ready. One that cannot get the lock within ``DAGWRIGHT_TRACKING_LOCK_TIMEOUT``
seconds (default 60) gets ``StoreBusy``, and its run is left pending for ``dagwright lineage
sync``. Other URIs (a server) open without a lock: the server migrates.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from dagwright.errors import DagwrightError

LOCK_TIMEOUT = 60.0  # seconds; $DAGWRIGHT_TRACKING_LOCK_TIMEOUT overrides it
_POLL = 0.05


class StoreBusy(DagwrightError, RuntimeError):
    """Another process held the store's lock (migrating it) for longer than the timeout."""


class StoreBroken(DagwrightError, RuntimeError):
    """The SQLite file holds the leftovers of a migration that never finished."""


def check_migrated(database: Path) -> None:
    """Refuse a database that concurrent migrations left half-done (``_alembic_tmp_*`` tables,
    as older versions left them): MLflow would fail on it with a page of SQL, and migrating it
    again cannot finish it.

    Raises:
        StoreBroken: naming the file and the way out.
    """
    if not database.exists():
        return
    with contextlib.closing(
        sqlite3.connect(f"{database.absolute().as_uri()}?mode=ro", uri=True)
    ) as db:
        left = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name.startswith("_alembic_tmp_")
        ]
    if left:
        raise StoreBroken(
            f"{database.name} was left half-migrated by processes that migrated it at once "
            f"(table {left[0]}); move it aside (e.g. to {database.name}.broken) and run "
            "`dagwright lineage sync RUN` for the runs to upload again from the store's lineage"
        )


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI; None for other URIs and in-memory ones."""
    if not uri.startswith("sqlite:///"):
        return None
    name = unquote(uri[len("sqlite:///") :].split("?")[0])
    return Path(name) if name and name != ":memory:" else None


@contextlib.contextmanager
def locked(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created 0600), waiting at most ``timeout``."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; MLflow itself does not lock there either
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"another process held {path.name} for over {timeout:g}s while "
                        "creating or migrating the MLflow database"
                    ) from None
                time.sleep(_POLL)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def open_client(uri: str, timeout: float | None = None) -> Any:
    """An ``MlflowClient`` for ``uri`` whose store is ready: created and migrated, under the
    lock for SQLite (making the client opens the store; MLflow caches it per process, so
    later clients do not migrate again).

    Raises:
        StoreBusy: when the lock was not free in time.
    """
    from mlflow.tracking import MlflowClient

    database = sqlite_file(uri)
    if database is None:
        return MlflowClient(uri)
    if timeout is None:
        timeout = float(os.environ.get("DAGWRIGHT_TRACKING_LOCK_TIMEOUT") or LOCK_TIMEOUT)
    with locked(database.with_name(database.name + ".lock"), timeout):
        check_migrated(database)
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)  # opens the store where making it does not
    return client
