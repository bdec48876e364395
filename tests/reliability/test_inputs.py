"""The bad-input catalogue of the CLI (issue 13, item 13): each case runs the real `dagwright`
command in a fresh project folder and asserts exit 2, a message that names the field and the
fix, no traceback, and that nothing was written (the folder, the store and any crafted file
are byte-for-byte and time-for-time as before)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from inputs_helpers import BAD_FILES, dagwright, project, snapshot

from dagwright.store.rundb import RunDatabase

pytestmark = pytest.mark.integration


def _garbage_database(folder: Path) -> None:
    (folder / "home").mkdir()
    (folder / "home" / "runs.db").write_text("name,status\nnightly,ok\n")


def _folder_database(folder: Path) -> None:
    (folder / "home" / "runs.db").mkdir(parents=True)


def _device_database(folder: Path) -> None:
    (folder / "home").mkdir()
    (folder / "home" / "runs.db").symlink_to("/dev/full")


def _file_in_the_way(folder: Path) -> None:
    (folder / "blocker").write_text("a file where the store's parent folder should be\n")


def _running_run(folder: Path) -> None:
    db = RunDatabase(folder / "home" / "runs.db")
    db.start_run("nightly-1", "flow", {}, "{}", str(folder / "home" / "artifacts" / "nightly-1"))
    db.close()
    (folder / "home" / "artifacts" / "nightly-1").mkdir(parents=True)


@dataclass
class Case:
    args: tuple[str, ...]
    says: tuple[str, ...]  # the field and the fix, as the message words them
    without: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None
    extra: dict[str, str] = field(default_factory=dict)


DEEP = "[" * 40 + "1" + "]" * 40
ABYSS = "[" * 60000 + "]" * 60000  # deeper than the interpreter's recursion limit
CRON = ("--kind", "cron", "--cron", "0 3 * * *")

CASES = {
    # a missing extra: named, with the pip command
    "kfp-target-without-kfp": Case(
        ("compile", "flow.py", "--target", "kfp", "-o", "out.yaml"),
        ("field 'target'", "'kfp'", 'Fix: pip install "dagwright[kfp]"'),
        without=("kfp",),
    ),
    "argo-target-without-hera": Case(
        ("compile", "flow.py", "--target", "argo", "-o", "out.yaml"),
        ("field 'target'", "'hera'", 'Fix: pip install "dagwright[argo]"'),
        without=("hera",),
    ),
    "submit-kfp-without-kfp": Case(
        ("submit", "flow.py", "--target", "kfp", "--host", "http://127.0.0.1:9"),
        ("field 'target'", 'Fix: pip install "dagwright[kfp]"'),
        without=("kfp",),
    ),
    "s3-store-without-s3fs": Case(
        ("run", "flow.py", "--store", "s3://bucket/runs"),
        ("field '--store'", "'s3fs'", 'Fix: pip install "dagwright[s3]"'),
        without=("s3fs",),
    ),
    "gs-store-without-gcsfs": Case(
        ("run", "flow.py", "--store", "gs://bucket/runs"),
        ("field '--store'", "'gcsfs'", 'Fix: pip install "dagwright[gcs]"'),
        without=("gcsfs",),
    ),
    "schedule-add-kfp-without-kfp": Case(
        ("schedule", "add", "flow.py", "--cron", "0 3 * * *", "--target", "kfp")
        + ("--host", "http://127.0.0.1:9"),
        ("field 'target'", 'Fix: pip install "dagwright[kfp]"'),
        without=("kfp",),
    ),
    "delete-argo-without-hera": Case(
        ("delete", "flow", "--kind", "cron", "--target", "argo", "--namespace", "ns")
        + ("--host", "http://127.0.0.1:9"),
        ("'hera'", 'Fix: pip install "dagwright[argo]"'),
        without=("hera",),
    ),
    "lineage-sync-without-mlflow": Case(
        ("lineage", "sync"),
        ("'mlflow'", 'Fix: pip install "dagwright[mlflow]"'),
        without=("mlflow",),
        setup=_running_run,
    ),
    "compile-o-in-a-folder-that-cannot-be-made": Case(
        ("compile", "flow.py", "--target", "ir", "-o", "/proc/nope/out.yaml"),
        ("field '-o'", "cannot write '/proc/nope/out.yaml'", "Fix: name a file in a folder"),
    ),
    "compile-o-in-a-folder-that-cannot-be-written": Case(
        ("compile", "flow.py", "--target", "ir", "-o", "/sys/out.yaml"),
        ("field '-o'", "cannot write '/sys/out.yaml'"),
    ),
    "tracking-uri-without-mlflow": Case(
        ("run", "flow.py", "--tracking-uri", "http://127.0.0.1:9"),
        ("field '--tracking-uri'", 'Fix: pip install "dagwright[mlflow]"'),
        without=("mlflow",),
    ),
    "pipeline-file-imports-a-missing-extra": Case(
        ("run", "uses_kfp.py"),
        ("field 'FILE'", "No module named 'kfp'", 'pip install "dagwright[kfp]"'),
        without=("kfp",),
    ),
    # stores that cannot be used, refused before any step runs
    "unknown-fsspec-protocol": Case(
        ("run", "flow.py", "--store", "nosuchfs://bucket/runs"),
        ("field '--store'", "protocol 'nosuchfs'", "Fix: use a folder or a URL such as"),
    ),
    "store-url-without-a-bucket": Case(
        ("run", "flow.py", "--store", "s3://"),
        ("field '--store'", "'s3://' names no bucket", "Fix: write s3://BUCKET/PREFIX"),
    ),
    "root-under-proc": Case(
        ("run", "flow.py", "--root", "/proc/nope"),
        ("field '--root'", "cannot write to '/proc/nope'", "Fix: point --root at a folder"),
    ),
    "store-under-proc": Case(
        ("run", "flow.py", "--store", "/proc/nope/artifacts"),
        ("field '--store'", "cannot write to '/proc/nope/artifacts'", "Fix: point --store at"),
    ),
    "file-url-store-under-proc": Case(
        ("run", "flow.py", "--store", "file:///proc/nope"),
        ("field '--store'", "cannot write to '/proc/nope'"),
    ),
    "root-under-sys": Case(
        ("run", "flow.py", "--root", "/sys/nope"),
        ("field '--root'", "cannot write to '/sys/nope'", "Fix: point --root at a folder"),
    ),
    "scheduler-root-under-proc": Case(
        ("scheduler", "--root", "/proc/nope"),
        ("field '--root'", "cannot make the store folder '/proc/nope'", "Fix: point --root"),
    ),
    "schedule-add-root-under-proc": Case(
        ("schedule", "add", "flow.py", "--cron", "0 3 * * *", "--root", "/proc/nope"),
        ("field '--root'", "cannot make the store folder '/proc/nope'"),
    ),
    "resume-in-a-store-that-is-not-there": Case(
        ("resume", "nightly-1", "--root", "no-such-store"),
        ("field '--root'", "no run database in 'no-such-store'", "Fix: run a pipeline first"),
    ),
    "root-below-a-file": Case(
        ("run", "flow.py", "--root", "blocker/store"),
        ("field '--root'", "cannot write to 'blocker/store'", "Fix: point --root at a folder"),
        setup=_file_in_the_way,
    ),
    "root-is-a-file": Case(
        ("run", "flow.py", "--root", "blocker"),
        ("'--root'", "is a file"),
        setup=_file_in_the_way,
    ),
    "memory-store-with-a-process-step": Case(
        ("run", "apart.py", "--store", "memory://"),
        ("field 'runtime'", "memory://", "runtime=Local()"),
    ),
    # a run database that is not one
    "run-on-a-text-runs-db": Case(
        ("run", "flow.py"),
        ("field '--root'", "is not a run database", "Fix: point --root at another folder"),
        setup=_garbage_database,
    ),
    "runs-ls-on-a-text-runs-db": Case(
        ("runs", "ls"),
        ("field '--root'", "is not a run database", "move that file away"),
        setup=_garbage_database,
    ),
    "runs-show-on-a-text-runs-db": Case(
        ("runs", "show", "nightly"),
        ("field '--root'", "is not a run database"),
        setup=_garbage_database,
    ),
    "schedule-ls-on-a-text-runs-db": Case(
        ("schedule", "ls"),
        ("field '--root'", "is not a run database"),
        setup=_garbage_database,
    ),
    "run-on-a-runs-db-that-is-a-device": Case(
        ("run", "flow.py"),
        ("field '--root'", "is not a run database", "move that file away"),
        setup=_device_database,
    ),
    "runs-ls-on-a-folder-runs-db": Case(
        ("runs", "ls"),
        ("field '--root'", "is not a run database", "move that file away"),
        setup=_folder_database,
    ),
    "run-on-a-folder-runs-db": Case(
        ("run", "flow.py"),
        ("field '--root'", "is not a run database"),
        setup=_folder_database,
    ),
    # -p values
    "param-json-nested-too-deep": Case(
        ("run", "flow.py", "-p", f"xs={DEEP}"),
        ("field 'xs'", "nested more than 32 levels", "Fix: pass -p xs="),
    ),
    "param-json-deeper-than-recursion": Case(
        ("run", "flow.py", "-p", f"xs={ABYSS}"),
        ("field 'xs'", "nested more than 32 levels", "Fix: pass -p xs="),
    ),
    # pipeline files that do not import: the user's frames only
    "pipeline-file-syntax-error": Case(
        ("run", "bad_syntax.py"),
        ("field 'FILE'", "SyntaxError", "bad_syntax.py, line 4", "def broken(n: int = 1:"),
    ),
    "pipeline-file-import-error": Case(
        ("inspect", "bad_import.py"),
        ("field 'FILE'", "No module named 'surely_not_a_module_of_anyone'", "line 2"),
    ),
    "pipeline-file-raises-while-imported": Case(
        ("compile", "bad_raise.py"),
        ("field 'FILE'", "KeyError: 'threshold'", "bad_raise.py, line 4", "in threshold"),
    ),
    # empty cron and time zone
    "schedule-add-empty-cron": Case(
        ("schedule", "add", "flow.py", "--cron", ""),
        ("'--cron'", "is empty", "leave the option out"),
    ),
    "schedule-add-empty-timezone": Case(
        ("schedule", "add", "flow.py", "--cron", "0 3 * * *", "--timezone", ""),
        ("'--timezone'", "is empty"),
    ),
    "compile-cron-empty-cron": Case(
        ("compile", "flow.py", "--target", "argo", "--kind", "cron", "--cron", "", "-o", "o.yaml"),
        ("'--cron'", "is empty"),
    ),
    "compile-cron-blank-timezone": Case(
        ("compile", "flow.py", "--target", "argo", *CRON, "--timezone", "  ", "-o", "o.yaml"),
        ("'--timezone'", "is empty"),
    ),
    # packages and images with shell metacharacters
    "package-with-a-command": Case(
        ("run", "bad_packages.py"),
        ("field 'packages'", "'numpy; rm -rf /'", "Fix: write a pip requirement"),
    ),
    "package-url-with-command-substitution": Case(
        ("compile", "bad_url_package.py", "--target", "kfp"),
        ("field 'packages'", "shell metacharacters", "Fix: write a pip requirement"),
    ),
    "image-with-a-command": Case(
        ("compile", "bad_image.py", "--target", "argo"),
        ("field 'image'", "is not an image reference", "Fix: write [registry/]name[:tag]"),
    ),
    "image-with-a-space": Case(
        ("run", "bad_image_space.py"),
        ("field 'image'", "'python 3.11'", "e.g. 'python:3.11-slim'"),
    ),
    "cli-image-with-a-command": Case(
        ("compile", "flow.py", "--target", "kfp", "--image", "python:3.11`id`", "-o", "o.yaml"),
        ("field '--image'", "is not an image reference"),
    ),
    "dockerfile-base-image-with-a-command": Case(
        ("dockerfile", "flow.py", "--base-image", "python:3.11 && curl x", "-o", "Dockerfile"),
        ("field '--base-image'", "is not an image reference"),
    ),
    "dagwright-requirement-with-a-command": Case(
        ("compile", "flow.py", "--target", "kfp", "--dagwright", "dagwright|sh", "-o", "o.yaml"),
        ("field '--dagwright'", "shell metacharacters"),
    ),
    # type hints
    "component-input-without-a-hint": Case(
        ("run", "no_hint.py"),
        ("field 'n'", "input 'n' has no type hint", "Fix: annotate it"),
    ),
    "pipeline-parameter-without-a-hint": Case(
        ("inspect", "no_hint_pipeline.py"),
        ("field 'n'", "parameter 'n' has no type hint", "Fix: annotate it"),
    ),
    # runs ls / rm / gc
    "runs-ls-since-not-a-time": Case(
        ("runs", "ls", "--since", "yesterday"),
        ("field '--since'", "neither a duration nor a date", "Fix: write a duration such as"),
        setup=_running_run,
    ),
    "runs-gc-older-than-not-a-time": Case(
        ("runs", "gc", "--older-than", "a while"),
        ("field '--older-than'", "neither a duration nor a date"),
        setup=_running_run,
    ),
    "runs-ls-unknown-status": Case(
        ("runs", "ls", "--status", "done"),
        ("'--status'", "'done' is not one of"),
        setup=_running_run,
    ),
    "runs-gc-of-running-runs": Case(
        ("runs", "gc", "--older-than", "1d", "--status", "running"),
        ("'--status'", "'running' is not one of"),
        setup=_running_run,
    ),
    "runs-rm-a-running-run": Case(
        ("runs", "rm", "nightly-1"),
        ("field 'RUN'", "run 'nightly-1' is running", "Fix: wait for it to end"),
        setup=_running_run,
    ),
    "runs-rm-an-unknown-run": Case(
        ("runs", "rm", "nightly-1", "weekly"),
        ("field 'RUN'", "no run 'weekly'", "dagwright runs ls"),
        setup=_running_run,
    ),
    "runs-gc-without-a-store": Case(
        ("runs", "gc", "--older-than", "30d"),
        ("field '--root'", "no run database", "Fix: run a pipeline first"),
    ),
    # one option, one meaning
    "concurrency-not-a-policy": Case(
        ("compile", "flow.py", "--target", "argo", *CRON, "--concurrency", "sometimes"),
        ("'--concurrency'", "'sometimes' is not one of"),
    ),
    "concurrency-given-twice": Case(
        ("compile", "flow.py", "--target", "argo", *CRON, "--concurrency", "allow")
        + ("--concurrency-policy", "Allow", "-o", "o.yaml"),
        ("field '--concurrency-policy'", "both say it", "give --concurrency only"),
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_input_exits_2_naming_the_field_and_writing_nothing(tmp_path: Path, case: Case) -> None:
    folder = project(tmp_path / "project", {**BAD_FILES, **case.extra})
    if case.setup is not None:
        case.setup(folder)
    database = folder / "home" / "runs.db"
    rows = _rows(database) if database.is_file() and _is_sqlite(database) else None
    before = snapshot(folder)

    proc = dagwright(folder, *case.args, without=case.without)

    assert proc.returncode == 2, proc.stderr
    for words in case.says:
        assert words in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    # the user's frames only (bar the stand-in for a missing module, written as -c code)
    frames = [
        line
        for line in proc.stderr.splitlines()
        if line.startswith('  File "') and not line.startswith('  File "<string>"')
    ]
    assert all(line.startswith(f'  File "{folder}') for line in frames), proc.stderr
    assert snapshot(folder) == before, "something was written"
    if rows is not None:
        assert _rows(database) == rows


def _is_sqlite(path: Path) -> bool:
    return path.read_bytes()[:16] == b"SQLite format 3\x00"


def _rows(database: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(database)
    try:
        return db.execute("SELECT run_id, status FROM runs ORDER BY run_id").fetchall()
    finally:
        db.close()  # closed now, so its -wal and -shm files are gone before the snapshot
