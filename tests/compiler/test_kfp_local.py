"""The compiled KFP specs run under KFP's own local runner and give what ``dagwright run`` gives.

Each spec is loaded with ``kfp.components.load_component_from_file`` and executed end to end by
``kfp.local`` with ``SubprocessRunner(use_venv=False)``: KFP's orchestrator resolves the DAGs,
conditions, loops and exit handlers, and each step runs as KFP's lightweight-component
executor in a subprocess. No KFP backend runs here; kfp.local is the executable check.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import pytest
from kfp_backend_checks import assert_runs_as_compiled

import dagwright
from dagwright.components.artifacts import Artifact

kfp_local = pytest.importorskip("kfp.local")
kfp_components = pytest.importorskip("kfp.components")

CORPUS = corpus.NAMES
ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("local_runner")  # kfp.local set up (conftest.py)


def _content(value: Any) -> Any:
    """An artifact (KFP's or dagwright's) as the text it holds; other values as they are."""
    path = getattr(value, "path", None) if not isinstance(value, (str, int, float)) else None
    if isinstance(value, Artifact) or path:
        with open(value.path, encoding="utf-8") as f:
            return f.read()
    return value


def _journal_args(pipeline: Any, folder: Path) -> dict[str, Any]:
    if "journal" not in inspect.signature(pipeline.func).parameters:
        return {}
    folder.mkdir()
    return {"journal": str(folder)}


def _run_both(
    pipeline: Any, spec: Path, tmp_path: Path, **arguments: Any
) -> tuple[Any, Any, list[str], list[str]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    kfp_args = {**arguments, **_journal_args(pipeline, tmp_path / "kfp-journal")}
    ours_args = {**arguments, **_journal_args(pipeline, tmp_path / "ours-journal")}
    loaded = kfp_components.load_component_from_file(str(spec))
    try:
        kfp_outputs: Any = loaded(**kfp_args).outputs
    except RuntimeError as exc:  # kfp.local raises when a task fails
        kfp_outputs = exc
    ours = dagwright.run(pipeline, ours_args, echo=False, root=tmp_path / "store")

    def journal(args: dict[str, Any]) -> list[str]:
        return sorted(os.listdir(args["journal"])) if "journal" in args else []

    return kfp_outputs, ours, journal(kfp_args), journal(ours_args)


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_pipeline_runs_on_kfp_local_like_dagwright_run(name: str, tmp_path: Path) -> None:
    pipeline = getattr(corpus, name)
    spec = tmp_path / f"{name}.yaml"
    dagwright.compile(pipeline, target="kfp", path=spec)
    assert_runs_as_compiled(spec.read_text(encoding="utf-8"))
    kfp_outputs, ours, kfp_journal, our_journal = _run_both(pipeline, spec, tmp_path)
    assert ours.succeeded
    assert not isinstance(kfp_outputs, Exception), kfp_outputs
    assert {k: _content(v) for k, v in kfp_outputs.items()} == {
        k: _content(v) for k, v in ours.outputs.items()
    }
    assert kfp_journal == our_journal


def test_failing_block_still_runs_its_exit_task_on_kfp_local(tmp_path: Path) -> None:
    spec = tmp_path / "exit.yaml"
    dagwright.compile(corpus.exit_handler, target="kfp", path=spec)
    assert_runs_as_compiled(spec.read_text(encoding="utf-8"))
    kfp_outputs, ours, kfp_journal, our_journal = _run_both(
        corpus.exit_handler, spec, tmp_path, fail=True
    )
    assert isinstance(kfp_outputs, RuntimeError)
    assert "maybe-fail" in str(kfp_outputs)
    assert not ours.succeeded
    assert kfp_journal == our_journal == ["body", "cleanup"]


def test_iris_example_runs_on_kfp_local_like_dagwright_run(
    tmp_path: Path, local_runner: Path
) -> None:
    from dagwright.engine.result import SKIPPED, SUCCEEDED
    from dagwright.loader import load_pipeline

    iris = load_pipeline(str(ROOT / "examples" / "iris_training.py"))
    spec = tmp_path / "iris.yaml"
    dagwright.compile(iris, target="kfp", path=spec)
    assert_runs_as_compiled(spec.read_text(encoding="utf-8"))
    for threshold, status in ((0.5, SUCCEEDED), (1.0, SKIPPED)):
        published = len(list(local_runner.glob("iris-training-*/**/publish")))
        kfp_outputs, ours, _, _ = _run_both(
            iris, spec, tmp_path / str(threshold), threshold=threshold
        )
        assert ours.succeeded
        assert kfp_outputs["output"] == pytest.approx(ours.outputs["output"])
        assert ours.outputs["output"] > 0.9
        assert ours.step("publish").status == status
        ran_on_kfp = len(list(local_runner.glob("iris-training-*/**/publish"))) > published
        assert ran_on_kfp == (status == SUCCEEDED)


def test_image_delivery_imports_the_component_from_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spec carries no source; the step imports ``kfp_corpus`` as a project image would
    (here the "image" is this environment with the corpus folder on PYTHONPATH)."""
    spec = tmp_path / "image.yaml"
    dagwright.compile(
        corpus.loop_over_param, target="kfp", path=spec, code="image", image="python-project:1"
    )
    assert_runs_as_compiled(spec.read_text(encoding="utf-8"))
    assert "def square" not in spec.read_text()
    loaded = kfp_components.load_component_from_file(str(spec))
    monkeypatch.setenv("PYTHONPATH", str(Path(corpus.__file__).parent))
    assert loaded(xs=[2, 3]).outputs == {"total": 13, "squares": [4, 9]}
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # an image without the project
    with pytest.raises(RuntimeError, match="loop-1"):
        loaded(xs=[2, 3])
