"""The ``ir`` target: the pipeline's own IR, YAML or JSON; it writes and sends nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.targets.base import Target, refuse_options

if TYPE_CHECKING:
    from dagwright.pipelines.ir import PipelineIR


def write(ir: PipelineIR, path: Path | None, options: dict[str, Any]) -> str:
    """The IR itself: JSON for a .json path, YAML otherwise."""
    refuse_options("ir", options)
    return ir.to_json() if path is not None and path.suffix == ".json" else ir.to_yaml()


TARGET = Target(name="ir", write=write, description="dagwright's IR (YAML, or JSON for .json)")
