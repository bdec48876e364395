"""The IR round-trips losslessly and is byte-stable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dagwright import (
    Collected,
    Elif,
    Else,
    ExitHandler,
    If,
    ParallelFor,
    ValidationError,
    component,
    pipeline,
)
from dagwright.pipelines.ir import IR_VERSION, PipelineIR

ROOT = Path(__file__).resolve().parents[2]


@component(packages=["numpy"], retries=2, cpu="1", timeout=5.0, cache=True)
def square(x: int) -> int:
    """Square a number.

    Args:
        x: The number.
    """
    return x * x


@component
def report(values: list[int], note: str = "multi\nline: with 'quotes' and \"more\"") -> str:
    return note


@pipeline(schedule="0 3 * * *")
def everything(xs: list[int] = [1, 2, 3], limit: int = 5) -> str:  # noqa: B006
    """Uses every kind of block."""
    done = report(values=[0])
    with ExitHandler(done):
        with ParallelFor(xs, parallelism=2) as x:
            sq = square(x=x)
            with If((sq.output > limit) | (sq.output == 1)):
                square(x=sq.output)
        final = report(values=Collected(sq.output))
    return final.output


def test_round_trip_is_lossless_and_byte_identical() -> None:
    ir = everything.build()
    text = ir.to_yaml()
    again = PipelineIR.from_yaml(text)
    assert again == ir
    assert again.to_yaml() == text
    assert PipelineIR.from_json(ir.to_json()) == ir
    assert PipelineIR.from_json(ir.to_json()).to_json() == ir.to_json()
    assert PipelineIR.from_dict(ir.to_dict()).to_dict() == ir.to_dict()


def test_ir_is_versioned_plain_data() -> None:
    data = everything.build().to_dict()
    assert data["apiVersion"] == IR_VERSION and data["kind"] == "Pipeline"
    assert data["schedule"] == "0 3 * * *"
    component_entry = data["components"]["square"]
    assert component_entry["digest"] == square.digest
    assert component_entry["packages"] == ["numpy"]
    assert component_entry["retry"]["limit"] == 2
    assert "def square(x: int) -> int:" in component_entry["source"]
    assert list(data["components"]) == ["report", "square"]
    assert len(data["tasks"]) == 4


def test_save_and_load_choose_format_by_suffix(tmp_path: Path) -> None:
    ir = everything.build()
    for name in ("p.yaml", "p.json"):
        path = ir.save(tmp_path / name)
        assert PipelineIR.load(path) == ir
    assert (tmp_path / "p.json").read_text().startswith("{")


def test_a_component_edited_after_compiling_is_refused() -> None:
    data = everything.build().to_dict()
    data["components"]["square"]["source"] += "# edited\n"
    with pytest.raises(
        ValidationError, match="component 'square' was changed after it was compiled"
    ):
        PipelineIR.from_dict(data)


def test_same_pipeline_gives_byte_identical_output_in_separate_processes(tmp_path: Path) -> None:
    outputs = []
    for i in range(2):
        out = tmp_path / f"ir{i}.yaml"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "dagwright.cli",
                "compile",
                str(ROOT / "examples" / "iris_training.py"),
                "--target",
                "ir",
                "-o",
                str(out),
            ],
            check=True,
            cwd=tmp_path,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert PipelineIR.from_yaml(outputs[0].decode()).to_yaml().encode() == outputs[0]


def test_shared_values_are_written_out_in_full(tmp_path: Path) -> None:
    weights = [1, 2, 3]

    @component
    def weigh(values: list[int]) -> int:
        return sum(values)

    @pipeline
    def branches(x: int = 3) -> None:
        first = weigh(values=weights)
        weigh(values=weights)
        with If(first.output > 10):
            weigh(values=[1])
        with Elif(first.output > 4):
            weigh(values=[2])
        with Else():
            weigh(values=[3])

    ir = branches.build()
    weights.append(4)  # the IR keeps the value it was given
    text = ir.to_yaml()
    assert "&id" not in text and "*id" not in text
    assert ir.task("weigh").inputs["values"] == {"constant": [1, 2, 3]}
    via_json = PipelineIR.from_json(PipelineIR.from_yaml(text).to_json()).to_yaml()
    assert via_json == text
