"""dagwright: typed Python components, wired into pipelines that run here, on KFP and on Argo."""

from dagwright.api import compile, resume, run
from dagwright.components import (
    HTML,
    Artifact,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
    Resources,
    Retry,
    component,
)
from dagwright.errors import DagwrightError, RunFailed, ValidationError
from dagwright.pipelines import (
    Collected,
    Elif,
    Else,
    ExitHandler,
    If,
    ParallelFor,
    Pipeline,
    PipelineIR,
    pipeline,
)
from dagwright.remote.api import schedule, submit

__version__ = "0.1.0"

__all__ = [
    "DagwrightError",
    "HTML",
    "Artifact",
    "Collected",
    "Dataset",
    "Elif",
    "Else",
    "ExitHandler",
    "If",
    "Input",
    "Markdown",
    "Metrics",
    "Model",
    "Output",
    "ParallelFor",
    "Pipeline",
    "PipelineIR",
    "Resources",
    "Retry",
    "RunFailed",
    "ValidationError",
    "compile",
    "component",
    "pipeline",
    "resume",
    "run",
    "schedule",
    "submit",
]
