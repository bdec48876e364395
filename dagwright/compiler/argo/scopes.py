"""How a value reaches a task in Argo's nested DAG templates.

Every block is a DAG template; a ParallelFor is two: an outer one holding the looping task
(``withParam``/``withItems``, and the loop's ``parallelism``) and the body it calls per item. A
task reads its template's inputs and its sibling tasks' outputs; pipeline parameters are global
(``{{workflow.parameters.x}}``). So a value made outside a scope enters it as an input, passed
by each caller on the way down, and a value made inside leaves as an output of each template on
the way up; leaving a loop body, Argo aggregates it into a JSON list (Collected).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from dagwright.compiler.argo.values import SKIPPED, encode
from dagwright.errors import ValidationError
from dagwright.pipelines.ir import GroupIR, PipelineIR, Value


@dataclass
class Scope:
    """One DAG template: its tasks, and the inputs and outputs ScopeVariables added to it."""

    name: str
    parent: str | None
    caller: str | None  # the task in the parent scope that calls this template
    tasks: dict[str, Any] = field(default_factory=dict)  # task name -> DAGTask fields
    in_params: dict[str, None] = field(default_factory=dict)
    in_artifacts: dict[str, None] = field(default_factory=dict)
    out_params: dict[str, str] = field(default_factory=dict)  # name -> valueFrom parameter
    out_artifacts: dict[str, str] = field(default_factory=dict)  # name -> from
    defaults: dict[str, str] = field(default_factory=dict)  # out param -> value when absent


def var(*parts: str) -> str:
    """An Argo variable: ``var("tasks", "a", "outputs")`` is ``{{tasks.a.outputs}}``."""
    return "{{" + ".".join(parts) + "}}"


def body(loop: str) -> str:
    """The name of a loop's body template."""
    return f"{loop}-body"


class ScopeVariables:
    """Resolves IR values to the ``{{...}}`` text a task argument holds in a given scope."""

    def __init__(self, ir: PipelineIR, root: str) -> None:
        self.ir = ir
        self.groups = {g.id: g for g in ir.groups}
        self.scopes: dict[str, Scope] = {root: Scope(root, None, None)}
        self.root = root
        for group in ir.groups:  # parents come first
            outer = self.inner(group.parent)
            self.scopes[group.id] = Scope(group.id, outer, group.id)
            if group.kind == "loop":
                self.scopes[body(group.id)] = Scope(body(group.id), group.id, iterator(group))
        self.homes = {t.name: self.inner(t.group) for t in ir.tasks}

    def inner(self, block: str | None) -> str:
        """The scope a block's own tasks live in."""
        if block is None:
            return self.root
        return body(block) if self.groups[block].kind == "loop" else block

    def path(self, scope: str) -> list[str]:
        """The scopes from the root down to ``scope``, outermost first."""
        chain = [scope]
        while (parent := self.scopes[chain[-1]].parent) is not None:
            chain.append(parent)
        return list(reversed(chain))

    def param(self, value: Value, scope: str) -> str:
        """The text of a parameter value in ``scope``."""
        if "constant" in value:
            return encode(value["constant"])  # protected: Argo never sees its '{{'
        if "param" in value:
            return var("workflow", "parameters", value["param"])
        if "loop_item" in value:
            loop, key = value["loop_item"], value.get("key")
            name = item_name(loop, key)
            if scope == body(loop):
                return var("inputs", "parameters", name)
            return self._imported(scope, name, value, artifact=False)
        if "one_of" in value:
            from dagwright.compiler.argo.flow import one_of_param

            return one_of_param(self, value, scope)
        ref = value.get("collected", value)
        output = ref["output"] + ("-meta" if value.get("meta") else "")
        return self._reference(value, ref["task"], output, scope, artifact=False)

    def artifact(self, value: Value, scope: str) -> str:
        """The ``from`` of an artifact value in ``scope``."""
        if "one_of" in value:
            from dagwright.compiler.argo.flow import one_of_artifact

            return one_of_artifact(self, value, scope)
        return self._reference(value, value["task"], value["output"], scope, artifact=True)

    def _reference(self, value: Value, task: str, output: str, scope: str, artifact: bool) -> str:
        kind = "artifacts" if artifact else "parameters"
        home = self.homes[task]
        if home == scope:
            return var("tasks", task, "outputs", kind, output)
        home_path = self.path(home)
        if scope in home_path:  # made deeper inside: surfaced by the child scope holding it
            child = self.scopes[home_path[home_path.index(scope) + 1]]
            name = self._exported(child.name, value, task, output, artifact)
            assert child.caller is not None
            return var("tasks", child.caller, "outputs", kind, name)
        return self._imported(scope, f"{task}-{output}", value, artifact)

    def _imported(self, scope: str, name: str, value: Value, artifact: bool) -> str:
        target = self.scopes[scope]
        known = target.in_artifacts if artifact else target.in_params
        if name not in known:
            known[name] = None
            assert target.parent is not None and target.caller is not None
            caller = self.scopes[target.parent].tasks[target.caller]
            source = (
                self.artifact(value, target.parent)
                if artifact
                else self.param(value, target.parent)
            )
            caller.setdefault("artifacts" if artifact else "parameters", {})[name] = source
        return var("inputs", "artifacts" if artifact else "parameters", name)

    def _exported(self, scope: str, value: Value, task: str, output: str, artifact: bool) -> str:
        target = self.scopes[scope]
        name = f"{task}-{output}"
        known = target.out_artifacts if artifact else target.out_params
        if name not in known:
            known[name] = self.artifact(value, scope) if artifact else self.param(value, scope)
            home_path = self.path(self.homes[task])
            if not artifact and scope != home_path[-1]:
                child = home_path[home_path.index(scope) + 1]
                group = self.groups.get(child)
                if group is not None and group.kind == "condition":
                    target.defaults[name] = SKIPPED  # the branch may not run in an iteration
                elif child == body(scope):
                    target.defaults[name] = "[]"  # a loop over no items aggregates nothing
        return name


