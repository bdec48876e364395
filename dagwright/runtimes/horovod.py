"""The Horovod runtime: a step run as ``np`` data-parallel ranks, MPI style.

Here, ``horovodrun`` starts the ranks when it is on PATH and horovod imports; otherwise
``np`` local rank processes are started with torch.distributed's environment (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR=127.0.0.1`` and a free
``MASTER_PORT``); that is the usual case, since horovod 0.28.1, its last release, does not build
against PyTorch >= 2.1. Under horovodrun each rank copies horovodrun's ``HOROVOD_RANK``... to
those names, so one function runs unchanged under either launcher.

The runtime does not initialise a process group for the function. As ``hvd.init()`` is for
horovod users, ``torch.distributed.init_process_group(backend="gloo")`` (``env://``) is the
function's own call: it chooses the backend and timeout, and a function that only reads ``RANK``
(to shard its data, say) never pays for importing torch. A group left initialised is destroyed
after the function returns.

Rank 0's outcome is the step's outcome and only rank 0 publishes outputs. On Kubernetes the step
becomes an MPIJob (kubeflow.org/v2beta1) of the MPI operator: a launcher running ``mpirun`` over
worker pods that run ``sshd``, so the image needs Open MPI and an SSH server besides dagwright.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from dagwright.executor import Step
from dagwright.runtimes import Attempt, Fragments, Horovod, PodStep, RuntimeConfig, Session, crd
from dagwright.runtimes.process import child_env
from dagwright.runtimes.ranks import free_port, rank_command, read_outcome, run_local_ranks

MPIJOB_API = "kubeflow.org/v2beta1"
MASTER_PORT = 29500  # torch.distributed's usual port; each MPIJob has its own pods
# Argo resource-template conditions: Kubernetes label-selector syntax over gjson paths of the
# resource. The operator sets the launcher's replica status from its batch Job; with
# backoffLimit 0 one failed launcher pod is the MPIJob's failure.
SUCCESS_CONDITION = "status.replicaStatuses.Launcher.succeeded > 0"
FAILURE_CONDITION = "status.replicaStatuses.Launcher.failed > 0"
# mpirun's own rank names, copied to torch.distributed's before the step's command runs
RANK_SHIM = (
    'export RANK="$OMPI_COMM_WORLD_RANK" WORLD_SIZE="$OMPI_COMM_WORLD_SIZE" '
    'LOCAL_RANK="$OMPI_COMM_WORLD_LOCAL_RANK" LOCAL_WORLD_SIZE="$OMPI_COMM_WORLD_LOCAL_SIZE"; '
    'exec "$@"'
)


# The launcher's wrapper: MASTER_ADDR is the first host of the hostfile the MPI operator mounts
# for mpirun (``<job>-worker-0.<job>.<namespace>.svc slots=N`` lines, OMPI_MCA_orte_default_hostfile
# names it), read when the launcher runs since the job's name is the target's to give.
MASTER_SHIM = (
    'hostfile="${OMPI_MCA_orte_default_hostfile:-/etc/mpi/hostfile}"; MASTER_ADDR=; '
    'while read -r host rest; do case "$host" in ""|"#"*) continue ;; esac; '
    'MASTER_ADDR="$host"; break; done < "$hostfile"; '
    'if [ -z "$MASTER_ADDR" ]; then '
    'echo "dagwright: no host in the MPI hostfile $hostfile" >&2; exit 1; fi; '
    'export MASTER_ADDR; exec "$@"'
)


class HorovodRuntime:
    """``Horovod(np=N)``: N ranks of the step; rank 0's outcome is the step's.

    Args:
        horovodrun: The horovodrun to use; found on PATH (with horovod importable) if None.
    """

    def __init__(self, horovodrun: str | None = None) -> None:
        self._horovodrun = horovodrun

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        """Run the step's ranks: with horovodrun when it is there, else as processes."""
        config = _config(step.component.runtime)
        launcher = self._horovodrun or find_horovodrun()
        if launcher is None:
            return run_local_ranks(step, config.np, timeout)
        return run_horovodrun(launcher, step, config, timeout)

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        """The MPIJob the step becomes, checked against the operator's CRD."""
        manifest = mpijob(_config(config), pod)
        crd.validate(manifest, crd.MPI)  # a manifest the operator would refuse never leaves here
        return Fragments(
            resource=manifest,
            success_condition=SUCCESS_CONDITION,
            failure_condition=FAILURE_CONDITION,
        )

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        """Nothing to hand over: mpirun and the operator set the ranks' environment."""
        # mpirun and the operator set the ranks' environment; there is nothing to hand over
        return contextlib.nullcontext({})


def _config(config: RuntimeConfig) -> Horovod:
    if not isinstance(config, Horovod):
        raise TypeError(f"HorovodRuntime runs Horovod configs, not '{config.kind}'")
    return config


def find_horovodrun() -> str | None:
    """The path of ``horovodrun`` when it is on PATH and horovod imports, else None."""
    path = shutil.which("horovodrun")
    if path is None:
        return None
    try:
        importlib.import_module("horovod")
    except Exception:  # a broken build (horovod 0.28.1 against PyTorch >= 2.1) counts as absent
        return None
    return path


