"""The Workflows of an argo-server, through Hera's ``WorkflowsService``: listed with their
phase, shown with their steps, a step's logs (Argo's log API), cancelled (Argo's stop: the
exit handler, and with it a pipeline's notifications, still runs), retried from the failed
steps.

Argo's log API answers as a stream, one ``{"result": LogEntry}`` JSON object a line, which
Hera's ``workflow_logs`` reads as one JSON document; the log call goes through the service's
own session, host, token and TLS settings instead, and reads the lines.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from typing import Any

from dagwright.errors import ValidationError
from dagwright.remote import SubmitError
from dagwright.remote.argo_checks import check_name, namespace_for
from dagwright.remote.argo_results import FINAL_PHASES, phase_of
from dagwright.remote.argo_service import connect, page, remote_errors, server_url
from dagwright.remote.run_records import (
    RemoteRun,
    RemoteStep,
    StepLogs,
    chosen_steps,
    unfinished,
    utc,
)

RETRIABLE = frozenset({"Failed", "Error"})  # what Argo's RetryWorkflow takes
# nodes that run a pod (Argo's own list of nodes with logs); the others group or wait
_POD_NODES = frozenset({"Pod", "ContainerSet", "HTTP", "Plugin"})
_NOT_STEPS = frozenset({"DAG", "Steps", "StepGroup", "TaskGroup", "Retry"})
# Kubernetes' name limit, less room for the hash Argo appends (workflow/util/pod_name.go)
_POD_PREFIX = 253 - 10 - 1


class ArgoRuns:
    """The Workflows of one namespace of an argo-server (options as for
    ``dagwright.remote.argo.submit``).

    Args:
        host: The argo-server URL; None reads ``$ARGO_SERVER``.
        namespace: The namespace; default ``$ARGO_NAMESPACE``.
        token: A bearer token (default ``$ARGO_TOKEN``).
        verify_ssl: Check the server's TLS certificate.

    Raises:
        ValidationError: no host or namespace, or one that is not valid.
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        namespace: str | None = None,
        token: str | None = None,
        verify_ssl: bool = True,
    ) -> None:
        self.url = server_url(host)
        self.namespace = namespace_for(namespace)
        self.token, self.verify_ssl = token, verify_ssl
        self._service: Any = None

    @contextlib.contextmanager
    def _remote(self) -> Iterator[None]:
        """Server errors as SubmitError; with ``verify_ssl=False``, which the caller chose, no
        warning per request that it is unverified."""
        import urllib3

        with remote_errors(self.url), warnings.catch_warnings():
            if not self.verify_ssl:
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            yield

    def _connected(self) -> Any:
        if self._service is None:
            self._service = connect(
                self.url, self.namespace, self.token, verify_ssl=self.verify_ssl
            )
        return self._service

    def ls(self, limit: int = 20) -> list[RemoteRun]:
        """The most recent workflows of the namespace, newest first."""
        with self._remote():
            listed = self._connected().list_workflows(namespace=self.namespace)
        runs = [self._run(w) for w in listed.items or []]
        runs.sort(key=lambda r: r.created.timestamp() if r.created else 0.0, reverse=True)
        return runs[:limit]

    def show(self, name: str) -> RemoteRun:
        """The workflow with its steps (its status nodes)."""
        check_name(name, field="RUN")
        with self._remote():
            return self._shown(name)

    def logs(self, name: str, step: str | None = None) -> list[StepLogs]:
        """What the workflow's steps (or only ``step``'s) printed, from Argo's log API.

        Raises:
            ValidationError: the workflow has no step ``step``.
            SubmitError: the server refused or could not be reached.
        """
        run = self.show(name)
        found = []
        with self._remote():
            for chosen in chosen_steps(run, step):
                if chosen.pod is None:
                    continue  # a step that runs no pod printed nothing
                found.append(StepLogs(chosen.name, chosen.pod, self._pod_log(name, chosen.pod)))
        return found

    def cancel(self, name: str) -> RemoteRun:
        """Stop the workflow: running pods are stopped, no step starts, the exit handler runs
        (Argo's stop; its terminate would skip the exit handler, ``ShouldExecute`` in
        ``workflow_types.go``), so notifications ``on=["cancelled"]`` are sent. It then ends
        Failed, "Stopped with strategy 'Stop'".

        Raises:
            ValidationError: the workflow has ended already.
        """
        from hera.workflows import models

        run = self.show(name)
        if run.status in FINAL_PHASES:
            raise ValidationError(
                f"workflow '{name}' has ended ({run.status})",
                field="RUN",
                fix="only a workflow that has not ended can be cancelled",
            )
        request = models.WorkflowStopRequest(name=name, namespace=self.namespace)
        with self._remote():
            self._connected().stop_workflow(name, request, namespace=self.namespace)
            return self._shown(name)

    def retry(self, name: str) -> RemoteRun:
        """Retry a Failed or Error workflow: its failed steps run again, those that succeeded
        are kept (Argo's retry).

        Raises:
            ValidationError: the workflow did not fail.
        """
        from hera.workflows import models

        run = self.show(name)
        if run.status not in RETRIABLE:
            raise ValidationError(
                f"workflow '{name}' is {run.status}",
                field="RUN",
                fix="only a Failed or Error workflow can be retried",
            )
        request = models.WorkflowRetryRequest(name=name, namespace=self.namespace)
        with self._remote():
            self._connected().retry_workflow(name, request, namespace=self.namespace)
            return self._shown(name)

    # --- the server's answers as records ------------------------------------------------------

    def _shown(self, name: str) -> RemoteRun:
        workflow = self._connected().get_workflow(name, namespace=self.namespace)
        run = self._run(workflow)
        nodes = dict(getattr(workflow.status, "nodes", None) or {})
        v1 = (workflow.metadata.annotations or {}).get(
            "workflows.argoproj.io/pod-name-format"
        ) == "v1"
        run.steps = [
            _step(node_id, node, name, v1)
            for node_id, node in nodes.items()
            if node.type not in _NOT_STEPS
        ]
        run.steps.sort(key=lambda s: (s.started is None, s.started or 0, s.name))
        return run

    def _run(self, workflow: Any) -> RemoteRun:
        meta, status = workflow.metadata, workflow.status
        name = str(meta.name)
        return RemoteRun(
            run_id=name,
            name=name,
            status=phase_of(workflow) or "Pending",
            created=utc(meta.creation_timestamp),
            finished=unfinished(utc(getattr(status, "finished_at", None))),
            url=page(self.url, "Workflow", self.namespace, name),
            message=getattr(status, "message", None) or None,
        )

    def _pod_log(self, name: str, pod: str) -> str:
        """One pod's main container log, read line by line from Argo's log stream."""
        service = self._connected()
        response = service.session.get(
            f"{self.url}api/v1/workflows/{self.namespace}/{name}/log",
            params={"podName": pod, "logOptions.container": "main"},
            headers={"Authorization": service.token} if service.token else {},
            verify=service.verify_ssl,
            cert=service.client_certs,
            stream=True,
            timeout=60,
        )
        with response:
            if not response.ok:
                raise SubmitError(
                    f"{self.url.rstrip('/')} answered {response.status_code}: "
                    f"{_message(response.text)}"
                )
            lines = []
            for line in response.iter_lines(decode_unicode=True):
                if not line:
                    continue
                item = json.loads(line)
                if item.get("error"):
                    raise SubmitError(f"the log of {pod}: {_message(json.dumps(item['error']))}")
                lines.append(str((item.get("result") or {}).get("content", "")))
        return "\n".join(lines)


