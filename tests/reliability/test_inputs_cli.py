"""The CLI says one thing one way (issue 13, item 14), and what item 13 asks of runs that
succeed: ``--store memory://`` makes no ``./memory:`` folder; ``runs ls`` filters; ``runs rm``
and ``runs gc`` remove rows, cache entries and artifacts, never through a planted symlink; a
dropped return value warns at decoration."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import time
import warnings
from pathlib import Path

import click
import pytest
from inputs_helpers import dagwright, project

from dagwright.cli import cli
from dagwright.store.owner import start_time

pytestmark = pytest.mark.integration

CACHED = {
    "cached.py": """
        from dagwright import Dataset, Input, Output, component, pipeline

        @component(cache=True)
        def make(n: int, out: Output[Dataset]):
            with open(out.path, "w") as f:
                f.write("x" * n)

        @component
        def size(data: Input[Dataset]) -> int:
            return len(open(data.path).read())

        @pipeline
        def cached_flow(n: int = 3):
            made = make(n=n)
            size(data=made.outputs["out"])
    """,
    "renamed.py": """
        from dagwright import component, pipeline

        @component
        def one() -> int:
            return 1

        @pipeline(name="nightly-train")
        def my_flow():
            one()
    """,
}


def _run(folder: Path, *args: str) -> str:
    proc = dagwright(folder, "run", *args, "-q", "--no-lineage")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[0]


def _ls(folder: Path, *args: str) -> list[str]:
    proc = dagwright(folder, "runs", "ls", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return [r["run_id"] for r in json.loads(proc.stdout)]


def _query(database: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(database)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_a_memory_store_makes_no_memory_folder(tmp_path: Path) -> None:
    folder = project(tmp_path / "project")
    run_id = _run(folder, "flow.py", "--store", "memory://")
    assert not (folder / "memory:").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["apart.py", "flow.py", "home"]
    show = json.loads(dagwright(folder, "runs", "show", run_id, "--json").stdout)
    assert show["artifacts"] == f"memory:///{run_id}"


def test_runs_ls_filters_by_status_pipeline_function_and_time(tmp_path: Path) -> None:
    folder = project(tmp_path / "project", CACHED)
    flow = _run(folder, "flow.py")
    cached = _run(folder, "cached.py")
    database = folder / "home" / "runs.db"
    db = sqlite3.connect(database)
    with db:  # one run failed two days ago
        db.execute(
            "UPDATE runs SET status='failed', started=? WHERE run_id=?",
            (time.time() - 2 * 86400, flow),
        )
    db.close()
    assert _ls(folder, "--status", "failed") == [flow]
    assert _ls(folder, "--status", "succeeded") == [cached]
    assert _ls(folder, "--pipeline", "cached_flow") == [cached]  # the function's name
    assert _ls(folder, "--pipeline", "cached-flow") == [cached]  # the pipeline's name
    renamed = _run(folder, "renamed.py")  # @pipeline(name=...): its function has another name
    assert _ls(folder, "--pipeline", "my_flow") == [renamed]
    assert _ls(folder, "--pipeline", "nightly-train") == [renamed]
    assert _ls(folder, "--pipeline", "my-flow") == []  # neither of its names
    assert _ls(folder, "--since", "1d") == [renamed, cached]
    assert _ls(folder, "--since", "3d") == [renamed, cached, flow]
    day = time.strftime("%Y-%m-%d", time.localtime(time.time() - 2 * 86400))
    assert _ls(folder, "--since", day) == [renamed, cached, flow]
    assert _ls(folder, "--since", "2099-01-01") == []


def test_runs_rm_removes_rows_cache_entries_and_artifacts(tmp_path: Path) -> None:
    folder = project(tmp_path / "project", CACHED)
    first = _run(folder, "cached.py")
    second = _run(folder, "cached.py")  # a cache hit on the first run's artifact
    home, database = folder / "home", folder / "home" / "runs.db"
    assert (home / "artifacts" / first / "make" / "out").read_text() == "xxx"
    assert _query(database, "SELECT run_id FROM cache") == [(first,)]

    proc = dagwright(folder, "runs", "rm", first)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"removed {first} (succeeded, 2 step(s), artifacts ")
    assert not (home / "artifacts" / first).exists()
    assert _query(database, "SELECT run_id FROM runs") == [(second,)]
    assert _query(database, f"SELECT count(*) FROM steps WHERE run_id='{first}'") == [(0,)]
    assert _query(database, "SELECT count(*) FROM cache") == [(0,)]  # it pointed at the first

    third = _run(folder, "cached.py")  # no stale hit: the producer runs again
    assert (home / "artifacts" / third / "make" / "out").read_text() == "xxx"


def test_runs_gc_removes_old_finished_runs_and_keeps_running_ones(tmp_path: Path) -> None:
    folder = project(tmp_path / "project")
    old, recent = _run(folder, "flow.py"), _run(folder, "flow.py")
    running = _run(folder, "flow.py")
    # a run still going: its row names a live owner process (as a running engine's does)
    owner = subprocess.Popen(["sleep", "120"])
    database = folder / "home" / "runs.db"
    db = sqlite3.connect(database)
    with db:
        db.execute("UPDATE runs SET started=? WHERE run_id IN (?, ?)", (1.0, old, running))
        db.execute(
            "UPDATE runs SET status='running', ended=NULL, owner_host=?, owner_pid=?, "
            "owner_start=? WHERE run_id=?",
            (socket.gethostname(), owner.pid, start_time(owner.pid), running),
        )
    db.close()
    try:
        dry = dagwright(folder, "runs", "gc", "--older-than", "30d", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.splitlines() == [
            f"would remove {old} (succeeded, artifacts {folder / 'home' / 'artifacts' / old})"
        ]
        assert (folder / "home" / "artifacts" / old).is_dir()

        done = dagwright(folder, "runs", "gc", "--older-than", "30d")
        assert done.returncode == 0, done.stderr
        assert not (folder / "home" / "artifacts" / old).exists()
        assert sorted(_ls(folder)) == sorted([recent, running])
        assert (folder / "home" / "artifacts" / running).is_dir()
    finally:
        owner.kill()
        owner.wait()
    # its owner gone, the run is interrupted, no longer running: gc may take it now
    done = dagwright(folder, "runs", "gc", "--older-than", "30d")
    assert done.returncode == 0, done.stderr
    assert _ls(folder) == [recent]


def test_runs_rm_never_follows_a_planted_symlink_out_of_the_store(tmp_path: Path) -> None:
    folder = project(tmp_path / "project")
    run_id = _run(folder, "flow.py")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.csv").write_text("keep me\n")
    artifacts = folder / "home" / "artifacts" / run_id
    for item in sorted(artifacts.rglob("*"), reverse=True):
        item.rmdir() if item.is_dir() else item.unlink()
    artifacts.rmdir()
    artifacts.symlink_to(precious)  # the run's folder now leads out of the store

    proc = dagwright(folder, "runs", "rm", run_id)

    assert proc.returncode == 0, proc.stderr
    assert (precious / "data.csv").read_text() == "keep me\n"
    assert artifacts.is_symlink()  # left alone, reported without its artifacts
    assert proc.stdout.strip() == f"removed {run_id} (succeeded, 2 step(s))"


def test_a_dropped_return_value_warns_at_decoration() -> None:
    from dagwright import component
    from dagwright.components.decorator import DroppedReturnWarning

    with pytest.warns(
        DroppedReturnWarning, match="returns a value but has no return annotation"
    ) as caught:

        @component
        def count(n: int):  # type: ignore[no-untyped-def]
            def helper() -> int:
                return 0

            return n + helper()

        @component(cache=True)
        def counted(n: int):  # type: ignore[no-untyped-def]
            return n

    # each warning points at the user's decorated function, not into dagwright
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name] * 2

    with warnings.catch_warnings():
        warnings.simplefilter("error")

        @component
        def quiet(n: int):  # type: ignore[no-untyped-def]
            if n:
                return
            return None

        @component
        def told(n: int) -> None:
            return None


def _commands() -> list[tuple[str, object]]:
    found = []
    ctx = click.Context(cli)  # as click finds them: the commands load on first use
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        subcommands = getattr(command, "commands", None)
        if subcommands:
            found += [(f"{name} {sub}", c) for sub, c in sorted(subcommands.items())]
        else:
            found.append((name, command))
    return found


def test_root_is_the_same_directory_option_on_every_command() -> None:
    roots = {
        name: option
        for name, command in _commands()
        for option in command.params  # type: ignore[attr-defined]
        if "--root" in option.opts
    }
    assert {"run", "resume", "runs ls", "runs rm", "runs gc", "serve", "scheduler"} <= set(roots)
    for name, option in roots.items():
        assert option.type.name == "directory", name
        assert option.help == "Store folder (default: $DAGWRIGHT_HOME or ./.dagwright).", name


def test_concurrency_is_one_option_and_argos_spelling_is_hidden(tmp_path: Path) -> None:
    folder = project(tmp_path / "project")
    for command in ("schedule add", "compile"):
        helped = dagwright(folder, *command.split(), "--help").stdout
        assert "--concurrency " in helped and "--concurrency-policy" not in helped, command
    both = [
        dagwright(
            folder,
            "compile",
            "flow.py",
            "--target",
            "argo",
            "--kind",
            "cron",
            "--cron",
            "0 3 * * *",
            *flag,
        ).stdout
        for flag in (("--concurrency", "replace"), ("--concurrency-policy", "Replace"))
    ]
    assert both[0] == both[1] and "concurrencyPolicy: Replace" in both[0]


def test_lineage_sync_shows_its_run_as_optional(tmp_path: Path) -> None:
    helped = dagwright(tmp_path, "lineage", "sync", "--help").stdout
    assert helped.splitlines()[0] == "Usage: dagwright lineage sync [OPTIONS] [RUN]"
