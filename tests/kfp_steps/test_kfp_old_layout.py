"""A lightweight component in YAML written by an older kfp 2 (``python3 -m
kfp.components.executor_main`` in its command) is run as Python, never as a container."""

# no `from __future__ import annotations`: kfp reads the components' annotations as types
from pathlib import Path

import pytest

pytest.importorskip("kfp")

from kfp import compiler, dsl  # noqa: E402

import dagwright  # noqa: E402


@dsl.component
def add_old(a: int, b: int) -> int:
    return a + b


@dsl.pipeline
def old_layout() -> int:
    return add_old(a=2, b=3).output


def test_a_lightweight_component_written_by_an_older_kfp_runs_as_python_never_pip(
    tmp_path: Path,
) -> None:
    """Older kfp 2 betas ran ``python3 -m kfp.components.executor_main`` on the program: such
    a step was taken for a container and, on the host, ran the pip install of its command (into
    this environment)."""
    path = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(old_layout, str(path))
    text = path.read_text()
    assert "kfp.dsl.executor_main" in text
    path.write_text(text.replace("kfp.dsl.executor_main", "kfp.components.executor_main"))
    run = dagwright.run(str(path), root=tmp_path / "store", echo=False, host_containers=True)
    assert run.status == "succeeded" and run.outputs == {"Output": 5}

    absent = tmp_path / "absent.yaml"  # a package not here: the step names it, pip never runs
    absent.write_text(path.read_text().replace("'kfp==", "'not-here-xyz' 'kfp==", 1))
    run = dagwright.run(str(absent), root=tmp_path / "store2", echo=False, host_containers=True)
    (step,) = run.steps
    assert step.status == "failed" and "not installed here" in (step.error or "")
    assert "needs 'not-here-xyz'" in (step.error or "")
