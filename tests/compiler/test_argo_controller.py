"""Compiled Argo Workflows, run by a stand-in for the Argo controller, give what ``dagwright
run`` gives.

No Argo controller runs here. ``argo_controller.ArgoControllerStandIn`` (a test stand-in,
not Argo) walks the emitted DAG templates, substitutes Argo's placeholders, evaluates
``when``, fans loops out and runs each container template's command as a local subprocess, so
every step really goes through the command the spec gives a pod.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import pytest
import yaml
from argo_controller import ArgoControllerStandIn

import dagwright
from dagwright.compiler.argo.entry import decode, encode
from dagwright.components.artifacts import Artifact

pytest.importorskip("hera")
ROOT = Path(__file__).resolve().parents[2]
CORPUS = corpus.NAMES


def _journal(pipeline: Any, folder: Path) -> dict[str, str]:
    if "journal" not in inspect.signature(pipeline.func).parameters:
        return {}
    folder.mkdir(parents=True)
    return {"journal": str(folder)}


def _read(value: Any) -> Any:
    if isinstance(value, Artifact):
        return Path(value.path).read_text(encoding="utf-8")
    return value


def run_both(pipeline: Any, tmp_path: Path, **arguments: Any) -> tuple[Any, Any, Any, Any]:
    """The stand-in's run of the compiled spec and dagwright's own run: each run's outcome,
    then (outputs, steps journal) of each."""
    ir = dagwright.api.to_ir(pipeline)
    manifest = yaml.safe_load(dagwright.compile(ir, target="argo"))
    theirs_args = {**arguments, **_journal(pipeline, tmp_path / "argo-journal")}
    ours_args = {**arguments, **_journal(pipeline, tmp_path / "ours-journal")}
    node = ArgoControllerStandIn(manifest, tmp_path / "argo").run(
        {k: encode(v) for k, v in theirs_args.items()}
    )
    outputs: dict[str, Any] = {}
    for name, value in ir.outputs.items():
        ref = value.get("collected", value)
        out = ir.component_of(ref["task"]).output(ref["output"])
        assert out is not None
        if name in node.artifacts:
            outputs[name] = Path(node.artifacts[name]).read_text(encoding="utf-8")
        elif name in node.params:
            type_str = f"list[{out.type}]" if "collected" in value else out.type
            outputs[name] = decode(node.params[name], type_str)
    ours = dagwright.run(pipeline, ours_args, echo=False, root=tmp_path / "store")

    def journal(args: dict[str, Any]) -> list[str]:
        return sorted(os.listdir(args["journal"])) if "journal" in args else []

    mine = {k: _read(v) for k, v in ours.outputs.items()}
    return node, ours, (outputs, journal(theirs_args)), (mine, journal(ours_args))


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_pipeline_runs_under_the_stand_in_like_dagwright_run(
    name: str, tmp_path: Path
) -> None:
    node, ours, theirs, mine = run_both(getattr(corpus, name), tmp_path)
    assert ours.succeeded
    assert node.phase == "Succeeded"
    assert theirs == mine


def test_arguments_reach_the_workflow_parameters(tmp_path: Path) -> None:
    node, ours, theirs, mine = run_both(corpus.branches, tmp_path, n=3)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine == ({"output": 30}, ["big", "both"])


def test_a_failing_block_still_runs_its_exit_hook(tmp_path: Path) -> None:
    node, ours, theirs, mine = run_both(corpus.exit_handler, tmp_path, fail=True)
    assert node.phase == "Failed" and not ours.succeeded
    assert theirs[1] == mine[1] == ["body", "cleanup"]


def test_iris_example_runs_under_the_stand_in_like_dagwright_run(tmp_path: Path) -> None:
    from dagwright.loader import load_pipeline

    iris = load_pipeline(str(ROOT / "examples" / "iris_training.py"))
    for threshold in (0.5, 1.0):  # publish runs, then is skipped
        folder = tmp_path / str(threshold)
        manifest = yaml.safe_load(dagwright.compile(iris, target="argo"))
        stand_in = ArgoControllerStandIn(manifest, folder)
        node = stand_in.run({"threshold": str(threshold)})
        ours = dagwright.run(iris, {"threshold": threshold}, echo=False, root=folder / "store")
        assert node.phase == "Succeeded" and ours.succeeded
        assert float(node.params["output"]) == pytest.approx(ours.outputs["output"])
        assert ("publish" in stand_in.ran) == (threshold < 0.9)


@pytest.mark.parametrize(
    "name",
    [
        "name_clash",
        "untyped_nested",
        "empty_block",
        "explicit_none",
        "fixed_condition",
        "collected_through_if",
        "text_outputs",
        "exit_reads_a_sibling",
    ],
)
def test_edge_case_runs_under_the_stand_in_like_dagwright_run(name: str, tmp_path: Path) -> None:
    import kfp_edge_cases as edges

    node, ours, theirs, mine = run_both(getattr(edges, name), tmp_path)
    assert node.phase == "Succeeded" and ours.succeeded
    assert theirs == mine


def test_a_condition_on_an_item_field_runs_only_matching_iterations(tmp_path: Path) -> None:
    import kfp_edge_cases as edges

    manifest = yaml.safe_load(dagwright.compile(edges.field_condition, target="argo"))
    stand_in = ArgoControllerStandIn(manifest, tmp_path)
    assert stand_in.run().phase == "Succeeded"
    assert stand_in.ran == ["show"]  # only the item with b = 3 > 2
