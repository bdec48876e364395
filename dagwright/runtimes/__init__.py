"""How one step executes. A runner is chosen by the type of the component's runtime config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from dagwright.runtimes.config import InProcess, RuntimeConfig

if TYPE_CHECKING:
    from dagwright.executor import Step, StepOutcome

__all__ = ["InProcess", "RuntimeConfig", "StepRunner", "register_runner", "runner_for"]


class StepRunner(Protocol):
    """Runs one step and returns its outcome, raising what the step raised."""

    def __call__(self, step: Step) -> StepOutcome: ...


_RUNNERS: dict[type[RuntimeConfig], StepRunner] = {}


def register_runner(config_type: type[RuntimeConfig], runner: StepRunner) -> None:
    _RUNNERS[config_type] = runner


def runner_for(config: RuntimeConfig) -> StepRunner:
    """The runner for a config; a runtime package registers its own when its config loads."""
    if InProcess not in _RUNNERS:
        # the executor imports components, which import runtime configs: import it late
        from dagwright.executor import run_step

        _RUNNERS[InProcess] = run_step
    for cls in type(config).__mro__:
        if cls in _RUNNERS:
            return _RUNNERS[cls]
    raise LookupError(f"no runner registered for runtime '{config.kind}'")
