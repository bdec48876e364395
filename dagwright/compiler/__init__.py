"""From the IR to what a target runs; each target's writer is found in ``dagwright.targets``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dagwright._bulk_work import without_cycle_collection
from dagwright.compiler.secret_check import check_url_options, warn_literal_secrets
from dagwright.errors import ValidationError
from dagwright.pipelines.ir import PipelineIR
from dagwright.pipelines.validate import validate_ir
from dagwright.writes import check_target, write_file


def __getattr__(name: str) -> Any:
    """``TARGETS``, the writers by target name, kept for code written before the registry."""
    if name == "TARGETS":
        from dagwright import targets

        return {target: targets.get(target).write for target in targets.names()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def compile_ir(
    ir: PipelineIR,
    target: str = "ir",
    path: str | Path | None = None,
    *,
    validated: bool = False,
    path_field: str = "path",
    **options: Any,
) -> str:
    """Validate the IR, render it for ``target`` and write it to ``path`` when given.

    Args:
        ir: The pipeline.
        target: A registered target's name: "ir", "kfp", "argo" or an installed one
            (``dagwright.targets.names()``).
        path: Where to write; nothing is written when None.
        validated: The caller has just validated ``ir``; skip doing it again.
        path_field: What errors about ``path`` name it (the CLI's ``-o``).
        **options: Target options, refused by a target that does not take them. For kfp:
            ``code`` ("inline" or "image"), ``image``,
            ``index_url``, ``dagwright`` (the requirement pods install), ``pipeline_root``,
            ``strict`` (fail instead of warning on a spec over 1.5 MiB), ``allow_pickle``
            (kfp and argo: pods may unpickle joblib artifacts; off, they refuse to).

    Raises:
        ValidationError: for an unknown target or option, or an invalid pipeline (nothing is
            written).
    """
    from dagwright import targets

    try:
        writer = targets.get(target).write
    except ValidationError as exc:
        raise exc.within(pipeline=ir.name) from exc
    out = Path(path) if path is not None else None
    if out is not None:
        check_target(out, path_field)  # before any work: a device or folder there is refused
    check_url_options(options)
    with without_cycle_collection():
        if not validated:
            validate_ir(ir)
        warn_literal_secrets(ir)
        text = writer(ir, out, options)
    if out is not None:
        write_file(out, text, field=path_field)
    return text
