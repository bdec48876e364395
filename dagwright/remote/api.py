"""``dagwright.submit`` and ``dagwright.schedule``: compile a pipeline and send it, from Python."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError

SENDS_TO = ("kfp",)


@contextmanager
def compiled(pipeline: Any, target: str, options: dict[str, Any]) -> Iterator[tuple[Any, Path]]:
    """The pipeline's IR and its spec for ``target``, in a temporary file."""
    from dagwright.api import to_ir
    from dagwright.compiler import compile_ir

    if target not in SENDS_TO:
        raise ValidationError(
            f"cannot send to '{target}' yet",
            field="target",
            fix=f"use one of {', '.join(SENDS_TO)} (Argo submission comes later)",
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
        target: "kfp".
        arguments: Pipeline parameter values.
        compile_options: Target options (see ``dagwright.compiler.compile_ir``).
        **remote: Where and how to send it: ``host``, ``namespace``, ``experiment``, ``token``,
            ``upload``, ``wait``... (see ``dagwright.remote.kfp.submit``).

    Returns:
        The submission (run id, URL and, with ``wait=True``, its final state).
    """
    from dagwright.remote import kfp

    with compiled(pipeline, target, compile_options or {}) as (_ir, package):
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
        target: "kfp".
        cron: A five-field cron (KFP receives six fields, seconds first); default: the
            pipeline's own ``schedule``.
        arguments: Pipeline parameter values.
        compile_options: Target options (see ``dagwright.compiler.compile_ir``).
        **remote: ``host``, ``namespace``, ``max_concurrency``, ``catchup``... (see
            ``dagwright.remote.kfp.schedule``).

    Raises:
        ValidationError: when there is no cron here nor in the pipeline.
    """
    from dagwright.remote import kfp

    with compiled(pipeline, target, compile_options or {}) as (ir, package):
        cron = cron or ir.schedule
        if not cron:
            raise ValidationError(
                f"pipeline '{ir.name}' has no schedule",
                pipeline=ir.name,
                field="cron",
                fix="pass cron='0 3 * * *' or declare @pipeline(schedule=...)",
            )
        return kfp.schedule(package, cron=cron, arguments=arguments, **remote)
