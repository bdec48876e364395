"""Fixtures shared by the compiler tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def local_runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """kfp.local set up to run specs in subprocesses of this environment; its pipeline root."""
    pytest.importorskip("kfp.local")
    from dagwright.verify.kfp_local import init

    root = tmp_path_factory.mktemp("kfp-root")
    init(root)
    return root
