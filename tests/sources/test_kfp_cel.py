"""The CEL that KFP's compiler writes for conditions, read into dagwright condition trees."""

from __future__ import annotations

from typing import Any

import pytest

from dagwright.errors import ValidationError
from dagwright.sources.kfp.cel import condition


def _channel(name: str) -> dict[str, Any]:
    return {"param": name.removeprefix("pipelinechannel--")}


def _read(text: str) -> dict[str, Any]:
    return condition(text, _channel, block="condition-1")


def _eq(name: str, value: Any, op: str = "eq") -> dict[str, Any]:
    return {"op": op, "left": {"param": name}, "right": {"constant": value}}


X = "inputs.parameter_values['pipelinechannel--x']"
Y = "inputs.parameter_values['pipelinechannel--y']"


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        (f"{X} == 'heads'", _eq("x", "heads")),
        (f"int({X}) > 1", _eq("x", 1, "gt")),
        (f"double({X}) <= 2.5", _eq("x", 2.5, "le")),
        (f"int({X}) >= -3", _eq("x", -3, "ge")),
        (f"{X} != true", _eq("x", True, "ne")),
        (f"{X} < 1e3", _eq("x", 1000.0, "lt")),
        (f"{X} == null", _eq("x", None)),
        (f'{X} == "two words"', _eq("x", "two words")),
        (f"{X} == 'a\\'b'", _eq("x", "a'b")),
        (f"{X} == {Y}", {"op": "eq", "left": {"param": "x"}, "right": {"param": "y"}}),
        ("1 < int(inputs.parameter_values[\"pipelinechannel--x\"])",
         {"op": "lt", "left": {"constant": 1}, "right": {"param": "x"}}),
        (f"!({X} == 'a')", {"op": "not", "arg": _eq("x", "a")}),
        (f"!({X} == 'a') && !({X} == 'b')",
         {"op": "and", "args": [{"op": "not", "arg": _eq("x", "a")},
                                {"op": "not", "arg": _eq("x", "b")}]}),
        # && binds tighter than ||, as in CEL
        (f"{X} == 'a' || {X} == 'b' && {Y} == 'c'",
         {"op": "or", "args": [_eq("x", "a"), {"op": "and", "args": [_eq("x", "b"),
                                                                      _eq("y", "c")]}]}),
        (f"({X} == 'a' || {X} == 'b') && {Y} == 'c'",
         {"op": "and", "args": [{"op": "or", "args": [_eq("x", "a"), _eq("x", "b")]},
                                _eq("y", "c")]}),
        ("true", {"constant": True}),
    ],
)  # fmt: skip
def test_the_cel_kfp_writes(text: str, tree: dict[str, Any]) -> None:
    assert _read(text) == tree


@pytest.mark.parametrize(
    ("text", "stopped_at"),
    [
        (f"size({X}) > 1", "size("),
        (f"{X} in ['a', 'b']", "in ["),
        (f"int({X}) + 1 > 2", "+ 1"),
        (f"{X}", "the end"),
        (f"{X} == 'a' &&", "the end"),
        (f"({X} == 'a'", "the end"),
        (f"{X}.startsWith('a')", ".startsWith"),
    ],
)
def test_cel_it_cannot_read_is_refused_naming_where(text: str, stopped_at: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _read(text)
    error = caught.value
    assert error.block == "condition-1" and error.field == "triggerPolicy.condition"
    assert stopped_at in error.problem and "cannot be imported" in error.problem
    assert "dsl.If" in (error.fix or "")
