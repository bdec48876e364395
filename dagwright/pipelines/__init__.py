"""Pipelines: tracing, the builder, control flow and the IR."""

from dagwright.pipelines.control import Elif, Else, ExitHandler, If, ParallelFor
from dagwright.pipelines.decorator import Pipeline, PipelineDefinition, pipeline
from dagwright.pipelines.handles import PipelineHandle, TaskHandle
from dagwright.pipelines.ir import IR_VERSION, GroupIR, PipelineIR, TaskIR
from dagwright.pipelines.notify import Email, Slack, Webhook
from dagwright.pipelines.refs import Collected, Condition, OneOf

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
