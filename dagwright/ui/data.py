"""The UI's read side: runs, one run, one step, a step's log, an artifact by URI, as plain
dicts in the shapes the CLI's ``--json`` prints (``dagwright.redact`` masks them the same way).
No HTTP here: ``api.py`` maps these to routes, and errors to 4xx.

One ``RunDatabase`` per server thread (``UiStore.db``): SQLite connections are not shared
between threads, and opening one per request would take the write lock each time (the
database's migrations run on open).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dagwright.errors import NotFound, ValidationError
from dagwright.redact import (
    MASK,
    listed_run,
    masked,
    redact_uri,
    scrub,
    secret_values,
    shown,
    shown_run,
)
from dagwright.run_query import pipeline_names
from dagwright.store.rundb import RunDatabase
from dagwright.ui.inputs import step_inputs


class Missing(NotFound):
    """A run, step, artifact or schedule the request names does not exist (404)."""

    def __init__(self, message: str, field: str | None = None, fix: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.fix = fix


class UiStore:
    """The store the server shows: its root, artifact folder and run database."""

    def __init__(self, root: Path) -> None:
        from dagwright.store.local import LocalStore

        self.store = LocalStore(root)
        self.root = self.store.root
        self.database_path = self.root / "runs.db"
        self._threads = threading.local()

    @property
    def artifacts(self) -> str | None:
        """The local artifact folder (None when the store keeps artifacts at a URL)."""
        return self.store.artifacts if self.store.local else None

    def db(self) -> RunDatabase:
        """This thread's connection to the run database."""
        found: RunDatabase | None = getattr(self._threads, "db", None)
        if found is None:
            found = self._threads.db = RunDatabase(self.database_path)
        return found


def find_run(db: RunDatabase, run_id: str) -> dict[str, Any]:
    """A run row by id or unambiguous prefix; ``Missing`` when there is none, a
    ``ValidationError`` naming ``run_id`` when the prefix names several."""
    try:
        return db.find_run(run_id)
    except ValidationError as exc:
        if exc.problem.startswith("no run"):
            raise Missing(exc.problem, field="run_id", fix=exc.fix) from None
        # a prefix of several runs: the API's field, not the command line's RUN
        raise ValidationError(exc.problem, field="run_id", fix=exc.fix) from None


