"""A model of how Argo fills the ``{{...}}`` tags of a DAG task's ``when``. It is not Argo.

Argo v4.1.2 (``workflow/controller/dag.go``, ``resolveDependencyReferences``) marshals the task
to JSON and runs ``util/template``'s ``Replace`` over that text: valyala/fasttemplate finds each
``{{`` and the next ``}}``; a tag starting with ``=`` is an expression (``kind.go``:
``jsonutil.Fix`` turns ``\\u003c``, ``\\u003e``, ``\\u0026`` back into ``<``, ``>``, ``&``;
``template.go`` turns ``\\"`` into ``"``; ``expression_template.go``: a ``?`` with a ``:`` makes
a ternary, the text is JSON-unquoted, compiled and run by expr-lang over the variables expanded
into nested maps (``util/expr/env``: ``tasks.a.outputs.parameters.b`` is
``tasks['a']['outputs']['parameters']['b']``, ``asInt``/``asFloat`` are expr-lang's
``int``/``float``, ``sprig`` is Masterminds' sprig), and its ``%v`` written back JSON-escaped),
any other tag a variable. With unresolved tags allowed, as there, an expression that fails to
unquote, compile or run is written back as it was, and govaluate then fails on ``{{=``: the
node errors. This model raises ``ExpressionError`` for that outcome directly.

The expr-lang part covers the subset dagwright emits, strictly (expr-lang's ``parser/lexer``,
``builtin/builtin.go``, ``vm/runtime``): integer, float and quoted string literals, ``true``,
``false``, names, ``['key']`` and ``.key``, calls of ``int``, ``float``, ``asInt``,
``asFloat``, ``lower``, ``trim``, ``hasPrefix``, ``trimPrefix``, ``sprig.b64dec``, and for
memoization keys ``sprig.sha256sum``, ``sprig.default``, ``sprig.regexFind``, ``toJson`` and
``fromJSON``, ``==``,
``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in`` over ``[...]``, ``!``, unary ``-``, ``&&``, ``||``,
the ternary ``?:`` (the branch not taken is not evaluated, as expr-lang's jumps skip it) and
parentheses. ``int`` of text is Go's ``strconv.Atoi``, ``float`` of text
``strconv.ParseFloat``; numbers of either kind compare by value; ordering other mixed types is
an error; ``==`` of mixed types is false. Anything else raises ``NotModelled``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

from govaluate_lexer import NotModelled, WhenError, go_v
from govaluate_model import should_execute


class ExpressionError(WhenError):
    """An expression tag Argo leaves unresolved: govaluate then fails, the node errors."""


def when_holds(when: str, simple: Callable[[str], str], values: dict[str, str]) -> bool:
    """Whether Argo runs a DAG task with this ``when``: tags filled, then govaluate.

    ``simple`` fills a plain ``{{name}}`` tag (given the whole tag); ``values`` are the
    variables an expression sees, by their dotted names.

    Raises:
        WhenError: where Argo errors the task's node.
    """
    return should_execute(replace_tags(when, simple, values))


def replace_tags(text: str, simple: Callable[[str], str], values: dict[str, str]) -> str:
    """``template.Replace`` of one string field of the JSON-marshalled task."""
    encoded = _go_json(text)[1:-1]
    out, at = [], 0
    while (start := encoded.find("{{", at)) >= 0:
        end = encoded.find("}}", start + 2)
        if end < 0:
            raise ExpressionError(f"Cannot find end tag='}}}}' in the template={text!r}")
        tag = encoded[start + 2 : end]
        out.append(encoded[at:start])
        if tag.startswith("="):
            out.append(_go_json(_expression(tag[1:], values))[1:-1])
        else:
            out.append(_go_json(simple("{{" + tag + "}}"))[1:-1])
        at = end + 2
    out.append(encoded[at:])
    return json.loads('"' + "".join(out) + '"')


def _go_json(text: str) -> str:
    """A string as Go's ``json.Marshal`` writes it (``<``, ``>``, ``&`` escaped)."""
    quoted = json.dumps(text, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        quoted = quoted.replace(char, escaped)
    return quoted.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _expression(tag: str, values: dict[str, str]) -> str:
    for escaped, char in (("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&")):
        tag = tag.replace(escaped, char)  # jsonutil.Fix
    tag = tag.replace('\\"', '"')
    try:
        source = json.loads(f'"{tag}"')
    except ValueError:
        raise ExpressionError(f"the expression {tag!r} does not unquote as JSON") from None
    tokens = _lex(source)
    for variable in _HELD_BACK:  # expression_template.go, anyVarNotInEnv
        if _holds_variable(tokens, variable) and variable not in values:
            raise ExpressionError(f"{variable!r} in {source!r} is not set: the tag stays as it was")
    result = _Parser(tokens, _environment(values)).run()
    if result is None:
        raise ExpressionError(f"the expression {source!r} gives nil")
    return _go_v(result)


# Variables Argo leaves a whole expression tag unresolved for when its environment lacks them
# (util/template/expression_template.go, expressionReplace: anyVarNotInEnv, matched on expr-lang
# tokens by hasVariableInExpression, so ``tasks.retries.outputs`` holds ``retries``; a string
# token such as ``['retries']`` does not). A DAG task's when has none of them in its env.
_HELD_BACK = (
    "retries",
    "lastRetry.exitCode",
    "lastRetry.status",
    "lastRetry.duration",
    "lastRetry.message",
    "workflow.status",
    "workflow.failures",
)


def _holds_variable(tokens: list[tuple[str, Any]], variable: str) -> bool:
    wanted: list[tuple[str, Any]] = []
    for part in variable.split("."):
        wanted += [("op", "."), ("name", part)] if wanted else [("name", part)]
    return any(tokens[i : i + len(wanted)] == wanted for i in range(len(tokens)))


def _environment(values: dict[str, str]) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for name, value in values.items():
        *path, last = name.split(".")
        here = env
        for part in path:
            here = here.setdefault(part, {})
            if not isinstance(here, dict):
                break
        else:
            here.setdefault(last, value)
    env["sprig"] = {
        "b64dec": _b64dec,
        "sha256sum": _sha256sum,
        "default": _default,
        "regexFind": _regex_find,
    }
    env["toJson"] = _to_json  # util/expr/env: Go's json.Marshal
    for name, function in _BUILTINS.items():
        env[name] = function
    return env


def _fail(message: str) -> Any:
    raise ExpressionError(message)


def _atoi(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        _fail(f"invalid operation: int({_go_type(value)})")
    if isinstance(value, (int, float)):
        return int(value)
    if not re.fullmatch(r"[+-]?\d+", value, re.ASCII) or not -(2**63) <= int(value) < 2**63:
        _fail(f"invalid operation: int({value})")
    return int(value)


_GO_FLOAT = re.compile(
    r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)", re.ASCII | re.IGNORECASE
)


def _parse_float(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        _fail(f"invalid operation: float({_go_type(value)})")
    if isinstance(value, (int, float)):
        return float(value)
    if not _GO_FLOAT.fullmatch(value):
        _fail(f"invalid operation: float({value})")
    number = float(value)
    if math.isinf(number) and "inf" not in value.lower():  # ParseFloat: ErrRange
        _fail(f"invalid operation: float({value})")
    return number


def _string_arg(name: str, function: Callable[[str], str]) -> Callable[[Any], str]:
    def call(value: Any) -> str:
        if not isinstance(value, str):
            _fail(f"invalid argument for {name} (type {_go_type(value)})")
        return function(value)

    return call


def _b64dec(value: Any) -> str:
    try:  # sprig returns the error's text instead of failing
        return base64.b64decode(str(value), validate=True).decode("utf-8", "surrogateescape")
    except (binascii.Error, ValueError) as exc:
        return f"illegal base64 data: {exc}"


def _sha256sum(value: Any) -> str:
    if not isinstance(value, str):
        _fail(f"invalid argument for sha256sum (type {_go_type(value)})")
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def _regex_find(pattern: Any, text: Any) -> str:
    """sprig's ``regexFind``: the first match of a Go (RE2) pattern, or "" when none; the
    patterns dagwright writes mean the same to Python's ``re``."""
    if not isinstance(pattern, str) or not isinstance(text, str):
        _fail(f"invalid argument for regexFind (type {_go_type(pattern)}, {_go_type(text)})")
    found = re.search(pattern, text)
    return found.group(0) if found else ""


def _default(fallback: Any, given: Any = None) -> Any:
    """sprig's ``default``: ``given`` unless it is empty (nil, "", 0, false, an empty list or
    map), else the fallback."""
    return fallback if given in (None, "", 0, False) or given == [] or given == {} else given


def _to_json(value: Any) -> str:
    """Go's ``json.Marshal`` of the values dagwright's keys hold: texts (``<``, ``>``, ``&``
    escaped), nil, lists and maps (keys sorted) of them."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _go_json(value)
    if isinstance(value, list):
        return "[" + ",".join(_to_json(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items())
        return "{" + ",".join(f"{_go_json(k)}:{_to_json(v)}" for k, v in items) + "}"
    raise NotModelled(f"toJson of {_go_type(value)}")


def _from_json(value: Any) -> Any:
    """expr-lang's ``fromJSON``: Go's json.Unmarshal of a text; an error fails the expression."""
    if not isinstance(value, str):
        _fail(f"invalid argument for fromJSON (type {_go_type(value)})")
    try:
        return json.loads(value)
    except ValueError as exc:
        return _fail(f"fromJSON: {exc}")


_BUILTINS: dict[str, Callable[..., Any]] = {
    "fromJSON": _from_json,
    "int": _atoi,
    "asInt": _atoi,
    "float": _parse_float,
    "asFloat": _parse_float,
    "lower": _string_arg("lower", str.lower),
    "trim": _string_arg("trim", str.strip),
    "hasPrefix": lambda text, prefix: _two_strings("hasPrefix", text, prefix, str.startswith),
    "trimPrefix": lambda text, prefix: _two_strings("trimPrefix", text, prefix, str.removeprefix),
}


def _two_strings(name: str, text: Any, other: Any, function: Callable[[str, str], Any]) -> Any:
    if not isinstance(text, str) or not isinstance(other, str):
        _fail(f"invalid argument for {name} (type {_go_type(text)}, {_go_type(other)})")
    return function(text, other)


_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\].,?:-]))",
    re.ASCII,
)


def _lex(source: str) -> list[tuple[str, Any]]:
    tokens, at = [], 0
    while at < len(source.rstrip()):
        match = _TOKEN.match(source, at)
        if match is None:
            raise NotModelled(f"expr-lang text {source[at:]!r}")
        kind = match.lastgroup
        assert kind is not None
        text = match.group(kind)
        if kind == "number":
            tokens.append(("value", float(text) if re.search("[.eE]", text) else int(text)))
        elif kind == "string":
            tokens.append(("value", _unquote(text)))
        else:
            tokens.append((kind, text))
        at = match.end()
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    if "\\" in body:
        raise NotModelled("escapes in expr-lang strings (dagwright writes none)")
    return body


class _Parser:
    """Recursive descent over the subset, evaluating as it goes (``&&``, ``||`` short)."""

    def __init__(self, tokens: list[tuple[str, Any]], env: dict[str, Any]) -> None:
        self.tokens, self.at, self.env = tokens, 0, env

    def run(self) -> Any:
        value = self._ternary()
        if self.at != len(self.tokens):
            _fail(f"unexpected token {self.tokens[self.at][1]!r}")
        return value

    def _peek(self, *texts: str) -> bool:
        return (
            self.at < len(self.tokens)
            and self.tokens[self.at][1] in texts
            and (self.tokens[self.at][0] in ("op", "name"))
        )

    def _expect(self, text: str) -> None:
        if not self._peek(text):
            _fail(f"expected {text!r}")
        self.at += 1

    def _ternary(self) -> Any:
        """``a ? b : c``: expr-lang jumps over the branch it does not take, so that branch is
        skipped here, not evaluated (a missing output there is no error)."""
        condition = self._or()
        if not self._peek("?"):
            return condition
        self.at += 1
        if not isinstance(condition, bool):
            _fail(f"non-bool expression (type {_go_type(condition)}) used as condition")
        if condition:
            value = self._ternary()
            self._expect(":")
            self._skip()
            return value
        self._skip()
        self._expect(":")
        return self._ternary()

    def _skip(self) -> None:
        """Step over one ternary branch: up to a ':' of this ternary, a ',' or a closing bracket
        at its depth, or the end."""
        depth = nested = 0
        while self.at < len(self.tokens):
            kind, text = self.tokens[self.at]
            if kind == "op" and text in ("(", "["):
                depth += 1
            elif kind == "op" and text in (")", "]"):
                if depth == 0:
                    return
                depth -= 1
            elif kind == "op" and text == "?" and depth == 0:
                nested += 1
            elif kind == "op" and text == ":" and depth == 0:
                if nested == 0:
                    return
                nested -= 1
            elif kind == "op" and text == "," and depth == 0:
                return
            self.at += 1

    def _or(self) -> Any:
        value = self._and()
        while self._peek("||"):
            self.at += 1
            right = self._and()
            value = _logical("||", value, right)
        return value

    def _and(self) -> Any:
        value = self._comparison()
        while self._peek("&&"):
            self.at += 1
            right = self._comparison()
            value = _logical("&&", value, right)
        return value

    def _comparison(self) -> Any:
        value = self._unary()
        while self._peek("==", "!=", "<", "<=", ">", ">=", "in"):
            op = self.tokens[self.at][1]
            self.at += 1
            value = _compare(op, value, self._unary())
        return value

    def _unary(self) -> Any:
        if self._peek("!"):
            self.at += 1
            value = self._unary()
            return not value if isinstance(value, bool) else _fail("invalid operation: ! non-bool")
        if self._peek("-"):
            self.at += 1
            value = self._unary()
            return -value if _number(value) else _fail(f"invalid operation: - {_go_type(value)}")
        return self._postfix(self._primary())

    def _primary(self) -> Any:
        if self.at >= len(self.tokens):
            _fail("unexpected end of expression")
        kind, text = self.tokens[self.at]
        self.at += 1
        if kind == "value":
            return text
        if kind == "name":
            if text in ("true", "false"):
                return text == "true"
            if text == "nil":
                return None
            if text not in self.env:
                _fail(f"unknown name {text}")
            return self.env[text]
        if text == "(":
            value = self._ternary()
            self._expect(")")
            return value
        if text == "[":
            items = []
            while not self._peek("]"):
                items.append(self._or())
                if not self._peek("]"):
                    self._expect(",")
            self.at += 1
            return items
        raise NotModelled(f"expr-lang token {text!r}")

    def _postfix(self, value: Any) -> Any:
        while True:
            if self._peek("["):
                self.at += 1
                key = self._or()
                self._expect("]")
                value = _fetch(value, key)
            elif self._peek("."):
                self.at += 1
                kind, key = self.tokens[self.at]
                self.at += 1
                value = _fetch(value, key)
            elif self._peek("("):
                self.at += 1
                args = []
                while not self._peek(")"):
                    args.append(self._or())
                    if not self._peek(")"):
                        self._expect(",")
                self.at += 1
                if not callable(value):
                    raise NotModelled("calls of anything but builtins")
                value = value(*args)
            else:
                return value


def _fetch(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        return value.get(key)  # a missing key of a map is nil
    return _fail(f"cannot fetch {key} from {_go_type(value)}")


def _logical(op: str, left: Any, right: Any) -> bool:
    if not isinstance(left, bool) or not isinstance(right, bool):
        _fail(f"invalid operation: {op} (mismatched types {_go_type(left)} and {_go_type(right)})")
    return (left and right) if op == "&&" else (left or right)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if _number(left) and _number(right):
        return bool(left == right)
    return type(left) is type(right) and bool(left == right)


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op == "in":
        if not isinstance(right, list):
            _fail(f"operator in not defined on {_go_type(right)}")
        return any(_equal(left, item) for item in right)
    both_strings = isinstance(left, str) and isinstance(right, str)
    if not (both_strings or (_number(left) and _number(right))):
        _fail(f"invalid operation: {op} (mismatched types {_go_type(left)} and {_go_type(right)})")
    if both_strings:  # Go orders strings by their UTF-8 bytes
        left, right = (
            left.encode("utf-8", "surrogateescape"),
            right.encode("utf-8", "surrogateescape"),
        )
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _go_type(value: Any) -> str:
    if value is None:
        return "<nil>"
    return {bool: "bool", int: "int", float: "float64", str: "string", list: "[]interface {}"}.get(
        type(value), "map[string]interface {}"
    )


def _go_v(value: Any) -> str:
    """``fmt.Sprintf("%v", result)`` of a result."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_v(value)
    return str(value)
