"""A pipeline that returns ``task.outputs`` (or a nested pipeline's ``.outputs``), as KFP's
pipelines do when their return annotation is a NamedTuple: each field is the output of that
name, its type checked against the field's."""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dagwright.components.artifacts import Artifact
from dagwright.components.types import UnsupportedAnnotation, compatible, describe_annotation

if TYPE_CHECKING:
    from dagwright.pipelines.builder import PipelineBuilder
    from dagwright.pipelines.handles import Outputs

_NO_HINT: Any = object()


def returned_outputs(
    builder: PipelineBuilder, outputs: Outputs, func: Callable[..., Any] | None
) -> dict[str, Any]:
    """The pipeline's outputs from a returned ``.outputs``: the fields of the function's
    NamedTuple return annotation, each the output of that name; every output by its name when
    the function has no return annotation.

    Raises:
        ValidationError: for another return annotation, a field no output has, or a field
            whose type the output's does not fit.
    """
    names = outputs.keys()
    hint = _return_hint(func) if func is not None else _NO_HINT
    if hint is _NO_HINT:
        return {name: outputs[name] for name in names}
    fields: dict[str, Any] = getattr(hint, "__annotations__", {})
    if not (isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields")):
        raise builder.error(
            f"the pipeline returns {outputs!r} but its return annotation is {hint!r}, not a "
            "NamedTuple",
            field="return",
            fix="annotate the pipeline -> NamedTuple('Outputs', [(name, type), ...]) with the "
            f"outputs it returns ({', '.join(names)}), or return one output (task.output)",
        )
    mapped: dict[str, Any] = {}
    for field in hint._fields:
        if field not in names:
            raise builder.error(
                f"the return annotation's field '{field}' is not an output of "
                f"'{outputs.handle.name}' (its outputs: {', '.join(names) or 'none'})",
                field=f"return.{field}",
                fix="name each field of the NamedTuple after an output of the returned task",
            )
        ref = outputs[field]
        want = fields.get(field)
        if want is not None:
            _check_type(builder, field, want, builder.type_of(builder.output_value(field, ref)))
        mapped[field] = ref
    return mapped


def _return_hint(func: Callable[..., Any]) -> Any:
    """The function's evaluated return annotation; ``_NO_HINT`` when it has none (or one
    that does not evaluate here, such as a class local to the caller: then every output)."""
    if "return" not in getattr(func, "__annotations__", {}):
        return _NO_HINT
    try:
        return typing.get_type_hints(func).get("return", _NO_HINT)
    except Exception:  # a name only the caller's scope knows: treat as not annotated
        return _NO_HINT


def _check_type(builder: PipelineBuilder, field: str, want: Any, have: str) -> None:
    try:  # KFP's NamedTuples name artifact fields by their bare class (Dataset, Model)
        is_class = isinstance(want, type) and issubclass(want, Artifact)
        declared = want.type_name if is_class else describe_annotation(want).type
    except UnsupportedAnnotation as exc:
        raise builder.error(
            f"the return annotation's field '{field}' has an unsupported type: {exc}",
            field=f"return.{field}",
            fix="annotate it with the output's type",
        ) from exc
    if not compatible(have, declared):
        raise builder.error(
            f"the return annotation's field '{field}' is {declared}, but the output returned "
            f"for it is {have}",
            field=f"return.{field}",
            fix=f"annotate '{field}' as {have}, or return an output of type {declared}",
        )
