"""The Dask runtime: a step gets a Dask cluster, shared by every Dask step of the run.

``Dask(workers=N)`` starts one ``distributed.LocalCluster`` of N worker processes the first time
a step of the run needs it and closes it when the run ends; ``Dask(address=...)`` connects to a
scheduler that someone else runs. A function that declares ``client`` runs in the engine's
thread and receives a ``Client``; one that does not is itself submitted to a Dask worker. On
Kubernetes the step either runs in a normal pod pointed at ``address``, or becomes a DaskJob
(the Dask operator's resource: a job pod plus its own scheduler and workers).
"""

from __future__ import annotations

import contextlib
import os
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

from dagwright.errors import ValidationError
from dagwright.executor import Step, StepOutcome
from dagwright.runtimes import Attempt, Fragments, PodStep, RuntimeConfig, Session
from dagwright.runtimes.fragments import INSTANCE, INSTANCE_LABEL
from dagwright.runtimes.local import attempt_step, run_local
from dagwright.runtimes.scale_out import DASK_MEMORY, Dask
from dagwright.runtimes.step_env import in_process

ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"
# The run's one Client is shared by its Dask steps; one that closes it closes it for the rest,
# which fail with this message rather than get a new Client (the run closes it when it ends).
CLOSED = (
    "RuntimeError: the run's Dask client was closed by a step (client.close()); the run "
    "closes it when it ends, so remove the step's close() call"
)
# the operator names the scheduler Service "<cluster>-scheduler" and keeps names within 63
MAX_JOB_NAME = 63 - len("-scheduler")


class DaskRuntime:
    """``Dask(...)``: a LocalCluster per run, or a Client of the scheduler at ``address``."""

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        """Run the step on the run's Dask cluster (or in this thread with a ``client``)."""
        config = step.component.runtime
        assert isinstance(config, Dask)
        try:
            client = cluster_client(config, session)
        except Exception as exc:  # no cluster is the step's failure, not the engine's
            where = config.address or f"a local cluster of {config.workers} workers"
            return Attempt(
                error=f"{type(exc).__name__}: could not reach Dask ({where}): {exc}",
                traceback=traceback.format_exc(),
            )
        if client.status in ("closing", "closed"):
            return Attempt(error=CLOSED)
        if "client" in step.component.injected:
            return run_local(step, timeout, {"client": client}, _current(client))
        return run_on_worker(client, step, timeout)

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        """The scheduler's address as container env, or a DaskJob without one."""
        assert isinstance(config, Dask)
        if config.address:
            return Fragments(container={"env": [{"name": ADDRESS_ENV, "value": config.address}]})
        return dask_job(config, pod)

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        """A Client for the function's ``client`` inside a compiled pod."""
        assert isinstance(config, Dask)
        return pod_client(config)


def cluster_client(config: Dask, session: Session) -> Any:
    """The run's ``Client`` for this config, starting the cluster (or connection) once."""
    if config.address:
        key: tuple[Any, ...] = ("dask", config.address)
    else:
        key = ("dask", config.workers, config.threads_per_worker, config.memory_limit)
    client, _ = session.resource(key, lambda: _start(config), _stop)
    return client


def _start(config: Dask) -> tuple[Any, Any]:
    from distributed import Client

    if config.address:
        return Client(config.address), None
    cluster = _local_cluster(config)
    try:
        return Client(cluster), cluster
    except BaseException:
        cluster.close()
        raise


def _local_cluster(config: Dask) -> Any:
    from distributed import LocalCluster

    options: dict[str, Any] = {}
    if config.memory_limit:
        options["memory_limit"] = config.memory_limit
    # its worker processes inherit os.environ: not while a Local step holds a Secret there
    with in_process({}):
        return LocalCluster(
            n_workers=config.workers,
            threads_per_worker=config.threads_per_worker,
            processes=True,  # threads would share the GIL: no speed-up for pure-Python work
            dashboard_address=":0",  # a free port: the scheduler always serves HTTP (health)
            **options,
        )


def _stop(started: tuple[Any, Any]) -> None:
    client, cluster = started
    try:
        client.close()
    finally:
        if cluster is not None:
            cluster.close()


def _current(
    client: Any,
) -> Callable[[Step, threading.Event | None, Mapping[str, Any] | None], Attempt]:
    """Run the step with ``client`` as the current client, so ``dask.compute`` inside it uses
    the run's cluster even when another Client was made later in this process."""

    def attempt(
        step: Step, abandoned: threading.Event | None, provided: Mapping[str, Any] | None
    ) -> Attempt:
        with client.as_current():
            return attempt_step(step, abandoned, provided)

    return attempt


