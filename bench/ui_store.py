"""The stores ``python -m bench ui`` measures: dagwright's run database and MLflow's, filled alike.

A real run gives each store its template (dagwright: a run of ``small()``; MLflow: a run made
through its own SQLAlchemy store, with the same parameters and metrics); the other runs are
copies of that template's rows inserted in bulk (``RunDatabase.executemany`` in one
transaction, the same through sqlite3 for MLflow), with their own ids, start times and, for
dagwright, a mix of statuses. Thousands of real runs would measure the engine, not the UI.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import dagwright
from dagwright import Pipeline, component
from dagwright.store.rundb import RunDatabase

STATUSES = ("succeeded", "succeeded", "succeeded", "failed", "cancelled")
PARAMS = {"n": 3, "learning_rate": 0.01, "epochs": 10}
METRICS = {"accuracy": 0.91, "loss": 0.23}


@component
def step(a: int, b: int = 0) -> int:
    return a + b


def layered(steps: int, width: int = 50, name: str = "layered") -> Pipeline:
    """``steps`` tasks in layers of ``width``; each below the first reads two of the layer
    above (its own column and another), so edges cross as in a real DAG."""
    p = Pipeline(name)
    above: list[Any] = []
    layer: list[Any] = []
    for i in range(steps):
        if len(layer) == width:
            above, layer = layer, []
        if not above:
            layer.append(p.add(step, a=i))
        else:
            j = len(layer)
            left, right = above[j % len(above)], above[(j * 7 + 3) % len(above)]
            layer.append(p.add(step, a=left.output, b=right.output))
    return p


def real_run(root: Path, pipeline: Pipeline, run_id: str) -> None:
    """One run through the engine, as ``dagwright run`` makes it."""
    result = dagwright.run(pipeline, root=root, echo=False, run_id=run_id, lineage=False)
    if not result.succeeded:
        raise RuntimeError(f"the bench's run {run_id} failed")


def clone_runs(root: Path, template: str, count: int) -> list[str]:
    """``count`` copies of run ``template`` (row and steps), one start a minute apart going
    back from now, statuses cycling through STATUSES; returns their ids, newest first."""
    db = RunDatabase(root / "runs.db")
    try:
        run = dict(db.execute("SELECT * FROM runs WHERE run_id=?", (template,)).fetchone())
        steps = [dict(r) for r in db.execute("SELECT * FROM steps WHERE run_id=?", (template,))]
        now, ids, runs, rows = time.time(), [], [], []
        for i in range(count):
            run_id = f"bench-{i:06d}"
            started = now - 60 * (i + 1)
            status = STATUSES[i % len(STATUSES)]
            params = json.dumps({**PARAMS, "n": i % 97})
            runs.append(
                {**run, "run_id": run_id, "status": status, "params": params,
                 "started": started, "resumed": started, "ended": started + 5}
            )  # fmt: skip
            for s in steps:
                rows.append({**s, "run_id": run_id, "started": started, "ended": started + 1})
            ids.append(run_id)
        with db.transaction():
            _insert(db, "runs", runs)
            _insert(db, "steps", rows)
        return ids
    finally:
        db.close()


def _insert(db: RunDatabase, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    marks = ", ".join("?" for _ in columns)
    db.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
        [[row[c] for c in columns] for row in rows],
    )


def running_copy(root: Path, template: str, run_id: str) -> list[str]:
    """A new run with ``template``'s pipeline, owned by this process (so no reader takes it
    for an interrupted one) and every step ``running``: the live-latency bench ends its steps
    one by one. Returns the tasks."""
    db = RunDatabase(root / "runs.db")
    try:
        run = db.find_run(template)
        ir = db.execute("SELECT ir FROM runs WHERE run_id=?", (template,)).fetchone()[0]
        db.start_run(run_id, run["pipeline"], run["params"], ir, run["artifacts"])
        tasks = [s["task"] for s in db.steps(template) if not s["iteration"]]
        db.save_steps(run_id, [_running(task) for task in tasks])
        return tasks
    finally:
        db.close()


def _running(task: str) -> dict[str, Any]:
    return {"task": task, "iteration": (), "status": "running", "attempts": 1,
            "started": time.time(), "cached": 0}  # fmt: skip


def end_step(root: Path, run_id: str, task: str) -> float:
    """Mark one step succeeded, as the engine records it; returns the wall-clock time of the
    commit (the page's clock is the same machine's)."""
    db = RunDatabase(root / "runs.db")
    try:
        row = {**_running(task), "status": "succeeded", "ended": time.time()}
        db.save_steps(run_id, [row])
        return time.time()
    finally:
        db.close()


def mlflow_store(folder: Path, count: int) -> str:
    """An MLflow SQLite store with experiment ``bench`` holding ``count`` runs; returns its
    experiment id. The template run is made through MLflow's own store; the rest are copies of
    its rows in every table keyed by run (runs, params, tags, metrics, latest_metrics)."""
    from mlflow.entities import Metric, Param, RunStatus, RunTag
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # its "creating tables" lines
    folder.mkdir(parents=True, exist_ok=True)
    store = SqlAlchemyStore(f"sqlite:///{folder / 'mlflow.db'}", str(folder / "art"))
    experiment = store.create_experiment("bench")
    now = int(time.time() * 1000)
    run = store.create_run(experiment, "bench", now, [RunTag("pipeline", "small")], "template")
    template = run.info.run_id
    store.log_batch(
        template,
        metrics=[Metric(k, v, now, 0) for k, v in METRICS.items()],
        params=[Param(k, str(v)) for k, v in PARAMS.items()],
        tags=[],
    )
    store.update_run_info(template, RunStatus.FINISHED, now + 5000, "template")
    store.engine.dispose()
    db = sqlite3.connect(folder / "mlflow.db")
    try:
        with db:
            for table in ("runs", "params", "tags", "metrics", "latest_metrics"):
                _clone_mlflow(db, table, template, count, now)
    finally:
        db.close()
    return str(experiment)


def _clone_mlflow(db: sqlite3.Connection, table: str, template: str, count: int, now: int) -> None:
    cursor = db.execute(f"SELECT * FROM {table} WHERE run_uuid=?", (template,))
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
    copies = []
    for i in range(count):
        run_uuid, name = f"{i:032x}", f"bench-{i:06d}"
        for row in rows:
            copy = {**row, "run_uuid": run_uuid}
            if table == "runs":
                copy.update(name=name, start_time=now - 60_000 * (i + 1))
                copy["end_time"] = copy["start_time"] + 5000
            if table == "tags" and row["key"] == "mlflow.runName":
                copy["value"] = name
            if table == "params" and row["key"] == "n":
                copy["value"] = str(i % 97)
            copies.append([copy[c] for c in columns])
    marks = ", ".join("?" for _ in columns)
    db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", copies)
