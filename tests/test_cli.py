"""The ``dagwright`` command, run as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagwright.pipelines.ir import PipelineIR

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "pipelines.py"

pytestmark = pytest.mark.integration


def dagwright(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_with_params_prints_steps_and_outputs(tmp_path: Path) -> None:
    proc = dagwright(
        tmp_path,
        "run",
        f"{FIXTURE}:greet",
        "-p",
        "word=yo",
        "-p",
        "times=3",
        "-p",
        'tags=["a", "b"]',
    )
    assert proc.returncode == 0, proc.stderr
    assert "✓ shout[0]" in proc.stdout and "✓ shout[1]" in proc.stdout
    assert "output output = 'YO!YO!YO!'" in proc.stdout
    (record,) = json.loads(dagwright(tmp_path, "runs", "ls", "--json").stdout)
    assert record["params"] == {"word": "yo", "times": 3, "tags": ["a", "b"]}
    assert record["outputs"] == {"output": "YO!YO!YO!"}


def test_a_failed_run_exits_1(tmp_path: Path) -> None:
    proc = dagwright(tmp_path, "run", f"{FIXTURE}:failing", "-q")
    assert proc.returncode == 1
    assert proc.stdout.split()[1] == "failed"


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", f"{FIXTURE}:invalid"], "task 'count', field 'n': type mismatch"),
        (["run", f"{FIXTURE}:greet", "-p", "times=many"], "field 'times': cannot read 'many'"),
        (["run", f"{FIXTURE}:greet", "-p", "colour=red"], "unknown parameter 'colour'"),
        (["run", f"{FIXTURE}:greet", "-p", "times"], "'-p times' is not name=value"),
        (["run", str(FIXTURE)], "defines several pipelines"),
        (["run", f"{FIXTURE}:nope"], "has no pipeline 'nope'"),
        (["run", "missing.py"], "no such file 'missing.py'"),
        (["compile", f"{FIXTURE}:greet", "--target", "nomad"], "unknown target 'nomad'"),
        (["inspect", f"{FIXTURE}:invalid"], "type mismatch"),
    ],
)
def test_bad_input_exits_2_without_a_traceback(
    tmp_path: Path, args: list[str], message: str
) -> None:
    proc = dagwright(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "home").exists()


def test_inspect_prints_tasks_edges_and_blocks(tmp_path: Path) -> None:
    proc = dagwright(tmp_path, "inspect", f"{FIXTURE}:greet")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "pipeline greet"
    assert "  times: int = 2" in lines
    assert "  shout (shout)  in loop-1" in lines
    assert "    in  word <- item(loop-1)" in lines
    assert "  loop-1: for item in tags" in lines
    assert "  output <- shout-2.output" in lines


def test_compile_then_run_and_compile_from_the_ir_file(tmp_path: Path) -> None:
    out = tmp_path / "greet.yaml"
    proc = dagwright(tmp_path, "compile", f"{FIXTURE}:greet", "--target", "ir", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    again = dagwright(tmp_path, "compile", str(out))
    assert again.stdout == out.read_text()
    assert PipelineIR.load(out).name == "greet"
    ran = dagwright(tmp_path, "run", str(out), "-p", "word=ir")
    assert ran.returncode == 0, ran.stderr
    assert "output output = 'IR!IR!'" in ran.stdout


def test_an_error_in_the_pipeline_file_exits_2_with_the_users_frames(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise ImportError('no such thing')\n")
    proc = dagwright(tmp_path, "run", str(broken))
    assert proc.returncode == 2
    assert f'File "{broken}", line 1, in <module>' in proc.stderr
    assert "ImportError: no such thing" in proc.stderr
    assert "Traceback" not in proc.stderr and "dagwright/loader.py" not in proc.stderr


def test_a_pipeline_file_named_like_a_stdlib_module_shadows_nothing(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "json.py").write_text(FIXTURE.read_text())
    proc = dagwright(tmp_path, "run", "flows/json.py:greet", "-q")
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.split()[0]
    record = json.loads(dagwright(tmp_path, "runs", "show", run_id, "--json").stdout)
    assert record["outputs"] == {"output": "HI!HI!"}


def test_a_saved_ir_runs_components_that_use_module_helpers(tmp_path: Path) -> None:
    """Compiled in the fixtures folder, run from another folder that cannot import it."""
    out = tmp_path / "helpers.yaml"
    helpers = ROOT / "tests" / "fixtures" / "helpers_pipeline.py"
    assert dagwright(tmp_path, "compile", str(helpers), "-o", str(out)).returncode == 0
    for runtime_file in ("local", "process"):
        if runtime_file == "process":
            text = out.read_text().replace("kind: local", "kind: process")
            out.write_text(text.replace(_digest_line(text), ""))
        proc = dagwright(tmp_path, "run", str(out), "-p", "x=9")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "output output = 'v27'" in proc.stdout


def _digest_line(text: str) -> str:
    return next(line + "\n" for line in text.splitlines() if line.strip().startswith("digest:"))


def test_optional_parameters_take_null(tmp_path: Path) -> None:
    flow = tmp_path / "optional.py"
    flow.write_text(
        "from typing import Optional\nfrom dagwright import component, pipeline\n\n"
        "@component\ndef show(w: Optional[float] = 1.0) -> str:\n    return repr(w)\n\n"
        "@pipeline\ndef p(w: Optional[float] = 1.0) -> str:\n    return show(w=w).output\n"
    )
    proc = dagwright(tmp_path, "run", str(flow), "-p", "w=null")
    assert proc.returncode == 0, proc.stderr
    assert "output output = 'None'" in proc.stdout


def test_a_pipeline_imported_as_a_step_is_not_counted(tmp_path: Path) -> None:
    (tmp_path / "parts.py").write_text(
        "from dagwright import component, pipeline\n\n"
        "@component\ndef one() -> int:\n    return 1\n\n"
        "@pipeline\ndef part() -> int:\n    return one().output\n"
    )
    (tmp_path / "main_flow.py").write_text(
        "from dagwright import pipeline\nfrom parts import part\n\n"
        "@pipeline\ndef whole() -> int:\n    return part().output\n"
    )
    proc = dagwright(tmp_path, "run", "main_flow.py", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[1] == "succeeded"


def test_compile_creates_the_output_folder(tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "greet.yaml"
    proc = dagwright(tmp_path, "compile", f"{FIXTURE}:greet", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert PipelineIR.load(out).name == "greet"
