"""A stand-in for the KFP v2beta1 API server that holds every request to the upstream swagger.

No KFP backend can run here (it needs Kubernetes, Argo, MySQL and more), so the submission
tests talk to this real HTTP server on 127.0.0.1 instead. Each request is checked against
the upstream swagger (``tests/schemas/kfp-api-v2beta1.swagger.json.gz``) by
``kfp_contract.Contract``: operation, query, headers, JSON body (JSON Schema plus a strict
unknown-field check of our own, since the swagger never says ``additionalProperties: false``)
or multipart upload. Then the stand-in checks what KFP's server checks itself: names given,
one pipeline source, known experiments and pipeline versions, parameters the spec declares, a
six-field cron (seconds first, as robfig/cron reads it), max concurrency 1-10.

It answers with bodies built to the response schemas, checked by the same validator so that a
bug of the stand-in shows up too. A run reports RUNNING for ``running_polls`` ``get_run``
calls, then ``final_state`` with per-task details; runs are also listed, terminated and retried
(``kfp_runs_server.RunManagement``). A request that fails a check gets HTTP 400 with a
``google.rpc.Status`` body and lands in ``violations``; every request is kept in ``requests``.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kfp_contract import SWAGGER, Contract, Refused, proto_json, spec_of
from kfp_runs_server import RunManagement

CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-]+$")


@dataclass
class Recorded:
    """One request as it arrived (header names in lower case), and what was wrong with it."""

    method: str
    path: str
    operation: str | None
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None
    status: int = 0
    problems: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class KfpApiServer(RunManagement):
    """The stand-in; use as a context manager or call ``start`` and ``stop``.

    Args:
        swagger: The KFP v2beta1 swagger file.
        final_state: What runs end as (``SUCCEEDED``, ``FAILED``, ...).
        running_polls: How many ``get_run`` calls see a run RUNNING before it ends.
        token: When set, requests without ``Authorization: Bearer <token>`` get 401.
    """

    def __init__(
        self,
        swagger: Path = SWAGGER,
        *,
        final_state: str = "SUCCEEDED",
        running_polls: int = 2,
        token: str | None = None,
    ) -> None:
        self.contract = Contract(swagger)
        self.final_state, self.running_polls, self.token = final_state, running_polls, token
        self.requests: list[Recorded] = []
        self.experiments: dict[str, dict[str, Any]] = {}
        self.pipelines: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.recurring_runs: dict[str, dict[str, Any]] = {}
        self._specs: dict[str, dict[str, Any]] = {}  # run or version id -> its PipelineSpec
        self._polls: dict[str, int] = {}
        # operation -> called (outside the lock) before its answer is sent, to order clients
        self.hold_answers: dict[str, Any] = {}
        self.retried: dict[str, list[str]] = {}  # run id -> the task ids RetryRun runs again
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                stub._handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = _any

            def log_message(self, *args: Any) -> None:  # keep pytest's output clean
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> KfpApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> KfpApiServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def violations(self) -> list[str]:
        """Every problem found, as ``METHOD path: problem``."""
        return [f"{r.method} {r.path}: {p}" for r in self.requests for p in r.problems]

    def calls(self, operation: str) -> list[Recorded]:
        """The requests made to one operation (its swagger operationId)."""
        return [r for r in self.requests if r.operation == operation]

    # --- one request -----------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        url = urlsplit(handler.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in handler.headers.items()}  # names are case-blind
        rec = Recorded(handler.command, url.path, None, query, headers)
        with self._lock:
            self.requests.append(rec)
            status, body = self._answer(rec, handler.headers, raw)
            rec.status = status
        hold = self.hold_answers.get(rec.operation or "")
        if hold is not None:  # answered, not yet sent: another client's call may come first
            hold()
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, rec: Recorded, headers: Any, raw: bytes) -> tuple[int, Any]:
        found = self.contract.route(rec.method, rec.path)
        if found is None:
            rec.problems.append("no such operation in the swagger")
            return 404, {"code": 5, "message": f"{rec.method} {rec.path} is not in the API"}
        op, params = found
        rec.operation = op["operationId"]
        rec.body, found = self.contract.check_request(op, rec.query, headers, raw)
        rec.problems += found
        if rec.problems:
            return 400, {"code": 3, "message": "; ".join(rec.problems)}
        if self.token and headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"code": 16, "message": "missing or wrong bearer token"}
        action = getattr(self, f"_op_{rec.operation}", None)
        try:
            if action is None:
                raise Refused(501, 12, f"the stand-in does not serve {rec.operation}")
            status, body = 200, action(params, rec.query, rec.body)
        except Refused as exc:
            if exc.violation:
                rec.problems.append(str(exc))
            status, body = exc.status, {"code": exc.code, "message": str(exc)}
        answer = op["responses"].get(str(status)) or op["responses"]["default"]
        rec.problems += [
            f"stand-in bug: {p}"
            for p in self.contract.problems(answer["schema"], body, "response", request=False)
        ]
        return status, body

    # --- operations (named after the swagger's operationId) -----------------------------------

    def _op_HealthzService_GetHealthz(self, path: dict, query: dict, body: Any) -> Any:
        return {"multi_user": False, "pipeline_store": "database"}

    def _op_ExperimentService_ListExperiments(self, path: dict, query: dict, body: Any) -> Any:
        wanted = self._filtered(self.experiments.values(), query)
        return {"experiments": wanted, "total_size": len(wanted)} if wanted else {}

    def _op_ExperimentService_CreateExperiment(self, path: dict, query: dict, body: Any) -> Any:
        if not body.get("display_name"):
            raise Refused(400, 3, "experiment display_name is empty")
        eid = str(uuid.uuid4())
        made = {**body, "experiment_id": eid, "created_at": _now(), "storage_state": "AVAILABLE"}
        self.experiments[eid] = made
        return made

    def _op_ExperimentService_GetExperiment(self, path: dict, query: dict, body: Any) -> Any:
        return self._get(self.experiments, path["experiment_id"], "experiment")

    def _op_PipelineService_ListPipelines(self, path: dict, query: dict, body: Any) -> Any:
        wanted = self._filtered(self.pipelines.values(), query)
        return {"pipelines": wanted, "total_size": len(wanted)} if wanted else {}

    def _op_PipelineService_GetPipelineByName(self, path: dict, query: dict, body: Any) -> Any:
        for found in self.pipelines.values():
            if found["name"] == path["name"] and found.get("namespace", "") == query.get(
                "namespace", ""
            ):
                return found
        raise Refused(404, 5, f"pipeline '{path['name']}' not found", violation=False)

    def _op_PipelineService_GetPipeline(self, path: dict, query: dict, body: Any) -> Any:
        return self._get(self.pipelines, path["pipeline_id"], "pipeline")

    def _op_UploadPipeline(self, path: dict, query: dict, body: Any) -> Any:
        name = query.get("name") or query.get("display_name")
        if not name:
            raise Refused(400, 3, "pipeline name is empty")
        namespace = query.get("namespace", "")
        if any(
            p["name"] == name and p.get("namespace", "") == namespace
            for p in self.pipelines.values()
        ):
            raise Refused(409, 6, f"a pipeline named '{name}' exists already")
        pid = str(uuid.uuid4())
        made = {"pipeline_id": pid, "name": name, "display_name": name, "created_at": _now()}
        if query.get("description"):
            made["description"] = query["description"]
        if namespace:
            made["namespace"] = namespace
        self.pipelines[pid] = made
        self._version(pid, name, body["spec"])
        return made

    def _op_UploadPipelineVersion(self, path: dict, query: dict, body: Any) -> Any:
        pid, name = query.get("pipelineid"), query.get("name") or query.get("display_name")
        if not pid or pid not in self.pipelines or not name:
            raise Refused(400, 3, "pipelineid of an existing pipeline and a name are required")
        if any(v["pipeline_id"] == pid and v["name"] == name for v in self.versions.values()):
            raise Refused(409, 6, f"pipeline {pid} has a version named '{name}' already")
        made = self._version(pid, name, body["spec"])
        if query.get("description"):
            made["description"] = query["description"]
        return made

    def _op_PipelineService_ListPipelineVersions(self, path: dict, query: dict, body: Any) -> Any:
        """Filtered (EQUALS, as kfp sends), sorted by ``created_at`` (creation order) either
        way, and paged: ``page_token`` is the offset of the page, as text."""
        self._get(self.pipelines, path["pipeline_id"], "pipeline")
        found = [v for v in self.versions.values() if v["pipeline_id"] == path["pipeline_id"]]
        found = self._filtered(found, query)
        if query.get("sort_by", "").endswith(" desc"):
            found.reverse()  # kept in creation order
        start = int(query.get("page_token") or 0)
        size = int(query.get("page_size") or len(found) or 1)
        page = found[start : start + size]
        answer: dict[str, Any] = {"total_size": len(found)} if found else {}
        if page:
            answer["pipeline_versions"] = page
        if start + size < len(found):
            answer["next_page_token"] = str(start + size)
        return answer

    def _op_PipelineService_CreatePipeline(self, path: dict, query: dict, body: Any) -> Any:
        """A pipeline with no version yet (the real server makes none either)."""
        name = body.get("name") or body.get("display_name")
        if not name:
            raise Refused(400, 3, "pipeline name is empty")
        namespace = body.get("namespace", "")
        if any(
            p["name"] == name and p.get("namespace", "") == namespace
            for p in self.pipelines.values()
        ):
            raise Refused(409, 6, f"a pipeline named '{name}' exists already")
        pid = str(uuid.uuid4())
        made = {**body, "pipeline_id": pid, "name": name, "created_at": _now()}
        self.pipelines[pid] = made
        return made

    def _op_RunService_CreateRun(self, path: dict, query: dict, body: Any) -> Any:
        spec = self._source(body, "run")
        rid = str(uuid.uuid4())
        made = {**body, "run_id": rid, "created_at": _now(), "scheduled_at": _now()}
        made.update(state="PENDING", storage_state="AVAILABLE")
        made["state_history"] = [{"update_time": _now(), "state": "PENDING"}]
        self.runs[rid], self._specs[rid], self._polls[rid] = made, spec, 0
        return made

    def _op_RunService_GetRun(self, path: dict, query: dict, body: Any) -> Any:
        run = self._get(self.runs, path["run_id"], "run", violation=False)
        rid = run["run_id"]
        self._polls[rid] += 1
        if run["state"] not in ("CANCELED", "CANCELING"):
            final = self._polls[rid] > self.running_polls
            # a retried run runs its failed tasks again, and they succeed
            ending = "SUCCEEDED" if rid in self.retried else self.final_state
            self._set_state(run, ending if final else "RUNNING")
        state = "CANCELED" if run["state"] == "CANCELING" else run["state"]
        self._set_state(run, state)
        run["run_details"] = {"task_details": self._tasks(run)}
        if state in ("SUCCEEDED", "FAILED", "CANCELED"):
            run["finished_at"] = run.get("finished_at") or _now()
        return run

    def _op_RecurringRunService_CreateRecurringRun(self, path: dict, query: dict, body: Any) -> Any:
        spec = self._source(body, "recurring run")
        concurrency = str(body.get("max_concurrency", ""))
        if not concurrency.isdigit() or not 1 <= int(concurrency) <= 10:
            raise Refused(400, 3, f"max_concurrency {concurrency!r} is not in 1-10")
        trigger = body.get("trigger") or {}
        if len(trigger) != 1:
            raise Refused(400, 3, "trigger needs exactly one of cron_schedule, periodic_schedule")
        cron = (trigger.get("cron_schedule") or {}).get("cron")
        if "cron_schedule" in trigger:
            self._check_cron(cron)
        rid = str(uuid.uuid4())
        made = {**body, "recurring_run_id": rid, "created_at": _now(), "updated_at": _now()}
        made["status"] = "DISABLED" if body.get("mode") == "DISABLE" else "ENABLED"
        self.recurring_runs[rid], self._specs[rid] = made, spec
        return made

    def _op_RecurringRunService_GetRecurringRun(self, path: dict, query: dict, body: Any) -> Any:
        return self._get(self.recurring_runs, path["recurring_run_id"], "recurring run")

    # --- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _get(
        table: dict[str, dict[str, Any]], key: str, what: str, violation: bool = True
    ) -> dict[str, Any]:
        """The row ``key``; a 404 otherwise (``violation``: dagwright should not ask so; a run
        id is the user's to give)."""
        if key not in table:
            raise Refused(404, 5, f"no {what} '{key}'", violation=violation)
        return table[key]

    @staticmethod
    def _filtered(rows: Any, query: dict[str, str]) -> list[dict[str, Any]]:
        """Rows in the query's namespace that pass its EQUALS predicates (all kfp sends)."""
        predicates = proto_json(json.loads(query.get("filter") or "{}")).get("predicates", [])
        return [
            row
            for row in rows
            if row.get("namespace", "") == query.get("namespace", row.get("namespace", ""))
            and all(row.get(p["key"]) == p.get("string_value") for p in predicates)
        ]

    def _version(self, pid: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        vid = str(uuid.uuid4())
        made = {
            "pipeline_id": pid,
            "pipeline_version_id": vid,
            "name": name,
            "display_name": name,
            "created_at": _now(),
            "pipeline_spec": spec,
        }
        self.versions[vid], self._specs[vid] = made, spec_of(spec, "uploadfile")
        return made

    def _source(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        """Check name, experiment, pipeline source and parameters; the spec that will run."""
        if not body.get("display_name"):
            raise Refused(400, 3, f"{what} display_name is empty")
        if body.get("experiment_id") and body["experiment_id"] not in self.experiments:
            raise Refused(404, 5, f"no experiment '{body['experiment_id']}'")
        has_spec, ref = "pipeline_spec" in body, body.get("pipeline_version_reference")
        if has_spec == (ref is not None):
            raise Refused(400, 3, f"{what} needs one of pipeline_spec, pipeline_version_reference")
        if ref is not None:
            version = self.versions.get(ref.get("pipeline_version_id", ""))
            if version is None or version["pipeline_id"] != ref.get("pipeline_id"):
                raise Refused(404, 5, f"no pipeline version {ref}")
            spec = self._specs[version["pipeline_version_id"]]
        else:
            spec = spec_of(body["pipeline_spec"], f"{what} pipeline_spec")
        inputs = (spec["root"].get("inputDefinitions") or {}).get("parameters") or {}
        given = (body.get("runtime_config") or {}).get("parameters") or {}
        unknown = sorted(set(given) - set(inputs))
        if unknown:
            raise Refused(400, 3, f"parameters {unknown} are not inputs of the pipeline")
        return spec

    @staticmethod
    def _check_cron(cron: str | None) -> None:
        from croniter import croniter

        fields = (cron or "").split()
        if len(fields) != 6 or not all(CRON_FIELD.match(f) for f in fields):
            raise Refused(400, 3, f"cron {cron!r} is not six fields (seconds first)")
        if not croniter.is_valid(" ".join(fields), second_at_beginning=True):
            raise Refused(400, 3, f"cron {cron!r} does not parse")
