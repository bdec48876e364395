"""What calling a component or a pipeline inside a pipeline returns: ``TaskHandle`` and
``PipelineHandle``, with ``.output``, ``.outputs[...]`` and ``.after(...)``."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from dagwright.pipelines.refs import OutputRef

if TYPE_CHECKING:
    from dagwright.pipelines.builder import PipelineBuilder


H = TypeVar("H", bound="Handle")


class Handle(abc.ABC):
    """What calling a component or a pipeline inside a pipeline returns."""

    builder: PipelineBuilder
    name: str

    @abc.abstractmethod
    def _output_names(self) -> list[str]:
        """The names ``.outputs`` accepts."""

    @abc.abstractmethod
    def _ref(self, name: str) -> Any:
        """The reference behind one output name."""

    @abc.abstractmethod
    def _task_names(self) -> list[str]:
        """The tasks this handle stands for."""

    def after(self: H, *others: Handle) -> H:
        """Run only after ``others`` finished, without passing data."""
        names: list[str] = []
        for other in others:
            if not isinstance(other, Handle) or other.builder is not self.builder:
                raise self.builder.error(
                    f".after() takes tasks of this pipeline, not {other!r}",
                    task=self.name,
                    field="after",
                    fix="pass the task itself, e.g. b.after(a), not a.output",
                )
            names.extend(other._task_names())
        for task in self._task_names():
            self.builder.add_after(task, names)
        return self

    @property
    def outputs(self) -> _Outputs:
        """Every output by name: artifacts by parameter name, NamedTuple fields, "output"."""
        return _Outputs(self)

    @property
    def output(self) -> Any:
        """The return value, or the only output when there is exactly one."""
        names = self._output_names()
        if "output" in names:
            return self._ref("output")
        if len(names) == 1:
            return self._ref(names[0])
        raise self.builder.error(
            f"'{self.name}' has {'no outputs' if not names else 'several outputs'}, so .output "
            "is ambiguous",
            task=self.name,
            fix=f"use .outputs[name] with a name from {names}" if names else "add a return value",
        )


class _Outputs:
    def __init__(self, handle: Handle) -> None:
        self._handle = handle

    def __getitem__(self, name: str) -> Any:
        names = self._handle._output_names()
        if name not in names:
            raise self._handle.builder.error(
                f"'{self._handle.name}' has no output '{name}'",
                task=self._handle.name,
                field=name,
                fix=f"use one of {names}" if names else "this step has no outputs",
            )
        return self._handle._ref(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._handle._output_names())

    def __len__(self) -> int:
        return len(self._handle._output_names())

    def keys(self) -> list[str]:
        return self._handle._output_names()


class TaskHandle(Handle):
    """One task in the pipeline being traced."""

    def __init__(self, builder: PipelineBuilder, name: str) -> None:
        self.builder = builder
        self.name = name

    def _output_names(self) -> list[str]:
        return [o.name for o in self.builder.ir.component_of(self.name).outputs]

    def _ref(self, name: str) -> OutputRef:
        return OutputRef(self.builder.ir.task(self.name), name, self.builder)

    def _task_names(self) -> list[str]:
        return [self.name]

    def ignore_upstream_failure(self) -> TaskHandle:
        """Run once the tasks this one waits for are done, even if some failed (KFP's
        ``.ignore_upstream_failure()``); an input a failed task did not make takes its
        default, so every input read from a task needs one. A ``PipelineTaskFinalStatus``
        parameter gets the status of the one task it waits for, as in KFP."""
        from dagwright.components.final_status import FINAL_STATUS
        from dagwright.pipelines.blocks import value_tasks

        task = self.builder.ir.task(self.name)
        task.ignore_upstream_failure = True
        for declared in self.builder.ir.component_of(task).inputs:
            if declared.type != FINAL_STATUS or declared.name in task.inputs:
                continue
            upstream = list(task.after)
            for value in task.inputs.values():
                upstream += value_tasks(value)
            upstream = list(dict.fromkeys(upstream))
            if len(upstream) != 1:
                raise self.builder.error(
                    f"input '{declared.name}' is a PipelineTaskFinalStatus, which a task "
                    f"ignoring upstream failures gets from its one upstream task; it has "
                    f"{len(upstream)} ({', '.join(upstream) or 'none'})",
                    task=self.name,
                    field=declared.name,
                    fix="make it wait for exactly one task, or use an ExitHandler",
                )
            task.inputs[declared.name] = {"final_status": upstream[0]}
        return self

    def named(self, name: str) -> TaskHandle:
        """Give the task an explicit name (before its outputs are used)."""
        self.builder.rename(self.name, name)
        self.name = name
        return self

    def __repr__(self) -> str:
        return f"<task {self.name}>"


class PipelineHandle(Handle):
    """A pipeline used as one step of another."""

    def __init__(
        self, builder: PipelineBuilder, name: str, outputs: dict[str, Any], tasks: list[str]
    ) -> None:
        self.builder = builder
        self.name = name
        self._outputs = outputs
        self.tasks = tasks

    def _output_names(self) -> list[str]:
        return list(self._outputs)

    def _ref(self, name: str) -> Any:
        return self._outputs[name]

    def _task_names(self) -> list[str]:
        return list(self.tasks)

    def __repr__(self) -> str:
        return f"<pipeline step {self.name}>"
