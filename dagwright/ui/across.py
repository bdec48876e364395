"""The UI's views across runs: compare (parameters, metrics, lineage diff), lineage search
(a node's upstream and downstream graph) and schedules (next fire times, last runs, pause),
as plain dicts for ``api.py``. Values are masked as the CLI masks them."""

from __future__ import annotations

import datetime
import time
from typing import Any

from dagwright.errors import ValidationError
from dagwright.redact import masked, redact_uri, shown_run
from dagwright.ui.data import Missing, UiStore, find_run, graph_of, recorded_ir

LINEAGE_DEPTH = 3  # a lineage graph around a node: this many edges each way by default
MATCHES = 50


def compare(ui: UiStore, run_ids: list[str]) -> dict[str, Any]:
    """Two or more runs side by side: parameters, metrics (``task.metric``) and the lineage
    diff of the first against each other."""
    if len(run_ids) < 2:
        raise ValidationError(
            "compare needs at least two runs",
            field="runs",
            fix="give run ids separated by commas: ?runs=RUN_A,RUN_B",
        )
    db = ui.db()
    runs = []
    for run_id in run_ids:
        found, steps = shown_run(find_run(db, run_id), db.steps)
        runs.append(
            {
                "run_id": found["run_id"],
                "pipeline": found["pipeline"],
                "status": found["status"],
                "started": found["started"],
                "params": found["params"],
                "metrics": _metrics(steps),
            }
        )
    return {
        "runs": runs,
        "params": sorted({k for r in runs for k in r["params"]}),
        "metrics": sorted({k for r in runs for k in r["metrics"]}),
        "lineage_diff": _diffs(ui, [r["run_id"] for r in runs]),
    }


