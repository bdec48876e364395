"""Helpers for the KFP importer's tests: pipelines written here with kfp.dsl, compiled with kfp
into the test's tmp_path, then read back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def compiled(tmp_path: Path) -> Callable[[Any], Path]:
    """Compile a ``@dsl.pipeline`` with kfp's compiler to a YAML file under tmp_path."""
    from kfp import compiler

    def compile_(pipeline: Any, name: str = "pipeline.yaml") -> Path:
        path = tmp_path / name
        compiler.Compiler().compile(pipeline, str(path))
        return path

    return compile_


@pytest.fixture
def imported(compiled: Callable[[Any], Path]) -> Callable[[Any], dict[str, Any]]:
    """The IR dict the importer makes of a ``@dsl.pipeline`` (compiled by kfp first)."""
    from dagwright.sources.kfp import ir_dict

    return lambda pipeline: ir_dict(compiled(pipeline))