def _message(text: str) -> str:
    try:
        return str(json.loads(text).get("message") or text)
    except (ValueError, AttributeError):
        return text


def _step(node_id: str, node: Any, workflow: str, v1: bool) -> RemoteStep:
    pod = None
    if node.type in _POD_NODES:
        template = node.template_name or getattr(node.template_ref, "template", None) or ""
        pod = pod_name(workflow, str(node.name), template, node_id, v1=v1)
    return RemoteStep(
        name=str(node.display_name or node.name),
        status=str(node.phase or "-"),
        started=utc(node.started_at),
        finished=unfinished(utc(node.finished_at)),
        message=node.message or None,
        pod=pod,
    )


def pod_name(workflow: str, node: str, template: str, node_id: str, *, v1: bool = False) -> str:
    """The pod Argo runs a node in (its ``GeneratePodName``): the node id in the v1 format,
    else ``<workflow>-<template>-<FNV-1a of the node name>``."""
    if v1:
        return node_id
    if workflow == node:
        return workflow
    prefix = f"{workflow}-{template}" if template else workflow
    prefix = prefix[:_POD_PREFIX]
    digest = 0x811C9DC5  # FNV-1a, 32 bits: the standard library has no FNV
    for byte in node.encode():
        digest = ((digest ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{prefix}-{digest}"