def horovodrun_command(
    horovodrun: str, config: Horovod, python: str, step_file: str, results: str
) -> list[str]:
    """``horovodrun -np N -H localhost:N [--gloo|--mpi] python -m dagwright.runtimes.ranks ...``.

    nccl is a data-plane choice of horovod's build, not a controller, so it adds no flag.
    """
    command = [horovodrun, "-np", str(config.np), "-H", f"localhost:{config.np}"]
    if config.backend in ("gloo", "mpi"):
        command.append(f"--{config.backend}")
    return command + rank_command(python, step_file, results)


def run_horovodrun(horovodrun: str, step: Step, config: Horovod, timeout: float | None) -> Attempt:
    """Run the ranks under horovodrun on this machine; its output is kept as it prints it."""
    with tempfile.TemporaryDirectory(prefix="dagwright-ranks-") as folder:
        step_file = os.path.join(folder, "step.json")
        Path(step_file).write_text(json.dumps(step.to_dict()), encoding="utf-8")
        env = {
            **child_env(),
            **step.component.env,
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(free_port()),
        }
        try:
            proc = subprocess.Popen(
                horovodrun_command(horovodrun, config, sys.executable, step_file, folder),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as exc:  # horovodrun vanished or is not executable: the step fails
            return Attempt(
                error=f"{type(exc).__name__}: could not start horovodrun ({horovodrun}) for "
                f"step '{step.task}': {exc}",
                traceback=traceback.format_exc(),
            )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # horovodrun stops its ranks on SIGTERM (they run in sessions of their own)
            proc.send_signal(signal.SIGTERM)
            try:
                stdout, stderr = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                stdout, stderr = proc.communicate()
            return Attempt(
                error=f"TimeoutError: step '{step.task}' did not finish within {timeout:g} s; "
                f"horovodrun and its {config.np} ranks were stopped",
                stdout=stdout,
                stderr=stderr,
            )
        attempt = read_outcome(folder, config.np)
        if attempt.ok and proc.returncode != 0:
            attempt = Attempt(error=f"horovodrun exited with code {proc.returncode}")
    attempt.stdout, attempt.stderr = stdout, stderr
    return attempt


def mpijob(config: Horovod, pod: PodStep) -> dict[str, Any]:
    """The MPIJob that runs ``pod.command`` as ``config.np`` ranks.

    The launcher runs ``mpirun -np N`` (the operator points Open MPI at the workers' hostfile);
    each rank first copies Open MPI's rank names to torch.distributed's, with ``MASTER_ADDR`` the
    first host of the operator's hostfile (the first worker, where rank 0 runs), read when the
    launcher starts: the target names the MPIJob, and so its workers, only when it creates it.
    Workers, ``ceil(np / slots_per_worker)`` of them, run ``sshd`` for mpirun to reach; they get
    ``pod.env`` and ``pod.resources``.
    """
    name = pod.name
    workers = math.ceil(config.np / config.slots_per_worker)
    mpirun = ["sh", "-c", MASTER_SHIM, "dagwright-launcher"]
    mpirun += ["mpirun", "--allow-run-as-root", "-np", str(config.np)]
    mpirun += ["-bind-to", "none", "-map-by", "slot"]
    # MASTER_ADDR comes from the launcher's environment, where MASTER_SHIM puts it
    mpirun += ["-x", "MASTER_ADDR", "-x", f"MASTER_PORT={MASTER_PORT}"]
    for key in pod.env:  # ranks start through ssh, so the launcher's env reaches them only so
        mpirun += ["-x", key]
    mpirun += ["sh", "-c", RANK_SHIM, "dagwright-rank", *pod.command]
    env = [{"name": key, "value": value} for key, value in pod.env.items()]
    launcher: dict[str, Any] = {"name": "launcher", "image": pod.image, "command": mpirun}
    worker: dict[str, Any] = {
        "name": "worker",
        "image": pod.image,
        "command": ["/usr/sbin/sshd", "-De"],
    }
    if env:
        launcher["env"] = env
        worker["env"] = env
    if pod.resources:
        worker["resources"] = pod.resources
    return {
        "apiVersion": MPIJOB_API,
        "kind": "MPIJob",
        "metadata": {"name": name},
        "spec": {
            "slotsPerWorker": config.slots_per_worker,
            "mpiImplementation": "OpenMPI",
            # sshd must be up before mpirun dials it; a launcher started early fails the job
            "launcherCreationPolicy": "WaitForWorkersReady",
            "runPolicy": {"cleanPodPolicy": "Running", "backoffLimit": 0},
            "mpiReplicaSpecs": {
                "Launcher": _replica(1, launcher),
                "Worker": _replica(workers, worker),
            },
        },
    }


def _replica(replicas: int, container: dict[str, Any]) -> dict[str, Any]:
    return {
        "replicas": replicas,
        "restartPolicy": "Never",
        "template": {"spec": {"containers": [container]}},
    }
