"""A stand-in for argo-server that holds every request to the upstream Argo v4.1.2 swagger.

No Argo server can run here (it needs Kubernetes and the workflow controller), so the Argo
submission tests talk to this real HTTP server on 127.0.0.1 instead. Each request is checked
against the upstream swagger (``tests/schemas/argo-workflows-v4.1.2.swagger.json.gz``) by
``argo_contract.ArgoContract``: operation, query, headers, JSON body (JSON Schema plus a strict
unknown-field check of our own, and no system-set metadata). Then the stand-in checks what
argo-server and Kubernetes check themselves: the namespace of the path and of the object
agree, a name or generateName on create, no resourceVersion on create and the current one on
update, an entrypoint and task templates that exist, argument values, a CronWorkflow's
``schedules`` (five-field crons), time zone and concurrency policy.

It keeps Workflows, WorkflowTemplates and CronWorkflows in memory, answers ``409`` to the
create of an existing name and ``404`` to unknown names, and answers with bodies built to the
response schemas, checked by the same validator so that a bug of the stand-in shows up too. A
workflow reports ``Pending`` on the first ``get``, ``Running`` for ``running_polls`` more,
then ``final_phase``, with a node per step. It also lists, terminates and retries workflows and
streams their steps' logs (``argo_runs_server.WorkflowRuns``). A request that breaks the
contract gets HTTP 400 and lands in ``violations``; every request is kept in ``requests``.
"""

from __future__ import annotations

import copy
import json
import random
import re
import string
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from argo_contract import SWAGGER, ArgoContract, Refused
from argo_runs_server import Stream, WorkflowRuns

# grpc codes that argo-server answers with (google.rpc.Code)
INVALID, NOT_FOUND, EXISTS, UNAUTHENTICATED = 3, 5, 6, 16
CONFLICT = 10  # ABORTED: Kubernetes' 409 Conflict on a stale resourceVersion
SERVED = r"(Create|Lint|Get|Update|Delete)(Workflow|WorkflowTemplate|CronWorkflow)"
Key = tuple[str, str]  # (namespace, name)
CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


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