def run_on_worker(client: Any, step: Step, timeout: float | None) -> Attempt:
    """Submit the step to a Dask worker and wait for its outcome (``timeout`` seconds at most).

    On a timeout the task is cancelled and a flag is raised on the scheduler: a task already
    running cannot be stopped, but when it ends it sees the flag and publishes nothing, then
    drops the flag (a task cancelled before it started leaves its flag until the scheduler
    stops).
    """
    from distributed import Event

    flag = f"dagwright-abandoned-{uuid.uuid4().hex}" if timeout is not None else None
    future = None
    try:
        future = client.submit(
            on_worker,
            step.to_dict(),
            flag,
            step.env,  # its variables (Secrets' values among them), never in the step's data
            key=f"{step.task}-{uuid.uuid4().hex}",
            pure=False,
        )
        result: dict[str, Any] = future.result(timeout=timeout)
    except TimeoutError:
        with contextlib.suppress(Exception):  # an unreachable scheduler has no flag to raise
            Event(flag, client=client).set()
        if future is not None:
            future.cancel()
        return Attempt(
            error=f"TimeoutError: step '{step.task}' did not finish within {timeout:g} s "
            "(its Dask task was cancelled; if it had started, its worker thread runs on "
            "and publishes nothing)"
        )
    except Exception as exc:  # the worker died, or the step could not be sent or returned
        return Attempt(
            error=f"{type(exc).__name__}: step '{step.task}' failed on the Dask cluster: {exc}",
            traceback=traceback.format_exc(),
        )
    finally:
        if future is not None:
            future.release()
    attempt = Attempt(stdout=result["stdout"], stderr=result["stderr"])
    if "error" in result:
        attempt.error, attempt.traceback = result["error"], result.get("traceback")
    else:
        attempt.outcome = StepOutcome.from_dict(result["outcome"])
    return attempt


class _Abandoned(threading.Event):
    """On a worker: the engine's "stop waiting" flag, read from the scheduler when asked."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def is_set(self) -> bool:
        from distributed import Event

        return bool(Event(self.name).is_set())


def on_worker(
    data: dict[str, Any], flag: str | None = None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run one step (``Step.to_dict()``) on a Dask worker, with its variables ``env`` (a
    worker's threads share its environment as Local steps share this one: ``step_env``); the
    outcome or error as a dict.

    The step's own failure is returned, not raised, so Dask does not retry or log it.
    """
    step = Step.from_dict(data)
    step.env = dict(env or {})
    try:
        attempt = attempt_step(step, _Abandoned(flag) if flag else None, None)
    finally:
        if flag:  # the flag has been read for good: drop it, or the scheduler keeps each one
            with contextlib.suppress(Exception):
                from distributed import Event

                Event(flag).clear()
    result: dict[str, Any] = {"stdout": attempt.stdout, "stderr": attempt.stderr}
    if attempt.outcome is None:
        result.update(error=attempt.error, traceback=attempt.traceback)
    else:
        result["outcome"] = attempt.outcome.to_dict()
    return result


@contextlib.contextmanager
def pod_client(config: Dask) -> Iterator[dict[str, Any]]:
    """Inside a compiled step's pod: a Client of the operator's scheduler
    (``DASK_SCHEDULER_ADDRESS``) or of ``config.address``, else of a LocalCluster in the pod."""
    from distributed import Client

    address = os.environ.get(ADDRESS_ENV) or config.address
    cluster = None if address else _local_cluster(config)
    try:
        with Client(address or cluster) as client:
            yield {"client": client}
    finally:
        if cluster is not None:
            cluster.close()


