"""The local orchestrator."""

from dagwright.engine.local import LocalEngine
from dagwright.engine.result import RunResult, StepRecord

__all__ = ["LocalEngine", "RunResult", "StepRecord"]