class ArgoServer(WorkflowRuns):
    """The stand-in; use as a context manager or call ``start`` and ``stop``.

    Args:
        swagger: The Argo Workflows swagger file.
        final_phase: What workflows end as (``Succeeded``, ``Failed``, ``Error``).
        running_polls: How many ``get`` calls see a workflow Running before it ends.
        token: When set, requests without ``Authorization: Bearer <token>`` get 401.
        lint_problem: When set, every lint is refused with this message (as a cluster's
            admission rules might), whatever the manifest.
    """

    def __init__(
        self,
        swagger: Path = SWAGGER,
        *,
        final_phase: str = "Succeeded",
        running_polls: int = 2,
        token: str | None = None,
        lint_problem: str | None = None,
    ) -> None:
        self.contract = ArgoContract(swagger)
        self.final_phase, self.running_polls = final_phase, running_polls
        self.token, self.lint_problem = token, lint_problem
        self.requests: list[Recorded] = []
        # (namespace, name) -> the stored object
        self.workflows: dict[Key, dict[str, Any]] = {}
        self.templates: dict[Key, dict[str, Any]] = {}
        self.crons: dict[Key, dict[str, Any]] = {}
        self._polls: dict[tuple[str, str], int] = {}
        self._init_runs()
        self._version = 100  # like etcd's revision: one counter for every object
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                stub._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args: Any) -> None:  # keep pytest's output clean
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> ArgoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> ArgoServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def violations(self) -> list[str]:
        """Every problem found, as ``METHOD path: problem``."""
        return [f"{r.method} {r.path}: {p}" for r in self.requests for p in r.problems]

    def calls(self, operation: str) -> list[Recorded]:
        """The requests made to one operation (its swagger operationId without the service)."""
        return [r for r in self.requests if (r.operation or "").endswith("_" + operation)]

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
        # a stream (the log API) is one JSON object a line, as grpc-gateway writes it
        lines = body.lines if isinstance(body, Stream) else [body]
        data = "\n".join(json.dumps(line) for line in lines).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _answer(self, rec: Recorded, headers: Any, raw: bytes) -> tuple[int, Any]:
        found = self.contract.route(rec.method, rec.path)
        if found is None:
            rec.problems.append("no such operation in the swagger")
            return 404, {"code": NOT_FOUND, "message": f"{rec.method} {rec.path} is not in the API"}
        op, params = found
        rec.operation = op["operationId"]
        rec.body, found = self.contract.check_request(op, rec.query, headers, raw)
        rec.problems += found
        if rec.problems:
            return 400, {"code": INVALID, "message": "; ".join(rec.problems)}
        if self.token and headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"code": UNAUTHENTICATED, "message": "token not valid"}
        served = re.fullmatch(SERVED, rec.operation.split("_", 1)[1])
        own = getattr(self, "_op_" + rec.operation.split("_", 1)[1], None)
        try:
            if own is not None:
                status, body = 200, own(params, rec.query, rec.body)
            elif served is None:
                raise Refused(501, 12, f"the stand-in does not serve {rec.operation}")
            else:
                status, body = 200, self._operate(*served.groups(), params, rec.body)
        except Refused as exc:
            if exc.violation:
                rec.problems.append(str(exc))
            status, body = exc.status, {"code": exc.code, "message": str(exc)}
        answer = op["responses"].get(str(status)) or op["responses"]["default"]
        rec.problems += [
            f"stand-in bug: {p}"
            for line in (body.lines if isinstance(body, Stream) else [body])
            for p in self.contract.problems(answer["schema"], line, "response", request=False)
        ]
        return status, body

    # --- the operations served: create, lint, get, update, delete of each kind ---------------

    def _operate(self, verb: str, kind: str, path: dict, body: Any) -> Any:
        field, plural, table = {
            "Workflow": ("workflow", "workflows", self.workflows),
            "WorkflowTemplate": ("template", "workflowtemplates", self.templates),
            "CronWorkflow": ("cronWorkflow", "cronworkflows", self.crons),
        }[kind]
        key = (path["namespace"], path.get("name", ""))
        if verb == "Get":
            found = self._get(table, plural, key)
            return self._progress(key, found) if kind == "Workflow" else found
        if verb == "Delete":
            self._get(table, plural, key)
            del table[key]
            return {}
        obj = self._incoming(path, body, field, created=verb != "Update")
        if verb == "Lint" and self.lint_problem:
            raise _no(self.lint_problem)
        if kind == "CronWorkflow":
            _check_cron_spec(obj["spec"])
        else:  # a template's parameters may wait for whoever submits it
            _check_workflow_spec(obj["spec"], needs_values=kind == "Workflow")
        if verb == "Lint":
            return obj
        made = self._store(table, plural, obj, update=verb == "Update")
        if kind == "Workflow":
            made["status"] = {}
            self._polls[(made["metadata"]["namespace"], made["metadata"]["name"])] = 0
        return made

    def _progress(self, key: Key, workflow: dict[str, Any]) -> dict[str, Any]:
        """Pending on the first get, Running for ``running_polls`` more, then the final phase
        (Succeeded after a retry); a terminated workflow stays as it was stopped."""
        if workflow["spec"].get("shutdown"):
            return workflow
        self._polls[key] += 1
        polls = self._polls[key]
        final = "Succeeded" if key in self.retried else self.final_phase
        phase = "Running" if polls <= 1 + self.running_polls else final
        workflow["status"] = self._status(workflow, "Pending" if polls == 1 else phase)
        return workflow

    # --- what argo-server and Kubernetes check --------------------------------------------------

    def _incoming(self, path: dict, body: Any, field: str, *, created: bool) -> dict[str, Any]:
        """The object in a create, lint or update body, checked as Kubernetes would."""
        ns, problem = path["namespace"], None
        obj = copy.deepcopy(body.get(field))  # the recorded request stays as it was sent
        if not isinstance(obj, dict) or "spec" not in obj:
            raise Refused(400, INVALID, f"{field} is missing")
        meta = obj.setdefault("metadata", {})
        if {body.get("namespace", ns), meta.get("namespace", ns)} != {ns}:
            problem = f"the body's or the object's namespace is not {ns!r}"
        elif created and meta.get("resourceVersion"):
            problem = "resourceVersion should not be set on objects to be created"
        elif created and not meta.get("name") and not meta.get("generateName"):
            problem = "name or generateName is required"
        elif not created and meta.get("name") != path["name"]:
            problem = f"the object's name is not {path['name']!r}"
        elif not created and not meta.get("resourceVersion"):
            problem = "metadata.resourceVersion: must be specified for an update"
        if problem:
            raise Refused(400, INVALID, problem)  # dagwright should never send these
        meta["namespace"] = ns
        return obj

    def _store(
        self, table: dict[Key, dict[str, Any]], kind: str, obj: dict[str, Any], *, update: bool
    ) -> dict[str, Any]:
        """Create (409 when the name is taken) or update (409 on a stale resourceVersion)."""
        meta = obj["metadata"]
        if not meta.get("name"):
            suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
            meta["name"] = meta.pop("generateName") + suffix
        key = (meta["namespace"], meta["name"])
        if key in table and not update:
            raise _no(f'{kind}.argoproj.io "{key[1]}" already exists', 409, EXISTS)
        if update:
            current = self._get(table, kind, key)["metadata"]
            if meta["resourceVersion"] != current["resourceVersion"]:
                stale = f'Operation cannot be fulfilled on {kind}.argoproj.io "{key[1]}": '
                raise _no(stale + "the object has been modified", 409, CONFLICT)
            meta.update(uid=current["uid"], creationTimestamp=current["creationTimestamp"])
            meta["generation"] = current["generation"] + 1
        else:
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), generation=1)
        self._version += 1
        meta["resourceVersion"] = str(self._version)
        table[key] = obj
        return obj

    @staticmethod
    def _get(
        table: dict[Key, dict[str, Any]], resource: str, key: tuple[str, str]
    ) -> dict[str, Any]:
        if key not in table:
            raise _no(f'{resource}.argoproj.io "{key[1]}" not found', 404, NOT_FOUND)
        return table[key]

    def _status(
        self, workflow: dict[str, Any], phase: str, *, stopped: str | None = None
    ) -> dict[str, Any]:
        """A workflow status in ``phase``, with a node per step of its entrypoint (the nodes a
        retry kept stay as they were); ``stopped``: shut down with that strategy ("Terminate",
        "Stop") while its steps ran."""
        name = workflow["metadata"]["name"]
        key = (workflow["metadata"]["namespace"], name)
        status: dict[str, Any] = {"phase": phase, "startedAt": _now()}
        if phase == "Pending":
            return status
        templates = {t["name"]: t for t in workflow["spec"]["templates"]}
        entry = templates[workflow["spec"]["entrypoint"]]
        tasks = (entry.get("dag") or {}).get("tasks", [])
        steps = [(t["name"], t["template"]) for t in tasks] or [(name, entry["name"])]
        ended = phase != "Running"
        nodes: dict[str, Any] = {}
        kept = self.kept.get(key, {})
        for i, (step, template) in enumerate(steps):
            node_id = f"{name}-{zlib.crc32(step.encode())}"
            if node_id in kept:
                nodes[node_id] = kept[node_id]
                continue
            failed = ended and phase != "Succeeded" and (stopped or i == len(steps) - 1)
            nodes[node_id] = {
                "id": node_id,
                "name": f"{name}.{step}",
                "displayName": step,
                "type": "Pod",
                "templateName": template,
                "phase": "Failed" if failed else "Succeeded" if ended else "Running",
                "startedAt": _now(),
            }
            if failed:
                why = f"Stopped with strategy '{stopped}'" if stopped else "Error (exit code 1)"
                nodes[node_id]["message"] = why
                status["message"] = why if stopped else f"child '{node_id}' failed"
            if ended:
                nodes[node_id]["finishedAt"] = _now()
        if entry.get("dag"):
            nodes[name] = {
                "id": name,
                "name": name,
                "displayName": name,
                "type": "DAG",
                "phase": phase,
                "children": sorted(nodes),
                "startedAt": _now(),
            }
        status["nodes"] = nodes
        if ended:
            status["finishedAt"] = _now()
        return status


