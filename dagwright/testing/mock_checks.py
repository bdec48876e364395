"""A mock checked against the component it replaces, before anything runs: it takes the
component's inputs (parameters and artifacts) and ``Output[...]`` parameters by name, with
compatible annotations, and returns what the component returns."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from dagwright.components.decorator import Component
from dagwright.components.spec import ComponentSpec, IOSpec
from dagwright.components.types import (
    TypeInfo,
    UnsupportedAnnotation,
    compatible,
    describe_annotation,
    is_value_file,
)
from dagwright.errors import ValidationError

_NOT_TAKEN = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_UNCHECKED = (Any, object)  # annotations that claim nothing: checked by values as it runs


def mock_callable(mock: Any, replaces: ComponentSpec) -> Callable[..., Any]:
    """The function a mock stands for: a plain callable as it is, a ``@component``'s function."""
    func = mock.func if isinstance(mock, Component) else mock
    if not callable(func):
        raise ValidationError(
            f"the mock of component '{replaces.name}' is a {type(mock).__name__}, not a function",
            field="mocks",
            fix="give a function or a @component that takes the component's inputs",
        )
    return func


def check_mock(mock: Any, spec: ComponentSpec, omitted: set[str]) -> Callable[..., Any]:
    """The mock's function, once it is known to fit in the place of ``spec``; ``omitted``
    names the inputs a task leaves to their default, which the mock needs a default for.

    A parameter without an annotation (or annotated ``Any``), a missing return annotation,
    and names a ``**kwargs`` takes are not checked here; the values it returns still are
    when it runs.

    Raises:
        ValidationError: naming the mock, the parameter and the fix.
    """
    func = mock_callable(mock, spec)
    where = f"mock '{_name(func)}' of component '{spec.name}'"
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError) as exc:
        from unittest.mock import NonCallableMock  # here: ~0.1 s, loaded by tests anyway

        if isinstance(func, NonCallableMock):  # Mock(spec=f): its spec checks its calls
            return func
        raise ValidationError(
            f"{where}: its signature cannot be read ({exc})",
            field="mocks",
            fix="give a function defined with def",
        ) from exc
    hints = _hints(func, where)
    expected = ports(spec)
    takes_any = any(p.kind == p.VAR_KEYWORD for p in params.values())
    for name, (port, out) in expected.items():
        param = params.get(name)
        if param is None or param.kind in _NOT_TAKEN or param.kind == param.POSITIONAL_ONLY:
            if takes_any:
                continue
            raise ValidationError(
                f"{where} does not take {'output' if out else 'input'} '{name}'",
                field=name,
                fix=f"add the parameter '{name}: {written(port, out)}' to {_name(func)}",
            )
        if name in hints and hints[name] not in _UNCHECKED:
            _check_parameter(where, name, hints[name], port, out)
        if name in omitted and param.default is param.empty:
            raise ValidationError(
                f"{where}: input '{name}' has no default, and a task leaves it to the "
                f"component's ({port.default!r})",
                field=name,
                fix=f"give it the default: '{name}: {written(port)} = {port.default!r}'",
            )
    for param in params.values():
        if param.kind in _NOT_TAKEN or param.name in expected or param.default is not param.empty:
            continue
        known = ", ".join(expected) or "none"
        raise ValidationError(
            f"{where} takes '{param.name}', which component '{spec.name}' does not have "
            f"(its inputs and outputs: {known})",
            field=param.name,
            fix=f"remove '{param.name}' from {_name(func)}, or give it a default",
        )
    if "return" in hints and hints["return"] not in _UNCHECKED:
        _check_return(where, hints["return"], spec)
    return func


def ports(spec: ComponentSpec) -> dict[str, tuple[IOSpec, bool]]:
    """What a function of the component is called with, by name: each input (not the ones
    ``set_env_variable`` adds, which become variables) and each ``Output[...]`` parameter
    (True), in the component's order."""
    variables = set(spec.env_inputs.values())
    found = {i.name: (i, False) for i in spec.inputs if i.name not in variables}
    found.update(
        (o.name, (o, True)) for o in spec.outputs if o.artifact and not is_value_file(o.type)
    )
    return found


def written(port: IOSpec, out: bool = False) -> str:
    """How a port is annotated in a function: ``Output[Model]``, ``Input[Dataset]``, ``int``."""
    if out:
        return f"Output[{port.type}]"
    if port.artifact and not is_value_file(port.type):
        return f"Input[{port.type}]"
    return port.type


def _check_parameter(where: str, name: str, hint: Any, port: IOSpec, out: bool) -> None:
    try:
        info = describe_annotation(hint)
    except UnsupportedAnnotation as exc:
        raise ValidationError(
            f"{where}: parameter '{name}' has an unsupported annotation ({exc})",
            field=name,
            fix=f"annotate it '{name}: {written(port, out)}'",
        ) from exc
    if (info.direction == "out") != out or not compatible(port.type, info.type):
        raise ValidationError(
            f"{where}: parameter '{name}' is annotated {_shown(info)}, but the component "
            f"gives it {written(port, out)}",
            field=name,
            fix=f"annotate it '{name}: {written(port, out)}'",
        )


def _check_return(where: str, annotation: Any, spec: ComponentSpec) -> None:
    """The mock's return annotation against the component's returned outputs."""
    from dagwright.components._ports import return_outputs

    def fail(problem: str, field: str | None = None, fix: str | None = None) -> ValidationError:
        return ValidationError(f"{where}: {problem}", field="return", fix=fix)

    shape, outs = return_outputs(annotation, {}, fail)
    returned = [o for o in spec.outputs if not o.artifact or is_value_file(o.type)]
    wanted = _returns_text(spec.returns, returned)
    # a single value is the component's one returned output, whatever its name (KFP's Output)
    mine = {o.name: o for o in outs}
    if shape == "single" and len(returned) == 1:
        mine = {returned[0].name: outs[0]}
    if shape != spec.returns or set(mine) != {o.name for o in returned}:
        raise fail(
            f"it returns {_returns_text(shape, outs)}, but the component returns {wanted}",
            fix=f"annotate its return {wanted}",
        )
    for out in returned:
        if not compatible(mine[out.name].type, out.type):
            what = "its value" if shape == "single" else f"field '{out.name}'"
            raise fail(
                f"{what} is a {mine[out.name].type}, but the component's is a {out.type}",
                fix=f"annotate its return {wanted}",
            )


def _returns_text(shape: str, outs: list[IOSpec]) -> str:
    if shape == "none":
        return "-> None"
    if shape == "single":
        return f"-> {outs[0].type}"
    return "a NamedTuple (" + ", ".join(f"{o.name}: {o.type}" for o in outs) + ")"


def _shown(info: TypeInfo) -> str:
    if info.direction == "out":
        return f"Output[{info.type}]"
    return f"Input[{info.type}]" if info.artifact and not is_value_file(info.type) else info.type


def _hints(func: Callable[..., Any], where: str) -> dict[str, Any]:
    """The mock's evaluated annotations; none for a callable that keeps none (a Mock)."""
    target = func if inspect.isroutine(func) or inspect.isclass(func) else type(func).__call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except (NameError, SyntaxError) as exc:  # an annotation that does not evaluate
        raise ValidationError(
            f"{where}: its type hints do not evaluate ({exc})",
            field="mocks",
            fix="import the names its annotations use, or leave them out",
        ) from exc
    except (TypeError, AttributeError):  # an object that carries no annotations
        return {}


def _name(func: Callable[..., Any]) -> str:
    name = getattr(func, "__name__", None)  # a Mock's is a Mock, unless it was given one
    return name if isinstance(name, str) else type(func).__name__
