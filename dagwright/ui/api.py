"""The UI's JSON routes: each reads its query, calls ``data.py`` / ``across.py`` (and the
graph and preview modules), and answers JSON. A bad request is a 4xx ``{"error", "field",
"fix"}``; an unexpected exception a 500 with no traceback (printed on the server's stderr).
"""

from __future__ import annotations

import functools
import math
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dagwright.errors import ValidationError
from dagwright.redact import redact_text
from dagwright.run_query import parse_when
from dagwright.store.remote import is_local
from dagwright.ui import across, data
from dagwright.ui.data import Missing, UiStore
from dagwright.ui.security import Forbidden, artifact_path, json_error

RUN_STATUSES = ("succeeded", "failed", "interrupted", "running", "cancelled")
MAX_LIMIT = 1000
EXIT_INVALID = 2  # the command line's exit code for bad input
REFUSAL_WAIT = 0.5  # seconds a resume is watched for a refusal before the answer goes
LINEAGE_DEPTH = 2  # edges up and down from what a lineage search found
Handler = Callable[[UiStore, Request], Any]


class Json(JSONResponse):
    """JSON the browser can parse: a metric of NaN or infinity (which Python's JSON writes
    bare, and ``JSON.parse`` refuses) is sent as the string ``"NaN"``, ``"Infinity"``..."""

    def render(self, content: Any) -> bytes:
        """The body; non-finite numbers as strings."""
        try:
            return super().render(content)
        except ValueError:  # allow_nan=False met one: rare, so the fast path stays plain
            return super().render(_finite(content))


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class Conflict(ValidationError):
    """The request does not fit the run's state (409): cancel a run that is not running,
    resume one that still is."""


def answered(handler: Handler) -> Callable[[UiStore, Request], Response]:
    """A handler whose errors become the API's JSON errors."""

    @functools.wraps(handler)
    def answer(ui: UiStore, request: Request) -> Response:
        try:
            found = handler(ui, request)
        except Missing as exc:
            return json_error(404, str(exc), exc.field, exc.fix)
        except Forbidden as exc:
            return json_error(403, str(exc), exc.field, exc.fix)
        except Conflict as exc:
            return json_error(409, exc.problem, exc.field, exc.fix)
        except ValidationError as exc:
            return json_error(400, exc.problem, exc.field, exc.fix)
        except Exception:
            # the user sees no traceback; the server's terminal keeps it
            print(redact_text(traceback.format_exc()), file=sys.stderr, flush=True)
            return json_error(500, "the server failed on this request; its terminal says why")
        return found if isinstance(found, Response) else Json(found)

    return answer


