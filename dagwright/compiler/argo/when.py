r"""Conditions as Argo ``when`` expressions that hold for any value.

Argo substitutes ``{{...}}`` into a ``when`` and hands the text to govaluate, which reads
``1e-05`` as a number followed by a variable (a syntax error), ends a string at any ``'`` or
``"``, treats a backslash as an escape and compares quoted text that looks like a date as a
time. A value known only at run time (a task's output, a pipeline parameter) can therefore
break or change the expression. So the condition is one expression tag,
``{{=int(tasks.score.outputs.parameters.output) > 25}}``: Argo evaluates it with
expr-lang (util/template/expression_template.go), where every run-time value is a variable of
the environment, never text pasted into the expression, and only its result, ``true`` or
``false``, reaches govaluate. Values are typed explicitly, as the pod reads them: ``int(...)``
and ``float(...)`` (Go's ``strconv``, which reads ``1e-05``), strings compared as they are,
booleans read as ``from_text`` reads them.

A loop item's text is not the value: Argo fills ``{{item}}`` and ``{{item.k}}`` with the item's
JSON, a string's quotes cut off and its escapes kept (``q\"x`` for ``q"x``; ``processItem`` in
workflow/controller/operator.go, ``Item.String`` in pkg/apis/workflow/v1alpha1/item.go). So an
item string is compared for equality with the constant as that JSON renders it (every way the
item's writer may escape it), ordered against nothing (escapes reorder text), and compared with
another run-time string only if that one is an item too (both escaped alike).

The expression itself holds no ``"`` (Argo JSON-encodes the task before substituting, and some
versions refuse an escaped quote inside a tag), no backslash, no ``{`` or ``}`` (the tag would
end early) and no ``?`` (a ``?`` and a ``:`` make Argo read a ternary): a string constant with
any character outside a plain set is written as ``sprig.b64dec('<base64 of its UTF-8>')``,
a float in exponent notation as ``float('1e-05')``.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from typing import Any

from dagwright.compiler.argo.values import MARK
from dagwright.components.types import ANY, parse, type_of_value, unwrap_optional
from dagwright.errors import ValidationError
from dagwright.pipelines.ir import Value

_OPERATORS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_PLAIN = re.compile(r"[A-Za-z0-9 _.,;/@+=-]*")  # written as '...' as they are
_NAME = re.compile(r"[-a-zA-Z0-9_]+")  # Argo's parameter and task names
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORDS = {"in", "not", "and", "or", "true", "false", "nil", "matches", "contains", "let"}
_WORDS |= {"startsWith", "endsWith", "if", "else"}
# names Argo holds a whole tag back for when its env lacks them (expression_template.go,
# anyVarNotInEnv: an identifier token, so they are written as ['...'] strings)
_WORDS |= {"retries", "lastRetry", "status", "failures"}
_INT64 = 2**63
# the texts from_text reads as True (after strip and lower)
_TRUE = "['true', '1', 'yes', 'on']"

# A reference -> its placeholder text ({{tasks.x.outputs.parameters.y}}) and its dagwright type
Resolver = Callable[[Value], tuple[str, str]]


def render(expr: Value, resolve: Resolver, as_is: Callable[[Value], bool] = lambda _: False) -> str:
    """The ``when`` text of a condition tree; ``as_is`` tells a loop item whose every string
    Argo renders unchanged (literal items with nothing to escape, see ``renders_as_is``).

    Raises:
        ValidationError: for a comparison Argo cannot make as ``dagwright run`` makes it.
    """
    if "constant" in expr:  # If(True): fixed when the pipeline was built
        return "true" if expr["constant"] else "false"
    return "{{=" + _expression(expr, resolve, as_is) + "}}"


def renders_as_is(text: str) -> bool:
    """Does Argo's ``{{item}}`` hold the string ``text`` unchanged (nothing JSON escapes but
    ``<``, ``>`` and ``&``, which util/json's ``Fix`` turns back)?"""
    return all(c not in '"\\\u2028\u2029' and ord(c) >= 0x20 for c in text)


def _expression(expr: Value, resolve: Resolver, as_is: Callable[[Value], bool]) -> str:
    if "constant" in expr:
        return "true" if expr["constant"] else "false"
    op = expr["op"]
    if op in ("and", "or"):
        joiner = " && " if op == "and" else " || "
        return joiner.join(f"({_expression(arg, resolve, as_is)})" for arg in expr["args"])
    if op == "not":
        return f"!({_expression(expr['arg'], resolve, as_is)})"
    return _comparison(op, expr["left"], expr["right"], resolve, as_is)


