"""What ``run_with_mocks`` returns: the run's ``RunResult`` and which tasks ran a mock; and
the sets a test asserts on (what ran, was skipped, failed, came from the cache), which
``assert_steps`` reads from any ``RunResult``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from dagwright.engine.result import FAILED, SKIPPED, SUCCEEDED, RunResult


@dataclass
class MockedRun(RunResult):
    """A ``RunResult`` with what a test asks of it.

    Attributes:
        mocked: The tasks that ran a mock instead of their component (a mocked task whose
            block was skipped is in ``skipped`` only), in the order of the run's steps.
    """

    mocked: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, result: RunResult, replaced: set[str]) -> MockedRun:
        """The result of a run in which the tasks ``replaced`` had mocks."""
        given = {f.name: getattr(result, f.name) for f in fields(RunResult) if f.init}
        return cls(**given, mocked=[t for t in ran(result) if t in replaced])

    @property
    def ran(self) -> list[str]:
        """The tasks that ran (succeeded or failed; not those served from the cache)."""
        return ran(self)

    @property
    def skipped(self) -> list[str]:
        """The tasks inside a condition that was false."""
        return tasks_with(self, SKIPPED)

    @property
    def failed(self) -> list[str]:
        """The tasks that failed."""
        return tasks_with(self, FAILED)

    @property
    def cached(self) -> list[str]:
        """The tasks whose outputs came from the cache."""
        return cached(self)

    @property
    def step_outputs(self) -> dict[str, dict[str, Any]]:
        """Each step's outputs by its label (``train``, ``train[1]`` inside a loop)."""
        return {s.label: dict(s.outputs or {}) for s in self.steps if s.status == SUCCEEDED}

    def outputs_of(self, task: str, iteration: tuple[int, ...] = ()) -> dict[str, Any]:
        """The outputs of one execution of a task (a KeyError when it has none)."""
        return dict(self.step(task, iteration).outputs or {})


def ran(result: RunResult) -> list[str]:
    """The tasks that ran, each once, in the order of the run's steps."""
    return _unique(
        s.task
        for s in result.steps
        if s.status in (SUCCEEDED, FAILED) and not s.cached and not s.reused and s.started
    )


def cached(result: RunResult) -> list[str]:
    """The tasks served from the cache, each once."""
    return _unique(s.task for s in result.steps if s.cached)


def tasks_with(result: RunResult, status: str) -> list[str]:
    """The tasks with an execution of ``status``, each once."""
    return _unique(s.task for s in result.steps if s.status == status)


def _unique(tasks: Any) -> list[str]:
    return list(dict.fromkeys(tasks))
