"""A model of how KFP's driver evaluates a task's ``triggerPolicy.condition``. It is not CEL.

The driver (kubeflow/pipelines ``backend/src/v2/expression/expression.go``) compiles the
condition with cel-go over the executor input, whose ``inputs.parameter_values`` map holds
``google.protobuf.Value``s: a parameter declared STRING is a CEL string, NUMBER_INTEGER and
NUMBER_DOUBLE a double (protobuf's Value has one number kind), BOOLEAN a bool. CEL (the
cel-spec language definition) has no implicit conversion: ``<`` and ``==`` take two operands of
one type, so comparing a string with a number fails the task, and two strings compare as
strings (``"10" > "9"`` is false). ``int()`` of a double truncates, of a string parses base 10;
``double()`` of an int or a string converts. String literals take CEL's escapes only.

A parameter declared LIST is a CEL list, compared element by element with ``==``/``!=``.

The subset is what ``dagwright/compiler/kfp/cel.py`` writes: ``inputs.parameter_values['k']``,
``int(...)``, ``double(...)``, int, double, string, bool and null literals, the empty list
literal ``[]`` (the guards of ``dagwright/compiler/kfp/guards.py``), comparisons, ``!``, ``&&``,
``||`` and parentheses. Anything else raises ``CelError``, as a strict model should.
"""

from __future__ import annotations

import re
from typing import Any

_TYPES = {
    "STRING": "string",
    "NUMBER_INTEGER": "double",
    "NUMBER_DOUBLE": "double",
    "BOOLEAN": "bool",
    "LIST": "list",
    "STRUCT": "map",
}
_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", "?": "?", '"': '"', "'": "'", "`": "`",
}  # fmt: skip
_TOKEN = re.compile(
    r"\s*(?:(?P<param>inputs\.parameter_values\['(?P<key>[^'\\]+)'\])"
    r"|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r'|(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<word>int|double|true|false|null)\b"
    r"|(?P<list>\[\s*\])"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[<>!()]))",
    re.ASCII,
)


class CelError(ValueError):
    """cel-go refuses the condition, or the driver fails evaluating it."""