def _comparison(
    op: str, left: Value, right: Value, resolve: Resolver, as_is: Callable[[Value], bool]
) -> str:
    values = (left, right)
    typed = [_typed_side(value, resolve) for value in values]
    sides = [(text, kind) for text, kind, _ in typed]
    for i in (0, 1):
        if sides[i][1] == "none":
            if typed[1 - i][2] == "str":  # never None: the text "None" is no None
                return "false" if op == "eq" else "true"
            return _null_test(op, sides[1 - i])
    kinds = [kind for _, kind in sides]
    for i in (0, 1):
        if kinds[i] == ANY and kinds[1 - i] == "str" and "constant" not in values[i]:
            raise ValidationError(
                f"the condition compares a value that has no type ({sides[i][0]}) with a "
                "string; Argo passes the value as text, so 5 would equal '5' where dagwright "
                "run finds them different",
                field="condition",
                fix="give the value a type (annotate the output, e.g. -> str or -> int)",
            )
    if kinds == [ANY, ANY]:
        raise ValidationError(
            f"the condition compares two values that have no type ({sides[0][0]} and "
            f"{sides[1][0]}); Argo passes both as text and would compare the texts where "
            "dagwright run compares the values",
            field="condition",
            fix="give one side a type (annotate the output, e.g. -> int, or type the parameter)",
        )
    for i in (0, 1):  # an untyped side is read as the other side's type (numbers as float)
        if kinds[i] == ANY:
            kinds[i] = "float" if kinds[1 - i] in ("int", "float") else kinds[1 - i]
    kind = kinds[0]
    if set(kinds) <= {"int", "float"}:
        kind = "int" if kinds == ["int", "int"] else "float"
    texts = [
        _operand(value, kind, text) for value, (text, _) in zip((left, right), sides, strict=True)
    ]
    if kind not in ("int", "float", "bool"):
        items = ["loop_item" in value and not as_is(value) for value in values]
        if any(items):
            return _item_strings(op, texts, values, items)
        return _restored(op, texts, [("constant" not in value) for value in (left, right)])
    return f"{texts[0]} {_OPERATORS[op]} {texts[1]}"


def _restored(op: str, texts: list[str], at_run_time: list[bool]) -> str:
    """A comparison of texts where a value made at run time may arrive protected (``MARK`` +
    base64, as ``values.protect`` writes a string Argo would alter): one case per way the
    run-time sides can arrive, each comparing the restored texts. expr-lang's ternary would
    need a ``?``, which Argo reads as its own ternary."""
    mark = _string(MARK)
    cases = [""]
    operands: list[list[str]] = [[]]
    for text, run_time in zip(texts, at_run_time, strict=True):
        ways = [("", text)]
        if run_time:
            decoded = f"sprig.b64dec(trimPrefix({text}, {mark}))"
            ways = [(f"!hasPrefix({text}, {mark})", text), (f"hasPrefix({text}, {mark})", decoded)]
        cases, operands = (
            [c + (" && " if c and g else "") + g for c in cases for g, _ in ways],
            [o + [v] for o in operands for _, v in ways],
        )
    terms = [
        f"({case} && {left} {_OPERATORS[op]} {right})"
        if case
        else f"{left} {_OPERATORS[op]} {right}"
        for case, (left, right) in zip(cases, operands, strict=True)
    ]
    return terms[0] if len(terms) == 1 else "(" + " || ".join(terms) + ")"


def _item_strings(op: str, texts: list[str], values: tuple[Value, Value], items: list[bool]) -> str:
    """A comparison of texts where a side is a loop item, as Argo renders it (JSON escapes
    kept): equality only, with a constant as its JSON renders, or with another item."""
    if op not in ("eq", "ne"):
        raise ValidationError(
            "the condition orders a loop item's text; Argo hands the item on with its JSON "
            'escapes (a " as \\"), which order differently than the text itself',
            field="condition",
            fix="compare the item with == or != only, or order it inside a component",
        )
    if all(items):  # both escaped alike: equal texts, equal values
        return _restored(op, texts, [True, True])
    i = items.index(False)
    if "constant" not in values[i]:
        raise ValidationError(
            "the condition compares a loop item's text with another value made at run "
            "time; Argo hands the item on with its JSON escapes and the other value without",
            field="condition",
            fix="compare the item with a constant or another item, or compare inside a component",
        )
    item, constant = texts[1 - i], str(values[i]["constant"])
    mark = _string(MARK)
    plain = ", ".join(_string(text) for text in _json_renderings(constant))
    test = (
        f"((!hasPrefix({item}, {mark}) && {item} in [{plain}]) || (hasPrefix({item}, {mark}) "
        f"&& sprig.b64dec(trimPrefix({item}, {mark})) == {_string(constant)}))"
    )
    return test if op == "eq" else f"!{test}"


