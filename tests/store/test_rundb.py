"""The run database: many engines at once, and what `runs` and `logs` print from it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "pipelines.py"


def _cli(home: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGWRIGHT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.integration
def test_twenty_concurrent_runs_share_one_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "DAGWRIGHT_HOME": str(home)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dagwright.cli",
                "run",
                f"{FIXTURE}:greet",
                "-q",
                "-p",
                f"word=w{i}",
                "-p",
                'tags=["a", "b", "c"]',
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(20)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results if err]
    run_ids = {out.split()[0] for out, _ in results}
    assert len(run_ids) == 20
    with sqlite3.connect(home / "runs.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        runs = db.execute("SELECT run_id, status, outputs FROM runs").fetchall()
        steps = db.execute("SELECT run_id, status FROM steps").fetchall()
    assert {r[0] for r in runs} == run_ids and {r[1] for r in runs} == {"succeeded"}
    outputs = sorted(json.loads(r[2])["output"] for r in runs)
    assert outputs == sorted(f"W{i}!W{i}!" for i in range(20))
    assert len(steps) == 20 * 4 and {s[1] for s in steps} == {"succeeded"}


@pytest.mark.integration
def test_runs_ls_show_and_logs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    flow = tmp_path / "talk.py"
    flow.write_text(
        "import sys\nfrom dagwright import component, pipeline\n\n"
        "@component\ndef talk(word: str) -> str:\n"
        "    print('saying', word)\n    print('careful', file=sys.stderr)\n    return word\n\n"
        "@component\ndef fail() -> None:\n    raise ValueError('no luck')\n\n"
        "@pipeline\ndef chat(word: str = 'hi') -> str:\n"
        "    said = talk(word=word)\n    fail().after(said)\n    return said.output\n"
    )
    ran = _cli(home, "run", str(flow), "-q", cwd=tmp_path)
    assert ran.returncode == 1
    run_id = ran.stdout.split()[0]

    listed = _cli(home, "runs", "ls", cwd=tmp_path)
    assert listed.returncode == 0
    assert run_id in listed.stdout and "failed" in listed.stdout

    shown = _cli(home, "runs", "show", run_id[:10], cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"run {run_id} (chat): failed" in shown.stdout
    assert "ValueError: no luck" in shown.stdout

    logs = _cli(home, "logs", run_id, "talk", cwd=tmp_path)
    assert logs.stdout.splitlines() == ["==> talk (succeeded) <==", "saying hi", "careful"]
    as_json = json.loads(_cli(home, "logs", run_id, "fail", "--json", cwd=tmp_path).stdout)
    assert "ValueError: no luck" in as_json[0]["traceback"]

    missing = _cli(home, "runs", "show", "nope", cwd=tmp_path)
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr
    empty = _cli(tmp_path / "elsewhere", "runs", "ls", cwd=tmp_path)
    assert empty.returncode == 2 and "no run database" in empty.stderr


@pytest.mark.integration
def test_logs_accept_the_label_the_progress_lines_print(tmp_path: Path) -> None:
    home = tmp_path / "home"
    flow = tmp_path / "loops.py"
    flow.write_text(
        "from dagwright import ParallelFor, component, pipeline\n\n"
        "@component\ndef say(a: int, b: int) -> None:\n    print('pair', a, b)\n\n"
        "@pipeline\ndef grid() -> None:\n"
        "    with ParallelFor([1, 2]) as a:\n"
        "        with ParallelFor([3, 4]) as b:\n            say(a=a, b=b)\n"
    )
    ran = _cli(home, "run", str(flow), cwd=tmp_path)
    assert "say[0,1]" in ran.stdout
    run_id = json.loads(_cli(home, "runs", "ls", "--json", cwd=tmp_path).stdout)[0]["run_id"]
    for label in ("say[0,1]", "say[0.1]"):
        logs = _cli(home, "logs", run_id, label, cwd=tmp_path)
        assert logs.returncode == 0, logs.stderr
        assert logs.stdout.splitlines() == ["==> say[0.1] (succeeded) <==", "pair 1 4"]


def test_fault_a_store_locked_while_it_turns_to_wal_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processes opening a fresh store at once race to switch it to WAL, and SQLite can answer
    "database is locked" without waiting (seen with 20 concurrent runs): the switch is retried
    until it lands, and the run database opens."""
    from dagwright.store import rundb

    real = sqlite3.connect
    refusals = []

    class Racing:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if sql == "PRAGMA journal_mode=WAL" and len(refusals) < 3:
                refusals.append(sql)
                raise sqlite3.OperationalError("database is locked")
            return self.db.execute(sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self.db, name)

        def __setattr__(self, name: str, value: object) -> None:
            if name == "db":
                object.__setattr__(self, name, value)
            else:
                setattr(self.db, name, value)

    monkeypatch.setattr(rundb.sqlite3, "connect", lambda *a, **k: Racing(real(*a, **k)))
    db = rundb.RunDatabase(tmp_path / "runs.db")
    assert len(refusals) == 3
    assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


