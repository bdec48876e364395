"""Reads parameter descriptions from Google-style (and reST ``:param x:``) docstrings."""

from __future__ import annotations

import inspect
import re

_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Outputs|Example[s]?):\s*$"
)
_GOOGLE_ARG = re.compile(r"^(\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_REST_PARAM = re.compile(r"^:param\s+(?:\S+\s+)?(\w+):\s*(.*)$")


def summary(doc: str | None) -> str:
    """The docstring's text before its first section."""
    lines = []
    for line in inspect.cleandoc(doc or "").splitlines():
        if _SECTION.match(line.strip()) or line.strip().startswith(":param"):
            break
        lines.append(line)
    return "\n".join(lines).strip()


def param_descriptions(doc: str | None) -> dict[str, str]:
    """Map parameter names to their descriptions."""
    found: dict[str, str] = {}
    section = None
    current = None
    arg_indent: int | None = None
    for raw in inspect.cleandoc(doc or "").splitlines():
        line = raw.strip()
        rest = _REST_PARAM.match(line)
        if rest:
            current = rest.group(1)
            found[current] = rest.group(2).strip()
            continue
        header = _SECTION.match(line)
        if header:
            section, current, arg_indent = header.group(1), None, None
            continue
        if section not in ("Args", "Arguments", "Parameters", "Outputs") or not line:
            continue
        indent = len(raw) - len(raw.lstrip())
        arg = _GOOGLE_ARG.match(line)
        if arg and (arg_indent is None or indent <= arg_indent):
            arg_indent = indent
            current = arg.group(1)
            found[current] = arg.group(3).strip()
        elif current:
            found[current] = f"{found[current]} {line}".strip()
    return found
