"""ComponentSpec: everything the IR keeps about a component, as plain data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagwright.runtimes.registry import Local, RuntimeConfig, config_from_dict

if TYPE_CHECKING:  # components/pod.py loads when a pod option is used, not with dagwright
    from dagwright.components.pod import ConfigMapEnv, NodeAffinity, Secret, Volume

_NO_DEFAULT: Any = object()

# the options a task may set for itself (KFP's task methods): its own variant of the component
TASK_OPTIONS = ("resources", "retry", "cache", "cache_version", "env", "pod")


@dataclass
class IOSpec:
    """One input or output of a component."""

    name: str
    type: str
    artifact: bool = False
    description: str = ""
    default: Any = _NO_DEFAULT

    @property
    def has_default(self) -> bool:
        """Whether the input has a default (None counts as one)."""
        return self.default is not _NO_DEFAULT

    def to_dict(self) -> dict[str, Any]:
        """The input or output as IR data."""
        data: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.artifact:
            data["artifact"] = True
        if self.description:
            data["description"] = self.description
        if self.has_default:
            data["default"] = self.default
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IOSpec:
        """The input or output from IR data."""
        return cls(
            name=data["name"],
            type=data["type"],
            artifact=data.get("artifact", False),
            description=data.get("description", ""),
            default=data.get("default", _NO_DEFAULT),
        )


@dataclass(frozen=True)
class Resources:
    """Requests and limits for one step, in Kubernetes quantities (``cpu="500m"``,
    ``memory="1Gi"``). ``gpu`` is a count; Kubernetes treats GPUs as a limit."""

    cpu: str | None = None
    memory: str | None = None
    gpu: int | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The requests and limits that are set, as IR data."""
        return {k: v for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class Retry:
    """Retry a failed step ``limit`` times, waiting ``backoff`` seconds times ``factor`` each try.

    Matches Argo's retryStrategy (limit, backoff duration/factor/maxDuration) and KFP's
    ``set_retry``.
    """

    limit: int = 0
    backoff: float = 0.0
    factor: float = 2.0
    max_backoff: float | None = None

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        wait = self.backoff * self.factor ** (attempt - 1)
        return min(wait, self.max_backoff) if self.max_backoff is not None else wait

    def to_dict(self) -> dict[str, Any]:
        """The retry policy as IR data."""
        data: dict[str, Any] = {"limit": self.limit, "backoff": self.backoff, "factor": self.factor}
        if self.max_backoff is not None:
            data["max_backoff"] = self.max_backoff
        return data


@dataclass(frozen=True)
class PodOptions:
    """Everything of a step's pod beyond its container image, command and resources: its
    volumes, Secret and ConfigMap keys as variables, placement, image pull secrets, labels
    and annotations (the item types are in ``components/pod.py``)."""

    volumes: tuple[Volume, ...] = ()
    secrets: tuple[Secret, ...] = ()
    config_maps: tuple[ConfigMapEnv, ...] = ()
    node_selector: dict[str, str] = field(default_factory=dict)
    affinity: tuple[NodeAffinity, ...] = ()
    image_pull_secrets: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def to_dict(self) -> dict[str, Any]:
        """The options that are set, as IR data."""
        data: dict[str, Any] = {}
        for name in ("volumes", "secrets", "config_maps", "affinity"):
            if getattr(self, name):
                data[name] = [item.to_dict() for item in getattr(self, name)]
        for name in ("node_selector", "labels", "annotations"):
            if getattr(self, name):
                data[name] = dict(sorted(getattr(self, name).items()))
        if self.image_pull_secrets:
            data["image_pull_secrets"] = list(self.image_pull_secrets)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PodOptions:
        """The options from IR data."""
        if not data:
            return cls()
        from dagwright.components.pod import ConfigMapEnv, NodeAffinity, Secret, Volume

        return cls(
            volumes=tuple(Volume(**v) for v in data.get("volumes", [])),
            secrets=tuple(Secret(**s) for s in data.get("secrets", [])),
            config_maps=tuple(ConfigMapEnv(**c) for c in data.get("config_maps", [])),
            node_selector=dict(data.get("node_selector", {})),
            affinity=tuple(
                NodeAffinity(**{**a, "values": tuple(a.get("values", ()))})
                for a in data.get("affinity", [])
            ),
            image_pull_secrets=tuple(data.get("image_pull_secrets", [])),
            labels=dict(data.get("labels", {})),
            annotations=dict(data.get("annotations", {})),
        )


@dataclass
class ComponentSpec:
    """A component as data: its interface, options and code.

    ``outputs`` lists the function's return values (``output`` for a single value, the field
    names of a NamedTuple) followed by its ``Output[...]`` artifacts. ``returns`` says which
    return shape the function has: "none", "single" or "namedtuple". ``injected`` names the
    parameters the runtime hands over (``spark``, ``client``): they are not inputs. ``kfp``
    is set on a component imported from a KFP pipeline: its executor, ``inputDefinitions``
    and ``outputDefinitions`` as KFP wrote them; its step then runs through KFP's executor
    contract (``dagwright/kfp_steps/``).
    """

    name: str
    inputs: list[IOSpec]
    outputs: list[IOSpec]
    source: str
    function: str
    returns: str = "none"
    description: str = ""
    module: str | None = None
    image: str | None = None
    packages: list[str] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    retry: Retry = field(default_factory=Retry)
    timeout: float | None = None
    cache: bool = False
    cache_version: str | None = None
    runtime: RuntimeConfig = field(default_factory=Local)
    env: dict[str, str] = field(default_factory=dict)
    # volumes, Secrets and ConfigMaps as variables, placement, pod labels (components/pod.py)
    pod: PodOptions = field(default_factory=PodOptions)
    # variables taken from inputs when the step runs ({"LR": "env_LR"}); those inputs, which
    # task.set_env_variable(name, <a pipeline value>) adds, are not the function's arguments
    env_inputs: dict[str, str] = field(default_factory=dict)
    injected: list[str] = field(default_factory=list)
    kfp: dict[str, Any] | None = None
    # a built-in importer (dagwright.importer): {"type", "metadata", "reimport"}; no code runs
    importer: dict[str, Any] | None = None

    def input(self, name: str) -> IOSpec | None:
        """The input called ``name``, or None."""
        return next((i for i in self.inputs if i.name == name), None)

    def output(self, name: str) -> IOSpec | None:
        """The output called ``name``, or None."""
        return next((o for o in self.outputs if o.name == name), None)

    @property
    def output_artifacts(self) -> list[IOSpec]:
        """The outputs that are artifacts."""
        return [o for o in self.outputs if o.artifact]

    @property
    def import_ref(self) -> str | None:
        """``module:function`` when the component's module can be imported."""
        return f"{self.module}:{self.function}" if self.module else None

    def to_dict(self) -> dict[str, Any]:
        """The component as IR data (with its source)."""
        data: dict[str, Any] = {"name": self.name}
        if self.description:
            data["description"] = self.description
        data["inputs"] = [i.to_dict() for i in self.inputs]
        data["outputs"] = [o.to_dict() for o in self.outputs]
        data["returns"] = self.returns
        data["image"] = self.image
        data["packages"] = list(self.packages)
        data["resources"] = self.resources.to_dict()
        data["retry"] = self.retry.to_dict()
        data["timeout"] = self.timeout
        data["cache"] = self.cache
        if self.cache_version is not None:
            data["cache_version"] = self.cache_version
        data["runtime"] = self.runtime.to_dict()
        if self.env:  # only when set, so digests of components without env stay as they were
            data["env"] = dict(self.env)
        if self.pod:  # likewise
            data["pod"] = self.pod.to_dict()
        if self.env_inputs:  # likewise
            data["env_inputs"] = dict(self.env_inputs)
        if self.injected:  # likewise: only components that take a runtime's object carry it
            data["injected"] = list(self.injected)
        if self.kfp is not None:  # an imported KFP component: its executor and interface
            data["kfp"] = self.kfp
        if self.importer is not None:
            data["importer"] = dict(self.importer)
        data["function"] = self.function
        data["module"] = self.module
        data["source"] = self.source
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComponentSpec:
        """The component from IR data."""
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            inputs=[IOSpec.from_dict(i) for i in data.get("inputs", [])],
            outputs=[IOSpec.from_dict(o) for o in data.get("outputs", [])],
            returns=data.get("returns", "none"),
            image=data.get("image"),
            packages=list(data.get("packages", [])),
            resources=Resources(**data.get("resources", {})),
            retry=Retry(**data.get("retry", {})),
            timeout=data.get("timeout"),
            cache=data.get("cache", False),
            cache_version=data.get("cache_version"),
            runtime=config_from_dict(data.get("runtime", {"kind": "local"})),
            env=dict(data.get("env", {})),
            pod=PodOptions.from_dict(data.get("pod", {})),
            env_inputs=dict(data.get("env_inputs", {})),
            injected=list(data.get("injected", [])),
            kfp=data.get("kfp"),
            importer=data.get("importer"),
            function=data["function"],
            module=data.get("module"),
            source=data["source"],
        )

    @property
    def digest(self) -> str:
        """A content hash of source and options; where the code lives does not count."""
        content = self.to_dict()
        content.pop("module")
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()
