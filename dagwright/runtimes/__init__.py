"""How one step executes. A runner is chosen by the type of the component's runtime config.

A runner takes a step description and a timeout and returns an Attempt: the outcome, or the
error with its traceback, and what the step printed. It never raises for the step's own failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from dagwright.runtimes.config import Local, Process, RuntimeConfig

if TYPE_CHECKING:
    from dagwright.executor import Step, StepOutcome

__all__ = [
    "Attempt",
    "Local",
    "Process",
    "RuntimeConfig",
    "StepRunner",
    "register_runner",
    "runner_for",
]


@dataclass
class Attempt:
    """One try at running a step."""

    outcome: StepOutcome | None = None
    error: str | None = None
    traceback: str | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome is not None


class StepRunner(Protocol):
    """Runs one step once; ``timeout`` is in seconds (None: no limit)."""

    def __call__(self, step: Step, timeout: float | None) -> Attempt: ...


_RUNNERS: dict[type[RuntimeConfig], StepRunner] = {}


def register_runner(config_type: type[RuntimeConfig], runner: StepRunner) -> None:
    _RUNNERS[config_type] = runner


def runner_for(config: RuntimeConfig) -> StepRunner:
    """The runner for a config; a runtime package registers its own when its config loads."""
    if Local not in _RUNNERS:
        # runners import the executor, which imports components, which import runtime configs
        from dagwright.runtimes.local import run_local
        from dagwright.runtimes.process import run_process

        _RUNNERS[Local] = run_local
        _RUNNERS[Process] = run_process
    for cls in type(config).__mro__:
        if cls in _RUNNERS:
            return _RUNNERS[cls]
    raise LookupError(f"no runner registered for runtime '{config.kind}'")
