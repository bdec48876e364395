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
            bound[param.name] = read_value(value, param.type, param.name, ir.name)
        else:
            bound[param.name] = checked_value(value, param.type, param.name, ir.name)
    _check_imported_uris(ir, bound)
    return bound


def read_value(text: str, type_str: str, field: str, pipeline: str | None = None) -> Any:
    """``-p``'s text for a parameter of ``type_str``, as the value a run records (JSON).

    Raises:
        ValidationError: naming ``field``, with ``pass -p FIELD=<a TYPE>`` as the fix.
    """
    fix = f"pass -p {field}=<a {type_str}>"
    try:
        value = t.from_text(text, type_str)
    except ValueError as exc:
        shown = _shortened(text)
        why = str(exc).replace(text, shown)  # parsers quote the whole value again
        raise ValidationError(
            f"cannot read {shown!r} as {type_str} ({_shortened(why, 200)})",
            pipeline=pipeline,
            field=field,
            fix=fix,
        ) from exc
    return checked_value(value, type_str, field, pipeline, fix)


def checked_value(
    value: Any, type_str: str, field: str, pipeline: str | None = None, fix: str | None = None
) -> Any:
    """``value`` checked against ``type_str``, in the JSON form a run records it, so a resumed
    or replayed run gets back the same value.

    Raises:
        ValidationError: naming ``field``.
    """
    if not t.value_matches(value, type_str):
        raise ValidationError(
            f"{_shortened(repr(value))} is not a {type_str}",
            pipeline=pipeline,
            field=field,
            fix=fix,
        )
    try:
        return as_json_value(value, type_str, f"parameter '{field}'")
    except NotJsonValue as exc:
        raise ValidationError(str(exc), pipeline=pipeline, field=field, fix=fix) from exc


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
