"""The component of KFP's notification exit task: told KFP's ``PipelineTaskFinalStatus`` of
the pipeline's whole body, it sends the notification (``pod.py``) and never fails."""

from __future__ import annotations

from dagwright.components import PipelineTaskFinalStatus, component


@component(name="dagwright-notify")
def notify_run_end(status: PipelineTaskFinalStatus, notify: str, pipeline: str) -> None:
    """Tell the pipeline's notifiers how its run ended; a failure here is only a warning."""
    import json
    import logging

    from dagwright.notifications.pod import notify_exit, run_end
    from dagwright.pipelines.notify import Notification

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        notification = Notification.from_dict(json.loads(notify))
        run_id = status.pipeline_job_resource_name
        ended = run_end(
            notification, pipeline, run_id, status.state, error=status.error_message or ""
        )
        notify_exit(notification, ended)
    except Exception as exc:  # a failed exit task would mark the run failed
        logging.getLogger("dagwright.notifications").warning("notifications not sent: %s", exc)
