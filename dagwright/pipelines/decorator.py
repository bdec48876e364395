"""``@pipeline`` (traced from a function) and ``Pipeline`` (built call by call)."""

from __future__ import annotations

import functools
import inspect
import types
import typing
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, overload

from dagwright.components import docstrings
from dagwright.components.spec import IOSpec
from dagwright.components.types import UnsupportedAnnotation, describe_annotation
from dagwright.errors import UsageError, ValidationError
from dagwright.names import check_k8s_name, to_k8s_name
from dagwright.pipelines import context
from dagwright.pipelines.builder import PipelineBuilder
from dagwright.pipelines.handles import Handle, PipelineHandle, TaskHandle
from dagwright.pipelines.ir import PipelineIR
from dagwright.pipelines.refs import ParamRef

if TYPE_CHECKING:
    from dagwright.components.decorator import Component
    from dagwright.pipelines.notify import Notification


def checked_notification(notify: Any, on: Any, link: Any) -> Notification | None:
    """``notify``, ``on`` and ``link`` checked (``notify.py``, loaded only when one is given:
    most pipelines have none, and ``import dagwright`` stays without it)."""
    if notify is None and on is None and link is None:
        return None
    from dagwright.pipelines.notify import checked_notification as checked

    return checked(notify, on, link)


class PipelineDefinition:
    """A pipeline function; ``build()`` traces it into the IR (once, then cached)."""

    def __init__(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        description: str | None = None,
        schedule: str | None = None,
        notify: Notification | None = None,
    ) -> None:
        if name is not None:
            check_k8s_name(name, "pipeline name")
        else:
            name = to_k8s_name(func.__name__)
            check_k8s_name(name or func.__name__, "pipeline name")
        self.func = func
        self.name = name
        self.description = description or docstrings.summary(func.__doc__)
        self.schedule = schedule
        self.notify = notify
        self._ir: PipelineIR | None = None
        functools.update_wrapper(self, func)

    def params(self) -> list[IOSpec]:
        """The pipeline's parameters, from its signature."""
        annotations = {k: v for k, v in self.func.__annotations__.items() if k != "return"}
        try:  # the return annotation may name a class local to the caller: leave it out
            hints = typing.get_type_hints(
                types.SimpleNamespace(__annotations__=annotations), self.func.__globals__
            )
        except Exception as exc:
            raise ValidationError(
                f"type hints do not evaluate ({exc})", pipeline=self.name
            ) from exc
        described = docstrings.param_descriptions(self.func.__doc__)
        params = []
        for p in inspect.signature(self.func).parameters.values():
            param = _param_spec(self.name, p.name, hints.get(p.name), described.get(p.name, ""))
            if p.default is not p.empty:
                _check_default(self.name, param, p.default)
                param.default = p.default
            params.append(param)
        return params

    def build(self) -> PipelineIR:
        """Trace the function and validate the result.

        Raises:
            ValidationError: when the pipeline is malformed; nothing is cached then.
        """
        if self._ir is None:
            builder = PipelineBuilder(self.name, self.description, self.schedule)
            builder.ir.notify = self.notify
            builder.tracing.append(self)
            refs = {
                p.name: builder.add_param(p.name, p.type, p.default, p.has_default, p.description)
                for p in self.params()
            }
            token = context.activate(builder)
            try:
                returned = self.func(**refs)
            finally:
                context.deactivate(token)
            builder.set_outputs(builder.outputs_from(returned, self.func))
            self._ir = builder.finish()
            self._ir.function = self.func.__name__
        return self._ir

    @property
    def ir(self) -> PipelineIR:
        """The pipeline's IR (traced once, then cached)."""
        return self.build()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Inside another pipeline, trace this one inline as a block; outside, a TypeError."""
        builder = context.current_builder()
        if builder is None:
            raise UsageError(
                f"pipeline '{self.name}' runs with dagwright.run({self.func.__name__}, ...); "
                "calling it directly only works inside another pipeline"
            )
        if args:
            raise builder.error(
                f"pipeline '{self.name}' was called with positional arguments",
                task=self.name,
                fix="pass every parameter by name",
            )
        if self.notify is not None:  # the outer pipeline's run is the one that ends
            warnings.warn(
                f"pipeline '{self.name}' is called inside '{builder.name}': its notifiers are "
                f"not told (only those of the pipeline that runs, '{builder.name}', are)",
                stacklevel=2,
            )
        return builder.call_pipeline(self, kwargs)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"

    def _repr_html_(self) -> str:
        """The pipeline's graph, for Jupyter (a self-contained page; no server needed)."""
        # the UI sits above the pipelines: imported here only (an .importlinter exception)
        from dagwright.ui.notebook import pipeline_html

        return pipeline_html(self.ir)


