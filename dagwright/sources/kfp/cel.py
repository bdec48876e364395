"""KFP's trigger conditions (CEL, as ``kfp.compiler`` writes them) as dagwright condition trees.

The grammar read is the part of CEL KFP's compiler writes: channel reads
``inputs.parameter_values['pipelinechannel--x']`` (optionally cast with ``int(...)``,
``double(...)`` or ``string(...)``), string, number, ``true``/``false``/``null`` literals, the
comparisons ``== != < <= > >=``, ``!``, ``&&``, ``||`` and parentheses. Anything else is refused
by name, with the text it stopped at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from dagwright.errors import ValidationError

Value = dict[str, Any]
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<channel>inputs\.parameter_values\[\s*(?P<q>['"])(?P<name>.*?)(?P=q)\s*\])
    |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<number>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
    |(?P<op>==|!=|<=|>=|&&|\|\||[<>!()])
    |(?P<word>[A-Za-z_][A-Za-z_0-9]*)
    )""",
    re.VERBOSE,
)
_COMPARE = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_CASTS = {"int", "double", "string"}
_WORDS = {"true": True, "false": False, "null": None}


class _Parser:
    def __init__(self, text: str, channel: Callable[[str], Value], where: dict[str, Any]) -> None:
        self.text = text
        self.channel = channel
        self.where = where
        self.tokens: list[tuple[str, Any, int]] = []
        pos = 0
        while pos < len(text):
            if not text[pos:].strip():
                break
            match = _TOKEN.match(text, pos)
            if match is None:
                raise self.fail(pos)
            kind = next(k for k in ("channel", "string", "number", "op", "word") if match[k])
            self.tokens.append((kind, match["name"] if kind == "channel" else match[kind], pos))
            pos = match.end()
        self.index = 0

    def fail(self, pos: int | None = None) -> ValidationError:
        if pos is None:
            pos = self.tokens[self.index][2] if self.index < len(self.tokens) else len(self.text)
        rest = self.text[pos:].strip() or "the end"
        return ValidationError(
            f"the condition {self.text!r} cannot be imported: unexpected {rest[:40]!r}",
            field="triggerPolicy.condition",
            fix="write the condition with dsl.If on == != < <= > >= comparisons of pipeline "
            "values, combined with and/or/not, and recompile",
            **self.where,
        )

    def peek(self) -> tuple[str, Any] | None:
        if self.index < len(self.tokens):
            kind, text, _ = self.tokens[self.index]
            return kind, text
        return None

    def take(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.index += 1
            return True
        return False

    def parse(self) -> Value:
        tree = self.disjunction()
        if self.index != len(self.tokens):
            raise self.fail()
        return tree

    def disjunction(self) -> Value:
        args = [self.conjunction()]
        while self.take("||"):
            args.append(self.conjunction())
        return args[0] if len(args) == 1 else {"op": "or", "args": args}

    def conjunction(self) -> Value:
        args = [self.unary()]
        while self.take("&&"):
            args.append(self.unary())
        return args[0] if len(args) == 1 else {"op": "and", "args": args}

    def unary(self) -> Value:
        if self.take("!"):
            return {"op": "not", "arg": self.unary()}
        if self.take("("):
            inner = self.disjunction()
            if not self.take(")"):
                raise self.fail()
            return inner
        return self.comparison()

    def comparison(self) -> Value:
        left = self.operand()
        token = self.peek()
        if token is None or token[0] != "op" or token[1] not in _COMPARE:
            if left == {"constant": True} or left == {"constant": False}:
                return left
            raise self.fail()
        self.index += 1
        right = self.operand()
        op = _COMPARE[token[1]]
        tree = {"op": op, "left": left, "right": right}
        if _item_field(left) or _item_field(right):
            as_numbers = {**tree, "left": _number(left), "right": _number(right)}
            if as_numbers == tree:
                return tree
            if op == "eq":  # an item field may hold the number or its text: either matches
                return {"op": "or", "args": [tree, as_numbers]}
            if op == "ne":
                return {"op": "and", "args": [tree, as_numbers]}
            return as_numbers
        return tree

    def operand(self) -> Value:
        token = self.peek()
        if token is None:
            raise self.fail()
        kind, text = token
        self.index += 1
        if kind == "channel":
            return self.channel(text)
        if kind == "string":
            return {"constant": _string(text)}
        if kind == "number":
            return {"constant": json.loads(text) if "." not in text else float(text)}
        if kind == "word" and text in _WORDS:
            return {"constant": _WORDS[text]}
        if kind == "word" and text in _CASTS and self.take("("):
            inner = self.operand()
            if not self.take(")"):
                raise self.fail()
            return inner  # the cast makes CEL compare numbers; dagwright's types already do
        self.index -= 1
        raise self.fail()


def _item_field(value: Value) -> bool:
    return "loop_item" in value and "key" in value


def _number(value: Value) -> Value:
    """A quoted number constant compared to a loop-item field, as that number: KFP's compiler cannot
    know the field's type (it types every item field STRING), so it quotes the constant of
    ``item.n > 2`` as ``'2'``; the item's own JSON value keeps its type at run time."""
    constant = value.get("constant")
    if _item_field(value) or set(value) != {"constant"} or not isinstance(constant, str):
        return value
    try:
        number = json.loads(constant)
    except json.JSONDecodeError:
        return value
    if isinstance(number, bool) or not isinstance(number, int | float):
        return value
    return {"constant": number}


def _string(text: str) -> str:
    body = text[1:-1]
    if text[0] == "'":
        body = body.replace("\\'", "'").replace('"', '\\"')
    return str(json.loads(f'"{body}"'))


def condition(text: str, channel: Callable[[str], Value], **where: Any) -> Value:
    """The condition tree of CEL ``text``; ``channel`` turns an input name into an IR value.

    Raises:
        ValidationError: naming the condition and where it stopped, for CEL outside the
            subset KFP's compiler writes.
    """
    return _Parser(text, channel, where).parse()
