"""From the IR to what a target runs. Targets register a writer under their name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR
from dagwright.pipelines.validate import validate_ir

Writer = Callable[[PipelineIR, "Path | None"], str]


def _ir(ir: PipelineIR, path: Path | None) -> str:
    """The IR itself: JSON for a .json path, YAML otherwise."""
    return ir.to_json() if path is not None and path.suffix == ".json" else ir.to_yaml()


TARGETS: dict[str, Writer] = {"ir": _ir}


def compile_ir(ir: PipelineIR, target: str = "ir", path: str | Path | None = None) -> str:
    """Validate the IR, render it for ``target`` and write it to ``path`` when given.

    Raises:
        ValidationError: for an unknown target or an invalid pipeline (nothing is written).
    """
    if target not in TARGETS:
        raise ValidationError(
            f"unknown target '{target}'",
            pipeline=ir.name,
            field="target",
            fix=f"use one of {sorted(TARGETS)}",
        )
    validate_ir(ir)
    out = Path(path) if path is not None else None
    text = TARGETS[target](ir, out)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    return text
