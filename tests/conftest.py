"""Shared fixtures: every run goes to a fresh store folder; lineage stays local.

With mlflow installed, tracking is on by default and each fresh store would get its own MLflow
database; only tests/lineage (which turns it back on where it tests it) needs that.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright.engine.result import RunResult


@pytest.fixture(autouse=True)
def _lineage_stays_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGWRIGHT_TRACKING", "off")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def run(store: Path):  # type: ignore[no-untyped-def]
    """dagwright.run into the test's own store, quietly."""

    def _run(pipeline: Any, *arguments: Any, **kwargs: Any) -> RunResult:
        kwargs.setdefault("echo", False)
        return dagwright.run(pipeline, *arguments, root=store, **kwargs)

    return _run
