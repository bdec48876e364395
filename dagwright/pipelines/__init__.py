"""Pipelines: tracing, the builder, control flow and the IR."""

from typing import TYPE_CHECKING, Any

from dagwright.pipelines.control import Elif, Else, ExitHandler, If, ParallelFor
from dagwright.pipelines.decorator import Pipeline, PipelineDefinition, pipeline
from dagwright.pipelines.handles import PipelineHandle, TaskHandle
from dagwright.pipelines.ir import IR_VERSION, GroupIR, PipelineIR, TaskIR
from dagwright.pipelines.refs import Collected, Condition, OneOf

if TYPE_CHECKING:
    from dagwright.pipelines.notify import Email, Slack, Webhook

_NOTIFIERS = ("Email", "Slack", "Webhook")


def __getattr__(name: str) -> Any:
    """The notifiers (``notify.py``), imported on first use."""
    if name in _NOTIFIERS:
        from dagwright.pipelines import notify

        return getattr(notify, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IR_VERSION",
    "Collected",
    "Condition",
    "Elif",
    "Else",
    "Email",
    "ExitHandler",
    "GroupIR",
    "OneOf",
    "If",
    "ParallelFor",
    "Slack",
    "Pipeline",
    "PipelineDefinition",
    "PipelineHandle",
    "PipelineIR",
    "TaskHandle",
    "TaskIR",
    "Webhook",
    "pipeline",
]
