"""Compiled Argo Workflows, run by a stand-in for the Argo controller, give what ``dagwright
run`` gives.

No Argo controller runs here. ``argo_controller.ArgoControllerStandIn`` (a test stand-in,
not Argo) walks the emitted DAG templates, substitutes Argo's placeholders, evaluates
``when``, fans loops out and runs each container template's command as a local subprocess, so
every step really goes through the command the spec gives a pod. Every corpus, edge-case,
example and README pipeline runs this way in test_fidelity_corpus.py; here are the runs that
assert more than "the same as dagwright run".
"""

from __future__ import annotations

from pathlib import Path

import kfp_corpus as corpus
import pytest
import yaml
from argo_controller import ArgoControllerStandIn
from fidelity_helpers import run_both

import dagwright

pytest.importorskip("hera")
ROOT = Path(__file__).resolve().parents[2]


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


def test_a_condition_on_an_item_field_runs_only_matching_iterations(tmp_path: Path) -> None:
    import kfp_edge_cases as edges

    manifest = yaml.safe_load(dagwright.compile(edges.field_condition, target="argo"))
    stand_in = ArgoControllerStandIn(manifest, tmp_path)
    assert stand_in.run().phase == "Succeeded"
    assert stand_in.ran == ["show"]  # only the item with b = 3 > 2
