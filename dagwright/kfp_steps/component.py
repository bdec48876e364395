"""An imported KFP component as KFP wrote it (``ComponentSpec.kfp``): its container, its
command, its interface, and for a Python lightweight component the program its command embeds.

A lightweight component's command is KFP's ``sh -c <pip install ...> sh -ec <write the program
to ephemeral_component.py; python3 -m kfp.dsl.executor_main ...> <program>``, with the args
``--executor_input {{$}} --function_to_execute NAME``: the program is the element after the one
that runs ``executor_main`` on ``ephemeral_component.py``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError

# what kfp's component factory writes into every lightweight component's command: the module
# is kfp.dsl.executor_main, or kfp.components.executor_main in YAML older kfp 2 betas wrote
_EXECUTOR_MAIN = ".executor_main"
_PROGRAM_FILE = "ephemeral_component.py"

# KFP parameter types and the JSON values they hold
INTEGER, DOUBLE, STRING, BOOLEAN = "NUMBER_INTEGER", "NUMBER_DOUBLE", "STRING", "BOOLEAN"


@dataclass(frozen=True)
class KfpComponent:
    """One KFP component: container, command (``command`` then ``args``) and interface.

    Attributes:
        name: The dagwright component's name.
        image: The container image.
        command: ``command`` followed by ``args``, placeholders unresolved.
        env: The container's environment (``env`` of the executor: name and value).
        inputs: ``inputDefinitions`` (``parameters``, ``artifacts``).
        outputs: ``outputDefinitions``.
        program: For a Python lightweight component, the module text its command embeds.
        function: The ``--function_to_execute`` of a lightweight component.
        install: The shell text that pip-installs the component's packages (lightweight).
        entrypoint: The container gives no ``command``, only ``args`` to its image's
            entrypoint.
    """

    name: str
    image: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    program: str | None = None
    function: str | None = None
    install: str = ""
    entrypoint: bool = False

    @property
    def lightweight(self) -> bool:
        """Whether the component is a Python function KFP embedded in its command."""
        return self.program is not None and self.function is not None

    @property
    def input_parameters(self) -> dict[str, dict[str, Any]]:
        """Input parameter definitions by name."""
        return dict(self.inputs.get("parameters") or {})

    @property
    def input_artifacts(self) -> dict[str, dict[str, Any]]:
        """Input artifact definitions by name."""
        return dict(self.inputs.get("artifacts") or {})

    @property
    def output_parameters(self) -> dict[str, dict[str, Any]]:
        """Output parameter definitions by name."""
        return dict(self.outputs.get("parameters") or {})

    @property
    def output_artifacts(self) -> dict[str, dict[str, Any]]:
        """Output artifact definitions by name."""
        return dict(self.outputs.get("artifacts") or {})


_CACHE: dict[str, KfpComponent] = {}
_LOCK = threading.Lock()


def component_of(spec: ComponentSpec, digest: str) -> KfpComponent:
    """The KFP view of a spec whose ``kfp`` is set, read once per digest in a process."""
    found = _CACHE.get(digest)
    if found is None:
        found = _read(spec)
        with _LOCK:
            _CACHE[digest] = found
    return found


def _read(spec: ComponentSpec) -> KfpComponent:
    data = spec.kfp or {}
    container = (data.get("executor") or {}).get("container")
    if not isinstance(container, dict):
        raise ValidationError(
            f"component '{spec.name}' has no container executor (kinds: "
            f"{', '.join(sorted(data.get('executor') or {})) or 'none'})",
            field="kfp.executor",
            fix="import the pipeline again: only container executors run as steps",
        )
    command = [str(c) for c in (container.get("command") or [])]
    command += [str(a) for a in (container.get("args") or [])]
    env = {str(e["name"]): str(e.get("value", "")) for e in container.get("env") or []}
    program, function, install = _lightweight(command)
    return KfpComponent(
        name=spec.name,
        image=str(container.get("image") or spec.image or ""),
        command=command,
        env=env,
        inputs=dict(data.get("inputDefinitions") or {}),
        outputs=dict(data.get("outputDefinitions") or {}),
        program=program,
        function=function,
        install=install,
        entrypoint=not container.get("command"),
    )


def _lightweight(command: list[str]) -> tuple[str | None, str | None, str]:
    """Program text, function name and pip-install text of a lightweight component's command,
    or Nones when the command is anything else (a container component, a containerized
    Python component whose code is in its image)."""
    runner = next(
        (i for i, part in enumerate(command) if _EXECUTOR_MAIN in part and _PROGRAM_FILE in part),
        None,
    )
    if runner is None or runner + 1 >= len(command):
        return None, None, ""
    function = None
    for i, part in enumerate(command[:-1]):
        if part == "--function_to_execute":
            function = command[i + 1]
    install = "\n".join(part for part in command[:runner] if "pip install" in part)
    return command[runner + 1], function, install
