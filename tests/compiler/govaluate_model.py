"""A model of govaluate as Argo's controller evaluates a ``when`` with it. It is not govaluate.

Argo v4.1.2 (``workflow/controller/operator.go``, ``shouldExecute``) substitutes the ``when``
text, parses it with ``govaluate.NewEvaluableExpression``, turns every VARIABLE token into a
STRING (so ``a == b`` compares two texts), re-plans it with
``NewEvaluableExpressionFromTokens``, evaluates it with no parameters and refuses a result that
is not a bool. This module follows Knetic/govaluate (the version Argo pins,
v3.0.1-0.20171022003610-9aa49832a739):

- ``parsing.go`` (``readToken``, ``readUntilFalse``, ``tryParseTime``): a number is digits and
  dots only, so ``1e-05`` is the number ``1``, the variable ``e``, the modifier ``-`` and the
  number ``05``, which ``checkExpressionSyntax`` refuses (NUMERIC cannot be followed by
  VARIABLE); a string starts at ``'`` or ``"`` and ends at the next ``'`` or ``"`` of either
  kind; a backslash takes the next character as it is, anywhere; quoted text that
  ``time.ParseInLocation`` reads in one of fourteen layouts becomes a TIME token;
- ``lexerState.go``: which token kind may follow which, and which may end an expression;
- ``stagePlanner.go``: precedence (``||`` below ``&&`` below comparators below modifiers),
  a TIME literal planned as ``float64(t.Unix())``, ``=~`` with a string compiled as a pattern;
- ``evaluationStage.go`` and ``EvaluableExpression.go``: ``==`` is ``reflect.DeepEqual`` (a
  number never equals a string), ``<`` and friends need two numbers or two strings, ``&&`` and
  ``||`` need bools and short-circuit.

Assumptions: the controller's ``time.Local`` is UTC (as in Argo's images); an unknown zone
abbreviation has offset 0 (Go fabricates such a zone). The ternary operators (``?``, ``:``,
``??``) are not modelled: an expression using them raises ``NotModelled``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from govaluate_lexer import _COMPARATORS as COMPARATORS
from govaluate_lexer import (
    ACCESSOR,
    BOOLEAN,
    CLAUSE,
    CLAUSE_CLOSE,
    COMPARATOR,
    LOGICALOP,
    MODIFIER,
    NUMERIC,
    PATTERN,
    PREFIX,
    SEPARATOR,
    STRING,
    TERNARY,
    TIME,
    VARIABLE,
    GovaluateError,
    NotModelled,
    Token,
    check_syntax,
    go_v,
    tokens,
)


def should_execute(when: str) -> bool:
    """Argo's ``shouldExecute`` over an already substituted ``when``.

    Raises:
        GovaluateError: where Argo fails the node (the expression does not parse or evaluate,
            or gives no bool).
    """
    if when == "":
        return True
    found = tokens(when)
    for token in found:  # Argo: "foo != bar" compares two texts, unquoted
        if token.kind == VARIABLE:
            token.kind = STRING
    check_syntax(found)
    for i, token in enumerate(found):  # optimizeTokens: a constant pattern is compiled
        if token.kind == COMPARATOR and token.value in ("=~", "!~") and i + 1 < len(found):
            if found[i + 1].kind == STRING:
                found[i + 1] = Token(PATTERN, _compile(found[i + 1].value))
    parser = _Planner(found)
    result = parser.plan()
    value = None if result is None else result()
    if not isinstance(value, bool):
        raise GovaluateError(f"Expected boolean evaluation for '{when}'. Got {value}")
    return value


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise GovaluateError(f"Unable to compile regexp pattern '{pattern}': {exc}") from None


Stage = Callable[[], Any]


class _Planner:
    """``stagePlanner.go``'s precedence levels, each operator left-associative (what
    ``reorderStages`` restores), evaluated lazily so ``&&`` and ``||`` short-circuit."""

    _LEVELS: list[tuple[str, set[str]]] = [
        (LOGICALOP, {"||"}),
        (LOGICALOP, {"&&"}),
        (COMPARATOR, COMPARATORS),
        (MODIFIER, {"&", "|", "^"}),
        (MODIFIER, {">>", "<<"}),
        (MODIFIER, {"+", "-"}),
        (MODIFIER, {"*", "/", "%"}),
        (MODIFIER, {"**"}),
    ]

    def __init__(self, found: list[Token]) -> None:
        self.tokens, self.at = found, 0

    def _peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def plan(self) -> Stage | None:
        if self._peek() is None:
            return None
        return self._separated()

    def _separated(self) -> Stage | None:
        left = self._level(0)
        items = [left]
        while (token := self._peek()) is not None and token.kind == SEPARATOR:
            self.at += 1
            items.append(self._level(0))
        if len(items) == 1:
            return left
        return lambda: [None if s is None else s() for s in items]

    def _level(self, depth: int) -> Stage | None:
        if depth == len(self._LEVELS):
            return self._value()
        kind, symbols = self._LEVELS[depth]
        left = self._level(depth + 1)
        while (token := self._peek()) is not None and token.kind == kind:
            if token.value not in symbols:
                break
            self.at += 1
            right = self._level(depth + 1)
            left = _binary(token.value, left, right)
        if (token := self._peek()) is not None and token.kind == TERNARY and depth == 0:
            raise NotModelled("govaluate's ternary operators")
        return left

    def _value(self) -> Stage | None:
        token = self._peek()
        if token is None:
            return None
        self.at += 1
        if token.kind == CLAUSE:
            inner = self.plan()
            self.at += 1  # the CLAUSE_CLOSE: balance was checked
            return inner
        if token.kind == CLAUSE_CLOSE:
            self.at -= 1
            return None
        if token.kind == PREFIX:
            operand = self._value()
            return _prefix(token.value, operand)
        if token.kind == ACCESSOR:
            name = token.value[0]
            return lambda: _raise(f"No parameter '{name}' found.")
        if token.kind in (NUMERIC, STRING, PATTERN, BOOLEAN, TIME):
            value = token.value
            return lambda: value
        raise GovaluateError(f"Unable to plan token kind: '{token.kind}', value: '{token.value}'")


def _raise(message: str) -> Any:
    raise GovaluateError(message)


def _get(stage: Stage | None) -> Any:
    return None if stage is None else stage()


def _number(value: Any) -> bool:
    return isinstance(value, float)


def _prefix(symbol: str, operand: Stage | None) -> Stage:
    def run() -> Any:
        value = _get(operand)
        if symbol == "!":
            if not isinstance(value, bool):
                _raise(f"Value '{go_v(value)}' cannot be used with the prefix '!'")
            return not value
        if not _number(value):
            _raise(f"Value '{go_v(value)}' cannot be used with the prefix '{symbol}'")
        return -value if symbol == "-" else float(~int(value))

    return run


def _binary(symbol: str, left: Stage | None, right: Stage | None) -> Stage:
    def run() -> Any:
        lhs = _get(left)
        if symbol == "&&" and lhs is False:
            return False
        if symbol == "||" and lhs is True:
            return True
        return _apply(symbol, lhs, _get(right))

    return run


def _apply(symbol: str, lhs: Any, rhs: Any) -> Any:
    if symbol in ("&&", "||"):
        for side in (lhs, rhs):
            if not isinstance(side, bool):
                _raise(
                    f"Value '{go_v(side)}' cannot be used with the logical operator '{symbol}', "
                    "it is not a bool"
                )
        return (lhs and rhs) if symbol == "&&" else (lhs or rhs)
    if symbol in ("==", "!="):  # reflect.DeepEqual: same type and equal (NaN is not)
        same = type(lhs) is type(rhs) and lhs == rhs
        return same if symbol == "==" else not same
    if symbol in (">", ">=", "<", "<="):
        both_numbers = _number(lhs) and _number(rhs)
        if not (both_numbers or (isinstance(lhs, str) and isinstance(rhs, str))):
            _raise(
                f"Value '{go_v(lhs)}' cannot be used with the comparator '{symbol}', "
                "it is not a number"
            )
        if isinstance(lhs, str):  # Go compares strings byte by byte (UTF-8)
            lhs, rhs = lhs.encode(), rhs.encode()
        return {">": lhs > rhs, ">=": lhs >= rhs, "<": lhs < rhs, "<=": lhs <= rhs}[symbol]
    if symbol in ("=~", "!~"):
        if not isinstance(lhs, str) or not isinstance(rhs, (str, re.Pattern)):
            _raise(
                f"Value '{go_v(lhs)}' cannot be used with the comparator '{symbol}', "
                "it is not a number"
            )
        pattern = rhs if isinstance(rhs, re.Pattern) else _compile(rhs)
        matched = pattern.search(lhs) is not None
        return matched if symbol == "=~" else not matched
    if symbol == "in":
        if not isinstance(rhs, list):
            _raise(
                f"Value '{go_v(lhs)}' cannot be used with the comparator 'in', it is not a number"
            )
        return any(type(lhs) is type(v) and lhs == v for v in rhs)
    if symbol == "+" and (isinstance(lhs, str) or isinstance(rhs, str)):
        return go_v(lhs) + go_v(rhs)
    for side in (lhs, rhs):
        if not _number(side):
            _raise(
                f"Value '{go_v(side)}' cannot be used with the modifier '{symbol}', "
                "it is not a number"
            )
    return _arithmetic(symbol, lhs, rhs)


def _arithmetic(symbol: str, lhs: float, rhs: float) -> float:
    if symbol == "/":
        return lhs / rhs if rhs else math.copysign(math.inf, lhs) if lhs else math.nan
    ints = {
        "&": int.__and__,
        "|": int.__or__,
        "^": int.__xor__,
        ">>": int.__rshift__,
        "<<": int.__lshift__,
    }
    if symbol in ints:
        return float(ints[symbol](int(lhs), int(rhs)))
    return {
        "+": lambda: lhs + rhs,
        "-": lambda: lhs - rhs,
        "*": lambda: lhs * rhs,
        "%": lambda: math.fmod(lhs, rhs),
        "**": lambda: math.pow(lhs, rhs),
    }[symbol]()
