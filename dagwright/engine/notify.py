"""The notifications of a local run that ended (``PipelineIR.notify``)."""

from __future__ import annotations

from collections.abc import Iterable

from dagwright.engine.result import FAILED, RunResult
from dagwright.pipelines.ir import PipelineIR
from dagwright.redact import scrub


def notify_run(ir: PipelineIR, result: RunResult, secrets: Iterable[str]) -> list[str]:
    """Tell the pipeline's notifiers how ``result`` ended, when its status is one they want.

    Errors are cut to their first line, with the run's secret values masked. Returns the
    notifiers' problems (logged as warnings; the run's outcome stays as it is).
    """
    notification = ir.notify
    if notification is None or not notification.wants(result.status):
        return []
    # here: smtplib, ssl and urllib.request load only for a run that sends something
    from dagwright.notifications import FailedStep, RunEnd, send_all
    from dagwright.notifications.message import first_line, ui_link

    secrets = list(secrets)
    failed = tuple(
        FailedStep(r.label, first_line(scrub(r.error, secrets)))
        for r in result.steps
        if r.status == FAILED
    )
    link = notification.link_for(ir.name, result.run_id) or ui_link(result.run_id)
    end = RunEnd(ir.name, result.run_id, result.status, failed, link)
    return send_all(notification, end)
