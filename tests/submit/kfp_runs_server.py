"""The KFP API stand-in's run management (``KfpApiServer`` takes it in): list, terminate and
retry of runs, as the upstream KFP v2beta1 swagger describes them, and the task details a run
reports.

A run's details are its root DAG task, then one task per step with its driver's and
executor's pods (as KFP 2's backend lists them). Runs are listed newest first, terminated
(``CANCELED``) and retried when ``FAILED`` or ``CANCELED``: the failed tasks run again under
new task ids and succeed (``retried``), the others are kept.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from kfp_contract import Refused


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class RunManagement:
    """The run operations; the server keeps ``runs``, ``experiments``, ``_specs``, ``_polls``
    and makes 404s (``_get``)."""

    runs: dict[str, dict[str, Any]]
    experiments: dict[str, dict[str, Any]]
    _specs: dict[str, dict[str, Any]]
    _polls: dict[str, int]
    retried: dict[str, list[str]]  # run id -> the task ids RetryRun runs again

    def _op_RunService_ListRuns(self, path: dict, query: dict, body: Any) -> Any:
        def namespace(run: dict[str, Any]) -> str:  # a run is in its experiment's namespace
            return str(self.experiments.get(run.get("experiment_id", ""), {}).get("namespace", ""))

        rows = [
            r
            for r in self.runs.values()
            if r.get("experiment_id") == query.get("experiment_id", r.get("experiment_id"))
            and namespace(r) == query.get("namespace", namespace(r))
        ]
        if query.get("filter"):
            raise Refused(501, 12, "the stand-in does not filter runs")
        if query.get("sort_by") == "created_at desc":
            rows.reverse()  # kept in creation order
        elif query.get("sort_by"):
            raise Refused(400, 3, f"sort_by {query['sort_by']!r} is not a field of a run")
        listed = rows[: int(query.get("page_size") or len(rows) or 1)]
        listed = [{k: v for k, v in r.items() if k != "run_details"} for r in listed]
        return {"runs": listed, "total_size": len(rows)} if listed else {}

    def _op_RunService_TerminateRun(self, path: dict, query: dict, body: Any) -> Any:
        run = self._get(self.runs, path["run_id"], "run", violation=False)
        if run["state"] in ("SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"):
            raise Refused(400, 9, f"run {run['run_id']} has ended", violation=False)
        self._set_state(run, "CANCELING")
        return {}

    def _op_RunService_RetryRun(self, path: dict, query: dict, body: Any) -> Any:
        run = self._get(self.runs, path["run_id"], "run", violation=False)
        if run["state"] not in ("FAILED", "CANCELED"):
            # KFP's backend: the workflow must be Failed/Error to retry
            raise Refused(400, 9, "Workflow must be Failed/Error to retry", violation=False)
        rid = run["run_id"]
        tasks = self._tasks(run)[1:]  # not the root DAG task
        self.retried[rid] = [t["task_id"] for t in tasks if t["state"] != "SUCCEEDED"]
        self._polls[rid] = 0
        run.pop("finished_at", None)
        run.pop("error", None)
        self._set_state(run, "RUNNING")
        return {}

    @staticmethod
    def _set_state(run: dict[str, Any], state: str) -> None:
        if state != run["state"]:
            run["state"] = state
            run["state_history"].append({"update_time": _now(), "state": state})

    def _tasks(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """The run's task details: its root DAG task, then one task per step with its pod.
        Until the run ends its steps run; at a FAILED end the last one failed; a retried
        step gets a new task id, the steps that had succeeded keep theirs."""
        rid, state = run["run_id"], run["state"]
        names = sorted((self._specs[rid].get("root", {}).get("dag") or {}).get("tasks") or {})
        again = self.retried.get(rid, [])
        tasks = []
        for i, name in enumerate(names):
            task_id = f"{rid}-{i}"
            if state == "RUNNING":
                task_state = "SUCCEEDED" if again and task_id not in again else "RUNNING"
            elif state in ("SUCCEEDED", "SKIPPED") or i < len(names) - 1:
                task_state = "SUCCEEDED"
            else:
                task_state = state
            if task_id in again:
                task_id += "-retry"
            task = {
                "run_id": rid,
                "task_id": task_id,
                "display_name": name,
                "state": task_state,
                # as KFP 2's backend reports them: the driver's pod, then the executor's
                "child_tasks": [
                    {"pod_name": f"{name}-system-container-{kind}-{task_id[-8:]}"}
                    for kind in ("driver", "impl")
                ],
                "start_time": run["created_at"],
            }
            if task_state == "FAILED":
                task["error"] = {"code": 2, "message": f"{name}: exit code 1"}
                run["error"] = {"code": 2, "message": f"task {name} failed"}
            tasks.append(task)
        root = {
            "run_id": rid,
            "task_id": f"{rid}-root",
            "display_name": "root",
            "state": state,
            "child_tasks": [{"task_id": t["task_id"]} for t in tasks],
        }
        return [root, *tasks]
