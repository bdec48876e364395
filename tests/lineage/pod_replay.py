"""What the pod-replay tests share: the two components they run on Argo's stand-in (``make``
writes an artifact, ``use`` reads it; its print shows the step ran in the foreground), and
tests/store's servers (moto's S3, gcp-storage-emulator) as fixtures."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

MAKE_AND_USE = """
@component
def make(n: int, data: Output[Dataset]) -> int:
    with open(data.path, "w") as f:
        f.write("x" * n)
    return n * 2


@component
def use(data: Input[Dataset], k: int) -> str:
    text = open(data.path).read()
    print(f"use read {len(text)} characters")
    return text[:k]
"""


def store_fixtures() -> Any:
    """tests/store's conftest (its object-store servers), loaded under its own name."""
    path = Path(__file__).resolve().parents[1] / "store" / "conftest.py"
    spec = importlib.util.spec_from_file_location("store_servers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