UNVERSIONED = Path(__file__).resolve().parents[1] / "fixtures" / "rundb" / "unversioned.db"


def test_a_database_made_before_schema_versions_is_migrated_and_keeps_its_runs(
    tmp_path: Path,
) -> None:
    """``tests/fixtures/rundb/unversioned.db`` was made by ``dagwright run`` before the run
    database carried a version (``PRAGMA user_version`` 0; one succeeded run of ``legacy``)."""
    import shutil

    from dagwright.store import _schema
    from dagwright.store.rundb import RunDatabase

    path = tmp_path / "runs.db"
    shutil.copyfile(UNVERSIONED, path)
    before = sqlite3.connect(path)
    assert before.execute("PRAGMA user_version").fetchone()[0] == 0
    before.close()
    db = RunDatabase(path)
    assert db.db.execute("PRAGMA user_version").fetchone()[0] == _schema.VERSION
    rows = db.db.execute("SELECT pipeline, status, outputs FROM runs").fetchall()
    assert [tuple(r) for r in rows] == [("legacy", "succeeded", '{"output": 8}')]
    db.close()


def test_a_first_release_database_gains_the_added_columns(tmp_path: Path) -> None:
    """Version 0 with only the first release's columns: migration 2 adds the rest."""
    from dagwright.store import _schema
    from dagwright.store.rundb import RunDatabase

    path = tmp_path / "runs.db"
    first = sqlite3.connect(path)
    first.executescript(_schema._SCHEMA)
    first.close()
    db = RunDatabase(path)
    columns = {row[1] for row in db.db.execute("PRAGMA table_info(runs)")}
    assert {"owner_pid", "function", "reason"} <= columns
    assert db.db.execute("PRAGMA user_version").fetchone()[0] == _schema.VERSION
    db.close()


def test_bad_a_database_from_a_newer_dagwright_is_refused_and_left_as_it_is(
    tmp_path: Path,
) -> None:
    from dagwright.errors import ValidationError
    from dagwright.store import _schema
    from dagwright.store.rundb import RunDatabase

    path = tmp_path / "runs.db"
    newer = sqlite3.connect(path)
    newer.execute(f"PRAGMA user_version = {_schema.VERSION + 1}")
    newer.close()
    before = path.read_bytes()
    with pytest.raises(ValidationError) as caught:
        RunDatabase(path)
    assert caught.value.field == "--root" and "newer dagwright" in str(caught.value)
    assert path.read_bytes() == before


def test_a_version_2_database_gains_the_cancel_request_column_and_keeps_its_runs(
    tmp_path: Path,
) -> None:
    """Migration 3 adds ``runs.cancel_requested`` to a database the previous release made."""
    from dagwright.store import _schema
    from dagwright.store.rundb import RunDatabase

    path = tmp_path / "runs.db"
    old = sqlite3.connect(path)
    _schema._create(old)
    _schema._add_columns(old)
    old.execute("PRAGMA user_version = 2")
    old.execute(
        "INSERT INTO runs (run_id, pipeline, status, params, ir, artifacts, started) "
        "VALUES ('old-1', 'old', 'succeeded', '{}', '{}', '/nowhere', 1.0)"
    )
    old.commit()
    assert "cancel_requested" not in {r[1] for r in old.execute("PRAGMA table_info(runs)")}
    old.close()
    db = RunDatabase(path)
    assert _schema.VERSION == 4  # 4 (steps.inputs) came after it
    assert db.db.execute("PRAGMA user_version").fetchone()[0] == 4
    assert "cancel_requested" in {r[1] for r in db.db.execute("PRAGMA table_info(runs)")}
    assert db.find_run("old-1")["status"] == "succeeded"
    assert not db.cancel_requested("old-1")
    db.close()
    RunDatabase(path).close()  # opened again: nothing left to migrate