def _one(request: Request, name: str) -> str | None:
    return request.query_params.get(name)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = _one(request, name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationError(
            f"{name} '{text}' is not a whole number from {low} to {high}",
            field=name,
            fix=f"give {name}={default}, or another number in that range",
        )
    return value


def _when(request: Request, name: str) -> float | None:
    text = _one(request, name)
    return None if not text else parse_when(text, name)


def runs(ui: UiStore, request: Request) -> Any:
    """``GET /api/runs``: a page of runs and the total that match the filters."""
    statuses = tuple(s for s in request.query_params.getlist("status") if s)
    for status in statuses:
        if status not in RUN_STATUSES:
            raise ValidationError(
                f"unknown status '{status}'",
                field="status",
                fix="use one of " + ", ".join(RUN_STATUSES),
            )
    return data.runs_page(
        ui.db(),
        pipeline=_one(request, "pipeline") or None,
        statuses=statuses,
        since=_when(request, "since"),
        before=_when(request, "before"),
        limit=_int(request, "limit", 100, 1, MAX_LIMIT),
        offset=_int(request, "offset", 0, 0, 2**62),
    )


def run(ui: UiStore, request: Request) -> Any:
    """``GET /api/runs/{run_id}``: ``runs show --json`` and the run's graph."""
    return data.run_detail(ui, request.path_params["run_id"])


def step(ui: UiStore, request: Request) -> Any:
    """``GET /api/runs/{run_id}/steps/{task}?iteration=``: one step execution in full."""
    iteration = data.parse_iteration(_one(request, "iteration"))
    return data.step_detail(
        ui, request.path_params["run_id"], request.path_params["task"], iteration
    )


def logs(ui: UiStore, request: Request) -> Any:
    """``GET /api/runs/{run_id}/logs/{task}?stream=&offset=``: a step's output from offset."""
    stream = _one(request, "stream") or "stdout"
    if stream not in ("stdout", "stderr"):
        raise ValidationError(f"unknown stream '{stream}'", field="stream", fix="stdout or stderr")
    return data.log_chunk(
        ui,
        request.path_params["run_id"],
        request.path_params["task"],
        data.parse_iteration(_one(request, "iteration")),
        stream,
        _int(request, "offset", 0, 0, 2**62),
    )


def cancel(ui: UiStore, request: Request) -> Any:
    """``POST /api/runs/{run_id}/cancel``: record a cancel request the engine honours."""
    db = ui.db()
    found = data.find_run(db, request.path_params["run_id"])
    try:
        db.request_cancel(found["run_id"])
    except ValidationError as exc:
        raise Conflict(exc.problem, field="run_id", fix=exc.fix) from None
    status = db.run_status(found["run_id"])
    return Json({"run_id": found["run_id"], "status": status}, status_code=202)


def resume(ui: UiStore, request: Request) -> Any:
    """``POST /api/runs/{run_id}/resume``: ``dagwright resume RUN`` in a process of its own."""
    found = data.find_run(ui.db(), request.path_params["run_id"])
    if found["status"] == "running":
        raise Conflict(
            f"run '{found['run_id']}' is still running",
            field="run_id",
            fix="wait for it to end, or cancel it first",
        )
    command = [sys.executable, "-m", "dagwright.cli", "resume", found["run_id"]]
    process = subprocess.Popen(
        [*command, "--root", str(Path(ui.root).absolute())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # Ctrl-C of the server does not stop the run
    )
    said: list[str] = []
    reader = threading.Thread(target=_drained, args=(process, said), daemon=True)
    reader.start()
    try:
        refused = process.wait(REFUSAL_WAIT) == EXIT_INVALID
    except subprocess.TimeoutExpired:
        refused = False  # running: how it ends is the run's record
    if refused:  # bad input, before anything ran (another resume got it first, an IR refused)
        reader.join(5)
        errors = [
            line.removeprefix("error: ").strip() for line in said if line.startswith("error:")
        ]
        raise Conflict(
            errors[0] if errors else f"'dagwright resume {found['run_id']}' refused to start",
            field="run_id",
            fix=f"see 'dagwright resume {found['run_id']}' in a terminal",
        )
    return Json({"run_id": found["run_id"]}, status_code=202)


def _drained(process: subprocess.Popen[str], said: list[str]) -> None:
    """Read what a resume prints on stderr (its first lines kept) until it ends, and reap it."""
    assert process.stderr is not None
    for line in process.stderr:
        if len(said) < 50:
            said.append(redact_text(line))
    process.wait()


def _uri(request: Request) -> str:
    uri = _one(request, "uri")
    if not uri:
        raise ValidationError("no artifact uri", field="uri", fix="?uri=<an artifact's uri>")
    return uri


def preview(ui: UiStore, request: Request) -> Any:
    """``GET /api/artifacts/preview?uri=``: what the page shows of an artifact."""
    uri = _uri(request)
    if is_local(uri):
        artifact_path(uri, ui.artifacts)  # refused before anything is read
    # a remote artifact is read from the location its run recorded, and only when recorded
    artifact, location = data.recorded_artifact(ui, uri)
    from dagwright.ui.previews import preview as previewed

    return previewed(artifact, ui.root, [location] if location else [])


def raw(ui: UiStore, request: Request) -> Any:
    """``GET /api/artifacts/raw?uri=[&render=md]``: an artifact file's bytes, only from
    inside the store or an artifact a run recorded remotely, in a sandbox (``RAW_CSP``: an
    opaque origin, no script of the UI's)."""
    from dagwright.ui import raw_files

    uri = _uri(request)
    render_md = _one(request, "render") == "md"
    if not is_local(uri):
        artifact, location = data.recorded_artifact(ui, uri)
        return raw_files.remote(uri, ui.root, location, artifact.get("type"), render_md)
    path = artifact_path(uri, ui.artifacts)
    if not path.is_file():
        raise Missing(f"no artifact file at '{uri}'", field="uri")
    return raw_files.local(path, _artifact_type(ui, uri), render_md)


def _artifact_type(ui: UiStore, uri: str) -> str | None:
    try:
        return str(data.artifact_at(ui, uri).get("type"))
    except Missing:
        return None


def compare(ui: UiStore, request: Request) -> Any:
    """``GET /api/compare?runs=a,b[,c]``."""
    names = [r.strip() for r in (_one(request, "runs") or "").split(",") if r.strip()]
    return across.compare(ui, names)


def lineage(ui: UiStore, request: Request) -> Any:
    """``GET /api/lineage?q=[&depth=]``: what ``q`` names and the graph around it."""
    from dagwright.ui.lineage_view import lineage_search

    depth = _int(request, "depth", LINEAGE_DEPTH, 0, 50)
    return lineage_search(ui.root, _one(request, "q") or "", depth)


def pipeline(ui: UiStore, request: Request) -> Any:
    """``GET /api/pipeline?run=RUN``: the DAG of the IR a run recorded."""
    run_id = _one(request, "run")
    if not run_id:
        raise ValidationError("no run given", field="run", fix="?run=RUN (an id or prefix)")
    return across.pipeline_view(ui, run_id)


async def pipeline_file(ui: UiStore, request: Request) -> Response:
    """``POST /api/pipeline[?name=FILE]``: the DAG of the IR or KFP YAML sent as the body."""
    from dagwright.ui import pipeline_file as sent

    try:
        body = await sent.read_body(request)
    except sent.TooLarge as exc:
        return json_error(413, exc.problem, exc.field, exc.fix)
    name = _one(request, "name")
    # parsing and validating take a while for a big file: not on the event loop
    return await run_in_threadpool(answered(lambda *_: sent.pipeline_view(body, name)), ui, request)


def schedules(ui: UiStore, request: Request) -> Any:
    """``GET /api/schedules``."""
    return across.schedules(ui)


def pause(ui: UiStore, request: Request) -> Any:
    """``POST /api/schedules/{name}/pause``."""
    return across.set_paused(ui, request.path_params["name"], True)


def unpause(ui: UiStore, request: Request) -> Any:
    """``POST /api/schedules/{name}/resume``."""
    return across.set_paused(ui, request.path_params["name"], False)


def routes(ui: UiStore) -> list[Route]:
    """Every JSON route, bound to the store it shows."""

    def bound(handler: Handler) -> Callable[[Request], Response]:
        wrapped = answered(handler)

        def endpoint(request: Request) -> Response:
            return wrapped(ui, request)

        return endpoint

    table: list[tuple[str, Handler, str]] = [
        ("/api/runs", runs, "GET"),
        ("/api/runs/{run_id}", run, "GET"),
        ("/api/runs/{run_id}/steps/{task}", step, "GET"),
        ("/api/runs/{run_id}/logs/{task}", logs, "GET"),
        ("/api/runs/{run_id}/cancel", cancel, "POST"),
        ("/api/runs/{run_id}/resume", resume, "POST"),
        ("/api/artifacts/preview", preview, "GET"),
        ("/api/artifacts/raw", raw, "GET"),
        ("/api/compare", compare, "GET"),
        ("/api/lineage", lineage, "GET"),
        ("/api/pipeline", pipeline, "GET"),
        ("/api/schedules", schedules, "GET"),
        ("/api/schedules/{name}/pause", pause, "POST"),
        ("/api/schedules/{name}/resume", unpause, "POST"),
    ]

    async def posted_pipeline(request: Request) -> Response:
        return await pipeline_file(ui, request)

    found = [Route(path, bound(h), methods=[method]) for path, h, method in table]
    return [*found, Route("/api/pipeline", posted_pipeline, methods=["POST"])]
