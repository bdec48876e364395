"""Where runs keep their artifacts and records. The engine sees only the RunStore protocol."""

from __future__ import annotations

from typing import Protocol

from dagwright.store.live_logs import live_log_path
from dagwright.store.local import LocalStore, default_root
from dagwright.store.rundb import RunDatabase

__all__ = ["LocalStore", "RunDatabase", "RunStore", "default_root", "live_log_path"]


class RunStore(Protocol):
    """What the engine needs from a store."""

    def run_uri(self, run_id: str) -> str:
        """The location of a run's artifacts."""

    def artifact_uri(self, run_id: str, task: str, iteration: tuple[int, ...], output: str) -> str:
        """The URI an output of one execution is written to."""

    def database(self) -> RunDatabase:
        """The run database (a new connection)."""
