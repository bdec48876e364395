"""Names in a condition that Argo treats specially, compiled and run under the Argo stand-in
like ``dagwright run``.

No Argo controller runs here: the stand-in models Argo v4's expression tags
(``util/template/expression_template.go``: ``expressionReplace`` leaves a whole tag
unresolved when it holds the variable ``retries``, ``lastRetry.*``, ``workflow.status`` or
``workflow.failures`` and the environment lacks it; a DAG task's ``when`` never has them) and
Argo's validation of DAG task names (``workflow/validate/validate.go``: no leading digit).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_controller import ArgoControllerStandIn
from fidelity_helpers import run_both
from kfp_corpus import note

import dagwright
from dagwright import If, component, pipeline

pytest.importorskip("hera")


@component
def count(n: int) -> int:
    return n


@component(name="retries")
def retries_step(n: int) -> int:
    return n


@component(name="1st")
def first_step(n: int) -> int:
    return n


@pipeline
def on_retries(journal: str, retries: int = 3) -> None:
    """A pipeline parameter, a task and an output named ``retries`` read by conditions."""
    with If(retries > 1):
        note(journal=journal, text="param").named("by-param")
    with If(retries_step(n=retries).output > 2):
        note(journal=journal, text="task").named("by-task")


@pipeline
def on_a_digit_first_task(journal: str, n: int = 5) -> None:
    """A condition on the output of a task whose name begins with a digit (renamed for Argo)."""
    with If(first_step(n=n).output > 1):
        note(journal=journal, text="after-1st")


def _whens(manifest: dict[str, Any]) -> list[str]:
    return [
        task["when"]
        for template in manifest["spec"]["templates"]
        for task in (template.get("dag") or {}).get("tasks", [])
        if "when" in task
    ]


def _with_whens(manifest: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    changed = copy.deepcopy(manifest)
    for template in changed["spec"]["templates"]:
        for task in (template.get("dag") or {}).get("tasks", []):
            if "when" in task:
                task["when"] = change(task["when"])
    return changed


@pytest.mark.parametrize("retries", [0, 3])
def test_conditions_on_things_named_retries_run_as_dagwright_run(
    tmp_path: Path, retries: int
) -> None:
    node, ours, theirs, mine = run_both(on_retries, tmp_path, retries=retries)
    assert ours.succeeded and node.phase == "Succeeded"
    assert theirs == mine
    assert mine[1] == (["param", "task"] if retries == 3 else [])


def test_an_identifier_retries_leaves_the_tag_unresolved_and_fails_the_node(
    tmp_path: Path,
) -> None:
    """The compiled form writes ``['retries']`` (a string token); the same ``when`` with the
    identifier, as before, is held back by ``anyVarNotInEnv`` and govaluate fails on ``{{=``."""
    text = dagwright.compile(dagwright.api.to_ir(on_retries), target="argo")
    manifest = yaml.safe_load(text)
    assert all(".retries" not in when for when in _whens(manifest))
    old_form = _with_whens(manifest, lambda when: when.replace("['retries']", ".retries"))
    assert any(".retries" in when for when in _whens(old_form))
    stand_in = ArgoControllerStandIn(old_form, tmp_path)
    journal = tmp_path / "journal"
    journal.mkdir()
    assert stand_in.run({"journal": str(journal)}).phase == "Failed"
    assert any("'retries'" in error for error in stand_in.errors)


@pytest.mark.parametrize("n", [0, 5])
def test_a_condition_on_a_renamed_digit_first_task_runs_as_dagwright_run(
    tmp_path: Path, n: int
) -> None:
    manifest = yaml.safe_load(
        dagwright.compile(dagwright.api.to_ir(on_a_digit_first_task), target="argo")
    )
    assert all("'1st'" not in when and "'t-1st'" in when for when in _whens(manifest))
    node, ours, theirs, mine = run_both(on_a_digit_first_task, tmp_path, n=n)
    assert ours.succeeded and node.phase == "Succeeded"
    assert theirs == mine
    assert mine[1] == (["after-1st"] if n > 1 else [])
