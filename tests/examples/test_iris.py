"""The README's example pipeline trains, evaluates and publishes only above the threshold."""

from __future__ import annotations

import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dagwright.pipelines.ir import PipelineIR

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iris_training.py"


def _load() -> Any:
    spec = importlib.util.spec_from_file_location("iris_training", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_trains_and_publishes_above_the_threshold(run: Any) -> None:
    example = _load()
    result = run(example.iris_training)
    assert result.status == "succeeded"
    accuracy = result.outputs["output"]
    assert 0.9 < accuracy <= 1.0
    card = (result.run_dir / "publish" / "card").read_text()
    assert f"accuracy: {accuracy:.3f}" in card
    with open(result.run_dir / "train-model" / "model", "rb") as f:
        assert pickle.load(f).predict([[5.1, 3.5, 1.4, 0.2]])[0] == 0.0
    assert result.step("split-data").status == "succeeded"


def test_does_not_publish_below_the_threshold(run: Any) -> None:
    result = run(_load().iris_training, threshold=1.0)
    assert result.status == "succeeded"
    assert result.step("publish").status == "skipped"
    assert not (result.run_dir / "publish").exists()


def test_ir_round_trips_byte_identically() -> None:
    text = _load().iris_training.build().to_yaml()
    assert PipelineIR.from_yaml(text).to_yaml() == text


@pytest.mark.integration
def test_runs_from_its_ir_alone_in_a_fresh_process(tmp_path: Path) -> None:
    """The IR carries each component's source, so a process that cannot import the example
    module still runs it."""
    path = _load().iris_training.build().save(tmp_path / "iris.yaml")
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "run", str(path), "-q", "--root", "store"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    run_id, status = proc.stdout.split()
    assert status == "succeeded"
    assert (tmp_path / "store" / "artifacts" / run_id / "publish" / "card").exists()
