"""Human-readable text for an IR: what ``dagwright inspect`` prints."""

from __future__ import annotations

from dagwright.pipelines.blocks import dependencies
from dagwright.pipelines.ir import PipelineIR, Value

_SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def value_text(value: Value) -> str:
    """An IR value as people read it (``train.model``, ``lr``, ``3``)."""
    if "constant" in value:
        return repr(value["constant"])
    if "param" in value:
        return value["param"]
    if "task" in value:
        return f"{value['task']}.{value['output']}"
    if "loop_item" in value:
        return f"item({value['loop_item']})" + (f"[{value['key']!r}]" if "key" in value else "")
    if "one_of" in value:
        return "OneOf(" + ", ".join(value_text(v) for v in value["one_of"]) + ")"
    if "final_status" in value:
        return f"final status of {value['final_status']}"
    ref = value["collected"]
    return f"Collected({ref['task']}.{ref['output']})"


def condition_text(expr: Value) -> str:
    """A condition as people read it (``(score > 25 and ...)``)."""
    op = expr.get("op")
    if op is None:
        return repr(expr.get("constant"))
    if op in ("and", "or"):
        return "(" + f" {op} ".join(condition_text(a) for a in expr["args"]) + ")"
    if op == "not":
        return f"not {condition_text(expr['arg'])}"
    return f"{value_text(expr['left'])} {_SYMBOLS[op]} {value_text(expr['right'])}"


def describe(ir: PipelineIR) -> str:
    """Tasks, inputs, outputs, blocks and edges of a pipeline, one fact a line."""
    lines = [f"pipeline {ir.name}" + (f": {ir.description}" if ir.description else "")]
    if ir.schedule:
        lines.append(f"schedule: {ir.schedule}")
    lines.append("parameters:" if ir.params else "parameters: none")
    for p in ir.params:
        lines.append(f"  {p.name}: {p.type}" + (f" = {p.default!r}" if p.has_default else ""))
    lines.append("tasks:")
    for task in ir.tasks:
        spec = ir.component_of(task)
        where = f"  in {task.group}" if task.group else ""
        shown = f" {task.display_name!r}" if task.display_name else ""
        tolerant = "  (runs whatever its upstream did)" if task.ignore_upstream_failure else ""
        lines.append(f"  {task.name}{shown} ({task.component}){where}{tolerant}")
        for name, value in task.inputs.items():
            lines.append(f"    in  {name} <- {value_text(value)}")
        for out in spec.outputs:
            lines.append(f"    out {out.name}: {out.type}")
    if ir.groups:
        lines.append("blocks:")
    for group in ir.groups:
        inside = f" in {group.parent}" if group.parent else ""
        if group.kind == "condition":
            detail = f"{group.branch} {condition_text(group.condition or {})}"
        elif group.kind == "loop":
            detail = f"for item in {value_text(group.items or {})}"
            detail += f" (parallelism {group.parallelism})" if group.parallelism else ""
        elif group.kind == "exit_handler":
            detail = f"exit handler, then {group.exit_task}"
        else:
            detail = "sub-pipeline"
        lines.append(f"  {group.id}{inside}: {detail}")
    lines.append("edges:")
    for task in ir.tasks:
        for dep in dependencies(ir, task):
            lines.append(f"  {dep} -> {task.name}")
    lines.append("outputs:" if ir.outputs else "outputs: none")
    for name, value in ir.outputs.items():
        lines.append(f"  {name} <- {value_text(value)}")
    return "\n".join(lines)
