"""Components: typed functions with the options a pipeline step needs."""

from dagwright.components.artifacts import (
    HTML,
    Artifact,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)
from dagwright.components.decorator import Component, component
from dagwright.components.final_status import PipelineTaskFinalStatus
from dagwright.components.spec import ComponentSpec, IOSpec, PodOptions, Resources, Retry

__all__ = [
    "HTML",
    "Artifact",
    "Component",
    "ComponentSpec",
    "Dataset",
    "IOSpec",
    "Input",
    "Markdown",
    "Metrics",
    "Model",
    "Output",
    "PipelineTaskFinalStatus",
    "PodOptions",
    "Resources",
    "Retry",
    "component",
]
