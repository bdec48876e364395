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
from dagwright.components.pod import (
    ConfigMapEnv,
    NodeAffinity,
    PodOptions,
    Secret,
    Volume,
    mounted,
)
from dagwright.components.spec import ComponentSpec, IOSpec, Resources, Retry

__all__ = [
    "HTML",
    "Artifact",
    "Component",
    "ComponentSpec",
    "ConfigMapEnv",
    "Dataset",
    "IOSpec",
    "Input",
    "Markdown",
    "Metrics",
    "Model",
    "NodeAffinity",
    "Output",
    "PipelineTaskFinalStatus",
    "PodOptions",
    "Resources",
    "Retry",
    "Secret",
    "Volume",
    "component",
    "mounted",
]
