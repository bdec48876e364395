"""``python -m dagwright.executor`` runs one step in a fresh process from the IR alone.

The subprocess runs in a folder where this test module cannot be imported, so the function is
rebuilt from the source the IR carries, as it would be in a KFP or Argo pod.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from dagwright import Dataset, Input, Output, component
from dagwright.executor import Step, StepOutcome, resolve_function, run_step
from dagwright.pipelines.ir import PipelineIR


class Summary(NamedTuple):
    lines: int
    first: str


@component
def summarise(data: Input[Dataset], copy: Output[Dataset], prefix: str = "> ") -> Summary:
    with open(data.path) as f:
        lines = f.read().splitlines()
    with open(copy.path, "w") as out:
        out.write("\n".join(prefix + line for line in lines))
    copy.metadata["source"] = data.uri
    return Summary(len(lines), lines[0])


@component
def fails(x: int) -> int:
    raise ValueError(f"bad {x}")


def _spec_from_ir(component_obj: object) -> object:
    """The component spec as a pod sees it: read back from the IR's YAML."""
    ir = PipelineIR(name="x", components={"c": component_obj.spec})  # type: ignore[attr-defined]
    return PipelineIR.from_yaml(ir.to_yaml()).components["c"]


def _execute(tmp_path: Path, step: Step) -> tuple[subprocess.CompletedProcess[str], dict]:
    (tmp_path / "step.json").write_text(json.dumps(step.to_dict()))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagwright.executor",
            "--step",
            "step.json",
            "--result",
            "result.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc, json.loads((tmp_path / "result.json").read_text())


@pytest.mark.integration
def test_a_step_runs_in_a_subprocess_from_the_ir_source(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("alpha\nbeta")
    step = Step(
        component=_spec_from_ir(summarise),  # type: ignore[arg-type]
        task="summarise",
        parameters={"prefix": "- "},
        artifacts={"data": {"type": "Dataset", "name": "data", "uri": str(source)}},
        outputs={"copy": str(tmp_path / "out" / "copy")},
    )
    proc, result = _execute(tmp_path, step)
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeWarning" not in proc.stderr
    outcome = StepOutcome.from_dict(result)
    assert outcome.values == {"lines": 2, "first": "alpha"}
    assert outcome.artifacts["copy"].metadata == {"source": str(source)}
    assert (tmp_path / "out" / "copy").read_text() == "- alpha\n- beta"


@pytest.mark.integration
def test_a_failing_step_exits_1_and_reports_the_error(tmp_path: Path) -> None:
    step = Step(component=_spec_from_ir(fails), task="fails", parameters={"x": 3})  # type: ignore[arg-type]
    proc, result = _execute(tmp_path, step)
    assert proc.returncode == 1
    assert result["error"] == "ValueError: bad 3"
    assert "raise ValueError" in result["traceback"]


def test_functions_resolve_live_then_from_source() -> None:
    assert resolve_function(summarise.spec) is summarise.func
    spec = _spec_from_ir(fails)
    spec.module = None  # type: ignore[attr-defined]
    spec.source = spec.source.replace("bad", "very bad")  # type: ignore[attr-defined]
    rebuilt = resolve_function(spec)  # type: ignore[arg-type]
    assert rebuilt is not fails.func
    with pytest.raises(ValueError, match="very bad 2"):
        rebuilt(x=2)


def test_run_step_in_process(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("one")
    outcome = run_step(
        Step(
            component=summarise.spec,
            task="s",
            artifacts={"data": {"type": "Dataset", "name": "data", "uri": str(source)}},
            outputs={"copy": str(tmp_path / "copy")},
        )
    )
    assert outcome.values == {"lines": 1, "first": "one"}
    assert (tmp_path / "copy").read_text() == "> one"
