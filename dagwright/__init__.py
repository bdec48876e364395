"""dagwright: typed Python components, wired into pipelines that run here, on KFP and on Argo.

``import dagwright`` loads what a pipeline file needs (components, pipelines, errors); the
entry points that run, compile or send a pipeline (``run``, ``resume``, ``cancel``, ``compile``,
``submit``, ``schedule``) and the subpackages behind them (engine, store, compiler, remote,
lineage) load on first use (PEP 562 ``__getattr__``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dagwright._version import __version__ as __version__
from dagwright.components import (
    HTML,
    Artifact,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
    PipelineTaskFinalStatus,
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
    OneOf,
    ParallelFor,
    Pipeline,
    PipelineIR,
    pipeline,
)

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads them
    from dagwright.api import cancel, compile, resume, run
    from dagwright.components.pod import ConfigMapEnv, NodeAffinity, Secret, Volume, mounted
    from dagwright.pipelines.importer import importer
    from dagwright.pipelines.notify import Email, Slack, Webhook
    from dagwright.remote.api import runs_on, schedule, submit

# name -> the module that defines it, imported when the name is first used
_LAZY = {
    "ConfigMapEnv": "dagwright.components.pod",
    "NodeAffinity": "dagwright.components.pod",
    "Secret": "dagwright.components.pod",
    "Volume": "dagwright.components.pod",
    "mounted": "dagwright.components.pod",
    "cancel": "dagwright.api",
    "compile": "dagwright.api",
    "Email": "dagwright.pipelines.notify",
    "importer": "dagwright.pipelines.importer",
    "resume": "dagwright.api",
    "run": "dagwright.api",
    "runs_on": "dagwright.remote.api",
    "Slack": "dagwright.pipelines.notify",
    "Webhook": "dagwright.pipelines.notify",
    "schedule": "dagwright.remote.api",
    "submit": "dagwright.remote.api",
}

__all__ = [
    "DagwrightError",
    "HTML",
    "Artifact",
    "Collected",
    "ConfigMapEnv",
    "Dataset",
    "Elif",
    "Else",
    "Email",
    "ExitHandler",
    "If",
    "Input",
    "Markdown",
    "Metrics",
    "Model",
    "NodeAffinity",
    "OneOf",
    "Output",
    "ParallelFor",
    "Pipeline",
    "PipelineIR",
    "PipelineTaskFinalStatus",
    "Resources",
    "Retry",
    "RunFailed",
    "Secret",
    "Slack",
    "ValidationError",
    "Volume",
    "Webhook",
    "cancel",
    "compile",
    "component",
    "importer",
    "mounted",
    "pipeline",
    "resume",
    "run",
    "runs_on",
    "schedule",
    "submit",
]


def __getattr__(name: str) -> Any:
    """``dagwright.run`` and the other entry points, and ``dagwright.engine`` and the other
    subpackages, imported on first use; then kept here, so this runs once per name."""
    if name.startswith("__"):  # probes such as __wrapped__ are not submodules
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        try:  # a subpackage or module not imported yet, as `import dagwright` once made them
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


# what this module imports for its own use, not dagwright's API
_OWN_USE = {"annotations", "importlib", "TYPE_CHECKING", "Any"}


def __dir__() -> list[str]:
    """The loaded names and every public one, loaded or not (for completion in a REPL)."""
    shown = {n for n in globals() if not n.startswith("_") or n.startswith("__")}
    return sorted((shown - _OWN_USE) | set(__all__))