def _metrics(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Every Metrics artifact's values of a run, named ``task.metric`` (``task[i].metric``
    inside loops)."""
    found: dict[str, Any] = {}
    for row in steps:
        label = row["task"] + (f"[{row['iteration']}]" if row["iteration"] else "")
        for value in (row.get("outputs") or {}).values():
            if isinstance(value, dict) and value.get("type") == "Metrics":
                for name, number in masked(value.get("metadata")).items():
                    found[f"{label}.{name}"] = number
    return found


def _diffs(ui: UiStore, run_ids: list[str]) -> dict[str, Any]:
    """The lineage diff of the first run against each other one, by run id (or why not)."""
    from dagwright import lineage

    found: dict[str, Any] = {}
    for other in run_ids[1:]:
        try:
            found[other] = lineage.diff(run_ids[0], other, ui.root).to_dict()
        except ValidationError as exc:  # a run recorded with --no-lineage, or none at all
            found[other] = {"error": exc.problem}
    return found


def lineage_search(ui: UiStore, q: str, depth: int | None) -> dict[str, Any]:
    """The nodes ``q`` names (a run, ``RUN/TASK``, a digest, a path, or part of a name), and
    the graph around the one it names: upstream, downstream, with the edges among them."""
    from dagwright.lineage import query, store

    if not q.strip():
        raise ValidationError("give something to search for", field="q", fix="?q=NAME-OR-DIGEST")
    try:
        graph = store.load(ui.root)
    except ValidationError as exc:
        raise Missing(exc.problem, field="q", fix=exc.fix) from None
    node: str | None
    try:
        matches = [store.resolve(graph, q.strip(), "q")]
    except ValidationError:
        matches = _search(graph.graph, q.strip())
    node = matches[0] if len(matches) == 1 else None
    nodes = graph.graph.nodes
    result: dict[str, Any] = {
        "matches": [_node(m, nodes[m]) for m in matches[:MATCHES]],
        "graph": {"nodes": [], "edges": []},
    }
    if node is None:
        return result
    depth = LINEAGE_DEPTH if depth is None else depth
    up = query.upstream(graph, node, depth)
    down = query.downstream(graph, node, depth)
    layer = {node: 0, **{r.id: -r.distance for r in up}, **{r.id: r.distance for r in down}}
    result["graph"] = _laid_out(graph.graph, layer, node)
    return result


def _search(graph: Any, q: str) -> list[str]:
    """Nodes whose name, label, run id or digest holds ``q`` (case-insensitive)."""
    text = q.lower()
    found = []
    for node, attrs in graph.nodes(data=True):
        names = (attrs.get(k) for k in ("name", "label", "run_id", "digest", "pipeline"))
        if any(isinstance(n, str) and text in n.lower() for n in names):
            found.append(node)
    return sorted(found)


def _node(node: str, attrs: dict[str, Any]) -> dict[str, Any]:
    from dagwright.lineage.query import describe

    shown = {k: v for k, v in attrs.items() if k not in ("uris", "value")}
    if "uris" in attrs:
        shown["uris"] = [redact_uri(u) for u in attrs["uris"]]
    if "value" in attrs:  # parameter values were masked when recorded; URIs are again here
        shown["value"] = redact_uri(attrs["value"])
    return {**shown, "id": node, "kind": attrs.get("kind"), "label": describe(node, attrs)}


_W, _H, _GAP_X, _GAP_Y = 180.0, 44.0, 24.0, 56.0


def _laid_out(graph: Any, layer: dict[str, int], start: str) -> dict[str, Any]:
    """The reached nodes in rows by signed distance (upstream above, downstream below), each
    with x/y/w/h, and the ``used``/``wasGeneratedBy`` edges among them."""
    rows: dict[int, list[str]] = {}
    for node in sorted(layer, key=lambda n: (layer[n], n)):
        rows.setdefault(layer[node], []).append(node)
    top = min(rows)
    width = max(len(r) for r in rows.values()) * (_W + _GAP_X)
    nodes = []
    for distance, members in rows.items():
        offset = (width - len(members) * (_W + _GAP_X)) / 2
        for i, node in enumerate(members):
            nodes.append(
                {
                    **_node(node, graph.nodes[node]),
                    "layer": distance,
                    "start": node == start,
                    "x": offset + i * (_W + _GAP_X),
                    "y": (distance - top) * (_H + _GAP_Y),
                    "w": _W,
                    "h": _H,
                }
            )
    edges = [
        {"source": v, "target": u, "kind": key}  # drawn cause -> effect, as data flows
        for u, v, key in graph.edges(keys=True)
        if u in layer and v in layer and key in ("used", "wasGeneratedBy")
    ]
    height = (max(rows) - top + 1) * (_H + _GAP_Y)
    return {"nodes": nodes, "edges": edges, "width": width, "height": height}


def schedules(ui: UiStore) -> dict[str, Any]:
    """Every local schedule: cron, state, the next three fire times, its last runs."""
    from dagwright.schedules.cron import slots
    from dagwright.store.schedules import ScheduleBook

    book = ScheduleBook(ui.db())
    now = time.time()
    found = []
    for s in book.all():
        upcoming: list[float] = []
        if not s.paused:
            try:
                upcoming = slots(s.cron, s.timezone, max(now, s.considered), now + 400 * 86400, 3)
            except ValueError:  # a cron stored before such crons were refused
                upcoming = []
        firings = book.firings(s.name)[-5:]
        found.append(
            {
                "name": s.name,
                "pipeline": s.pipeline,
                "cron": s.cron,
                "timezone": s.timezone,
                "params": masked(s.params),
                "paused": s.paused,
                "next": [_iso(t, s.timezone) for t in upcoming],
                "last_runs": [
                    {
                        "run_id": f.run_id,
                        "slot": _iso(f.slot, s.timezone),
                        "status": ui.db().run_status(f.run_id) or f.status,
                    }
                    for f in reversed(firings)
                ],
            }
        )
    return {"schedules": found}


def _iso(stamp: float, zone: str) -> str:
    from zoneinfo import ZoneInfo

    return datetime.datetime.fromtimestamp(stamp, ZoneInfo(zone)).isoformat()


def set_paused(ui: UiStore, name: str, paused: bool) -> dict[str, Any]:
    """Pause or resume a schedule (as ``dagwright schedule pause|resume``)."""
    from dagwright.store.schedules import ScheduleBook

    book = ScheduleBook(ui.db())
    try:
        book.set_paused(name, paused, time.time())
    except ValidationError as exc:
        raise Missing(exc.problem, field="name", fix=exc.fix) from None
    return {"name": name, "paused": paused}


def pipeline_view(ui: UiStore, run_id: str) -> dict[str, Any]:
    """The DAG of the IR a run recorded, before any status (``graph.pipeline_graph``)."""
    found = find_run(ui.db(), run_id)
    graph = graph_of(recorded_ir(found.get("ir")), None)
    return {"run_id": found["run_id"], "pipeline": found["pipeline"], "graph": graph}