# how JSON writers escape a character inside a string: Go before 1.22 writes \b and \f as
# \u0008 and \u000c, Go 1.22 and Python's json as \b and \f
_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_EITHER = {"\b": ("\\b", "\\u0008"), "\f": ("\\f", "\\u000c")}


def _json_renderings(text: str) -> list[str]:
    r"""The texts Argo may fill ``{{item}}`` with for the string ``text``: its JSON (as Go
    re-marshals it: ``<``, ``>``, ``&``, U+2028 and U+2029 escaped) without the quotes, then
    util/json's ``Fix`` turning ``\u003c``, ``\u003e`` and ``\u0026`` back."""
    out = []
    for way in (0, 1):
        chars = []
        for char in text:
            if char in _SHORT:
                chars.append(_SHORT[char])
            elif char in _EITHER:
                chars.append(_EITHER[char][way])
            elif ord(char) < 0x20 or char in "<>&\u2028\u2029":
                chars.append(f"\\u{ord(char):04x}")
            else:
                chars.append(char)
        fixed = "".join(chars)
        for code, char in (("003c", "<"), ("003e", ">"), ("0026", "&")):
            fixed = fixed.replace("\\u" + code, char)
        if fixed not in out:
            out.append(fixed)
    return out


def _side(value: Value, resolve: Resolver) -> tuple[str, str]:
    """A side's expression text (a constant's Python value for now) and its kind."""
    text, kind, _ = _typed_side(value, resolve)
    return text, kind


def _typed_side(value: Value, resolve: Resolver) -> tuple[str, str, str]:
    """``_side`` and the side's declared type (``none`` for a constant)."""
    if "constant" in value:
        constant = value["constant"]
        return repr(constant), "none" if constant is None else type_of_value(constant), "none"
    placeholder, type_str = resolve(value)
    head, _ = parse(unwrap_optional(type_str))
    kind = head if head in ("int", "float", "str", "bool") else ANY
    return _access(placeholder), kind, type_str


def _access(placeholder: str) -> str:
    """``{{tasks.a.outputs.parameters.b}}`` as expr-lang's ``tasks.a.outputs.parameters.b``:
    Argo expands the dotted names of its variables into nested maps. A key that is not a
    plain identifier (``my-task``) or is one of expr-lang's words is written ``['my-task']``."""
    root, *keys = placeholder.removeprefix("{{").removesuffix("}}").split(".")
    if not all(_NAME.fullmatch(key) for key in keys):  # names are checked before this
        raise ValidationError(
            f"Argo target: the condition reads {placeholder}, a name Argo cannot hold",
            field="condition",
            fix="use letters, digits, '-' and '_' only in task and output names",
        )
    return root + "".join(
        f".{key}" if _IDENTIFIER.fullmatch(key) and key not in _WORDS else f"['{key}']"
        for key in keys
    )


def _null_test(op: str, other: tuple[str, str]) -> str:
    """A comparison with None: the value's text is what the pod writes for None."""
    if op not in ("eq", "ne"):
        raise ValidationError(
            f"the condition orders a value against None ({_OPERATORS[op]})",
            field="condition",
            fix="compare with None using == or != only",
        )
    text, kind = other
    if kind == "none":  # None == None
        return "true" if op == "eq" else "false"
    test = f"(trim({text}) in ['null', 'None'])"
    return test if op == "eq" else f"!{test}"


def _operand(value: Value, kind: str, text: str) -> str:
    if "constant" not in value:
        if kind == "int":
            return f"int({text})"
        if kind == "float":
            return f"float({text})"
        if kind == "bool":
            return f"(lower(trim({text})) in {_TRUE})"
        return text  # a string: compared as Argo holds it
    return _literal(value["constant"], kind)


def _literal(constant: Any, kind: str) -> str:
    if isinstance(constant, bool):
        return "true" if constant else "false"
    if kind == "int":
        if not -_INT64 <= constant < _INT64:
            raise ValidationError(
                f"the condition compares with {constant}, beyond the 64-bit integers Argo's "
                "expressions hold",
                field="condition",
                fix="compare with a number between -2**63 and 2**63 - 1",
            )
        if constant == -_INT64:  # its digits alone overflow expr-lang's int literal
            return f"int('{constant}')"
        return str(constant)
    if kind == "float":
        number = float(constant)
        if not math.isfinite(number):
            raise ValidationError(
                f"the condition compares with {constant}, which Argo cannot write",
                field="condition",
                fix="compare with a finite number",
            )
        text = repr(number)
        return f"float('{text}')" if "e" in text else text
    return _string(str(constant))


def _string(text: str) -> str:
    if _PLAIN.fullmatch(text):
        return f"'{text}'"
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"sprig.b64dec('{encoded}')"
