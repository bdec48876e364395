"""``@component``: a typed Python function becomes a reusable pipeline step.

Outside a pipeline the decorated object is the plain function. Inside one (while a pipeline is
being traced) a call adds a task and returns its handle.
"""

from __future__ import annotations

import functools
import sys
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any, overload

from dagwright.components import docstrings, source
from dagwright.components._ports import (
    SINGLE_OUTPUT,
    check_runtime_fit,
    parameter_ports,
    return_outputs,
)
from dagwright.components.options import checked_options
from dagwright.components.spec import ComponentSpec, IOSpec, Resources, Retry
from dagwright.errors import ValidationError
from dagwright.names import check_k8s_name, to_k8s_name
from dagwright.runtimes.registry import Local, RuntimeConfig
from dagwright.tracebacks import PACKAGE

if TYPE_CHECKING:  # the pod options' types load when a pipeline file imports them
    from dagwright.components.pod import ConfigMapEnv, NodeAffinity, Secret, Volume

# keyed by where the code lives too: equal text in two modules may call different helpers
_LIVE: dict[tuple[str, str | None, str], Callable[..., Any]] = {}


def live_function(spec: ComponentSpec, digest: str | None = None) -> Callable[..., Any] | None:
    """The function object behind a component spec, when it was defined in this process
    (``digest``: the spec's, when the caller has it; it costs a hash of the whole spec)."""
    return _LIVE.get((digest or spec.digest, spec.module, spec.function))


def share_live_function(base: ComponentSpec, variant: ComponentSpec) -> None:
    """Let a per-task variant of a component (its options changed, its code the same) find
    the live function of the component it was made from."""
    func = live_function(base)
    if func is not None:
        _LIVE[(variant.digest, variant.module, variant.function)] = func


def forget_live_function(spec: ComponentSpec) -> None:
    """Let go of the function behind ``spec`` (a component made for one run, such as a
    test's mock, whose closures would otherwise stay alive as long as the process)."""
    _LIVE.pop((spec.digest, spec.module, spec.function), None)


class ComponentSourceWarning(UserWarning):
    """A component's inline source will not run on its own in another process."""


def _user_frame() -> int:
    """The ``stacklevel`` of the first caller outside dagwright, for a warning issued by the
    function that calls this: decoration is reached by several paths (bare ``@component``,
    with options, the builder), so no fixed level points at the user's line."""
    level = 2
    frame: FrameType | None = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE):
        level, frame = level + 1, frame.f_back
    return level


class DroppedReturnWarning(UserWarning):
    """A component returns a value, but has no return annotation to make it an output."""