# Argo's names of parameters and artifacts (paramOrArtifactNameRegex, workflow/validate)
PARAM_NAME = re.compile(r"^[-a-zA-Z0-9_]+$")


def item_name(loop: str, key: str | None) -> str:
    """The parameter a loop body gets its item (or one key of it, ``{{item.key}}``) in. A key
    Argo would refuse in a parameter name is written with ``_`` for each such character and
    the first 8 hex digits of its sha256 after it; a valid key spelled like such a name is
    refused where both are read (``WorkflowBuilder._group``)."""
    if key is None:
        return f"{loop}-item"
    if PARAM_NAME.match(key):
        return f"{loop}-item-{key}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    return f"{loop}-item-{re.sub(r'[^-a-zA-Z0-9_]', '_', key)}-{digest}"


def iterator(group: GroupIR) -> str:
    """The name of the task that loops over a ParallelFor's items."""
    return f"{group.id}-each"


def loop_keys(ir: PipelineIR) -> dict[str, set[str]]:
    """The dict keys of each loop's item that a condition or a nested loop's items read
    (``item["a"]``): those need Argo's ``{{item.a}}``. Tasks get the whole item instead and
    pick the key in the pod (``entry.read_item``)."""
    found: dict[str, set[str]] = {g.id: set() for g in ir.groups if g.kind == "loop"}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if "loop_item" in value and value.get("key"):
                found[value["loop_item"]].add(value["key"])
            for inner in value.values():
                visit(inner)
        elif isinstance(value, list):
            for inner in value:
                visit(inner)

    for group in ir.groups:
        visit(group.condition)
        visit(group.items)
    return found


def no_braces(text: str, what: str, field: str = "value") -> str:
    """Refuse a value Argo would alter (``{{...}}`` it substitutes, control characters it
    cannot quote) where it cannot travel protected (``values.protect``)."""
    from dagwright.compiler.argo.values import needs_protection

    if needs_protection(text):
        raise ValidationError(
            f"Argo target: {what} holds '{{{{', a control character or dagwright's mark, "
            f"which Argo would alter: {text!r}",
            field=field,
            fix="a pipeline parameter cannot hold it on Argo (Argo substitutes its value, also "
            "at submit): give the text as a constant argument of the task that reads it, or "
            "return it from a component (constants and outputs travel protected)",
        )
    return text


def item_key(loop: str, key: str) -> str:
    """A key read as Argo's ``{{item.key}}``: refused when that variable cannot name it."""
    from dagwright.compiler.argo.values import needs_protection

    if not key or key != key.strip() or "{" in key or "}" in key or needs_protection(key):
        raise ValidationError(
            f"Argo target: a condition or a nested loop of {loop} reads the item's key "
            f"{key!r}, which Argo's {{{{item.<key>}}}} cannot name",
            block=loop,
            field="key",
            fix="use keys without braces or surrounding spaces, or pass the value through a "
            "component that picks it",
        )
    return key
