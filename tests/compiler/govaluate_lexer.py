"""govaluate's lexer as Argo's ``when`` meets it: tokens, syntax states, time literals.

Follows Knetic/govaluate ``parsing.go`` (``parseTokens``, ``readToken``, ``readUntilFalse``,
``tryParseTime``), ``lexerState.go`` (``validLexerStates``, ``checkExpressionSyntax``) and
``lexerStream.go``; ``govaluate_model`` plans and evaluates the tokens. It is not govaluate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class WhenError(ValueError):
    """Argo cannot evaluate the task's ``when``: it errors the task's node, and the DAG fails."""


class GovaluateError(WhenError):
    """govaluate (or Argo's ``shouldExecute`` around it) refuses the expression."""


class NotModelled(NotImplementedError):
    """The expression uses a part of govaluate this model does not cover."""


PREFIX, NUMERIC, BOOLEAN, STRING, PATTERN, TIME, VARIABLE, ACCESSOR = (
    "PREFIX NUMERIC BOOLEAN STRING PATTERN TIME VARIABLE ACCESSOR".split()
)
COMPARATOR, LOGICALOP, MODIFIER, CLAUSE, CLAUSE_CLOSE, TERNARY, SEPARATOR = (
    "COMPARATOR LOGICALOP MODIFIER CLAUSE CLAUSE_CLOSE TERNARY SEPARATOR".split()
)
UNKNOWN = "UNKNOWN"
_VALUES = [PREFIX, NUMERIC, BOOLEAN, VARIABLE, ACCESSOR, STRING, TIME, CLAUSE]
_AFTER_VALUE = [MODIFIER, COMPARATOR, LOGICALOP, CLAUSE_CLOSE, TERNARY, SEPARATOR]
# lexerState.go: kind -> (may end the expression, kinds that may follow)
_STATES: dict[str, tuple[bool, list[str]]] = {
    UNKNOWN: (False, [*_VALUES, PATTERN]),
    CLAUSE: (False, [*_VALUES, PATTERN, CLAUSE_CLOSE]),
    CLAUSE_CLOSE: (
        True,
        [*_AFTER_VALUE, NUMERIC, BOOLEAN, VARIABLE, STRING, PATTERN, TIME, CLAUSE],
    ),
    NUMERIC: (True, _AFTER_VALUE),
    BOOLEAN: (True, _AFTER_VALUE),
    STRING: (True, _AFTER_VALUE),
    TIME: (True, [MODIFIER, COMPARATOR, LOGICALOP, CLAUSE_CLOSE, SEPARATOR]),
    PATTERN: (True, [MODIFIER, COMPARATOR, LOGICALOP, CLAUSE_CLOSE, SEPARATOR]),
    VARIABLE: (True, _AFTER_VALUE),
    MODIFIER: (False, [PREFIX, NUMERIC, VARIABLE, ACCESSOR, STRING, BOOLEAN, CLAUSE, CLAUSE_CLOSE]),
    COMPARATOR: (False, [*_VALUES, CLAUSE_CLOSE, PATTERN]),
    LOGICALOP: (False, [*_VALUES, CLAUSE_CLOSE]),
    PREFIX: (False, [NUMERIC, BOOLEAN, VARIABLE, ACCESSOR, CLAUSE, CLAUSE_CLOSE]),
    TERNARY: (False, [*_VALUES, SEPARATOR]),
    ACCESSOR: (True, [CLAUSE, *_AFTER_VALUE]),
    SEPARATOR: (False, _VALUES),
}
_PREFIXES = {"-", "!", "~"}
_MODIFIERS = {"+", "-", "*", "/", "%", "**", "&", "|", "^", ">>", "<<"}
_LOGICAL = {"&&", "||"}
_COMPARATORS = {"==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in"}
_TERNARIES = {"?", ":", "??"}


@dataclass
class Token:
    kind: str
    value: Any


class _Stream:
    """lexerStream.go: runes, a position, rewind by any amount."""

    def __init__(self, text: str) -> None:
        self.source, self.position = text, 0

    def can_read(self) -> bool:
        return self.position < len(self.source)

    def read(self) -> str:
        if not self.can_read():  # Go indexes past the end of the slice: the controller panics
            raise GovaluateError("runtime error: index out of range (a trailing backslash)")
        self.position += 1
        return self.source[self.position - 1]

    def rewind(self, amount: int) -> None:
        self.position -= amount


def _until_false(
    stream: _Stream, include_space: bool, break_space: bool, condition: Callable[[str], bool]
) -> tuple[str, bool]:
    """``readUntilFalse``: the text read and whether the condition (or a space) ended it."""
    buffer = ""
    while stream.can_read():
        char = stream.read()
        if char == "\\":  # a backslash takes the next character as it is
            buffer += stream.read()
            continue
        if char.isspace():
            if break_space and buffer:
                return buffer, True
            if not include_space:
                continue
        if not condition(char):
            stream.rewind(1)
            return buffer, True
        buffer += char
    return buffer, False


def _token_until_false(stream: _Stream, condition: Callable[[str], bool]) -> str:
    stream.rewind(1)
    return _until_false(stream, False, True, condition)[0]


def _numeric(char: str) -> bool:
    return char.isdigit() or char == "."


def _not_quote(char: str) -> bool:
    return char not in "'\""


def _symbolic(char: str) -> bool:  # isNotAlphanumeric
    return not (char.isdigit() or char.isalpha() or char in "()[]" or not _not_quote(char))


def _variable_name(char: str) -> bool:
    return char.isalpha() or char.isdigit() or char in "_."


def _read_token(stream: _Stream, state: str) -> Token | None:
    while stream.can_read():
        char = stream.read()
        if char.isspace():
            continue
        if _numeric(char):
            if stream.can_read() and char == "0":
                char = stream.read()
                if stream.can_read() and char == "x":
                    text, _ = _until_false(
                        stream, False, True, lambda c: c in "0123456789abcdefABCDEF"
                    )
                    try:
                        return Token(NUMERIC, float(int(text, 16)))
                    except ValueError:
                        raise GovaluateError(
                            f"Unable to parse hex value '{text}' to uint64"
                        ) from None
                stream.rewind(1)
            text = _token_until_false(stream, _numeric)
            if not re.fullmatch(r"\d+\.?\d*|\.\d+", text, re.ASCII):  # ParseFloat refuses it
                raise GovaluateError(f"Unable to parse numeric value '{text}' to float64")
            return Token(NUMERIC, float(text))
        if char == ",":
            return Token(SEPARATOR, ",")
        if char == "[":
            text, completed = _until_false(stream, True, False, lambda c: c != "]")
            if not completed:
                raise GovaluateError("Unclosed parameter bracket")
            stream.rewind(-1)
            return Token(VARIABLE, text)
        if char.isalpha():
            return _word(_token_until_false(stream, _variable_name))
        if not _not_quote(char):
            text, completed = _until_false(stream, True, False, _not_quote)
            if not completed:
                raise GovaluateError("Unclosed string literal")
            stream.rewind(-1)  # past the closing quote, whichever kind it is
            seconds = go_time(text)
            return Token(STRING, text) if seconds is None else Token(TIME, seconds)
        if char == "(":
            return Token(CLAUSE, "(")
        if char == ")":
            return Token(CLAUSE_CLOSE, ")")
        text = _token_until_false(stream, _symbolic)
        if PREFIX in _STATES[state][1] and text in _PREFIXES:
            return Token(PREFIX, text)
        for kind, symbols in (
            (MODIFIER, _MODIFIERS),
            (LOGICALOP, _LOGICAL),
            (COMPARATOR, _COMPARATORS),
            (TERNARY, _TERNARIES),
        ):
            if text in symbols:
                return Token(kind, text)
        raise GovaluateError(f"Invalid token: '{text}'")
    return None


def _word(text: str) -> Token:
    if text in ("true", "false"):
        return Token(BOOLEAN, text == "true")
    if text in ("in", "IN"):
        return Token(COMPARATOR, "in")
    if text.find(".") > 0:
        if text.endswith("."):
            raise GovaluateError(f"Hanging accessor on token '{text}'")
        splits = text.split(".")
        for field in splits[1:]:
            if field[:1].upper() != field[:1]:
                raise GovaluateError(
                    f"Unable to access unexported field '{field}' in token '{text}'"
                )
        return Token(ACCESSOR, splits)
    return Token(VARIABLE, text)


def tokens(expression: str) -> list[Token]:
    """``parseTokens`` then ``checkBalance`` and ``checkExpressionSyntax``."""
    stream, state, found = _Stream(expression), UNKNOWN, []
    while stream.can_read():
        token = _read_token(stream, state)
        if token is None:
            break
        state = token.kind
        found.append(token)
    check_syntax(found)
    return found


def check_syntax(found: list[Token]) -> None:
    depth = sum(1 if t.kind == CLAUSE else -1 if t.kind == CLAUSE_CLOSE else 0 for t in found)
    if depth != 0:
        raise GovaluateError("Unbalanced parenthesis")
    state, last = UNKNOWN, None
    for token in found:
        if token.kind not in _STATES[state][1]:
            if last is not None and last.kind == VARIABLE and token.kind == CLAUSE:
                raise GovaluateError(f"Undefined function {last.value}")
            raise GovaluateError(
                f"Cannot transition token types from {state} "
                f"[{go_v(last.value if last else None)}] "
                f"to {token.kind} [{go_v(token.value)}]"
            )
        state, last = token.kind, token
    if not _STATES[state][0]:
        raise GovaluateError("Unexpected end of expression")


def go_v(value: Any) -> str:
    """Go's ``%v`` of a value govaluate holds (a float as ``strconv``'s shortest ``'g'``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if not isinstance(value, float):
        return str(value)
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    if point - 1 < -4 or point - 1 >= 6:  # 'g' with the shortest digits: eprec 6
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        shown = f"{mantissa}e{'-' if point - 1 < 0 else '+'}{abs(point - 1):02d}"
    else:
        shown = format(Decimal(repr(value)).normalize(), "f")
    return ("-" if sign else "") + shown.lstrip("-")


# --- tryParseTime -------------------------------------------------------------------------

_DAY = r"(?i:mon|tue|wed|thu|fri|sat|sun)"
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTH = r"(?P<mon>(?i:" + "|".join(_MONTHS) + "))"
_YMD = r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
_HMS = r"(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})(?:[.,]\d+)?"
_HM = r"(?P<H>\d{1,2}):(?P<M>\d{2})"
# the layouts of parsing.go's tryParseTime, in its order, as patterns of what Go accepts
_LAYOUTS = [
    rf"{_DAY} {_MONTH} ?(?P<d>\d{{1,2}}) {_HMS} (?P<y>\d{{4}})",  # ANSIC
    rf"{_DAY} {_MONTH} ?(?P<d>\d{{1,2}}) {_HMS} (?P<abbr>[A-Z]{{3,5}}) (?P<y>\d{{4}})",  # UnixDate
    rf"{_DAY} {_MONTH} (?P<d>\d{{2}}) {_HMS} (?P<z>[+-]\d{{4}}) (?P<y>\d{{4}})",  # RubyDate
    r"(?P<h12>\d{1,2}):(?P<M>\d{2})(?P<pm>AM|PM)",  # Kitchen
    rf"{_YMD}T{_HMS}(?P<z>Z|[+-]\d{{2}}:\d{{2}})",  # RFC3339 (and RFC3339Nano)
    rf"{_YMD}",
    rf"{_YMD} {_HM}",
    rf"{_YMD} {_HMS}",
    rf"{_YMD} {_HMS}(?P<z>[+-]\d{{2}}:\d{{2}})",
    rf"{_YMD}T(?P<H>\d{{1,2}})(?P<z>Z|[+-]\d{{4}})",
    rf"{_YMD}T{_HM}(?P<z>Z|[+-]\d{{4}})",
    rf"{_YMD}T{_HMS}(?P<z>Z|[+-]\d{{4}})",
]


def go_time(text: str) -> float | None:
    """``tryParseTime``: the text's Unix seconds as govaluate plans a TIME literal, or None
    when no layout reads it (Go also checks each field's range, the day against the month)."""
    for layout in _LAYOUTS:
        match = re.fullmatch(layout, text)
        if match is None:
            continue
        seconds = _seconds(match.groupdict())
        if seconds is not None:
            return seconds
    return None


def _seconds(g: dict[str, str | None]) -> float | None:
    year = int(g.get("y") or 0)
    month = _MONTHS.index(g["mon"].lower()) + 1 if g.get("mon") else int(g.get("m") or 1)
    day = int(g.get("d") or 1)
    hour = int(g.get("H") or 0)
    if g.get("h12") is not None:
        hour = int(g["h12"] or 0)
        if hour > 12:
            return None
        hour = hour % 12 + (12 if g.get("pm") == "PM" else 0)
    minute, second = int(g.get("M") or 0), int(g.get("S") or 0)
    if not (1 <= month <= 12 and 1 <= day <= _days_in(month, year)):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = 0
    zone = g.get("z")
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * (1 if zone[0] == "+" else -1)
    days = _days_from_civil(year, month, day)
    return float(days * 86400 + hour * 3600 + minute * 60 + second - offset)


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (year 0 included, as Go's
    Kitchen layout gives)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
