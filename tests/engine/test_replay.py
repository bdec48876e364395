"""``dagwright replay RUN STEP``: one recorded step run again from the inputs it had, its
outputs compared with the recorded ones, the run left as it was. The real command, in a
subprocess, on runs the real command recorded."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from replay_pipeline import dagwright, run_id, write

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A run of ``demo``: make and use[0], use[1] succeeded, use[2] failed, total did not run."""
    folder = tmp_path_factory.mktemp("replay")
    write(folder)
    proc = dagwright(folder, "run", "replayed.py:demo", "-q", "--keep-going")
    assert proc.returncode == 1, proc.stderr
    return folder, run_id(proc)


def database_dump(folder: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(folder / "home" / "runs.db") as db:
        rows = [("run", *r) for r in db.execute("SELECT * FROM runs ORDER BY run_id")]
        rows += [("step", *r) for r in db.execute("SELECT * FROM steps ORDER BY task, iteration")]
        rows += [("cache", *r) for r in db.execute("SELECT * FROM cache ORDER BY key")]
    return rows


def table_line(stdout: str, output: str) -> list[str]:
    """The comparison table's line of ``output``: name, recorded, replayed, verdict."""
    found = re.search(rf"^{output} +(\S+) +(\S+) +(\S+)$", stdout, re.M)
    assert found, stdout
    return [output, *found.groups()]


def test_a_loop_iteration_replays_from_its_recorded_inputs_and_changes_nothing(
    recorded: tuple[Path, str],
) -> None:
    folder, run = recorded
    before = database_dump(folder)
    proc = dagwright(folder, "replay", run, "use[1]")
    assert proc.returncode == 0, proc.stderr
    # the loop item of iteration 1 and the artifact make wrote, as the run gave them
    assert "  k = 2\n" in proc.stdout
    assert f"  data <- {folder / 'home' / 'artifacts' / run / 'make' / 'data'}" in proc.stdout
    assert "use read 4 characters" in proc.stdout  # the step's print, not captured
    assert table_line(proc.stdout, "output") == ["output", '"xx"', '"xx"', "same"]
    assert "  inputs as the run recorded giving them" in proc.stdout
    assert database_dump(folder) == before  # no row written, none changed


def test_a_repository_given_for_a_run_of_the_store_is_said_to_be_unused(
    recorded: tuple[Path, str],
) -> None:
    """``--artifact-repository`` is for Argo runs read from MLflow; a run of the store records
    where its inputs are, so the option is not used, and the user is told rather than left
    to think it was."""
    folder, run = recorded
    proc = dagwright(folder, "replay", run, "make", "--artifact-repository", "s3://elsewhere")
    assert proc.returncode == 0, proc.stderr
    assert f"note: --artifact-repository is not used: run {run} is in this store" in proc.stderr


def test_an_artifact_is_compared_by_digest_and_its_file_lands_in_the_scratch_folder(
    recorded: tuple[Path, str],
) -> None:
    folder, run = recorded
    proc = dagwright(folder, "replay", run, "make")  # a Process step, run here in the foreground
    assert proc.returncode == 0, proc.stderr
    assert "  in this process, not under its runtime 'process'" in proc.stdout
    scratch = Path(re.search(r"outputs go to (\S+)", proc.stdout).group(1))
    try:
        assert (scratch / "data").read_text() == "xxxx"
        name, old, new, verdict = table_line(proc.stdout, "data")
        assert old == new and old.startswith("sha256:") and verdict == "same"
        assert table_line(proc.stdout, "output")[1:] == ["8", "8", "same"]
    finally:
        for item in scratch.iterdir():
            item.unlink()
        scratch.rmdir()


def test_an_override_that_changes_the_outputs_exits_1_as_diff_does(
    recorded: tuple[Path, str],
) -> None:
    folder, run = recorded
    proc = dagwright(folder, "replay", run, "make", "-p", "n=5")
    # 1 as diff says "differ"; told from a failed step by the finished line and the table
    assert proc.returncode == 1, proc.stderr
    assert "--- make finished; outputs in" in proc.stdout and "failed" not in proc.stderr
    assert "  n = 5  (-p)" in proc.stdout
    assert table_line(proc.stdout, "output")[1:] == ["8", "10", "differs"]
    name, old, new, verdict = table_line(proc.stdout, "data")
    assert old != new and verdict == "differs"
    proc = dagwright(folder, "replay", run, "use[0]", "-p", "k=2")
    assert proc.returncode == 1
    assert table_line(proc.stdout, "output")[1:] == ['"x"', '"xx"', "differs"]


def test_a_step_that_fails_again_exits_1_with_its_traceback(recorded: tuple[Path, str]) -> None:
    folder, run = recorded
    proc = dagwright(folder, "replay", run, "use[2]")
    assert proc.returncode == 1
    assert 'raise ValueError("k may not be 3")' in proc.stderr
    assert "step use[2] failed: ValueError: k may not be 3" in proc.stderr
    # fixed by an override, it runs; the run recorded no outputs to compare with
    proc = dagwright(folder, "replay", run, "use[2]", "-p", "k=1")
    assert proc.returncode == 0, proc.stderr
    assert table_line(proc.stdout, "output")[1:] == ["-", '"x"', "new"]
    assert "the run recorded no outputs: that execution failed" in proc.stdout


def test_a_step_that_never_ran_gets_its_gathered_inputs(recorded: tuple[Path, str]) -> None:
    folder, run = recorded
    proc = dagwright(folder, "replay", run, "total")
    assert proc.returncode == 0, proc.stderr
    assert '  xs = ["x", "xx"]' in proc.stdout  # the iterations that made a value
    assert "derived from the run's parameters and upstream outputs" in proc.stdout
    assert table_line(proc.stdout, "output")[1:] == ["-", "2", "new"]


def test_the_recorded_inputs_are_used_and_derived_when_there_are_none(
    recorded: tuple[Path, str], tmp_path: Path
) -> None:
    folder, run = recorded
    (tmp_path / "home").mkdir()
    copy = tmp_path / "home" / "runs.db"
    shutil.copy(folder / "home" / "runs.db", copy)
    # what the engine kept of what it gave use[0] is what replay gives it (edited here to
    # tell the two apart: derived from the rows, k would be 1)
    with sqlite3.connect(copy) as db:
        db.execute(
            "UPDATE steps SET inputs=json_set(inputs, '$.parameters.k', 2) "
            "WHERE task='use' AND iteration='0'"
        )
    proc = dagwright(folder, "replay", run, "use[0]", "--root", str(tmp_path / "home"))
    assert proc.returncode == 1, proc.stderr
    assert "  k = 2\n" in proc.stdout and "recorded giving them" in proc.stdout
    assert table_line(proc.stdout, "output")[-1] == "differs"
    # a run recorded before the inputs were kept: derived from the other rows
    with sqlite3.connect(copy) as db:
        db.execute("UPDATE steps SET inputs=NULL")
    proc = dagwright(folder, "replay", run, "use[0]", "--root", str(tmp_path / "home"))
    assert proc.returncode == 0, proc.stderr
    assert "  k = 1\n" in proc.stdout and "derived from the run's" in proc.stdout
    assert table_line(proc.stdout, "output")[1:] == ['"x"', '"x"', "same"]


def test_an_iteration_of_nested_loops_gets_both_items_derived(tmp_path: Path) -> None:
    write(tmp_path)
    proc = dagwright(tmp_path, "run", "replayed.py:nested", "-q")
    assert proc.returncode == 0, proc.stderr
    run = run_id(proc)
    with sqlite3.connect(tmp_path / "home" / "runs.db") as db:
        db.execute("UPDATE steps SET inputs=NULL")  # as a run recorded before they were kept
    # the outer item from rows' recorded output, the inner from the constant list; named as
    # runs show prints it, or as progress lines do
    for label in ("add[1.2]", "add[1,2]"):
        proc = dagwright(tmp_path, "replay", run, label)
        assert proc.returncode == 0, proc.stderr
        assert "  a = 1\n  b = 10\n  c = 3\n" in proc.stdout
        assert table_line(proc.stdout, "output")[1:] == ["14", "14", "same"]


def test_an_input_changed_since_the_run_is_warned_of(tmp_path: Path) -> None:
    write(tmp_path)
    proc = dagwright(tmp_path, "run", "replayed.py:demo", "-q", "--keep-going")
    run = run_id(proc)
    data = tmp_path / "home" / "artifacts" / run / "make" / "data"
    data.write_text("yyyy")
    proc = dagwright(tmp_path, "replay", run, "use[0]")
    assert proc.returncode == 1
    assert f"warning: input 'data' has changed since the run: {data} holds sha256" in proc.stderr
    assert table_line(proc.stdout, "output")[1:] == ['"x"', '"y"', "differs"]


def test_the_recorded_code_runs_unless_code_from_names_the_code_as_it_is_now(
    tmp_path: Path,
) -> None:
    path = write(tmp_path)
    proc = dagwright(tmp_path, "run", "replayed.py:demo", "-q", "--keep-going")
    run = run_id(proc)
    # the step fixed (and changed) in the file after the run
    source = path.read_text()
    path.write_text(source.replace("return text[:k]", "return text[:k].upper()"))
    proc = dagwright(tmp_path, "replay", run, "use[1]")
    assert proc.returncode == 0, proc.stderr  # the code the run recorded: the same output
    assert "  code as the run recorded it" in proc.stdout
    proc = dagwright(tmp_path, "replay", run, "use[1]", "--code-from", "replayed.py:demo")
    assert proc.returncode == 1, proc.stderr
    assert "  code as replayed.py:demo defines it now" in proc.stdout
    assert table_line(proc.stdout, "output")[1:] == ['"xx"', '"XX"', "differs"]
    # a new required parameter, which the run never gave the step: -p gives it
    changed = source.replace("debug: bool = False", "scale: int, debug: bool = False")
    path.write_text(changed.replace("k=k)", "k=k, scale=2)"))
    proc = dagwright(tmp_path, "replay", run, "use[1]", "--code-from", "replayed.py:demo")
    assert proc.returncode == 2 and "field '--code-from'" in proc.stderr
    assert "needs input 'scale'" in proc.stderr and "pass -p scale=..." in proc.stderr
    args = ["replay", run, "use[1]", "--code-from", "replayed.py:demo", "-p", "scale=2"]
    proc = dagwright(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert "  scale = 2  (-p)" in proc.stdout
    # an input the step was given is gone
    path.write_text(source.replace("k: int, debug", "debug").replace(", k=k)", ")"))
    proc = dagwright(tmp_path, "replay", run, "use[1]", "--code-from", "replayed.py:demo")
    assert proc.returncode == 2 and "now takes no input 'k'" in proc.stderr
    proc = dagwright(tmp_path, "replay", run, "use[1]", "--code-from", "replayed.py:nested")
    assert proc.returncode == 2 and "pipeline 'nested' has no task 'use'" in proc.stderr


def test_inputs_kept_in_memory_are_refused_by_name(tmp_path: Path) -> None:
    write(tmp_path)
    proc = dagwright(tmp_path, "run", "replayed.py:in_memory", "-q", "--store", "memory://")
    assert proc.returncode == 0, proc.stderr
    proc = dagwright(tmp_path, "replay", run_id(proc), "read")
    assert proc.returncode == 2, proc.stdout
    assert "input 'data' of step 'read' was kept in memory:// by the run's own" in proc.stderr
    assert "--- read starts" not in proc.stdout and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, field, fix",
    [
        (["-p", "kk=1"], "kk", "its parameters are ['k', 'debug']"),
        (["-p", "k=many"], "k", "pass -p k=<a int>"),
        (["-p", "debug=perhaps"], "debug", "pass -p debug=<a bool>"),
        (["-p", "data=/tmp/x"], "data", "its parameters are ['k', 'debug']"),
        (["-p", "k"], "-p", "write -p name=value"),
    ],
)
def test_a_bad_override_exits_2_naming_the_parameter(
    recorded: tuple[Path, str], args: list[str], field: str, fix: str
) -> None:
    folder, run = recorded
    proc = dagwright(folder, "replay", run, "use[0]", *args)
    assert proc.returncode == 2, proc.stdout
    assert f"field '{field}'" in proc.stderr and fix in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "--- use[0] starts" not in proc.stdout  # nothing ran


def test_a_bad_run_or_step_exits_2_naming_what_there_is(recorded: tuple[Path, str]) -> None:
    folder, run = recorded
    proc = dagwright(folder, "replay", "no-such-run", "make")
    assert proc.returncode == 2
    assert "no run 'no-such-run'" in proc.stderr and "dagwright runs ls" in proc.stderr
    proc = dagwright(folder, "replay", run, "train")
    assert proc.returncode == 2
    assert "has no step 'train'" in proc.stderr
    assert "make, use[0], use[1], use[2], total" in proc.stderr
    assert f"dagwright runs show {run}" in proc.stderr
    proc = dagwright(folder, "replay", run, "use")  # three executions: which one?
    assert proc.returncode == 2
    assert "ran 3 times" in proc.stderr and "use[0], use[1], use[2]" in proc.stderr
    proc = dagwright(folder, "replay", run, "use[7]")
    assert proc.returncode == 2 and "no execution 'use[7]'" in proc.stderr
    proc = dagwright(folder, "replay", run, "make", "--root", str(folder / "elsewhere"))
    assert proc.returncode == 2 and "field '--root'" in proc.stderr
    assert not (folder / "elsewhere").exists()
    assert "Traceback" not in proc.stderr


def test_a_secret_reaches_the_step_as_in_the_run_and_is_never_printed(tmp_path: Path) -> None:
    write(tmp_path)
    token = "s3cr3t-token-value-42"
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"API_TOKEN={token}\n", encoding="utf-8")
    key = "k3y-of-the-api-1234567"  # a secret parameter: masked in the recorded inputs
    proc = dagwright(
        tmp_path,
        "run",
        "replayed.py:with_secret",
        "-q",
        "--secrets-file",
        "secrets.env",
        "-p",
        f"api_key={key}",
    )
    assert proc.returncode == 0, proc.stderr
    run = run_id(proc)
    proc = dagwright(tmp_path, "replay", run, "call", "--secrets-file", "secrets.env")
    assert proc.returncode == 0, proc.stderr
    # the Secret's value from the file, the masked parameter's from the run's own record
    assert table_line(proc.stdout, "output")[1:] == ['"hi:21:22"', '"hi:21:22"', "same"]
    assert '  api_key = "***"' in proc.stdout
    assert token not in proc.stdout + proc.stderr and key not in proc.stdout + proc.stderr
    # from the environment, as run takes it; another value, another output
    proc = dagwright(tmp_path, "replay", run, "call", env={"API_TOKEN": "short"})
    assert proc.returncode == 1 and '"hi:5:22"' in proc.stdout
    assert table_line(proc.stdout, "output")[-1] == "differs"
    proc = dagwright(tmp_path, "replay", run, "call")  # found nowhere: refused, as run does
    assert proc.returncode == 2 and "API_TOKEN" in proc.stderr
    assert "--- call starts" not in proc.stdout
