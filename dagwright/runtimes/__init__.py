"""How one step executes. A runtime is chosen by the type of the component's runtime config.

Each runtime has two faces: ``run`` executes a step here and returns an Attempt (the outcome,
or the error with its traceback, and what the step printed; it never raises for the step's own
failure), and ``fragments`` says what a compiled step needs on Kubernetes. Runtimes are found by
config class: one registered with ``register_runtime``, else the class's ``implementation``;
configs of other packages come through the ``dagwright.runtimes`` entry-point group.
"""

from __future__ import annotations

import importlib
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dagwright.errors import NotFound
from dagwright.runtimes.registry import Local, Process, RuntimeConfig

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ loads them
    from dagwright.executor import Step, StepOutcome
    from dagwright.runtimes.fragments import Fragments, PodStep
    from dagwright.runtimes.scale_out import Dask, Horovod, Job, Nuclio, Spark
    from dagwright.runtimes.session import Session

# name -> the module that defines it, imported when the name is first used: a pipeline file
# (`import dagwright`) needs only Local and Process
_LAZY = {
    "Dask": "dagwright.runtimes.scale_out",
    "Horovod": "dagwright.runtimes.scale_out",
    "Job": "dagwright.runtimes.scale_out",
    "Nuclio": "dagwright.runtimes.scale_out",
    "Spark": "dagwright.runtimes.scale_out",
    "Fragments": "dagwright.runtimes.fragments",
    "PodStep": "dagwright.runtimes.fragments",
    "Session": "dagwright.runtimes.session",
}

__all__ = [
    "Attempt",
    "Dask",
    "Fragments",
    "Horovod",
    "Job",
    "Local",
    "Nuclio",
    "PodStep",
    "Process",
    "Runtime",
    "RuntimeConfig",
    "ServingRuntime",
    "Session",
    "Spark",
    "cancelled",
    "register_runtime",
    "runtime_for",
]


@dataclass
class Attempt:
    """One try at running a step."""

    outcome: StepOutcome | None = None
    error: str | None = None
    traceback: str | None = None
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """Whether the attempt succeeded."""
        return self.outcome is not None


def cancelled(step: Step, stdout: str = "", stderr: str = "") -> Attempt:
    """The attempt of a step stopped because its run was cancelled (``step.stop``)."""
    return Attempt(
        error=f"Cancelled: step '{step.task}' was stopped: its run was cancelled by request",
        stdout=stdout,
        stderr=stderr,
    )


class Runtime(Protocol):
    """Executes steps of one kind of runtime config."""

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        """Run the step once; ``timeout`` in seconds (None: no limit)."""
        ...

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        """What a compiled step with this config needs besides ``pod``."""
        ...

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        """Inside a compiled step's pod: the objects the function may declare by name
        (``spark``, ``client``), made while the context is open."""
        ...


@runtime_checkable
class ServingRuntime(Runtime, Protocol):
    """A runtime whose steps deploy a service (``config.serves``) and output its URL."""

    def deploy(self, step: Step) -> StepOutcome:
        """Inside a compiled step's pod: deploy the function where the target runs it."""
        ...


_RUNTIMES: dict[type[RuntimeConfig], Runtime] = {}
_LOCK = threading.Lock()


def register_runtime(config_type: type[RuntimeConfig], runtime: Runtime) -> None:
    """Use ``runtime`` for configs of ``config_type`` (and its subclasses)."""
    with _LOCK:
        _RUNTIMES[config_type] = runtime


def runtime_for(config: RuntimeConfig) -> Runtime:
    """The runtime for a config: registered for its class or a base, else its implementation.

    Raises:
        LookupError: when no class in the config's MRO names a runtime.
    """
    for cls in type(config).__mro__:
        if cls in _RUNTIMES:
            return _RUNTIMES[cls]
        ref = cls.__dict__.get("implementation")
        if ref:
            module, _, name = ref.partition(":")
            runtime: Runtime = getattr(importlib.import_module(module), name)()
            with _LOCK:
                return _RUNTIMES.setdefault(cls, runtime)
    raise NotFound(f"no runtime registered for runtime config '{config.kind}'")


def __getattr__(name: str) -> Any:
    """The scale-out configs, ``Session``, ``Fragments`` and ``PodStep``, imported on first
    use; then kept here, so this runs once per name."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
