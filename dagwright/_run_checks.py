"""What ``dagwright.run`` and ``resume`` check and prepare before a run starts or is claimed:
lineage settings, a run id, the store, what components imported from KFP need (kfp, somewhere
for their containers, their packages) and the pod options' Secret and ConfigMap values. All
run before the run is recorded, so a problem is a ``ValidationError`` with nothing stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR
from dagwright.store.local import LocalStore


def pod_values(ir: PipelineIR, secrets_file: str | Path | None) -> Any:
    """The components' Secret and ConfigMap values, read before anything runs (after
    ``check_secrets_sent``)."""
    from dagwright.engine.pod_env import PodEnv

    check_secrets_sent(ir)
    return PodEnv.resolve(ir.components.values(), secrets_file)


# schemes of a Dask scheduler whose traffic stays in this process or is encrypted (``Dask``
# takes tcp, tls, ucx, inproc, ws and wss; wss is TLS too)
_PRIVATE_DASK = ("tls://", "wss://", "inproc://")


def check_secrets_sent(ir: PipelineIR) -> None:
    """Refuse a Secret of a step that runs on the Dask workers of a scheduler whose address is
    not ``tls://`` (or ``wss://``): its variables travel in the task's arguments
    (``dask.on_worker``), over ``tcp://`` as cleartext on the network. A local cluster (no
    address) is this run's own; a step that takes ``client`` runs here, its variables unsent.
    """
    for spec in ir.components.values():
        runtime = spec.runtime
        address = getattr(runtime, "address", None)
        if (
            not spec.pod.secrets
            or runtime.kind != "dask"
            or not address
            or not runtime.runs_apart(spec.injected)
            or str(address).startswith(_PRIVATE_DASK)
        ):
            continue
        names = ", ".join(f"{ref.name}/{ref.key}" for ref in spec.pod.secrets)
        raise ValidationError(
            f"component '{spec.name}': its Secret values ({names}) would be sent to the Dask "
            f"scheduler at {address} with the step, unencrypted over the network",
            field="runtime.address",
            fix="use a tls:// address with Dask's TLS security (distributed.security), or "
            "runtime=Process() for a step that reads a Secret",
        )


def check_tracking(tracking: dict[str, Any] | None) -> None:
    """Lineage settings from the environment, checked before the store is touched; and
    ``wait_lineage`` refused when no lineage would go to MLflow."""
    if tracking is not None and tracking.get("wait"):
        from dagwright.lineage.tracking import check_wait

        check_wait(tracking["lineage"], tracking["tracking_uri"], "wait_lineage")
    if tracking is None or tracking["lineage"]:
        from dagwright.lineage.tracking import check_settings

        check_settings(tracking["tracking_uri"] if tracking else None)


def check_kfp(ir: PipelineIR, host_containers: bool) -> None:
    """Components imported from KFP: kfp must be installed to run their steps, and their
    container steps must have somewhere to run (``kfp_steps`` is imported only for such
    pipelines)."""
    if any(spec.kfp is not None for spec in ir.components.values()):
        from dagwright.kfp_steps import check_containers, check_kfp_installed

        check_kfp_installed(ir)
        check_containers(ir, host_containers)


def install_kfp_packages(ir: PipelineIR, store: LocalStore) -> str:
    """Install what the KFP components lack under the store (``install_packages``), before
    the run starts or is claimed; the folder the steps find them under."""
    root = str((store.root / "kfp-packages").absolute())
    if any(spec.kfp is not None for spec in ir.components.values()):
        from dagwright.kfp_steps.packages import install_missing

        install_missing(ir, root)
    return root


def check_run_id(run_id: str) -> None:
    """A run id given by the caller is a Kubernetes name (it names folders and pods)."""
    from dagwright.errors import ValidationError
    from dagwright.names import is_k8s_name

    if not is_k8s_name(run_id):
        raise ValidationError(
            f"run id '{run_id}' is not a name of lower-case letters, digits and '-'",
            field="run_id",
            fix="use e.g. 'nightly-20261126-030000'",
        )


def check_new_run_id(store: LocalStore, run_id: str) -> None:
    """A run id given for a new run is not one the store has already."""
    from dagwright.errors import ValidationError

    db = store.database()
    try:
        exists = db.has_run(run_id)
    finally:
        db.close()
    if exists:
        raise ValidationError(
            f"the store has a run '{run_id}' already",
            field="run_id",
            fix=f"pick another id, or continue that run with 'dagwright resume {run_id}'",
        )


def check_store(ir: PipelineIR, store: LocalStore) -> None:
    """The store's folders can be written and its URL read; and a memory:// store lives in
    this process: a step run in another one could not reach it."""
    from dagwright.errors import ValidationError

    for task in ir.tasks if store.artifacts.startswith("memory://") else ():
        spec = ir.component_of(task)
        if spec.runtime.runs_apart(spec.injected):
            raise ValidationError(
                "a memory:// artifact store is only visible inside this process",
                pipeline=ir.name,
                task=task.name,
                field="runtime",
                fix=f"use a folder or a shared store (s3://, gs://) for {spec.runtime.kind} "
                "steps, or run the step with runtime=Local()",
            )
    store.check()  # last: it makes the store's folders
