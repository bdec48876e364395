"""The text of a component that travels inside a spec: its function, and the imports it uses.

A step in another process (a KFP or Argo pod, a subprocess) rebuilds the function from this text
when it cannot import it. Only module-level imports whose names the function uses come along, so
helpers defined elsewhere in the module must be imported or defined inside the function.
"""

from __future__ import annotations

import ast
import functools
import inspect
import linecache
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


def prelude(func: Callable[..., Any], source: str) -> str:
    """What must run before ``source`` in a fresh namespace.

    That is the NamedTuple classes of the function's module that it uses (its return type), and
    the module-level imports that bind a name used by the function or those classes.
    """
    # read the defining file itself: the module may not be registered in sys.modules
    module_text = "".join(linecache.getlines(func.__code__.co_filename))
    if not module_text:
        return ""
    module = _parse(module_text)
    defined = {n.name: n for n in module.body if isinstance(n, ast.ClassDef)}
    used = _names(source)
    classes = []
    for name in sorted(used):
        obj = func.__globals__.get(name)
        if (
            name in defined
            and isinstance(obj, type)
            and issubclass(obj, tuple)
            and hasattr(obj, "_fields")
        ):
            text = ast.get_source_segment(module_text, defined[name]) or ""
            classes.append(text)
            used |= _names(text)
    imports = []
    for stmt in module.body:
        if isinstance(stmt, ast.ImportFrom) and (stmt.level or stmt.module == "__future__"):
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name).split(".")[0] for a in stmt.names}
            if bound & used:
                imports.append((ast.get_source_segment(module_text, stmt) or "") + "\n")
    return "".join(imports) + "".join(c if c.endswith("\n") else c + "\n" for c in classes)


@functools.lru_cache(maxsize=16)
def _parse(module_text: str) -> ast.Module:
    """Parsed once per module text: a module with many components is read once."""
    return ast.parse(module_text)


def _names(text: str) -> set[str]:
    """Every bare name a piece of code reads (``np`` in ``np.zeros``)."""
    return {n.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Name)}
