"""The engine's bookkeeping of a run in progress: frames (block instances), ParallelFor
iterations and jobs (task executions queued or running)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dagwright.engine.result import StepRecord
from dagwright.engine.state import Path_
from dagwright.executor import Step


@dataclass(eq=False)
class Frame:
    """One instance of a block: the top level, an entered If, or one loop iteration."""

    block: str | None
    path: Path_
    items: dict[str, Any]
    parent: Frame | None
    node: str | None  # the group node this frame realises in its parent
    scope: list[str]
    waiting: dict[str, int]
    status: dict[str, str] = field(default_factory=dict)
    open: int = 0
    bad: bool = False


@dataclass(eq=False)
class LoopRun:
    """The iterations of one ParallelFor node, started at most ``limit`` at a time."""

    frame: Frame
    group: str
    values: list[Any]
    limit: int
    started: int = 0
    running: int = 0
    bad: bool = False


@dataclass
class Execution:
    """A task execution queued or running on the worker pool."""

    frame: Frame
    task: str
    record: StepRecord
    step: Step