def _string(literal: str) -> str:
    body, out, at = literal[1:-1], [], 0
    while at < len(body):
        char = body[at]
        if char != "\\":
            out.append(char)
            at += 1
            continue
        nxt = body[at + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            at += 2
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            digits = body[at + 2 : at + 2 + width]
            if not re.fullmatch(rf"[0-9a-fA-F]{{{width}}}", digits):
                raise CelError(f"bad escape in {literal}")
            out.append(chr(int(digits, 16)))
            at += 2 + width
        else:
            raise CelError(f"CEL has no escape \\{nxt} (in {literal})")
    return "".join(out)


def _lex(condition: str) -> list[tuple[str, Any]]:
    tokens, at = [], 0
    while at < len(condition.rstrip()):
        match = _TOKEN.match(condition, at)
        if match is None:
            raise CelError(f"cannot read {condition[at:]!r}")
        if match.group("param"):
            tokens.append(("param", match.group("key")))
        elif match.group("number"):
            text = match.group("number")
            tokens.append(("value", float(text) if re.search("[.eE]", text) else int(text)))
        elif match.group("string"):
            tokens.append(("value", _string(match.group("string"))))
        elif match.group("list"):
            tokens.append(("value", []))
        else:
            text = match.group("word") or match.group("op")
            literals = {"true": True, "false": False, "null": None}
            tokens.append(("value", literals[text]) if text in literals else ("op", text))
        at = match.end()
    return tokens


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    kinds = {bool: "bool", int: "int", float: "double", str: "string", list: "list"}
    return kinds.get(type(value), "map")


class _Evaluator:
    """Recursive descent; with ``values`` None it only checks types (each parameter stands
    for a value of its declared type)."""

    def __init__(self, condition: str, types: dict[str, str], values: dict[str, Any] | None):
        self.tokens, self.at, self.types, self.values = _lex(condition), 0, types, values

    def run(self) -> Any:
        result = self._or()
        if self.at != len(self.tokens):
            raise CelError(f"unexpected {self.tokens[self.at][1]!r}")
        return result

    def _next_is(self, *ops: str) -> bool:
        return self.at < len(self.tokens) and self.tokens[self.at] in [("op", o) for o in ops]

    def _or(self) -> Any:
        value = self._and()
        while self._next_is("||"):
            self.at += 1
            value = _logical(value, self._and(), any)
        return value

    def _and(self) -> Any:
        value = self._compare()
        while self._next_is("&&"):
            self.at += 1
            value = _logical(value, self._compare(), all)
        return value

    def _compare(self) -> Any:
        value = self._unary()
        if self._next_is("==", "!=", "<", "<=", ">", ">="):
            op = self.tokens[self.at][1]
            self.at += 1
            value = _comparison(op, value, self._unary())
        return value

    def _unary(self) -> Any:
        if self._next_is("!"):
            self.at += 1
            value = self._unary()
            if not isinstance(value, bool):
                raise CelError(f"no such overload: !{_kind(value)}")
            return not value
        return self._primary()

    def _primary(self) -> Any:
        if self.at >= len(self.tokens):
            raise CelError("unexpected end of condition")
        kind, text = self.tokens[self.at]
        self.at += 1
        if kind == "value":
            return text
        if kind == "param":
            return self._parameter(text)
        if text == "(":
            value = self._or()
            if not self._next_is(")"):
                raise CelError("expected )")
            self.at += 1
            return value
        if text in ("int", "double") and self._next_is("("):
            self.at += 1
            argument = self._or()
            if not self._next_is(")"):
                raise CelError("expected )")
            self.at += 1
            return _convert(text, argument)
        raise CelError(f"unexpected {text!r}")

    def _parameter(self, key: str) -> Any:
        if key not in self.types:
            raise CelError(f"no input parameter {key!r}")
        kind = _TYPES.get(self.types[key], "map")
        if self.values is None:  # a stand-in of the declared type
            return {"string": "", "double": 0.0, "bool": False, "list": []}.get(kind, {})
        value = self.values[key]
        if kind == "double":
            return float(value)
        if kind == "string" and not isinstance(value, str):
            raise CelError(f"{key} is declared STRING but holds {value!r}")
        return value


def _logical(left: Any, right: Any, combine: Any) -> bool:
    for side in (left, right):
        if not isinstance(side, bool):
            raise CelError(f"no such overload: logical operator on {_kind(side)}")
    return bool(combine([left, right]))


def _comparison(op: str, left: Any, right: Any) -> bool:
    kinds = {_kind(left), _kind(right)}
    if len(kinds) > 1 and not (op in ("==", "!=") and "null" in kinds):
        raise CelError(f"no such overload: {_kind(left)} {op} {_kind(right)}")
    if op in ("==", "!="):
        return (left == right) == (op == "==")
    if kinds & {"bool", "null", "map", "list"}:
        raise CelError(f"no such overload: {_kind(left)} {op} {_kind(right)}")
    if isinstance(left, str):  # cel-go orders strings by their UTF-8 bytes
        left, right = left.encode(), right.encode()
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _convert(function: str, value: Any) -> Any:
    try:
        if function == "int":
            if isinstance(value, str) and not re.fullmatch(r"[+-]?\d+", value, re.ASCII):
                raise ValueError(value)
            if isinstance(value, bool) or value is None:
                raise ValueError(value)
            number = int(value)
            if not -(2**63) <= number < 2**63:
                raise ValueError(value)
            return number
        if isinstance(value, bool) or value is None:
            raise ValueError(value)
        return float(value)
    except (ValueError, OverflowError, TypeError):
        raise CelError(f"{function}({value!r}) fails") from None


def check(condition: str, types: dict[str, str]) -> None:
    """Raise ``CelError`` if cel-go would refuse ``condition`` for any values of the declared
    types (a literal it cannot read, operands of two types)."""
    _Evaluator(condition, types, None).run()


def evaluate(condition: str, types: dict[str, str], values: dict[str, Any]) -> bool:
    result = _Evaluator(condition, types, values).run()
    if not isinstance(result, bool):
        raise CelError(f"the condition gives {result!r}, not a bool")
    return result
