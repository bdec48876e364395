"""What calling a component or a pipeline inside a pipeline returns: ``TaskHandle`` and
``PipelineHandle``, with ``.output``, ``.outputs[...]`` and ``.after(...)``; a task also has
KFP's per-task settings (``.set_retry``, ``.set_display_name``..., see ``task_options``)."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from dagwright.pipelines.refs import OutputRef
from dagwright.pipelines.task_pod import PodMethods

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
    def outputs(self) -> Outputs:
        """Every output by name: artifacts by parameter name, NamedTuple fields, "output"."""
        return Outputs(self)

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


class Outputs:
    """Every output of a task or nested pipeline by name (``task.outputs``); a pipeline may
    return it whole when its return annotation is a NamedTuple of those names."""

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
        """The output names."""
        return self._handle._output_names()

    @property
    def handle(self) -> Handle:
        """The task or nested pipeline whose outputs these are."""
        return self._handle

    def __repr__(self) -> str:
        return f"<outputs of {self._handle.name}: {', '.join(self.keys())}>"


class TaskHandle(PodMethods, Handle):
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

    # KFP's task methods, with KFP's signatures; each returns the task so calls chain

    def set_display_name(self, name: str) -> TaskHandle:
        """The name people see for the task (the task's name, which others refer to, stays)."""
        from dagwright.pipelines import task_options  # loaded on first use

        task_options.set_display_name(self, name)
        return self

    def set_caching_options(self, enable_caching: bool, cache_key: str = "") -> TaskHandle:
        """Reuse an earlier result of this task (or not); ``cache_key`` is its cache version."""
        from dagwright.pipelines import task_options  # loaded on first use

        task_options.set_caching(self, enable_caching, cache_key)
        return self

    def set_retry(
        self,
        num_retries: int,
        backoff_duration: str | None = None,
        backoff_factor: float | None = None,
        backoff_max_duration: str | None = None,
    ) -> TaskHandle:
        """Retry a failure ``num_retries`` times, waiting ``backoff_duration`` (e.g. ``"30s"``)
        times ``backoff_factor`` (2 by default) each time, each wait at most
        ``backoff_max_duration``."""
        from dagwright.pipelines import task_options  # loaded on first use

        task_options.set_retry(
            self, num_retries, backoff_duration, backoff_factor, backoff_max_duration
        )
        return self

    def set_cpu_request(self, cpu: str) -> TaskHandle:
        """The CPU the task asks for, e.g. ``"500m"``."""
        from dagwright.pipelines import task_options  # loaded on first use

        task_options.set_resource(self, "set_cpu_request", "cpu", cpu)
        return self

    def set_cpu_limit(self, cpu: str) -> TaskHandle:
        """The most CPU the task may use, e.g. ``"2"``."""
        from dagwright.pipelines import task_options  # loaded on first use

        task_options.set_resource(self, "set_cpu_limit", "cpu_limit", cpu)
        return self

    def set_memory_request(self, memory: str) -> TaskHandle:
        """The memory the task asks for, e.g. ``"1Gi"``."""
        from dagwright.pipelines import task_options  # loaded on first use

        task_options.set_resource(self, "set_memory_request", "memory", memory)
        return self

    def set_memory_limit(self, memory: str) -> TaskHandle:
        """The most memory the task may use, e.g. ``"4Gi"``."""
        from dagwright.pipelines import task_options  # loaded on first use

        task_options.set_resource(self, "set_memory_limit", "memory_limit", memory)
        return self

    def set_env_variable(self, name: str, value: str) -> TaskHandle:
        """An environment variable for the task's step."""
        from dagwright.pipelines import task_options  # loaded on first use

        task_options.set_env(self, name, value)
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