def dask_job(config: Dask, pod: PodStep) -> Fragments:
    """The DaskJob a step becomes: its job pod runs the step's command, next to a scheduler
    and ``config.workers`` workers in the same image.

    The Dask operator adds ``DASK_SCHEDULER_ADDRESS`` to the job pod and the workers, and
    reports ``status.jobStatus`` (``JobCreated``, ``ClusterCreated``, ``Running``, then
    ``Successful`` or ``Failed`` from the job pod's phase).

    Raises:
        ValidationError: when the step's name is too long for the operator's cluster names.
    """
    if len(pod.name) > MAX_JOB_NAME:
        raise ValidationError(
            f"step '{pod.name}' is {len(pod.name)} characters long; the Dask operator names "
            f"the DaskJob's cluster after it and takes at most {MAX_JOB_NAME}",
            field="name",
            fix=f"give the task a name of at most {MAX_JOB_NAME} characters",
        )
    env = [{"name": name, "value": value} for name, value in pod.env.items()]
    ports = [  # the scheduler's, which its Service exposes
        {"name": "tcp-comm", "containerPort": 8786, "protocol": "TCP"},
        {"name": "http-dashboard", "containerPort": 8787, "protocol": "TCP"},
    ]
    manifest = {
        "apiVersion": "kubernetes.dask.org/v1",
        "kind": "DaskJob",
        "metadata": {"name": pod.name},
        "spec": {
            # Never: a failed step fails the job pod, hence the DaskJob; retries are the target's
            "job": {"spec": {"restartPolicy": "Never", "containers": [_job_container(pod, env)]}},
            "cluster": {
                "spec": {
                    "worker": {
                        "replicas": config.workers,
                        "spec": {"containers": [_worker_container(config, pod, env)]},
                    },
                    "scheduler": {
                        # the operator copies these labels onto the scheduler's pod
                        "metadata": {"labels": {INSTANCE_LABEL: INSTANCE}},
                        "spec": {"containers": [_scheduler_container(pod, ports)]},
                        "service": _scheduler_service(ports),
                    },
                }
            },
        },
    }
    return Fragments(
        resource=manifest,
        success_condition="status.jobStatus == Successful",
        failure_condition="status.jobStatus == Failed",
    )


def _job_container(pod: PodStep, env: list[dict[str, str]]) -> dict[str, Any]:
    """The job pod's container: it runs the step's command."""
    job: dict[str, Any] = {"name": "job", "image": pod.image, "command": list(pod.command)}
    if env:
        job["env"] = env
    if pod.resources:
        job["resources"] = pod.resources
    return job


def _worker_container(config: Dask, pod: PodStep, env: list[dict[str, str]]) -> dict[str, Any]:
    """A worker's container, in the step's image, with the config's threads and memory."""
    worker_args = ["dask", "worker", "--name", "$(DASK_WORKER_NAME)"]
    worker_args += ["--nthreads", str(config.threads_per_worker)]
    worker: dict[str, Any] = {"name": "worker", "image": pod.image, "args": worker_args}
    if config.memory_limit:
        worker_args += ["--memory-limit", config.memory_limit]
        memory = k8s_memory(config.memory_limit)
        worker["resources"] = {"requests": {"memory": memory}, "limits": {"memory": memory}}
    if env:  # the same settings (store credentials ...) for code the step sends to workers
        worker["env"] = env
    return worker


def _scheduler_container(pod: PodStep, ports: list[dict[str, Any]]) -> dict[str, Any]:
    """The scheduler's container, in the step's image, ready once its dashboard answers."""
    health = {"httpGet": {"port": "http-dashboard", "path": "/health"}}
    return {
        "name": "scheduler",
        "image": pod.image,
        "args": ["dask", "scheduler"],
        "ports": ports,
        "readinessProbe": {**health, "initialDelaySeconds": 5, "periodSeconds": 10},
        "livenessProbe": {**health, "initialDelaySeconds": 15, "periodSeconds": 20},
    }


def _scheduler_service(ports: list[dict[str, Any]]) -> dict[str, Any]:
    """The Service in front of the scheduler's ports."""
    return {
        "type": "ClusterIP",
        # the operator names the cluster after the DaskJob, whose name the target gives it on
        # creation; the selector picks the scheduler by a label the target fills per resource
        "selector": {INSTANCE_LABEL: INSTANCE, "dask.org/component": "scheduler"},
        "ports": [
            {
                "name": p["name"],
                "protocol": "TCP",
                "port": p["containerPort"],
                "targetPort": p["name"],
            }
            for p in ports
        ],
    }


def k8s_memory(value: str) -> str:
    """A Dask memory size (``"2GiB"``, ``"2 GB"``, ``"2Gi"``) as a Kubernetes quantity."""
    match = DASK_MEMORY.match(value)
    if not match:
        raise ValueError(f"{value!r} is not a memory size")
    number, unit, binary = match.groups()
    if not unit:
        return number
    if binary:
        return f"{number}{unit.upper()}i"
    return f"{number}{'k' if unit in 'kK' else unit}"
