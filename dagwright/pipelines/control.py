"""Control flow as data: If/Elif/Else, ParallelFor and ExitHandler blocks.

Each is a context manager that opens a group in the pipeline being traced; tasks created inside
belong to it. Nothing here runs anything: the engine and the compilers read the groups from the IR.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from dagwright.components.final_status import FINAL_STATUS
from dagwright.pipelines.context import require_builder
from dagwright.pipelines.handles import Handle, TaskHandle
from dagwright.pipelines.ir import GroupIR, Value
from dagwright.pipelines.refs import LoopItem, as_condition


class _Block(AbstractContextManager[Any]):
    _cm: Any = None

    def _open(self, kind: str, **fields: Any) -> GroupIR:
        self._builder = require_builder(type(self).__name__)
        self._cm = self._builder.group(kind, **fields)
        group: GroupIR = self._cm.__enter__()
        return group

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cm.__exit__(exc_type, exc, tb)


class If(_Block):
    """Run the block only when ``condition`` holds, e.g. ``If(train.output > 0.9)``."""

    branch = "if"

    def __init__(self, condition: Any) -> None:
        try:
            self.own = as_condition(condition).expr
        except TypeError as exc:
            raise require_builder(self.branch).error(str(exc), field=self.branch) from exc

    def _effective(self, chain: list[Value]) -> Value:
        if not chain:
            return self.own
        earlier: Value = chain[0] if len(chain) == 1 else {"op": "or", "args": list(chain)}
        return {"op": "and", "args": [{"op": "not", "arg": earlier}, self.own]}

    def __enter__(self) -> GroupIR:
        builder = require_builder(self.branch)
        chain = [] if self.branch == "if" else list(builder.condition_chain(self.branch))
        builder.record_branch(self.branch, self.own)
        return self._open("condition", condition=self._effective(chain), branch=self.branch)


class Elif(If):
    """Continue an If: run when every earlier branch was false and this condition holds."""

    branch = "elif"


class Else(If):
    """Close an If chain: run when every earlier branch was false."""

    branch = "else"

    def __init__(self) -> None:
        self.own = {"constant": True}

    def _effective(self, chain: list[Value]) -> Value:
        earlier: Value = chain[0] if len(chain) == 1 else {"op": "or", "args": list(chain)}
        return {"op": "not", "arg": earlier}


class ParallelFor(_Block):
    """Run the block once per item of a list: a literal, a list parameter or a list output.

    ``with ParallelFor(items, parallelism=2) as item:`` gives the current item; ``item["key"]``
    (or ``item.key``) picks a field of dict items.
    """

    def __init__(self, items: Any, parallelism: int | None = None) -> None:
        builder = require_builder("ParallelFor")
        if parallelism is not None and (
            isinstance(parallelism, bool) or not isinstance(parallelism, int) or parallelism < 1
        ):
            raise builder.error(
                f"parallelism must be a positive integer, not {parallelism!r}",
                field="parallelism",
            )
        self.items = builder._value(items, field="ParallelFor items")
        self.parallelism = parallelism

    def __enter__(self) -> LoopItem:
        group = self._open("loop", items=self.items, parallelism=self.parallelism)
        return LoopItem(group.id)


class ExitHandler(_Block):
    """Run ``exit_task`` after the block finishes, whether its tasks succeeded or failed.

    The exit task is created before the block, as in KFP:
    ``with ExitHandler(cleanup(msg="done")): ...``.
    """

    def __init__(self, exit_task: Handle) -> None:
        builder = require_builder("ExitHandler")
        if not isinstance(exit_task, TaskHandle):
            raise builder.error(
                f"ExitHandler takes a task, not {exit_task!r}",
                field="exit_task",
                fix="create the exit task with a component call just before the block",
            )
        if builder.ir.task(exit_task.name).group != builder.current_group:
            raise builder.error(
                "the exit task must be created in the same block as the ExitHandler",
                task=exit_task.name,
                field="exit_task",
            )
        self.exit_task = exit_task

    def __enter__(self) -> GroupIR:
        group = self._open("exit_handler", exit_task=self.exit_task.name)
        task = self._builder.ir.task(self.exit_task.name)
        for declared in self._builder.ir.component_of(task).inputs:
            if declared.type == FINAL_STATUS and declared.name not in task.inputs:
                task.inputs[declared.name] = {"final_status": group.id}  # filled here, as KFP
        return group
