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
        return {"op": _COMPARE[token[1]], "left": left, "right": right}

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
