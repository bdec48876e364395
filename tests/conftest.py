"""Shared fixtures: every run goes to a fresh store folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright.engine.result import RunResult


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