def runs_page(
    db: RunDatabase,
    *,
    pipeline: str | None = None,
    statuses: tuple[str, ...] = (),
    since: float | None = None,
    before: float | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """One page of runs, newest first (``runs ls --json`` rows), and how many match."""
    names = pipeline_names(pipeline)
    filters: dict[str, Any] = {"status": statuses, "since": since, "before": before}
    rows = db.runs(limit, names, offset=offset, **filters)
    return {"runs": [listed_run(r) for r in rows], "total": db.count_runs(names, **filters)}


def run_detail(ui: UiStore, run_id: str) -> dict[str, Any]:
    """One run as ``runs show --json`` prints it, plus its graph (``graph.run_graph``)."""
    return shown_run_data(ui.root, ui.db(), find_run(ui.db(), run_id))[0]


def shown_run_data(
    root: Path, db: RunDatabase, row: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A run row as the run page and a standalone report show it (``runs show --json``, its
    lineage state and its graph, secrets masked), and the IR it recorded (None: unreadable)."""
    from dagwright.lineage.tracking import state

    found, steps = shown_run(row, db.steps)
    ir = recorded_ir(found.pop("ir"))
    lineage = state(root, found["run_id"])
    return {**found, "lineage": lineage, "steps": steps, "graph": graph_of(ir, steps)}, ir


def graph_of(ir: dict[str, Any] | None, steps: list[dict[str, Any]] | None) -> Any:
    """``graph.run_graph`` (``pipeline_graph`` without steps); None for an unreadable IR."""
    from dagwright.ui.graph import pipeline_graph, run_graph

    if ir is None:
        return None
    return run_graph(ir, steps) if steps is not None else pipeline_graph(ir)


def recorded_ir(text: Any) -> dict[str, Any] | None:
    """The IR a run row keeps (JSON text) as a dict; None when it cannot be read."""
    try:
        ir = json.loads(text) if isinstance(text, str) else None
    except ValueError:  # an IR this version cannot read: no graph
        return None
    return ir if isinstance(ir, dict) else None


def parse_iteration(text: str | None) -> str | None:
    """``0,1`` or ``0.1`` as the database keeps it (``0.1``); None when not given."""
    if text is None:
        return None
    parts = [p for p in text.replace(",", ".").split(".") if p != ""]
    # ASCII digits, and few enough for int() (str.isdigit also takes a superscript "²")
    if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        raise ValidationError(
            f"iteration '{text}' is not a list of loop indexes",
            field="iteration",
            fix="give the indexes of the enclosing loops, e.g. 0 or 0,1",
        )
    return ".".join(str(int(p)) for p in parts)


def step_detail(ui: UiStore, run_id: str, task: str, iteration: str | None) -> dict[str, Any]:
    """One step execution: its row, its component, its inputs (parameters masked, artifacts
    with a ``preview_url``), its outputs, and the task's other iterations."""
    db = ui.db()
    raw = find_run(db, run_id)
    found, steps = shown_run(raw, db.steps)
    rows = _rows_of(raw, steps, task)
    row = _pick(rows, iteration, found["run_id"])
    ir = recorded_ir(raw.get("ir")) or {}
    spec: dict[str, Any] = next((t for t in ir.get("tasks", []) if t.get("name") == task), {})
    component = (ir.get("components") or {}).get(spec.get("component"), {})
    secrets = secret_values(raw.get("params"))
    parameters, inputs = step_inputs(spec, row, steps, raw.get("params") or {})
    parameters.update(_used_parameters(ui.root, found["run_id"], _label(row)))
    return {
        **row,
        "component": {
            "id": spec.get("component"),
            "name": component.get("name"),
            "digest": component.get("digest"),
        },
        "display_name": spec.get("display_name"),
        "parameters": {k: _hidden(k, v, secrets) for k, v in parameters.items()},
        "inputs": {k: _with_previews(v) for k, v in inputs.items()},
        "outputs": {k: _with_previews(v) for k, v in (row.get("outputs") or {}).items()},
        "iterations": [
            {k: r[k] for k in ("iteration", "status", "attempts", "started", "ended")} for r in rows
        ],
    }


def _rows_of(run: dict[str, Any], steps: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    """A task's step rows; a task of the run's pipeline that has none yet is one ``pending``
    row while the run goes (``skipped`` once it ended: it never ran)."""
    rows = [s for s in steps if s["task"] == task]
    if rows:
        return rows
    tasks = {t.get("name") for t in (recorded_ir(run.get("ir")) or {}).get("tasks", [])}
    if task not in tasks:
        raise Missing(
            f"run '{run['run_id']}' has no step '{task}'",
            field="task",
            fix="pick a task from the run's steps",
        )
    status = "pending" if run["status"] == "running" else "skipped"
    empty = dict.fromkeys(("started", "ended", "error", "traceback", "outputs", "cache_key"))
    row = {"run_id": run["run_id"], "task": task, "iteration": "", "status": status}
    return [{**row, **empty, "attempts": 0, "cached": False, "stdout": "", "stderr": ""}]


def _pick(rows: list[dict[str, Any]], iteration: str | None, run_id: str) -> dict[str, Any]:
    if iteration is None:
        return rows[0]
    for row in rows:
        if row["iteration"] == iteration:
            return row
    raise Missing(
        f"step '{rows[0]['task']}' of run '{run_id}' has no iteration '{iteration}'",
        field="iteration",
        fix="iterations: " + ", ".join(r["iteration"] or "(none)" for r in rows[:10]),
    )


def _label(row: dict[str, Any]) -> str:
    return row["task"] + (f"[{row['iteration']}]" if row["iteration"] else "")


def _hidden(name: str, value: Any, secrets: list[str]) -> Any:
    """A parameter value as it may be shown: by its name, and a run's secret values cut."""
    value = shown(name, value)
    if isinstance(value, str):
        return MASK if value in secrets else scrub(value, secrets)
    return value


def _used_parameters(root: Path, run_id: str, label: str) -> dict[str, Any]:
    """The parameter values a step used, as its lineage recorded them (already masked)."""
    path = root / "lineage" / f"{run_id}.json"
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    step = f"step:{run_id}/{label}"
    nodes = {n.get("id"): n for n in data.get("nodes", [])}
    found = {}
    for edge in data.get("edges", data.get("links", [])):
        node = nodes.get(edge.get("target"), {})
        if (
            edge.get("source") == step
            and edge.get("key") == "used"
            and node.get("kind") == "parameter"
        ):
            try:
                found[node.get("name")] = json.loads(node.get("value", "null"))
            except ValueError:
                found[node.get("name")] = node.get("value")
    return found


def preview_url(uri: str) -> str:
    """The API's preview of an artifact."""
    return "/api/artifacts/preview?uri=" + quote(uri, safe="")


def _with_previews(value: Any) -> Any:
    if isinstance(value, list):
        return [_with_previews(v) for v in value]
    if isinstance(value, dict) and isinstance(value.get("uri"), str):
        return {
            **value,
            "uri": redact_uri(value["uri"]),
            "metadata": masked(value.get("metadata")),
            "preview_url": preview_url(value["uri"]),
        }
    return value


def artifact_at(ui: UiStore, uri: str) -> dict[str, Any]:
    """The artifact a run recorded at ``uri`` (see ``recorded_artifact``).

    Raises:
        Missing: no step of the run the URI belongs to recorded it.
    """
    return recorded_artifact(ui, uri)[0]


def recorded_artifact(ui: UiStore, uri: str) -> tuple[dict[str, Any], str]:
    """The artifact a run recorded at ``uri`` and the location it is read from.

    A local URI belongs to the run its path names inside the store's artifact folder (which
    ``security.artifact_path`` has checked); a remote one (``s3://``, ``gs://``) to the run
    whose recorded artifact location it lies under, read from there. Either way only a URI
    some step of that run recorded is an artifact: nothing else at a location is ever read.

    Raises:
        Missing: no step of the run the URI belongs to recorded it.
    """
    from dagwright.store.remote import is_local

    db = ui.db()
    if is_local(uri):
        artifacts = ui.artifacts or ""
        relative = os.path.relpath(uri.removeprefix("file://"), artifacts) if artifacts else ""
        run_id = relative.split(os.sep)[0]
        if run_id and not run_id.startswith(".") and db.has_run(run_id):
            found = _recorded(db, run_id, uri)
            if found is not None:
                return found, artifacts
    else:
        for run_id, location in db.runs_holding(uri):
            found = _recorded(db, run_id, uri)
            if found is not None:
                return found, location
    raise Missing(f"no run recorded an artifact at '{uri}'", field="uri")


def _recorded(db: RunDatabase, run_id: str, uri: str) -> dict[str, Any] | None:
    """The artifact at ``uri`` among a run's step outputs (metadata masked), else None."""
    for row in db.steps(run_id):
        for value in (row.get("outputs") or {}).values():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and item.get("uri") == uri:
                    return {**item, "metadata": masked(item.get("metadata"))}
    return None


def log_chunk(
    ui: UiStore, run_id: str, task: str, iteration: str | None, stream: str, offset: int
) -> dict[str, Any]:
    """What a step printed on ``stream`` from byte ``offset``: the live log file while it
    runs (whole lines only, so no secret is cut in two), its row's text once it ended."""
    db = ui.db()
    raw = find_run(db, run_id)
    found, steps = shown_run(raw, db.steps)
    row = _pick(_rows_of(raw, steps, task), iteration, found["run_id"])
    done = row["status"] not in ("running", "pending")
    if not done:
        live = _live_log(ui.root, found["run_id"], task, row["iteration"], stream, offset)
        if live is not None:
            text, end = live
            return {
                "text": scrub(text, secret_values(raw.get("params"))),
                "offset": end,
                "done": False,
            }
    data = (row.get(stream) or "").encode("utf-8")
    start = min(offset, len(data))
    return {"text": data[start:].decode("utf-8", "replace"), "offset": len(data), "done": done}


def _live_log(
    root: Path, run_id: str, task: str, iteration: str, stream: str, offset: int
) -> tuple[str, int] | None:
    from dagwright.store import live_log_path

    path = live_log_path(root, run_id, task, iteration, stream)
    # the file the engine wrote, not a symlink planted for it or for the run's folder
    if os.path.realpath(path) != os.path.join(os.path.realpath(root / "logs"), run_id, path.name):
        return None
    try:
        # not blocking: a named pipe planted there would wait for a writer forever
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            f.seek(offset)
            data = f.read(1 << 20)
    except OSError:
        return None
    # whole lines only (a progress bar's ends at a carriage return), so no secret is cut in two
    whole = data[: max(data.rfind(b"\n"), data.rfind(b"\r")) + 1]
    return whole.decode("utf-8", "replace"), offset + len(whole)


__all__ = [
    "Missing",
    "UiStore",
    "artifact_at",
    "find_run",
    "log_chunk",
    "recorded_artifact",
    "run_detail",
    "runs_page",
    "shown_run_data",
    "step_detail",
]
