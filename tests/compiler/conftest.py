"""Fixtures shared by the compiler tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def local_runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kfp.local set up to run specs in subprocesses of this environment; its pipeline root."""
    local = pytest.importorskip("kfp.local")
    root = tmp_path_factory.mktemp("kfp-root")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    return root
