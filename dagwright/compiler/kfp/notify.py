"""A pipeline's notifications on KFP: its body wrapped in an ExitHandler whose exit task
(``notifications/exit_task.py``) gets the body's ``PipelineTaskFinalStatus`` (KFP's backend
runs it as an Argo exit hook on the block, ``argocompiler/dag.go``) and sends them.

KFP takes one level of ExitHandler only (the SDK: "ExitHandler can only be used within the
outermost scope"), so a pipeline with an ExitHandler of its own is refused here.

``on=["cancelled"]`` is warned of: KFP cancels a run by terminating it (``TerminateRun``), which
sets its Argo workflow's ``activeDeadlineSeconds`` to 0 (``TerminateWorkflow`` and
``GetTerminatePatch`` in KFP's backend); the steps not finished then fail "Step exceeded its
deadline", the exit task's own driver among them (kubeflow/pipelines#6101), so no notification
of the cancel is sent. On Argo, ``runs cancel`` stops the workflow and its exit handler runs.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from typing import Any

from dagwright.compiler.kfp.volumes import named
from dagwright.errors import ValidationError
from dagwright.names import free_name
from dagwright.pipelines.ir import GroupIR, PipelineIR, TaskIR


class CancelNotWarning(UserWarning):
    """A notification ``on=["cancelled"]`` that KFP never sends (see the module's doc)."""


def with_notify_exit(ir: PipelineIR) -> PipelineIR:
    """The IR as KFP runs it with its notifications (the same IR when it has none)."""
    if ir.notify is None:
        return ir
    if "cancelled" in ir.notify.on:
        warnings.warn(
            CancelNotWarning(
                f"pipeline '{ir.name}', field 'notify' (on=['cancelled']): on --target kfp a "
                "cancelled run is not notified: KFP cancels by terminating the run (its "
                "workflow's deadline set to 0), which fails the exit task that sends the "
                "notifications ('Step exceeded its deadline'). The other events are sent; to be "
                "told of a "
                "cancel, compile for --target argo, where 'dagwright runs cancel' stops the "
                "workflow and its exit handler still runs"
            ),
            stacklevel=2,
        )
    if any(g.kind == "exit_handler" for g in ir.groups):
        raise ValidationError(
            "KFP target: the notifications are an ExitHandler around the whole pipeline, "
            "and KFP does not nest ExitHandlers",
            pipeline=ir.name,
            field="notify",
            fix="compile for Argo (--target argo), where they are the workflow's exit "
            "handler, or send them from your ExitHandler's exit task",
        )
    from dagwright.notifications.exit_task import notify_run_end

    spec = notify_run_end.spec
    taken = {t.name for t in ir.tasks} | {g.id for g in ir.groups}
    block = free_name("exit-handler-notify", taken)
    cid = free_name(spec.name, set(ir.components))
    task = TaskIR(
        free_name(spec.name, taken | {block}),
        cid,
        {
            "status": {"final_status": block},
            "notify": {"constant": json.dumps(ir.notify.to_dict(), separators=(",", ":"))},
            "pipeline": {"constant": ir.name},
        },
    )
    groups = [GroupIR(block, "exit_handler", exit_task=task.name)]
    groups += [g if g.parent else dataclasses.replace(g, parent=block) for g in ir.groups]
    tasks = [t if t.group else dataclasses.replace(t, group=block) for t in ir.tasks]
    return dataclasses.replace(
        ir, groups=groups, tasks=[*tasks, task], components={**ir.components, cid: spec}
    )


def notify_secrets(
    ir: PipelineIR, spec: Any, platform: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The kfp-kubernetes config of the exit task's executor with each Email's SMTP login
    from its Secret (``secretAsEnv``; ``optional``, so a missing Secret sends without a login
    rather than failing the exit task, and with it the run)."""
    refs = ir.notify.secret_env() if ir.notify is not None else []
    if not refs:
        return platform
    from dagwright.notifications.exit_task import notify_run_end

    module = notify_run_end.spec.module
    [task] = [t for t in ir.tasks if ir.components[t.component].module == module]
    label = spec.components[spec.root.dag.tasks[task.name].component_ref.name].executor_label
    config = platform.setdefault(label, {})
    for variable, secret, key in refs:
        item = {
            **named("secretAsEnv", secret),
            "keyToEnv": [{"secretKey": key, "envVar": variable}],
        }
        config.setdefault("secretAsEnv", []).append({**item, "optional": True})
    return platform
