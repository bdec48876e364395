"""A component's inputs and outputs, read from its function's parameters and return
annotation, and the checks that they suit its runtime (``build_spec`` in ``decorator.py``)."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable
from typing import Any

from dagwright.components.spec import IOSpec
from dagwright.components.types import (
    UnsupportedAnnotation,
    describe_annotation,
    is_value_file,
    value_matches,
)
from dagwright.runtimes.registry import RuntimeConfig

SINGLE_OUTPUT = "output"


def parameter_ports(
    func: Callable[..., Any],
    hints: dict[str, Any],
    described: dict[str, str],
    runtime: RuntimeConfig,
    fail: Callable[..., Exception],
) -> tuple[list[IOSpec], list[IOSpec], list[str]]:
    """The inputs, the ``Output[...]`` parameters and the names the runtime injects, from the
    function's parameters in their order."""
    inputs: list[IOSpec] = []
    outputs: list[IOSpec] = []
    injected: list[str] = []
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise fail(f"*{param.name} is not supported", param.name, "list every input by name")
        if param.name in runtime.provides:  # the runtime's object (spark, client), not an input
            injected.append(param.name)
            continue
        io, direction = _parameter_port(param, hints, described, fail)
        (outputs if direction == "out" else inputs).append(io)
    return inputs, outputs, injected


def _parameter_port(
    param: inspect.Parameter,
    hints: dict[str, Any],
    described: dict[str, str],
    fail: Callable[..., Exception],
) -> tuple[IOSpec, str]:
    """One parameter's IOSpec, with its default checked, and its direction ("in" or "out")."""
    if param.name not in hints:
        raise fail(
            f"input '{param.name}' has no type hint",
            param.name,
            "annotate it, e.g. 'x: int' or 'data: Input[Dataset]'",
        )
    try:
        info = describe_annotation(hints[param.name])
    except UnsupportedAnnotation as exc:
        raise fail(
            f"input '{param.name}' has an unsupported annotation: {exc}", param.name
        ) from exc
    io = IOSpec(param.name, info.type, info.artifact, described.get(param.name, ""))
    if info.direction == "out":
        if info.type.startswith("list["):
            raise fail(
                f"output '{param.name}' is a list of artifacts",
                param.name,
                "write one Output[...] per artifact; lists come from Collected(...)",
            )
        return io, "out"
    if param.default is not param.empty:
        if info.artifact:
            raise fail(f"artifact input '{param.name}' cannot have a default", param.name)
        _check_default(param.name, param.default, info.type, fail)
        io.default = param.default
    return io, "in"


def check_runtime_fit(
    func: Callable[..., Any],
    inputs: list[IOSpec],
    injected: list[str],
    runtime: RuntimeConfig,
    cache: Any,
    fail: Callable[..., Exception],
) -> None:
    """Refuse what the runtime cannot run: a Spark DataFrame input without Spark, and for a
    served function a cache or a missing parameter the runtime provides."""
    for io in inputs:
        if io.type == "pyspark.sql.DataFrame" and "spark" not in runtime.provides:
            raise fail(
                f"input '{io.name}' is a Spark DataFrame, which needs a Spark session to read",
                io.name,
                "run the component with runtime=Spark(), or annotate the input pandas.DataFrame",
            )
    if runtime.serves and cache:
        raise fail(
            f"a {runtime.kind} step deploys a service, and a cached result would be the URL "
            "of a service that is gone",
            "cache",
            "leave cache off for served functions",
        )
    if runtime.serves:
        missing = [name for name in runtime.provides if name not in injected]
        if missing:
            raise fail(
                f"a {runtime.kind} function takes ({', '.join(runtime.provides)}); "
                f"'{func.__name__}' lacks {', '.join(missing)}",
                missing[0],
                f"define it as def {func.__name__}({', '.join(runtime.provides)}): ...",
            )


def _check_default(name: str, default: Any, type_str: str, fail: Callable[..., Exception]) -> None:
    try:
        json.dumps(default)
    except TypeError as exc:
        raise fail(f"default of '{name}' is not JSON-serializable", name) from exc
    if not value_matches(default, type_str):
        raise fail(f"default {default!r} of '{name}' is not a {type_str}", name)


def return_outputs(
    annotation: Any, described: dict[str, str], fail: Callable[..., Exception]
) -> tuple[str, list[IOSpec]]:
    if annotation is None or annotation is type(None):
        return "none", []
    fields = getattr(annotation, "__annotations__", None)
    if isinstance(annotation, type) and issubclass(annotation, tuple) and fields:
        outs = []
        for field_name, field_type in typing.get_type_hints(annotation).items():
            kind = _return_type(field_type, field_name, fail)
            outs.append(IOSpec(field_name, kind, artifact=is_value_file(kind)))
        return "namedtuple", outs
    description = described.get("Returns", "")
    kind = _return_type(annotation, "return", fail)
    return "single", [IOSpec(SINGLE_OUTPUT, kind, is_value_file(kind), description)]


def _return_type(annotation: Any, where: str, fail: Callable[..., Exception]) -> str:
    try:
        info = describe_annotation(annotation)
    except UnsupportedAnnotation as exc:
        raise fail(f"return value '{where}' has an unsupported annotation: {exc}", where) from exc
    if info.artifact and not is_value_file(info.type):
        raise fail(f"'{where}' returns an artifact", where, "write it to an Output[...] parameter")
    return info.type
