"""The UI's views across runs: compare (parameters, metrics, lineage diff) and schedules (next
fire times, last runs, pause), as plain dicts for ``api.py``. Values are masked as the CLI masks
them. Lineage search is ``lineage_view.py``'s."""

from __future__ import annotations

import datetime
import time
from typing import Any

from dagwright.errors import ValidationError
from dagwright.redact import masked, shown_run
from dagwright.ui.data import Missing, UiStore, find_run, graph_of, recorded_ir


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
    from dagwright.ui.lineage_view import lineage_diff

    found: dict[str, Any] = {}
    for other in run_ids[1:]:
        try:
            found[other] = lineage_diff(ui.root, run_ids[0], other)
        except ValidationError as exc:  # a run recorded with --no-lineage, or none at all
            found[other] = {"error": exc.problem}
    return found


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