def _no(message: str, status: int = 400, code: int = INVALID) -> Refused:
    """A refusal the real server would give a request dagwright may well send (no violation)."""
    return Refused(status, code, message, violation=False)


def _check_workflow_spec(spec: dict[str, Any], *, needs_values: bool) -> None:
    """What Argo's validation checks of a workflow spec, as far as dagwright's manifests go."""
    if spec.get("workflowTemplateRef"):
        return
    names = [t.get("name") for t in spec.get("templates") or []]
    if not names or len(set(names)) != len(names) or not all(names):
        raise _no("spec.templates: names must be given and unique")
    entry = spec.get("entrypoint")
    if entry not in names:
        raise _no(f"spec.entrypoint template {entry!r} is undefined")
    for template in spec["templates"]:
        tasks = (template.get("dag") or {}).get("tasks") or []
        known = {t["name"] for t in tasks}
        for task in tasks:
            if task.get("template") not in names:
                raise _no(
                    f"templates.{template['name']}.tasks.{task['name']} template "
                    f"{task.get('template')!r} is undefined"
                )
            for dep in task.get("dependencies") or []:
                if dep not in known:
                    raise _no(f"task {task['name']!r} depends on unknown {dep!r}")
    for param in (spec.get("arguments") or {}).get("parameters") or []:
        if needs_values and param.get("value") is None and not param.get("valueFrom"):
            raise _no(f"spec.arguments.{param['name']}.value is required")


def _check_cron_spec(spec: dict[str, Any]) -> None:
    """A CronWorkflow as Argo v4 validates it: schedules, time zone, policy, its workflow."""
    import zoneinfo

    from croniter import croniter

    schedules = spec.get("schedules") or []
    if not schedules:
        raise _no("cron workflow must have at least one schedule")
    for expr in schedules:
        if expr in CRON_DESCRIPTORS or str(expr).startswith("@every "):
            continue
        if len(str(expr).split()) != 5 or not croniter.is_valid(expr):
            raise _no(f"cron schedule {expr!r} is malformed")
    if spec.get("timezone"):
        try:
            zoneinfo.ZoneInfo(spec["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _no(f"invalid timezone {spec['timezone']!r}") from None
    if spec.get("concurrencyPolicy", "Allow") not in ("Allow", "Forbid", "Replace"):
        raise _no(f"concurrencyPolicy {spec['concurrencyPolicy']!r} is invalid")
    _check_workflow_spec(spec["workflowSpec"], needs_values=True)
