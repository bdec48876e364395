"""The local orchestrator.

Only the result types load with this package: the engine itself (and through it the step
executor) loads on first use, so ``python -m dagwright.executor`` starts cleanly.
"""

from typing import Any

from dagwright.engine.result import RunResult, StepRecord

__all__ = ["LocalEngine", "RunResult", "StepRecord"]


def __getattr__(name: str) -> Any:
    if name == "LocalEngine":
        from dagwright.engine.local import LocalEngine

        return LocalEngine
    raise AttributeError(name)
