"""Fixtures shared by the runtime tests."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest


@pytest.fixture
def pids() -> Iterator[list[int]]:
    """Pids a test started or learned of; whatever is left of them is killed afterwards."""
    found: list[int] = []
    yield found
    for pid in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