class Component:
    """A decorated function together with its ComponentSpec."""

    def __init__(self, func: Callable[..., Any], spec: ComponentSpec) -> None:
        self.func = func
        self.spec = spec
        self.digest = spec.digest
        _LIVE[(self.digest, spec.module, spec.function)] = func
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Inside a pipeline, add a task of this component; outside, call the function."""
        from dagwright.pipelines.context import current_builder

        builder = current_builder()
        if builder is None:
            return self.func(*args, **kwargs)
        if args:
            raise ValidationError(
                f"component '{self.spec.name}' was called with positional arguments",
                pipeline=builder.name,
                fix="pass every input by name, e.g. "
                f"{self.func.__name__}({', '.join(i.name + '=...' for i in self.spec.inputs)})",
            )
        return builder.add_task(self, kwargs)

    def __repr__(self) -> str:
        return f"<component {self.spec.name}>"


@overload
def component(func: Callable[..., Any], /) -> Component: ...


@overload
def component(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    image: str | None = None,
    packages: Iterable[str] = (),
    resources: Resources | None = None,
    cpu: str | None = None,
    memory: str | None = None,
    gpu: int | None = None,
    cpu_limit: str | None = None,
    memory_limit: str | None = None,
    retries: int | Retry = 0,
    timeout: float | None = None,
    cache: bool = False,
    cache_version: str | None = None,
    runtime: RuntimeConfig | None = None,
    env: Mapping[str, str] | None = None,
    volumes: Iterable[Volume] = (),
    secrets: Iterable[Secret] = (),
    config_maps: Iterable[ConfigMapEnv] = (),
    node_selector: Mapping[str, str] | None = None,
    affinity: Iterable[NodeAffinity] = (),
    image_pull_secrets: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Component]: ...


def component(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    image: str | None = None,
    packages: Iterable[str] = (),
    resources: Resources | None = None,
    cpu: str | None = None,
    memory: str | None = None,
    gpu: int | None = None,
    cpu_limit: str | None = None,
    memory_limit: str | None = None,
    retries: int | Retry = 0,
    timeout: float | None = None,
    cache: bool = False,
    cache_version: str | None = None,
    runtime: RuntimeConfig | None = None,
    env: Mapping[str, str] | None = None,
    volumes: Iterable[Volume] = (),
    secrets: Iterable[Secret] = (),
    config_maps: Iterable[ConfigMapEnv] = (),
    node_selector: Mapping[str, str] | None = None,
    affinity: Iterable[NodeAffinity] = (),
    image_pull_secrets: Iterable[str] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> Component | Callable[[Callable[..., Any]], Component]:
    """Turn a typed function into a component; usable bare (``@component``) or with options.

    Args:
        func: The function, when used bare.
        name: Component name; defaults to the function name with ``_`` turned into ``-``.
        description: Defaults to the docstring's summary.
        image: Container image for cluster targets.
        packages: pip requirements installed before the step runs in a fresh environment.
        resources: Requests as a Resources object; or give ``cpu``, ``memory``, ``gpu``.
        cpu: CPU request in Kubernetes units, e.g. ``"500m"``.
        memory: Memory request, e.g. ``"2Gi"``.
        gpu: Number of GPUs.
        cpu_limit: CPU limit, e.g. ``"2"``.
        memory_limit: Memory limit, e.g. ``"4Gi"``.
        retries: How many times to retry a failure, or a Retry with backoff.
        timeout: Seconds one attempt may take.
        cache: Reuse an earlier result for the same code and inputs.
        cache_version: Change it to invalidate earlier cached results on purpose.
        runtime: How the step executes (a runtime config); in-process by default.
        env: Environment variables the step gets: its container's on cluster targets, and
            in a local run (a Local step's while it runs, a Process step's child's).
        volumes: Volumes mounted into the step's container (``Volume.pvc``,
            ``Volume.empty_dir``, ``Volume.config_map``, ``Volume.secret``); a local run
            maps each mount path to a folder of the store.
        secrets: Secret keys as environment variables (``Secret(name, key, env=...)``); a
            local run reads the values from ``--secrets-file`` or the environment.
        config_maps: ConfigMap keys as environment variables (``ConfigMapEnv``).
        node_selector: Node labels the pod must run on.
        affinity: Node-affinity rules (``NodeAffinity``).
        image_pull_secrets: Names of Secrets to pull the image with.
        labels: Labels of the step's pod.
        annotations: Annotations of the step's pod.
    """

    def wrap(f: Callable[..., Any]) -> Component:
        options = checked_options(
            f"component '{name or getattr(f, '__name__', f)}'",
            image=image,
            packages=packages,
            resources=resources,
            cpu=cpu,
            memory=memory,
            gpu=gpu,
            cpu_limit=cpu_limit,
            memory_limit=memory_limit,
            retries=retries,
            timeout=timeout,
            cache_version=cache_version,
            runtime=runtime,
            env=env,
            pod={
                "volumes": volumes,
                "secrets": secrets,
                "config_maps": config_maps,
                "node_selector": node_selector,
                "affinity": affinity,
                "image_pull_secrets": image_pull_secrets,
                "labels": labels,
                "annotations": annotations,
            },
        )
        spec = build_spec(f, name=name, description=description, cache=bool(cache), **options)
        return Component(f, spec)

    return wrap(func) if func is not None else wrap


def build_spec(func: Callable[..., Any], *, name: str | None, **options: Any) -> ComponentSpec:
    """Derive the ComponentSpec of ``func`` from its signature, hints and docstring."""
    comp_name = _component_name(func, name)

    def fail(problem: str, field: str | None = None, fix: str | None = None) -> ValidationError:
        return ValidationError(f"component '{comp_name}': {problem}", field=field, fix=fix)

    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # a hint that does not evaluate
        raise fail(f"its type hints do not evaluate ({exc})") from exc
    described = docstrings.param_descriptions(func.__doc__)
    runtime: RuntimeConfig = options.get("runtime") or Local()
    inputs, outputs, injected = parameter_ports(func, hints, described, runtime, fail)
    check_runtime_fit(func, inputs, injected, runtime, options.get("cache"), fail)
    if runtime.serves:  # the step deploys the function; what it returns answers requests
        returns, returned = "single", [IOSpec(SINGLE_OUTPUT, "str", description="its URL")]
    else:
        returns, returned = return_outputs(hints.get("return"), described, fail)
    for out in returned:
        if any(o.name == out.name for o in outputs):
            raise fail(
                f"output '{out.name}' is both returned and an Output[...] parameter", out.name
            )
    code = _component_source(func, comp_name, "return" in hints, runtime, fail)
    module = func.__module__ if func.__qualname__ == func.__name__ else None
    return ComponentSpec(
        name=comp_name,
        description=options.pop("description") or docstrings.summary(func.__doc__),
        inputs=inputs,
        outputs=returned + outputs,
        returns=returns,
        source=code,
        function=func.__name__,
        module=None if module == "__main__" else module,
        injected=injected,
        **options,
    )


def _component_name(func: Callable[..., Any], name: str | None) -> str:
    """The component's name: the one given, checked, or the function's made a Kubernetes name."""
    if name is not None:
        check_k8s_name(name, "component name")
        return name
    comp_name = to_k8s_name(func.__name__)
    if not comp_name:
        check_k8s_name(func.__name__, "component name")
    return comp_name


def _component_source(
    func: Callable[..., Any],
    comp_name: str,
    annotated: bool,
    runtime: RuntimeConfig,
    fail: Callable[..., Exception],
) -> str:
    """The source a step runs: the function's, after the prelude of the names it reads; warns
    of a value dropped for want of a return annotation and of names nothing binds."""
    try:
        code = source.function_source(func)
    except (OSError, TypeError) as exc:
        raise fail(
            f"its source cannot be read ({exc})",
            fix="define the component with a def statement in a file",
        ) from exc
    if not annotated and not runtime.serves and source.returns_a_value(code):
        warnings.warn(
            f"component '{comp_name}' returns a value but has no return annotation, so the "
            f"value is dropped; annotate it (def {func.__name__}(...) -> int) to make it the "
            "step's output, or '-> None' to say it is meant to be dropped",
            DroppedReturnWarning,
            stacklevel=_user_frame(),
        )
    needs = source.prelude(func, code)
    if needs.unresolved:
        warnings.warn(
            f"component '{comp_name}' reads {', '.join(needs.unresolved)}, which nothing in its "
            "module binds by name; a step run from the pipeline's spec in another process will "
            "fail unless it can import the component's module",
            ComponentSourceWarning,
            stacklevel=_user_frame(),
        )
    return needs.text + code
