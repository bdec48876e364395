"""The scale-out runtime configs: Job, Dask, Spark, Horovod and Nuclio.

Each is a small frozen dataclass, checked when it is made, so a bad setting is refused where it
is written. Importing this module imports none of dask, pyspark, torch or nuclio-sdk; each
config names its implementation as ``module:Class``, loaded the first time a step uses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dagwright.errors import ValidationError
from dagwright.names import ENV_NAME, QUANTITY, is_k8s_name
from dagwright.runtimes.registry import RuntimeConfig

# Spark writes sizes as JVM options do: a number and an optional k/m/g/t/p (b) unit
_SPARK_MEMORY = re.compile(r"^[0-9]+([kmgtp]b?)?$", re.IGNORECASE)
_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")

# the schemes distributed's comm registry (distributed.comm.registry.backends) serves
DASK_SCHEMES = ("tcp", "tls", "ucx", "inproc", "ws", "wss")

# a memory size both Dask ("2GiB", "2 GB") and, once converted, Kubernetes ("2Gi") can read
DASK_MEMORY = re.compile(r"^([0-9]+(?:\.[0-9]+)?) ?(?:([kKMGTP])(i?))?B?$")


def _fail(kind: str, name: str, problem: str, fix: str) -> ValidationError:
    return ValidationError(f"runtime {kind}: {problem}", field=name, fix=fix)


def _count(kind: str, name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(
            kind,
            name,
            f"{name}={value!r} is not an integer >= {minimum}",
            f"pass e.g. {name}={max(minimum, 2)}",
        )


def _quantity(kind: str, name: str, value: Any) -> None:
    if value is not None and not (isinstance(value, str) and QUANTITY.match(value)):
        raise _fail(
            kind,
            name,
            f"{name}={value!r} is not a Kubernetes quantity",
            f"write it as a string such as {name}='2' or {name}='4Gi'",
        )


def _strings(kind: str, name: str, value: Any, keys: str = "any") -> None:
    if not isinstance(value, Mapping):
        raise _fail(
            kind,
            name,
            f"{name} is a {type(value).__name__}, not a dict",
            f"pass {name}={{'KEY': 'value'}}",
        )
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise _fail(
                kind,
                name,
                f"{name}[{key!r}] is not a string to string entry",
                "write every key and value as a string",
            )
        if keys == "env" and not ENV_NAME.match(key):
            raise _fail(
                kind,
                name,
                f"{key!r} is not an environment variable name",
                "use letters, digits and underscores, not starting with a digit",
            )


@dataclass(frozen=True)
class Job(RuntimeConfig):
    """The step runs in its own Kubernetes pod with these pod fields; locally as ``Process()``.

    Args:
        image: The container image (the component's image, else the target's default).
        cpu, memory, cpu_limit, memory_limit: Kubernetes quantities for the container.
        node_selector: ``nodeSelector`` labels.
        tolerations: Pod tolerations, as Kubernetes writes them (``key``, ``operator``, ...).
        service_account: ``serviceAccountName``.
        env: Environment variables for the container.
        secrets: Names of Secrets whose keys become environment variables (``envFrom``).
    """

    kind: ClassVar[str] = "job"
    implementation: ClassVar[str] = "dagwright.runtimes.job:JobRuntime"
    separate_process: ClassVar[bool] = True
    image: str | None = None
    cpu: str | None = None
    memory: str | None = None
    cpu_limit: str | None = None
    memory_limit: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: list[dict[str, Any]] = field(default_factory=list)
    service_account: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.image is not None and (not isinstance(self.image, str) or not self.image):
            raise _fail(
                "job",
                "image",
                f"image={self.image!r} is not an image name",
                "pass image='registry/name:tag'",
            )
        for name in ("cpu", "memory", "cpu_limit", "memory_limit"):
            _quantity("job", name, getattr(self, name))
        _strings("job", "node_selector", self.node_selector)
        _strings("job", "env", self.env, keys="env")
        if not isinstance(self.tolerations, list) or not all(
            isinstance(t, Mapping) for t in self.tolerations
        ):
            raise _fail(
                "job",
                "tolerations",
                "tolerations is not a list of dicts",
                "pass tolerations=[{'key': 'gpu', 'operator': 'Exists'}]",
            )
        # the API server's toleration and label rules, here so a bad value is refused where it
        # is written, not when a target compiles it (job.py imports no kubernetes for them)
        from dagwright.runtimes.job import check_node_selector, check_tolerations

        check_tolerations(self.tolerations)
        check_node_selector(self.node_selector)
        if self.service_account is not None and not is_k8s_name(str(self.service_account)):
            raise _fail(
                "job",
                "service_account",
                f"{self.service_account!r} is not a Kubernetes name",
                "use lower-case letters, digits and '-'",
            )
        if not isinstance(self.secrets, list) or not all(
            isinstance(s, str) and is_k8s_name(s) for s in self.secrets
        ):
            raise _fail(
                "job",
                "secrets",
                f"secrets={self.secrets!r} is not a list of Secret names",
                "pass secrets=['my-secret']",
            )


@dataclass(frozen=True)
class Dask(RuntimeConfig):
    """The step gets a Dask cluster: a ``distributed.LocalCluster`` shared by the run's steps,
    or the scheduler at ``address``. A function that declares ``client`` receives a
    ``dask.distributed.Client``; one that does not runs on a Dask worker.

    Args:
        workers: Worker processes of the local cluster.
        threads_per_worker: Threads in each worker.
        address: An existing scheduler (``tcp://host:8786``); no local cluster is started.
        memory_limit: Memory per worker, as Dask or Kubernetes writes it (``"2GiB"``, ``"2Gi"``).
    """

    kind: ClassVar[str] = "dask"
    implementation: ClassVar[str] = "dagwright.runtimes.dask:DaskRuntime"
    provides: ClassVar[tuple[str, ...]] = ("client",)
    workers: int = 2
    threads_per_worker: int = 1
    address: str | None = None
    memory_limit: str | None = None

    def runs_apart(self, injected: Sequence[str]) -> bool:
        """Whether the function runs in another process (on a worker unless it takes ``client``)."""
        return "client" not in injected  # without a client the step runs on a worker

    def __post_init__(self) -> None:
        _count("dask", "workers", self.workers)
        _count("dask", "threads_per_worker", self.threads_per_worker)
        if self.address is not None and (
            not isinstance(self.address, str)
            or self.address.partition("://")[0] not in DASK_SCHEMES
            or not self.address.partition("://")[2]
        ):
            raise _fail(
                "dask",
                "address",
                f"address={self.address!r} is not a scheduler URL "
                f"(scheme one of {', '.join(DASK_SCHEMES)}, then a host)",
                "pass address='tcp://scheduler:8786', or leave it out for a local cluster",
            )
        if self.memory_limit is not None and not (
            isinstance(self.memory_limit, str) and DASK_MEMORY.match(self.memory_limit)
        ):
            raise _fail(
                "dask",
                "memory_limit",
                f"memory_limit={self.memory_limit!r} is not a memory size",
                "write it as a string such as memory_limit='2GiB' or memory_limit='2Gi'",
            )


@dataclass(frozen=True)
class Spark(RuntimeConfig):
    """The step gets a Spark session as ``spark``: ``local[executors]`` here, a
    SparkApplication on Kubernetes. DataFrames it returns are stored as parquet.

    Args:
        executors: Local cores, or executor pods on Kubernetes.
        conf: Spark configuration (``spark.sql.shuffle.partitions`` ...).
        executor_cores: Cores per executor pod.
        executor_memory: Memory per executor pod (``"2g"``, Spark's notation).
        driver_memory: Memory of the driver (``"1g"``).
        spark_version: The Spark version the operator runs.
        service_account: The driver pod's service account on Kubernetes; the Spark operator
            needs one allowed to create and delete executor pods (its Helm chart makes
            ``spark``).
    """

    kind: ClassVar[str] = "spark"
    implementation: ClassVar[str] = "dagwright.runtimes.spark:SparkRuntime"
    provides: ClassVar[tuple[str, ...]] = ("spark",)
    executors: int = 2
    conf: dict[str, str] = field(default_factory=dict)
    executor_cores: int = 1
    executor_memory: str = "1g"
    driver_memory: str = "1g"
    spark_version: str = "3.5.3"
    service_account: str = "spark"

    def __post_init__(self) -> None:
        _count("spark", "executors", self.executors)
        _count("spark", "executor_cores", self.executor_cores)
        _strings("spark", "conf", self.conf)
        for key in self.conf:
            if not key.startswith("spark."):
                raise _fail(
                    "spark",
                    "conf",
                    f"{key!r} is not a Spark setting",
                    "Spark settings start with 'spark.'",
                )
        for name in ("executor_memory", "driver_memory"):
            value = getattr(self, name)
            if not (isinstance(value, str) and _SPARK_MEMORY.match(value)):
                raise _fail(
                    "spark",
                    name,
                    f"{name}={value!r} is not a Spark memory size",
                    f"write it as Spark does, e.g. {name}='2g' or '512m' (not '2Gi')",
                )
        if not (isinstance(self.spark_version, str) and _VERSION.match(self.spark_version)):
            raise _fail(
                "spark",
                "spark_version",
                f"spark_version={self.spark_version!r} is not a Spark version",
                "pass the version of the image's Spark, e.g. spark_version='3.5.3'",
            )
        if not (isinstance(self.service_account, str) and is_k8s_name(self.service_account)):
            raise _fail(
                "spark",
                "service_account",
                f"{self.service_account!r} is not a Kubernetes name",
                "use lower-case letters, digits and '-', e.g. service_account='spark'",
            )


@dataclass(frozen=True)
class Horovod(RuntimeConfig):
    """The step runs as ``np`` data-parallel ranks (MPI style): ``horovodrun`` when horovod is
    installed, else ranks started with torch.distributed's environment (gloo). Each rank sees
    ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; rank 0's
    outputs are the step's outputs. On Kubernetes an MPIJob.

    Args:
        np: Number of ranks (processes).
        slots_per_worker: Ranks per worker pod in the MPIJob.
        backend: horovodrun's controller (``--gloo`` or ``--mpi``; ``nccl`` adds no flag).
            Local ranks without horovod leave the choice to the function's own
            ``init_process_group`` call.
    """

    kind: ClassVar[str] = "horovod"
    implementation: ClassVar[str] = "dagwright.runtimes.horovod:HorovodRuntime"
    separate_process: ClassVar[bool] = True
    np: int = 2
    slots_per_worker: int = 1
    backend: str = "gloo"

    def __post_init__(self) -> None:
        _count("horovod", "np", self.np)
        _count("horovod", "slots_per_worker", self.slots_per_worker)
        if self.backend not in ("gloo", "nccl", "mpi"):
            raise _fail(
                "horovod",
                "backend",
                f"backend={self.backend!r} is not known",
                "use 'gloo' (CPU), 'nccl' (GPU) or 'mpi'",
            )


@dataclass(frozen=True)
class Nuclio(RuntimeConfig):
    """The component is a real-time HTTP function with a nuclio handler ``(context, event)``.

    The step deploys it and outputs its URL: locally an HTTP server on 127.0.0.1 that lives
    until the run ends (or ``dagwright serve`` stops), on Kubernetes a NuclioFunction.

    Args:
        port: Local port (0: any free port).
        min_replicas, max_replicas: Scaling of the deployed function.
        dashboard: The Nuclio dashboard URL a compiled deploy step calls.
        project: The Nuclio project of the deployed function.
        namespace: The Kubernetes namespace of the deployed function (the dashboard's API
            names it on every call).
    """

    kind: ClassVar[str] = "nuclio"
    implementation: ClassVar[str] = "dagwright.runtimes.nuclio:NuclioRuntime"
    provides: ClassVar[tuple[str, ...]] = ("context", "event")
    serves: ClassVar[bool] = True
    port: int = 0
    min_replicas: int = 1
    max_replicas: int = 1
    dashboard: str = "http://nuclio-dashboard.nuclio:8070"
    project: str = "default"
    namespace: str = "nuclio"

    def __post_init__(self) -> None:
        _count("nuclio", "port", self.port, minimum=0)
        if self.port > 65535:
            raise _fail(
                "nuclio",
                "port",
                f"port={self.port} is above 65535",
                "pass a TCP port, or port=0 for any free one",
            )
        _count("nuclio", "min_replicas", self.min_replicas, minimum=0)
        _count("nuclio", "max_replicas", self.max_replicas)
        if self.max_replicas < self.min_replicas:
            raise _fail(
                "nuclio",
                "max_replicas",
                f"max_replicas={self.max_replicas} is below min_replicas={self.min_replicas}",
                "make max_replicas >= min_replicas",
            )
        if not isinstance(self.dashboard, str) or not self.dashboard.startswith(
            ("http://", "https://")
        ):
            raise _fail(
                "nuclio",
                "dashboard",
                f"dashboard={self.dashboard!r} is not an http(s) URL",
                "pass dashboard='http://nuclio-dashboard.nuclio:8070'",
            )
        for name in ("project", "namespace"):
            value = getattr(self, name)
            if not isinstance(value, str) or not is_k8s_name(value):
                raise _fail(
                    "nuclio",
                    name,
                    f"{name}={value!r} is not a Kubernetes name",
                    "use lower-case letters, digits and '-'",
                )
