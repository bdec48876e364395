"""``dagwright.submit`` and ``dagwright.schedule``: compile a pipeline and send it, from Python."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError

SENDS_TO = ("kfp", "argo")
# schedule options that Argo takes as compile options (they are fields of the CronWorkflow)
_ARGO_CRON_OPTIONS = ("timezone", "concurrency_policy", "starting_deadline_seconds")


@contextmanager
def compiled(pipeline: Any, target: str, options: dict[str, Any]) -> Iterator[tuple[Any, Path]]:
    """The pipeline's IR and its spec for ``target``, in a temporary file."""
    from dagwright.compiler import compile_ir
    from dagwright.pipelines.validate import to_ir

    if target not in SENDS_TO:
        raise ValidationError(
            f"cannot send to '{target}'",
            field="target",
            fix=f"use one of {', '.join(SENDS_TO)}",
        )
    ir = to_ir(pipeline)
    with tempfile.TemporaryDirectory(prefix="dagwright-submit-") as folder:
        package = Path(folder) / f"{ir.name}.yaml"
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
        target: "kfp" or "argo".
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
    """
    options = dict(compile_options or {})
    if target == "argo":
        from dagwright.remote import argo

        kind = remote.pop("kind", "workflow")
        argo.check_kind(kind)
        with compiled(pipeline, target, {**options, "kind": kind}) as (_ir, manifest):
            return argo.send(manifest, kind, arguments=arguments, **remote)
    from dagwright.remote import kfp

    with compiled(pipeline, target, options) as (_ir, package):
        return kfp.submit(package, arguments=arguments, **remote)


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
        target: "kfp" (a recurring run) or "argo" (a CronWorkflow, created or updated).
        cron: A five-field cron (KFP receives six fields, seconds first); default: the
            pipeline's own ``schedule``.
        arguments: Pipeline parameter values.
        compile_options: Target options (see ``dagwright.compiler.compile_ir``).
        **remote: KFP: ``host``, ``namespace``, ``max_concurrency``, ``catchup``... (see
            ``dagwright.remote.kfp.schedule``). Argo: ``host``, ``namespace``, ``token``,
            ``name``, ``lint``, and the CronWorkflow's ``timezone``, ``concurrency_policy``,
            ``starting_deadline_seconds`` (see ``dagwright.remote.argo.apply_cron``).

    Raises:
        ValidationError: when there is no cron here nor in the pipeline.
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
    if target == "argo":
        from dagwright.remote import argo

        argo.argo_cron(cron)
        cron_fields = {k: remote.pop(k) for k in _ARGO_CRON_OPTIONS if k in remote}
        options.update(cron_fields, kind="cron", schedule=cron)
        with compiled(ir, target, options) as (_ir, manifest):
            return argo.apply_cron(manifest, arguments=arguments, **remote)
    from dagwright.remote import kfp

    with compiled(ir, target, options) as (_ir, package):
        return kfp.schedule(package, cron=cron, arguments=arguments, **remote)
