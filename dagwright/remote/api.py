"""``dagwright.submit`` and ``dagwright.schedule``: compile a pipeline and send it, from Python;
``dagwright.runs_on``: the runs a cluster keeps."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.errors import ValidationError

if TYPE_CHECKING:
    from dagwright.remote.run_records import RunManager
    from dagwright.targets import Client


def client(target: str) -> Client:
    """The submit and schedule client of the target called ``target``.

    Raises:
        ValidationError: naming ``target`` for a target that is unknown or sends nothing.
    """
    from dagwright import targets

    found = targets.get(target).client if target in targets.names() else None
    if found is None:
        raise ValidationError(
            f"cannot send to '{target}'",
            field="target",
            fix=f"use one of {', '.join(targets.sending())}",
        )
    return found


@contextmanager
def compiled(pipeline: Any, target: str, options: dict[str, Any]) -> Iterator[tuple[Any, Path]]:
    """The pipeline's IR and its spec for ``target``, in a temporary file."""
    from dagwright import targets
    from dagwright.compiler import compile_ir
    from dagwright.pipelines.validate import to_ir

    client(target)
    ir = to_ir(pipeline)
    with tempfile.TemporaryDirectory(prefix="dagwright-submit-") as folder:
        package = Path(folder) / f"{ir.name}{targets.get(target).suffix}"
        compile_ir(ir, target, package, validated=True, **options)
        yield ir, package


def submit(
    pipeline: Any,
    target: str = "kfp",
    *,
    arguments: dict[str, Any] | None = None,
    compile_options: dict[str, Any] | None = None,
    **remote: Any,
) -> Any:
    """Compile ``pipeline`` for ``target`` and start a run there.

    Args:
        pipeline: A @pipeline, a Pipeline builder, an IR or an IR file.
        target: A target that sends: "kfp", "argo" or an installed one
            (``dagwright.targets.sending()``).
        arguments: Pipeline parameter values.
        compile_options: Target options (see ``dagwright.compiler.compile_ir``).
        **remote: Where and how to send it. KFP: ``host``, ``namespace``, ``experiment``,
            ``token``, ``upload``, ``wait``... (see ``dagwright.remote.kfp.submit``). Argo:
            ``kind`` ("workflow", default; "template" or "cron" create or update a
            WorkflowTemplate or CronWorkflow), ``host``, ``namespace``, ``token``, ``lint``,
            ``wait``... (see ``dagwright.remote.argo.submit`` and ``send``).

    Returns:
        The submission (KFP: run id, URL; Argo: workflow name, URL; with ``wait=True``, its
        final state), or for an Argo template or cron what was created or updated.

    Raises:
        ValidationError: (field ``compile_options['dagwright']``) before anything is sent,
            when the pods would install ``dagwright==<version>`` but the dagwright running here
            is not that release from an index (an editable or direct-URL install), unless
            ``compile_options`` choose a delivery: ``dagwright``, ``code="image"`` or
            ``index_url``.
    """
    options = dict(compile_options or {})
    sender = client(target)
    _check_delivery(target, options, remote)
    sender.submit_options(options, remote)
    with compiled(pipeline, target, options) as (_ir, spec):
        return sender.submit(spec, arguments=arguments, **remote)


def schedule(
    pipeline: Any,
    target: str = "kfp",
    *,
    cron: str | None = None,
    arguments: dict[str, Any] | None = None,
    compile_options: dict[str, Any] | None = None,
    **remote: Any,
) -> Any:
    """Compile ``pipeline`` and create a recurring run of it on ``target``.

    Args:
        pipeline: A @pipeline, a Pipeline builder, an IR or an IR file.
        target: "kfp" (a recurring run), "argo" (a CronWorkflow, created or updated) or an
            installed target that sends.
        cron: A five-field cron (KFP receives six fields, seconds first); default: the
            pipeline's own ``schedule``.
        arguments: Pipeline parameter values.
        compile_options: Target options (see ``dagwright.compiler.compile_ir``).
        **remote: KFP: ``host``, ``namespace``, ``max_concurrency``, ``catchup``... (see
            ``dagwright.remote.kfp.schedule``). Argo: ``host``, ``namespace``, ``token``,
            ``name``, ``lint``, and the CronWorkflow's ``timezone``, ``concurrency_policy``,
            ``starting_deadline_seconds`` (see ``dagwright.remote.argo.apply_cron``).

    Raises:
        ValidationError: when there is no cron here nor in the pipeline; as ``submit`` for
            pods that would install a dagwright that is not this code.
    """
    from dagwright.pipelines.validate import to_ir

    options = dict(compile_options or {})
    ir = to_ir(pipeline)
    cron = cron or ir.schedule
    if not cron:
        raise ValidationError(
            f"pipeline '{ir.name}' has no schedule",
            pipeline=ir.name,
            field="cron",
            fix="pass cron='0 3 * * *' or declare @pipeline(schedule=...)",
        )
    sender = client(target)
    _check_delivery(target, options, remote)
    sender.schedule_options(cron, options, remote)
    with compiled(ir, target, options) as (_ir, spec):
        return sender.schedule(spec, cron=cron, arguments=arguments, **remote)


def _check_delivery(target: str, options: dict[str, Any], remote: dict[str, Any]) -> None:
    """Pods that would install a dagwright that is not this code are refused before anything
    is sent (compiling only warns; see ``compiler/delivery.py``)."""
    from dagwright import targets
    from dagwright.compiler.delivery import check_sendable

    check_sendable(targets.get(target).cli.compile, options, python=True, remote=remote)


def runs_on(target: str = "kfp", **remote: Any) -> RunManager:
    """The runs a cluster target keeps: list, show, logs, cancel and retry them from Python.

    ``dagwright.runs_on("argo", host=..., namespace="team-a").retry("nightly-x7k2p")``

    Args:
        target: "kfp", "argo" or an installed target whose client manages runs.
        **remote: Where and as whom. KFP: ``host``, ``namespace``, ``token``, ``experiment``
            (see ``dagwright.remote.kfp_runs.KfpRuns``). Argo: ``host``, ``namespace``,
            ``token``, ``verify_ssl`` (see ``dagwright.remote.argo_runs.ArgoRuns``).

    Returns:
        Its ``RunManager``: ``ls(limit)``, ``show(run)``, ``logs(run, step)``,
        ``cancel(run)``, ``retry(run)``; errors from the server are ``SubmitError``.

    Raises:
        ValidationError: naming ``target`` for one that manages no runs, or a bad option.
    """
    from dagwright import targets

    found = targets.get(target).client if target in targets.names() else None
    if found is None or found.runs is None:
        raise ValidationError(
            f"cannot manage runs on '{target}'",
            field="target",
            fix=f"use one of {', '.join(managing())}",
        )
    return found.runs(**remote)


def managing() -> list[str]:
    """The names of the targets whose client manages runs (``Client.runs``)."""
    from dagwright import targets

    found = []
    for name in targets.sending():
        sender = targets.get(name).client
        if sender is not None and sender.runs is not None:
            found.append(name)
    return found
