"""KFP -> Argo: imported KFP pipelines compiled with ``dagwright.compile(ir, target="argo")``.

Every shape of ``kfp_pipelines`` compiles to a Workflow the test stand-in for the Argo
controller accepts (``tests/compiler/argo_controller.py``: no Argo controller runs here; it
validates the manifest as Argo does, walks it as the controller does and runs each container
template's command as a local subprocess). A subset, one per construct (each step is a process
that imports dagwright and kfp: the loops that hold files cost half a minute each), runs under
the stand-in and gives the outputs and journal a correct run gives, as ``dagwright.run`` does
(``test_runs.py``). What an Argo Workflow cannot hold (a OneOf or a nested Collected as a
pipeline output, an importer whose URI is a run parameter) is refused by name with a fix.

The pods of imported Python components get kfp (the stand-in would not show its absence:
it runs each command where kfp is installed, so the spec is checked).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("kfp")
pytest.importorskip("hera")

import yaml  # noqa: E402
from kfp_pipelines import BY_NAME, SHAPES, Shape, strict  # noqa: E402
from kfp_runs import imported, on_argo, stand_in_module  # noqa: E402
from test_runs import params  # noqa: E402

import dagwright  # noqa: E402
from dagwright.errors import ValidationError  # noqa: E402

RUN_ON_ARGO = [
    "plain-chain",
    "artifacts-of-each-kind",
    "named-tuple-outputs",
    "nested-pipelines",
    "if-elif-else",
    "condition-on-loop-item",
    "loop-over-dicts",
    "loop-over-parameter",
    "collected-artifacts",
    "exit-handler-plain",
    "after-only",
    "retry-then-succeed",
    "resources-and-env",
    "pipeline-outputs",
    "outer-output-in-static-loop",
    "collected-ints",
    "one-of-artifacts",
    "exit-handler-fails",
    "ignore-upstream-failure",
    "container-component",
]
# what the Argo target refuses by name, with a fix, rather than compile it wrong
ARGO_REFUSES = {
    "one-of-params": "pipeline output 'Output' is not made by a task",
    "outer-output-in-nested-loop": "pipeline output 'Output' collects over nested loops",
    "inner-loop-over-outer-item": "pipeline output 'Output' collects over nested loops",
    "importer-step": 'takes its URI from {"param": "uri"}',
}
COMPILES = [s for s in SHAPES if s.name not in ARGO_REFUSES]


@pytest.mark.parametrize("shape", params(COMPILES))
def test_every_imported_pipeline_compiles_to_a_workflow_argo_takes(
    shape: Shape, tmp_path: Path
) -> None:
    ir = imported(shape, tmp_path)
    manifest = yaml.safe_load(dagwright.compile(ir, target="argo"))
    # what Argo refuses at submission: its schema, names, unresolvable variables
    stand_in_module().ArgoControllerStandIn(manifest, tmp_path / "stand-in")
    dag_tasks = {
        task["name"]
        for template in manifest["spec"]["templates"]
        for task in template.get("dag", {}).get("tasks", [])
    }
    exit_tasks = {g.exit_task for g in ir.groups if g.exit_task}  # exit hooks, not DAG tasks
    assert {t.name for t in ir.tasks} - exit_tasks <= dag_tasks


@pytest.mark.parametrize("name", sorted(ARGO_REFUSES))
def test_what_argo_cannot_hold_is_refused_by_name(name: str, tmp_path: Path) -> None:
    ir = imported(BY_NAME[name], tmp_path)
    with pytest.raises(ValidationError, match=re.escape(ARGO_REFUSES[name])) as refused:
        dagwright.compile(ir, target="argo")
    assert refused.value.fix  # and says what to do instead


@pytest.mark.integration
@pytest.mark.parametrize("shape", params([BY_NAME[name] for name in RUN_ON_ARGO]))
def test_imported_pipeline_runs_on_argo_with_the_same_outputs(shape: Shape, tmp_path: Path) -> None:
    got, node = on_argo(shape, tmp_path)
    assert (node.phase == "Succeeded") is shape.succeeds, got.error
    if shape.succeeds:
        assert strict(got.outputs) == strict(shape.outputs)
    assert got.journal == shape.journal


def test_pods_of_imported_python_components_get_kfp(tmp_path: Path) -> None:
    ir = imported(BY_NAME["plain-chain"], tmp_path)
    manifest = yaml.safe_load(dagwright.compile(ir, target="argo"))
    steps = [t for t in manifest["spec"]["templates"] if t["name"] in ir.components]
    assert steps
    for template in steps:
        command = " ".join(template["container"]["command"])
        assert "kfp" in command, command
