"""The argo-server stand-in's run management (``ArgoServer`` takes it in): list, terminate,
retry and the log stream of workflows, as the upstream Argo v4.1.2 swagger describes them.

Terminating or stopping fails the running steps ("Stopped with strategy 'Terminate'" or
"'Stop'"; the stand-in runs no exit handler, which a stop would run); retrying a Failed
or Error workflow keeps the nodes that succeeded and runs the others again, which then
succeed; the log API answers as argo-server does, one ``{"result": LogEntry}`` JSON object a
line, for the pods ``pods`` names as Argo names them (``pod_logs`` sets their lines).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from argo_contract import Refused

INVALID = 3  # grpc's INVALID_ARGUMENT, as argo-server answers
Key = tuple[str, str]  # (namespace, name)


@dataclass
class Stream:
    """A streamed answer (Argo's log API): one JSON object a line."""

    lines: list[dict[str, Any]]


def fnv1a(text: str) -> int:
    """32-bit FNV-1a, the hash Argo puts at the end of a pod's name."""
    digest = 2166136261
    for byte in text.encode():
        digest = ((digest ^ byte) * 16777619) % 2**32
    return digest


def _no(message: str) -> Refused:
    """A refusal the real server would give a request dagwright may well send."""
    return Refused(400, INVALID, message, violation=False)


class WorkflowRuns:
    """The run-management operations; the server keeps ``workflows``, ``_polls``,
    ``_version`` and makes statuses (``_status``) and 404s (``_get``)."""

    workflows: dict[Key, dict[str, Any]]
    _polls: dict[Key, int]
    _version: int

    def _init_runs(self) -> None:
        self.retried: set[Key] = set()  # retried workflows end Succeeded
        self.kept: dict[Key, dict[str, Any]] = {}  # nodes a retry kept, by node id
        self.pod_logs: dict[str, list[str]] = {}  # pod name -> its main container's lines

    def _op_ListWorkflows(self, path: dict, query: dict, body: Any) -> Any:
        ns = path["namespace"]
        items = [copy.deepcopy(w) for (wns, _), w in self.workflows.items() if wns == ns]
        return {"metadata": {"resourceVersion": str(self._version)}, "items": items}

    def _op_TerminateWorkflow(self, path: dict, query: dict, body: Any) -> Any:
        return self._shutdown(path, body, "Terminate")

    def _op_StopWorkflow(self, path: dict, query: dict, body: Any) -> Any:
        return self._shutdown(path, body, "Stop")

    def _shutdown(self, path: dict, body: Any, strategy: str) -> Any:
        key = self._named(path, body)
        workflow = self._get(self.workflows, "workflows", key)
        if (workflow.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Error"):
            raise _no(f"workflow {key[1]!r} has ended; cannot {strategy.lower()} it")
        workflow["spec"]["shutdown"] = strategy
        workflow["status"] = self._status(workflow, "Failed", stopped=strategy)
        return workflow

    def _op_RetryWorkflow(self, path: dict, query: dict, body: Any) -> Any:
        key = self._named(path, body)
        workflow = self._get(self.workflows, "workflows", key)
        if (workflow.get("status") or {}).get("phase") not in ("Failed", "Error"):
            raise _no("Workflow must be Failed/Error to retry")
        nodes = workflow["status"].get("nodes") or {}
        # Argo keeps the nodes that succeeded and runs the others again
        self.kept[key] = {i: n for i, n in nodes.items() if n["phase"] == "Succeeded"}
        workflow["spec"].pop("shutdown", None)
        self._polls[key] = 1  # not Pending again: Running for running_polls gets, then it ends
        self.retried.add(key)
        workflow["status"] = self._status(workflow, "Running")
        return workflow

    def _op_WorkflowLogs(self, path: dict, query: dict, body: Any) -> Any:
        key = (path["namespace"], path["name"])
        self._get(self.workflows, "workflows", key)
        pods = {pod: step for step, pod in self.pods(key).items()}
        pod = query.get("podName")
        if pod not in pods:
            raise Refused(400, INVALID, f"podName {pod!r} is no pod of workflow {key[1]!r}")
        if query.get("logOptions.container") != "main":
            raise Refused(400, INVALID, "a step's own output is in its main container")
        lines = self.pod_logs.get(pod, [f"{pods[pod]} says hello", f"{pods[pod]} is done"])
        return Stream([{"result": {"content": line, "podName": pod}} for line in lines])

    def _named(self, path: dict, body: Any) -> Key:
        """The workflow a terminate or retry request names, in its path and its body alike."""
        key = (path["namespace"], path["name"])
        said = (body.get("namespace", key[0]), body.get("name", key[1]))
        if said != key:
            raise Refused(400, INVALID, f"the body names {said}, the path {key}")
        return key

    def pods(self, key: Key) -> dict[str, str]:
        """The pod of each step node of a workflow, by step, named as Argo names them (v2:
        ``<workflow>-<template>-<FNV-1a of the node name>``)."""
        nodes = ((self.workflows[key].get("status") or {}).get("nodes") or {}).values()
        return {
            n["displayName"]: f"{key[1]}-{n['templateName']}-{fnv1a(n['name'])}"
            for n in nodes
            if n["type"] == "Pod"
        }
