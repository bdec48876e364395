"""The text of a component that travels inside a spec: its function, and the imports it uses.

A step in another process (a KFP or Argo pod, a subprocess) rebuilds the function from this text
when it cannot import it. Only module-level imports whose names the function uses come along, so
helpers defined elsewhere in the module must be imported or defined inside the function.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from typing import Any


def function_source(func: Callable[..., Any]) -> str:
    """The function's own source, dedented, without its decorators."""
    lines, _ = inspect.getsourcelines(func)
    text = textwrap.dedent("".join(lines))
    tree = ast.parse(text)
    node = tree.body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise TypeError(f"{func!r} is not defined by a def statement")
    return "\n".join(text.splitlines()[node.lineno - 1 :]) + "\n"


def used_imports(func: Callable[..., Any], source: str) -> str:
    """Module-level import lines of ``func``'s module that bind a name the function uses."""
    try:
        module_text = inspect.getsource(inspect.getmodule(func))  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""
    used = {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    used |= {
        n.value.id
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    }
    keep = []
    for stmt in ast.parse(module_text).body:
        if isinstance(stmt, ast.ImportFrom) and (stmt.level or stmt.module == "__future__"):
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name).split(".")[0] for a in stmt.names}
            if bound & used:
                keep.append(ast.get_source_segment(module_text, stmt) or "")
    return "\n".join(keep) + ("\n" if keep else "")
