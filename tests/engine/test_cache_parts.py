"""Each step's cache key parts and inputs, recorded in its run database row."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from dagwright import Dataset, Input, Output, Secret, component, pipeline
from dagwright.engine.cache import KeyParts
from dagwright.store.rundb import RunDatabase


@component(cache=True)
def make(n: int, api_token: str, out: Output[Dataset]) -> int:
    with open(out.path, "w") as f:
        f.write(str(n))
    return n


@component
def use(data: Input[Dataset], scale: float) -> str:
    with open(data.path) as f:
        return f.read() * int(scale)


@pipeline
def made(n: int = 1, api_token: str = "abc") -> str:
    m = make(n=n, api_token=api_token)
    return use(data=m.outputs["out"], scale=2.0).output


def test_each_step_keeps_its_key_parts_and_a_secret_parameter_masked(run: Any, store: Path) -> None:
    first = run(made, n=3, api_token="hunter2-value")
    second = run(made, n=3, api_token="hunter2-value")
    db = RunDatabase(store / "runs.db")
    try:
        parts = db.step_inputs(first.run_id, "make")
        hit = db.step_inputs(second.run_id, "make")
        used = db.step_inputs(second.run_id, "use")
        raw = db.db.execute("SELECT inputs FROM steps").fetchall()
    finally:
        db.close()
    assert parts is not None and hit is not None and used is not None
    assert parts["parameters"] == {"n": 3, "api_token": "***"} and parts["masked"] == ["api_token"]
    assert all("hunter2" not in row[0] for row in raw)
    assert parts["component"] == {"name": "make", "digest": make.spec.digest}
    assert parts["cache"] == {"enabled": True, "set_by": "component", "result": "miss"}
    assert parts["key"] == first.step("make").cache_key == second.step("make").cache_key
    assert hit["cache"]["result"] == "hit"
    assert (hit["cache"]["run_id"], hit["cache"]["task"]) == (first.run_id, "make")
    # a step without caching keeps its inputs too: the artifact's URI and digest
    data = used["artifacts"]["data"]
    assert used["cache"] == {"enabled": False, "set_by": "component"}
    assert used["parameters"] == {"scale": 2.0}
    assert data["digest"] == first.step("make").outputs["out"].digest
    assert data["uri"] == first.step("make").outputs["out"].uri


def test_the_key_is_made_from_the_recorded_parts(run: Any, store: Path) -> None:
    result = run(made, n=5, api_token="")
    db = RunDatabase(store / "runs.db")
    try:
        parts = db.step_inputs(result.run_id, "use")
    finally:
        db.close()
    assert parts is not None
    again = KeyParts(
        parts["component"]["name"],
        parts["component"]["digest"],
        parts["cache_version"],
        parts["parameters"],
        parts["artifacts"],
    )
    assert again.key() == parts["key"]


def test_a_version_3_database_gains_the_inputs_column_and_keeps_its_steps(
    tmp_path: Path,
) -> None:
    """Migration 4 adds ``steps.inputs`` to a database the previous release made."""
    from dagwright.store import _schema

    path = tmp_path / "runs.db"
    old = sqlite3.connect(path)
    old.executescript(_schema._SCHEMA)
    old.execute("ALTER TABLE steps ADD COLUMN note TEXT")
    old.execute("ALTER TABLE runs ADD COLUMN cancel_requested REAL")
    for name, kind in _schema._ADDED["runs"].items():
        old.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    old.execute("PRAGMA user_version = 3")
    old.execute(
        "INSERT INTO runs (run_id, pipeline, status, params, ir, artifacts, started) "
        "VALUES ('old-1', 'old', 'succeeded', '{}', '{}', '/nowhere', 1.0)"
    )
    old.execute(
        "INSERT INTO steps (run_id, task, iteration, status) VALUES ('old-1', 'a', '', 'succeeded')"
    )
    old.commit()
    old.close()
    db = RunDatabase(path)
    try:
        assert db.db.execute("PRAGMA user_version").fetchone()[0] == _schema.VERSION
        assert "inputs" in {r[1] for r in db.db.execute("PRAGMA table_info(steps)")}
        assert [s["status"] for s in db.steps("old-1")] == ["succeeded"]
        assert db.step_inputs("old-1", "a") is None  # recorded before inputs were kept
    finally:
        db.close()


@component(cache=True, secrets=[Secret("db", "password", env="DB_PASSWORD")])
def connect(user: str) -> int:
    return len(os.environ["DB_PASSWORD"])


@pipeline
def connected(user: str = "me") -> int:
    return connect(user=user).output


def test_a_secret_s_value_given_to_a_step_is_no_part_of_what_is_recorded(
    run: Any, store: Path, tmp_path: Path
) -> None:
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text("DB_PASSWORD=s3cr3t-Value-42\n")
    result = run(connected, secrets_file=secrets_file)
    assert result.outputs == {"output": 15}
    db = RunDatabase(store / "runs.db")
    try:
        parts = db.step_inputs(result.run_id, "connect")
        raw = [r[0] for r in db.db.execute("SELECT inputs FROM steps")]
    finally:
        db.close()
    assert parts is not None and parts["parameters"] == {"user": "me"}
    assert parts["masked"] == [] and not any("s3cr3t" in text for text in raw)


def test_secrets_inside_a_parameter_s_list_or_dict_mask_the_whole_parameter() -> None:
    from dagwright.engine.cache import KeyParts

    parts = KeyParts(
        "c",
        "d" * 64,
        None,
        {
            "config": {"host": "db", "db_password": "pw-1234"},
            "urls": ["https://u:pw-5678@example.com/x"],
            "tokens": [],  # nothing in it
            "plain": {"lr": 0.1, "layers": [1, 2]},
        },
        {},
    )
    recorded = parts.recorded()
    assert recorded["masked"] == ["config", "urls"]
    assert recorded["parameters"]["plain"] == {"lr": 0.1, "layers": [1, 2]}
    assert "pw-" not in str(recorded)
    assert recorded["key"] == parts.key()


@component
def greet(text: str) -> int:
    return len(text)


@pipeline
def passed_on(db_password: str = "") -> int:
    return greet(text=db_password).output


def test_a_secret_pipeline_parameter_passed_under_another_name_is_masked(
    run: Any, store: Path
) -> None:
    """The run knows db_password is secret: its value is masked in the step's recorded inputs
    whatever the step calls it, as in its logs (and cache explain cannot show it)."""
    result = run(passed_on, db_password="pl4in-Secret-value")
    assert result.outputs == {"output": 18}
    db = RunDatabase(store / "runs.db")
    try:
        parts = db.step_inputs(result.run_id, "greet")
        raw = [r[0] for r in db.db.execute("SELECT inputs FROM steps")]
    finally:
        db.close()
    assert parts is not None and parts["parameters"] == {"text": "***"}
    assert parts["masked"] == ["text"] and not any("pl4in" in text for text in raw)
