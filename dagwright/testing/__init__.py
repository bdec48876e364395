"""Test a pipeline like code: run it with some components replaced by mocks, and assert on
what ran (``run_with_mocks``, ``assert_succeeded``, ``assert_steps``).

The pytest plugin (``dagwright.testing.pytest_plugin``, registered as a ``pytest11`` entry
point) adds the ``dagwright_store`` fixture. Nothing here loads with ``import dagwright``, and
the names below load on first use (PEP 562 ``__getattr__``): pytest imports the plugin in
every session, which must stay cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads them
    from dagwright.testing.asserts import StepsMismatch, assert_steps, assert_succeeded
    from dagwright.testing.mocks import run_with_mocks
    from dagwright.testing.result import MockedRun
    from dagwright.testing.store import active_store, use_store

_LAZY = {
    "active_store": "dagwright.testing.store",
    "MockedRun": "dagwright.testing.result",
    "StepsMismatch": "dagwright.testing.asserts",
    "assert_steps": "dagwright.testing.asserts",
    "assert_succeeded": "dagwright.testing.asserts",
    "run_with_mocks": "dagwright.testing.mocks",
    "use_store": "dagwright.testing.store",
}

__all__ = [
    "MockedRun",
    "StepsMismatch",
    "active_store",
    "assert_steps",
    "assert_succeeded",
    "run_with_mocks",
    "use_store",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dagwright.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
