"""The text of a component that travels inside a spec: its function and what it needs from
its module.

A step in another process (a KFP or Argo pod, a subprocess) rebuilds the function from this text
when it cannot import it. Along with the function come the module-level statements that bind a
name it reads (imports, helper functions, classes such as its NamedTuple return type, constants),
and, in turn, what those read: the part of the module the function depends on, in module order.
A name bound some other way (``from x import *``, ``globals()[...] = ...``) cannot come along;
``unresolved`` names it so the caller can warn.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import linecache
import symtable
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dagwright.errors import UsageError

_BUILTINS = frozenset(dir(builtins))


def function_source(func: Callable[..., Any]) -> str:
    """The function's own source, dedented, without its decorators."""
    lines, _ = inspect.getsourcelines(func)
    text = textwrap.dedent("".join(lines))
    tree = ast.parse(text)
    node = tree.body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise UsageError(f"{func!r} is not defined by a def statement")
    return "\n".join(text.splitlines()[node.lineno - 1 :]) + "\n"


@dataclass
class Prelude:
    """Module statements the function needs, and the names nothing in the module binds."""

    text: str = ""
    unresolved: list[str] = field(default_factory=list)


def prelude(func: Callable[..., Any], source: str) -> Prelude:
    """What must run before ``source`` in a fresh namespace for the function to work."""
    # read the defining file itself: the module may not be registered in sys.modules
    module_text = "".join(linecache.getlines(func.__code__.co_filename))
    if not module_text:
        return Prelude(unresolved=sorted(free_names(source)))
    binders = _binders(module_text)
    wanted: set[int] = set()
    unresolved: set[str] = set()
    todo = list(free_names(source))
    seen: set[str] = {func.__name__}  # its own name (recursion) is the source itself
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        found = binders.get(name)
        if found is None:
            unresolved.add(name)
            continue
        index, statement_text = found
        if index not in wanted:
            wanted.add(index)
            todo.extend(free_names(statement_text))
    statements = _statements(module_text)
    text = "".join(statements[i] for i in sorted(wanted))
    return Prelude(text, sorted(unresolved))


def free_names(text: str) -> set[str]:
    """Names a piece of module-level code reads but does not bind (builtins left out)."""
    top = symtable.symtable(text, "<component>", "exec")
    found: set[str] = set()
    tables = [top]
    while tables:
        table = tables.pop()
        for symbol in table.get_symbols():
            name = symbol.get_name()
            if table is top:
                if symbol.is_referenced() and not symbol.is_assigned() and not symbol.is_imported():
                    found.add(name)
            elif symbol.is_global() and not symbol.is_assigned():
                found.add(name)
        tables.extend(table.get_children())
    bound_at_top = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    return found - _BUILTINS - bound_at_top


@functools.lru_cache(maxsize=16)
def _statements(module_text: str) -> list[str]:
    """Top-level statements of a module as source text, each ending with a newline."""
    tree = ast.parse(module_text)
    lines = module_text.splitlines(keepends=True)
    texts = []
    for node in tree.body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        end = node.end_lineno or node.lineno
        texts.append("".join(lines[first - 1 : end]).rstrip("\n") + "\n")
    return texts


@functools.lru_cache(maxsize=16)
def _binders(module_text: str) -> dict[str, tuple[int, str]]:
    """For each name bound at module level, the (last) statement binding it."""
    tree = ast.parse(module_text)
    texts = _statements(module_text)
    found: dict[str, tuple[int, str]] = {}
    for index, node in enumerate(tree.body):
        for name in _bound(node):
            found[name] = (index, texts[index])
    return found


def _bound(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Import):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level or node.module == "__future__":
            return []  # relative imports cannot run outside the package
        return [a.asname or a.name for a in node.names if a.name != "*"]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets = [node.target]
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def returns_a_value(code: str) -> bool:
    """Whether the function defined by ``code`` has a ``return <value>`` of its own (not one
    of a nested function or class, and not ``return None``)."""
    tree = ast.parse(code)
    func = tree.body[0] if tree.body else None
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    pending: list[ast.AST] = list(func.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                return True
        pending.extend(ast.iter_child_nodes(node))
    return False
