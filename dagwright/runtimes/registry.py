"""Runtime configs: small dataclasses that say how one step executes.

A config class names its ``kind``; the IR stores ``{"kind": ..., **fields}``. Configs defined
outside dagwright are found through the ``dagwright.runtimes`` entry-point group
(``kind = "package.module:ConfigClass"``).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from dagwright.errors import ValidationError

ENTRY_POINT_GROUP = "dagwright.runtimes"
# the module of dagwright's configs besides Local and Process (Job, Dask, Spark...), named as
# an entry point names one: imported when an IR names one of its kinds, not by this leaf
SCALE_OUT = "dagwright.runtimes.scale_out"
_CONFIGS: dict[str, type[RuntimeConfig]] = {}


@dataclass(frozen=True)
class RuntimeConfig:
    """Base of every runtime config; subclasses are dataclasses with JSON-compatible fields.

    Class attributes:
        kind: The name the IR stores.
        implementation: ``module:Class`` of the runtime that executes it, imported on first use
            (a runtime registered with ``register_runtime`` for the class wins).
        provides: Parameter names the runtime hands to the function (``spark``, ``client``):
            they are not pipeline inputs.
        serves: The step deploys a service and outputs its URL instead of returning a value.
        separate_process: The function runs in another process than the engine.
    """

    kind: ClassVar[str] = ""
    implementation: ClassVar[str] = ""
    provides: ClassVar[tuple[str, ...]] = ()
    serves: ClassVar[bool] = False
    separate_process: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _CONFIGS[cls.kind] = cls

    def to_dict(self) -> dict[str, Any]:
        """The config as IR data (its ``kind`` and fields)."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    def runs_apart(self, injected: Sequence[str]) -> bool:
        """Whether the step's function runs in another process than the engine (so it cannot
        see a ``memory://`` store); ``injected`` names what the function takes from the runtime.
        """
        return self.separate_process


@dataclass(frozen=True)
class Local(RuntimeConfig):
    """Run the step in a worker thread of the engine's process (the default).

    The cheapest way to run a step: no process start, values passed in memory. A timeout stops
    waiting for the step but cannot stop its thread; use Process() for steps that must be killed.
    """

    kind: ClassVar[str] = "local"
    implementation: ClassVar[str] = "dagwright.runtimes.local:LocalRuntime"


@dataclass(frozen=True)
class Process(RuntimeConfig):
    """Run the step in a process of its own, killed with everything it started.

    By default the step runs in a fork of a warm server (``runtimes/fork_server.py``): a
    process that has dagwright and the component's module imported, started on the first
    ``Process()`` step and kept for later steps and runs of the engine's process, so a step
    costs a fork rather than an interpreter start. The child gets the engine's current
    environment plus the component's ``env``, its own process group and output files, as a new
    interpreter would; what Python reads only when it starts (``PYTHON*`` variables such as
    ``PYTHONHASHSEED``) and what modules did when the server imported them stay the server's.
    A component with its own ``env`` has its module imported in the step, after the ``env``
    applies. Take ``fresh=True`` for a step that needs a clean start: one whose module starts
    threads when imported (a fork keeps only the thread that forked), or reads ``PYTHON*``
    variables from its ``env``.

    Args:
        python: Run ``python -m dagwright.executor`` with this interpreter, a new one per step.
        fresh: Start a new interpreter (the engine's own) for every step: a clean start, at
            the cost of the interpreter's start-up and imports (about 0.1 s a step).
    """

    kind: ClassVar[str] = "process"
    implementation: ClassVar[str] = "dagwright.runtimes.process:ProcessRuntime"
    separate_process: ClassVar[bool] = True
    python: str | None = None
    fresh: bool = False

    def __post_init__(self) -> None:
        python = self.python
        if python is not None and (
            not isinstance(python, str)
            or not python.strip()
            or python != python.strip()
            or any(c in python for c in "\0\n\r")
        ):
            raise ValidationError(
                f"python={python!r} is not an interpreter to run",
                field="runtime.python",
                fix="pass the path or name of a Python interpreter, e.g. "
                "Process(python='/usr/bin/python3'), or leave it out for the engine's own",
            )
        if not isinstance(self.fresh, bool):
            raise ValidationError(
                f"fresh={self.fresh!r} is not True or False",
                field="runtime.fresh",
                fix="pass Process(fresh=True) for a new interpreter per step, or leave it out "
                "for a fork of the warm server",
            )

    @property
    def starts_interpreter(self) -> bool:
        """Whether each step starts a new interpreter (``python`` or ``fresh`` given)."""
        return self.fresh or self.python is not None

    def to_dict(self) -> dict[str, Any]:
        """The config as IR data; ``fresh`` only when set, so specs of ``Process()`` (and
        their digests) stay what they were before the field existed."""
        data = super().to_dict()
        if not self.fresh:
            del data["fresh"]
        return data


def config_class(kind: str) -> type[RuntimeConfig]:
    """Find the config class for a kind, loading entry points on a miss."""
    if kind not in _CONFIGS:  # dagwright's other configs, imported on first use
        importlib.import_module(SCALE_OUT)
    if kind not in _CONFIGS:
        from dagwright import plugins  # only on a miss: reading them costs ~10-50 ms

        for entry in plugins.entry_points(ENTRY_POINT_GROUP):
            if entry.name == kind:
                entry.load()
    if kind not in _CONFIGS:
        raise ValidationError(
            f"unknown runtime kind '{kind}'",
            field="runtime",
            fix=f"use one of {sorted(_CONFIGS)} or install the package that provides it",
        )
    return _CONFIGS[kind]


def config_from_dict(data: dict[str, Any]) -> RuntimeConfig:
    """The runtime config that ``to_dict`` made."""
    fields = dict(data)
    cls = config_class(fields.pop("kind"))
    return cls(**fields)