def pipeline(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    schedule: str | None = None,
    notify: Any = None,
    on: Any = None,
    link: str | None = None,
) -> Any:
    """Declare a pipeline; usable bare (``@pipeline``) or with options.

    Args:
        func: The pipeline function, when used bare.
        name: Pipeline name (a Kubernetes resource name); defaults to the function name.
        description: Defaults to the docstring's summary.
        schedule: A cron expression for scheduled runs, e.g. ``"0 3 * * *"``.
        notify: Who is told when a run ends: ``[Webhook(url), Slack(url), Email(to, smtp)]``.
        on: The statuses that are told (``"failed"``, ``"succeeded"``, ``"cancelled"``);
            by default ``["failed"]``.
        link: The run's page in the message (``{run_id}`` and ``{pipeline}`` filled in);
            locally by default the run's page in ``dagwright ui``.

    Raises:
        ValidationError: a notifier, ``on`` or ``link`` that is wrong, naming the field.
    """
    notification = checked_notification(notify, on, link)

    def wrap(f: Callable[..., Any]) -> PipelineDefinition:
        return PipelineDefinition(
            f, name=name, description=description, schedule=schedule, notify=notification
        )

    return wrap(func) if func is not None else wrap


class Pipeline:
    """Build a pipeline without a decorator.

    Example:
        >>> p = Pipeline("numbers")
        >>> n = p.param("n", int, default=3)
        >>> task = p.add(square, x=n)
        >>> p.output("result", task.output)
        >>> with p:                      # If/ParallelFor work inside `with p:`
        ...     with If(task.output > 4):
        ...         p.add(report, value=task.output)
    """

    def __init__(
        self,
        name: str,
        description: str = "",
        schedule: str | None = None,
        *,
        notify: Any = None,
        on: Any = None,
        link: str | None = None,
    ) -> None:
        check_k8s_name(name, "pipeline name")
        self._builder = PipelineBuilder(name, description, schedule)
        self._builder.ir.notify = checked_notification(notify, on, link)
        self._tokens: list[object] = []

    @property
    def name(self) -> str:
        """The pipeline's name."""
        return self._builder.name

    def param(
        self,
        name: str,
        type: Any = str,
        default: Any = inspect.Parameter.empty,
        description: str = "",
    ) -> ParamRef:
        """Declare a parameter and return a reference to it."""
        spec = _param_spec(self.name, name, type, description)
        if default is not inspect.Parameter.empty:
            _check_default(self.name, spec, default)
            spec.default = default
        return self._builder.add_param(name, spec.type, spec.default, spec.has_default, description)

    @overload
    def add(self, component: Component, /, **inputs: Any) -> TaskHandle: ...

    @overload
    def add(self, component: PipelineDefinition, /, **inputs: Any) -> PipelineHandle: ...

    def add(self, component: Component | PipelineDefinition, /, **inputs: Any) -> Handle:
        """Add a task calling ``component`` (or a pipeline) with these inputs."""
        with self:
            task: Handle = component(**inputs)
        return task

    def output(self, name: str, value: Any) -> None:
        """Declare a pipeline output."""
        self._builder.ir.outputs[name] = self._builder.output_value(name, value)

    def build(self) -> PipelineIR:
        """Validate and return the IR."""
        return self._builder.finish()

    @property
    def ir(self) -> PipelineIR:
        """The pipeline's IR (validated)."""
        return self.build()

    def _repr_html_(self) -> str:
        """The pipeline's graph, for Jupyter (a self-contained page; no server needed)."""
        # the UI sits above the pipelines: imported here only (an .importlinter exception)
        from dagwright.ui.notebook import pipeline_html

        return pipeline_html(self.ir)

    def __enter__(self) -> Pipeline:
        self._tokens.append(context.activate(self._builder))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        context.deactivate(self._tokens.pop())


def _param_spec(pipeline_name: str, name: str, annotation: Any, description: str) -> IOSpec:
    if annotation is None:
        raise ValidationError(
            f"parameter '{name}' has no type hint",
            pipeline=pipeline_name,
            field=name,
            fix="annotate it, e.g. 'n_rows: int = 100'",
        )
    try:
        info = describe_annotation(annotation)
    except UnsupportedAnnotation as exc:
        raise ValidationError(
            f"parameter '{name}' has an unsupported annotation: {exc}",
            pipeline=pipeline_name,
            field=name,
        ) from exc
    if info.artifact:
        raise ValidationError(
            f"parameter '{name}' is an artifact; pipeline parameters are values",
            pipeline=pipeline_name,
            field=name,
            fix="pass a path or URI as a str parameter and read it in a component",
        )
    return IOSpec(name, info.type, description=description)


def _check_default(pipeline_name: str, param: IOSpec, default: Any) -> None:
    from dagwright.components.types import value_matches

    if not value_matches(default, param.type):
        raise ValidationError(
            f"default {default!r} of parameter '{param.name}' is not a {param.type}",
            pipeline=pipeline_name,
            field=param.name,
        )
