"""Binding run arguments to a pipeline's parameters, with the checks a run needs first."""

from __future__ import annotations

from typing import Any

from dagwright.components import types as t
from dagwright.components.plain import NotJsonValue, as_json_value
from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR


def bind_arguments(
    ir: PipelineIR, given: dict[str, Any], *, as_text: bool = False
) -> dict[str, Any]:
    """Every parameter's value: the given one or the default.

    Args:
        ir: The pipeline.
        given: Values by parameter name.
        as_text: The values are command-line text (``-p name=value``) to parse by type.

    Raises:
        ValidationError: for an unknown parameter, a missing one, or a value of the wrong type.
    """
    names = [p.name for p in ir.params]
    for name in given:
        if name not in names:
            raise ValidationError(
                f"unknown parameter '{name}'",
                pipeline=ir.name,
                field=name,
                fix=f"its parameters are {names}" if names else "it takes none",
            )
    bound: dict[str, Any] = {}
    for param in ir.params:
        if param.name not in given:
            if not param.has_default:
                raise ValidationError(
                    f"missing parameter '{param.name}' ({param.type})",
                    pipeline=ir.name,
                    field=param.name,
                    fix=f"pass -p {param.name}=... or {param.name}=...",
                )
            bound[param.name] = param.default
            continue
        value = given[param.name]
        if as_text:
            try:
                value = t.from_text(value, param.type)
            except ValueError as exc:
                shown = _shortened(value)
                why = str(exc).replace(value, shown)  # parsers quote the whole value again
                raise ValidationError(
                    f"cannot read {shown!r} as {param.type} ({_shortened(why, 200)})",
                    pipeline=ir.name,
                    field=param.name,
                    fix=f"pass -p {param.name}=<a {param.type}>",
                ) from exc
        if not t.value_matches(value, param.type):
            raise ValidationError(
                f"{_shortened(repr(value))} is not a {param.type}",
                pipeline=ir.name,
                field=param.name,
            )
        try:  # recorded as JSON: the value a resumed run gets back is the same
            bound[param.name] = as_json_value(value, param.type, f"parameter '{param.name}'")
        except NotJsonValue as exc:
            raise ValidationError(str(exc), pipeline=ir.name, field=param.name) from exc
    _check_imported_uris(ir, bound)
    return bound


def _check_imported_uris(ir: PipelineIR, bound: dict[str, Any]) -> None:
    """A parameter an importer reads as its URI must be one it can read, before the run."""
    from dagwright.components.importer import URI_INPUT, check_uri

    for task in ir.tasks:
        source = task.inputs.get(URI_INPUT, {}).get("param")
        if source is not None and ir.component_of(task).importer is not None:
            try:
                check_uri(bound.get(source), f"importer '{task.name}'")
            except ValidationError as exc:
                raise ValidationError(
                    f"parameter '{source}': {exc.problem}",
                    pipeline=ir.name,
                    field=source,
                    fix=exc.fix,
                ) from None


def _shortened(text: str, size: int = 80) -> str:
    """A long value cut in the middle, so a message names it without repeating all of it."""
    return text if len(text) <= size else text[: size - 20] + "..." + text[-10:]
