"""From the IR to what a target runs. Targets register a writer under their name."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dagwright._bulk_work import without_cycle_collection
from dagwright.compiler.secret_check import check_url_options, warn_literal_secrets
from dagwright.errors import ValidationError
from dagwright.extras import require
from dagwright.pipelines.ir import PipelineIR
from dagwright.pipelines.validate import validate_ir
from dagwright.writes import check_target, write_file

Writer = Callable[[PipelineIR, "Path | None", dict[str, Any]], str]


def _ir(ir: PipelineIR, path: Path | None, options: dict[str, Any]) -> str:
    """The IR itself: JSON for a .json path, YAML otherwise."""
    _no_options("ir", options)
    return ir.to_json() if path is not None and path.suffix == ".json" else ir.to_yaml()


def _kfp(ir: PipelineIR, path: Path | None, options: dict[str, Any]) -> str:
    """KFP v2 IR YAML (a PipelineSpec)."""
    require("kfp", field="target", needed_for="the kfp target")
    from dagwright.compiler import kfp

    delivery, rest = _delivery(options)
    unknown = sorted(set(rest) - {"pipeline_root", "strict", "tracking_uri", "allow_pickle"})
    if unknown:
        _no_options("kfp", {k: rest[k] for k in unknown})
    return kfp.write(ir, kfp.KfpOptions(delivery=delivery, **rest))


def _delivery(options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The code-delivery options as a CodeDelivery, and the rest."""
    from dagwright.compiler.delivery import CodeDelivery

    fields = {"code": "mode", "image": "image", "index_url": "index_url", "dagwright": "dagwright"}
    delivery = {fields[k]: v for k, v in options.items() if k in fields and v}
    rest = {k: v for k, v in options.items() if k not in fields and v is not None}
    return CodeDelivery(**delivery), rest


def _no_options(target: str, options: dict[str, Any]) -> None:
    given = {k: v for k, v in options.items() if v not in (None, False)}
    if given:
        raise ValidationError(
            f"the {target} target takes no option '{sorted(given)[0]}'",
            field=sorted(given)[0],
            fix="leave it out for this target",
        )


def _argo(ir: PipelineIR, path: Path | None, options: dict[str, Any]) -> str:
    """An Argo Workflow, WorkflowTemplate or CronWorkflow (``kind``)."""
    require("hera", field="target", needed_for="the argo target")
    from dagwright.compiler import argo

    delivery, rest = _delivery(options)
    known = {f.name for f in dataclasses.fields(argo.ArgoOptions)} - {"delivery"}
    unknown = sorted(set(rest) - known)
    if unknown:
        _no_options("argo", {k: rest[k] for k in unknown})
    return argo.write(ir, argo.ArgoOptions(delivery=delivery, **rest))


TARGETS: dict[str, Writer] = {"ir": _ir, "kfp": _kfp, "argo": _argo}


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
        target: "ir" or "kfp".
        path: Where to write; nothing is written when None.
        validated: The caller has just validated ``ir``; skip doing it again.
        path_field: What errors about ``path`` name it (the CLI's ``-o``).
        **options: Target options. For kfp: ``code`` ("inline" or "image"), ``image``,
            ``index_url``, ``dagwright`` (the requirement pods install), ``pipeline_root``,
            ``strict`` (fail instead of warning on a spec over 1.5 MiB), ``allow_pickle``
            (kfp and argo: pods may unpickle joblib artifacts; off, they refuse to).

    Raises:
        ValidationError: for an unknown target or option, or an invalid pipeline (nothing is
            written).
    """
    if target not in TARGETS:
        raise ValidationError(
            f"unknown target '{target}'",
            pipeline=ir.name,
            field="target",
            fix=f"use one of {sorted(TARGETS)}",
        )
    out = Path(path) if path is not None else None
    if out is not None:
        check_target(out, path_field)  # before any work: a device or folder there is refused
    check_url_options(options)
    with without_cycle_collection():
        if not validated:
            validate_ir(ir)
        warn_literal_secrets(ir)
        text = TARGETS[target](ir, out, options)
    if out is not None:
        write_file(out, text, field=path_field)
    return text
