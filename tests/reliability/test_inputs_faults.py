"""Faults of the machine under the CLI (issue 13, item 13): a full disk and a read-only file
system under the store, a reader that closes the pipe early (``| head``), and a failing step
whose recorded traceback must start at the user's code."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from inputs_helpers import dagwright, project, snapshot

from dagwright.store.rundb import RunDatabase

pytestmark = pytest.mark.integration


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs: a real file system that fills up or is read-only. Mounting needs root
    (CAP_SYS_ADMIN); a chmod'ed folder would not do, as root writes there anyway."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,nr_inodes=64", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_fault_a_full_disk_under_the_store_is_refused_before_any_step(
    tmp_path: Path, tmpfs: Path
) -> None:
    folder = project(tmp_path / "project")
    filler = os.open(tmpfs / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError) as full:  # fill it until the device says so
            while True:
                os.write(filler, b"\0" * 4096)
        assert full.value.errno == errno.ENOSPC
    finally:
        os.close(filler)
    before, mounted = snapshot(folder), snapshot(tmpfs)

    proc = dagwright(folder, "run", "flow.py", "--root", str(tmpfs / "store"))

    assert proc.returncode == 2, proc.stderr
    assert "field '--root'" in proc.stderr and "no space left on the device" in proc.stderr
    assert "Fix: point --root at a folder you can write to, with free space" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(tmpfs) == mounted  # the store folder it tried was removed again
    assert snapshot(folder) == before


def test_fault_a_read_only_file_system_under_the_store_is_refused(
    tmp_path: Path, tmpfs: Path
) -> None:
    folder = project(tmp_path / "project")
    (tmpfs / "store").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    before = snapshot(folder)

    proc = dagwright(
        folder, "run", "flow.py", "--root", str(folder / "home"), "--store", str(tmpfs / "store")
    )

    assert proc.returncode == 2, proc.stderr
    assert "field '--store'" in proc.stderr and "read-only file system" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert snapshot(folder) == before  # the --root checked first was removed again


def _many_runs(home: Path, count: int) -> None:
    db = RunDatabase(home / "runs.db")
    for i in range(count):
        db.start_run(f"nightly-{i:05d}", "flow", {}, "{}", str(home / "artifacts"))
    db.close()


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "ls", "-n", "5000"),
        ("runs", "ls", "-n", "5000", "--json"),
        ("inspect", "flow.py"),
        ("run", "wide.py", "--no-lineage"),
    ],
    ids=["runs-ls", "runs-ls-json", "inspect", "run"],
)
def test_fault_the_reader_closes_the_pipe_after_one_byte(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """As ``dagwright ... | head -c 1``: the reader takes a byte and goes; the writer gets
    EPIPE on a later write. The command finishes its work quietly (its output goes nowhere)
    with its own exit code, and a run records its end instead of staying 'running'."""
    folder = project(tmp_path / "project", WIDE)
    _many_runs(folder / "home", 5000)
    env = {**os.environ, "DAGWRIGHT_HOME": str(folder / "home")}
    head = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert head.stdin is not None
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=folder,
        env=env,
        stdout=head.stdin,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    head.stdin.close()
    head.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr
    if args[0] == "run":  # a line per finished step went to a closed pipe; the run went on
        assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
        db = RunDatabase(folder / "home" / "runs.db")
        (run,) = [r for r in db.runs(10) if r["pipeline"] == "wide"]
        steps = db.steps(run["run_id"])
        db.close()
        assert run["status"] == "succeeded" and len(steps) == 2000
    else:
        assert proc.stderr == "", proc.stderr


WIDE = {
    "wide.py": """
        from dagwright import ParallelFor, component, pipeline

        @component
        def square(x: int) -> int:
            return x * x

        @pipeline
        def wide():
            with ParallelFor(list(range(2000))) as x:
                square(x=x)
    """
}


def test_fault_the_reader_is_gone_before_the_first_write(tmp_path: Path) -> None:
    folder = project(tmp_path / "project")
    read, write = os.pipe()
    os.close(read)  # no reader at all: the first write fails
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dagwright.cli", "compile", "flow.py"],
            cwd=folder,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert proc.returncode == 0
    assert proc.stderr == ""


FAILING = {
    "failing.py": """
        from dagwright import component, pipeline
        from dagwright.runtimes import Local, Process

        def parse(text):
            return int(text)

        @component(runtime=RUNTIME())
        def read(text: str) -> int:
            return parse(text)

        @pipeline
        def failing(text: str = "seven"):
            read(text=text)
    """
}


@pytest.mark.parametrize("runtime", ["Local", "Process"])
def test_fault_a_failing_steps_traceback_starts_at_the_users_code(
    tmp_path: Path, runtime: str
) -> None:
    files = {name: text.replace("RUNTIME", runtime) for name, text in FAILING.items()}
    folder = project(tmp_path / "project", files)
    proc = dagwright(folder, "run", "failing.py", "-q")
    assert proc.returncode == 1, proc.stderr
    run_id = proc.stdout.split()[0]
    logs = dagwright(folder, "logs", run_id, "read", "--json")
    (step,) = json.loads(logs.stdout)
    lines = step["traceback"].splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1].startswith(f'  File "{folder / "failing.py"}", line 9, in read')
    assert "ValueError: invalid literal for int() with base 10: 'seven'" in lines[-1]
    assert "dagwright" not in "".join(line for line in lines if line.startswith("  File"))


def test_fault_first_runs_racing_on_a_fresh_store_all_pass_its_check(tmp_path: Path) -> None:
    """Eight engines start at once on a store folder that does not exist yet: each makes the
    missing folders; one finding a folder another just made must not refuse the store."""
    folder = project(tmp_path / "project")
    root = tmp_path / "fresh" / "nested" / "store"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "DAGWRIGHT_TRACKING": "off"}
    engines = [
        subprocess.Popen(
            [sys.executable, "-m", "dagwright.cli", "run", "flow.py", "--root", str(root), "-q"],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    outcomes = [engine.communicate(timeout=300) for engine in engines]
    for engine, (out, err) in zip(engines, outcomes, strict=True):
        assert engine.returncode == 0, err
        assert out.split()[1] == "succeeded"
    db = RunDatabase(root / "runs.db")
    assert len(db.runs(20)) == 8
    db.close()
    assert not list(root.rglob(".dagwright-probe-*"))  # every probe was removed


def test_fault_store_checks_racing_in_threads_never_refuse_a_folder_made_beside_them(
    tmp_path: Path,
) -> None:
    """The same race, tightened: eight threads check one missing store path at once, thirty
    times; a folder made by a neighbour between its look and its mkdir is fine."""
    from dagwright.store.preflight import check_store

    refused: list[Exception] = []
    for trial in range(30):
        root = tmp_path / f"trial-{trial}" / "nested" / "store"

        def check(root: Path = root) -> None:
            try:
                check_store(root, str(root / "artifacts"))
            except Exception as exc:  # collected for the assertion below
                refused.append(exc)

        threads = [threading.Thread(target=check) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert (root / "artifacts").is_dir()
    assert refused == []
