"""Per-task settings change how that task runs, as the same ``@component`` options would: its
retries, its caching, and (in a Process step) its environment; tasks of the same component
without them run as before."""

from __future__ import annotations

import os
from pathlib import Path

import dagwright
from dagwright import component, pipeline
from dagwright.runtimes import Process


@component
def flaky(counter: str, fail_times: int) -> int:
    """Fail until it has been called ``fail_times`` times (counted in a file)."""
    path = Path(counter)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= fail_times:
        raise RuntimeError(f"call {calls} fails")
    return calls


@component(runtime=Process())
def mode(default: str = "none") -> str:
    return os.environ.get("DAGWRIGHT_TEST_MODE", default)


@component(cache=True)
def square(x: int) -> int:
    return x * x


def test_set_retry_retries_that_task_only(tmp_path: Path) -> None:
    @pipeline
    def p(retried: str, plain: str) -> int:
        flaky(counter=plain, fail_times=1)
        return flaky(counter=retried, fail_times=2).set_retry(2).output

    result = dagwright.run(
        p,
        {"retried": str(tmp_path / "r"), "plain": str(tmp_path / "p")},
        echo=False,
        root=tmp_path / "s",
        keep_going=True,
    )
    assert result.step("flaky-2").status == "succeeded"
    assert result.step("flaky-2").attempts == 3
    assert result.step("flaky-2").outputs == {"output": 3}
    assert result.step("flaky").status == "failed" and result.step("flaky").attempts == 1


def test_set_env_variable_reaches_a_process_step(tmp_path: Path) -> None:
    @pipeline
    def p() -> str:
        mode()
        return mode().set_env_variable("DAGWRIGHT_TEST_MODE", "fast").output

    result = dagwright.run(p, echo=False, root=tmp_path)
    assert result.outputs == {"output": "fast"}
    assert result.step("mode").outputs == {"output": "none"}


def test_set_caching_options_turns_the_cache_off_for_one_task(tmp_path: Path) -> None:
    @pipeline
    def p() -> None:
        square(x=2)
        square(x=3).set_caching_options(False)
        square(x=4).set_caching_options(True, cache_key="v2")

    dagwright.run(p, echo=False, root=tmp_path)
    again = dagwright.run(p, echo=False, root=tmp_path)
    cached = {s.task: s.cached for s in again.steps}
    assert cached == {"square": True, "square-2": False, "square-3": True}


def test_the_progress_lines_show_the_display_name_beside_the_task(tmp_path: Path) -> None:
    @pipeline
    def p() -> int:
        first = square(x=2).set_display_name("Square it")
        return square(x=first.output).output

    lines: list[str] = []
    result = dagwright.run(p, echo=lines.append, root=tmp_path, cache=False)
    assert result.outputs == {"output": 16}
    assert any("✓ square (Square it)" in line for line in lines)
    assert any("✓ square-2 " in line for line in lines)
    assert result.step("square").display_name == "Square it"  # the task's name stays


NAMED = """
import dagwright
from dagwright import Dataset, Input, component, pipeline


@component
def size(data: Input[Dataset]) -> int:
    with open(data.path, encoding="utf-8") as f:
        return len(f.read())


@pipeline
def named(uri: str) -> int:
    found = dagwright.importer(uri).set_display_name("Raw rows")
    return size(data=found.output).set_display_name("Count them").output
"""


def test_the_command_line_shows_display_names_in_run_inspect_and_runs_show(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    (tmp_path / "named.py").write_text(NAMED, encoding="utf-8")
    (tmp_path / "rows.csv").write_text("a,b\n", encoding="utf-8")
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "dagwright.cli", *args]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)

    ran = cli("run", "named.py", "-p", "uri=rows.csv")
    assert ran.returncode == 0, ran.stderr
    assert "importer (Raw rows)" in ran.stdout and "size (Count them)" in ran.stdout
    run_id = ran.stdout.split()[1]
    shown = cli("runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert "importer (Raw rows)" in shown.stdout and "size (Count them)" in shown.stdout
    inspected = cli("inspect", "named.py")
    assert "importer 'Raw rows' (importer)" in inspected.stdout
