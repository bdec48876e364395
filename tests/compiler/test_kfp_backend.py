"""What KFP's backend does with a spec where kfp.local does something else, item by item.

No KFP backend runs here (it needs a cluster). Each test compiles a pipeline, checks the spec
with ``kfp_backend_checks`` (which models the backend's source, cited there and in each test)
and shows that the check fails on the form dagwright wrote before; where kfp.local can run the
pipeline, its outputs are compared with ``dagwright run``'s.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import kfp_edge_cases as edges
import pytest
import yaml
from click.testing import CliRunner
from kfp_backend_checks import problems
from kfp_backend_runs import checked_spec as _spec
from kfp_backend_runs import on_kfp_local as _on_kfp_local

import dagwright
from dagwright import Collected, Else, ExitHandler, If, ParallelFor, component, pipeline
from dagwright.cli import cli
from dagwright.compiler.kfp import topology
from dagwright.compiler.kfp.dag import DagBuilder
from dagwright.errors import ValidationError

kfp_local = pytest.importorskip("kfp.local")
kfp_components = pytest.importorskip("kfp.components")


# 1. exit tasks


@pipeline
def exit_waits_on_a_task(journal: str) -> None:
    first = corpus.note(journal=journal, text="first").named("first")
    cleanup = corpus.note(journal=journal, text="cleanup").named("cleanup").after(first)
    with ExitHandler(cleanup):
        corpus.note(journal=journal, text="body")


@pipeline
def exit_task_is_awaited(journal: str) -> int:
    cleanup = corpus.note(journal=journal, text="cleanup").named("cleanup")
    with ExitHandler(cleanup):
        corpus.note(journal=journal, text="body")
    return corpus.count_marks(journal=journal).after(cleanup).output


@pytest.mark.parametrize(
    ("p", "field", "fix"),
    [
        (edges.exit_reads_a_sibling, "text", "pipeline parameter or a constant"),
        (exit_waits_on_a_task, "after", "drop the .after()"),
        (exit_task_is_awaited, "exit_task", "end the pipeline"),
    ],
    ids=["reads-a-task", "after-a-task", "awaited"],
)
def test_bad_exit_task_with_dependencies_is_refused_for_kfp(p: Any, field: str, fix: str) -> None:
    """Models ``backend/src/v2/compiler/argocompiler/dag.go`` (an exit task becomes an exit hook
    on each of its dependencies and leaves the DAG); the rule is the KFP SDK's
    (``kfp/dsl/tasks_group.py``: an exit task may not depend on other tasks)."""
    with pytest.raises(ValidationError) as err:
        dagwright.compile(p, target="kfp")
    assert err.value.field == field
    assert err.value.task == "cleanup"
    assert fix in str(err.value)
    if field != "exit_task":  # Argo's own exit handler takes a dependency (not a waiter)
        dagwright.compile(p, target="argo")


def test_bad_exit_task_exits_2_from_the_cli_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "exits.py"
    source.write_text(
        "from dagwright import ExitHandler, component, pipeline\n\n\n"
        "@component\ndef echo(text: str) -> str:\n    return text\n\n\n"
        "@pipeline\ndef exits() -> None:\n"
        "    made = echo(text='x').named('made')\n"
        "    cleanup = echo(text=made.output).named('cleanup')\n"
        "    with ExitHandler(cleanup):\n        echo(text='body')\n",
        encoding="utf-8",
    )
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(cli, ["compile", str(source), "-t", "kfp", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "exit task 'cleanup'" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_the_check_finds_exit_hooks_the_old_specs_had() -> None:
    """The old form: the exit task also depends on (reads) a task before its block, and a task
    waits on the exit task. Models argocompiler ``dag.go`` (``taskToExitTemplate`` per
    dependency, ``addImplicitDependencies``)."""
    spec = _spec(corpus.exit_handler)
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["cleanup"]["dependentTasks"] == ["exit-handler-1"]
    bad = copy.deepcopy(spec)
    bad["root"]["dag"]["tasks"]["cleanup"]["inputs"]["parameters"]["text"] = {
        "taskOutputParameter": {"producerTask": "exit-handler-1", "outputParameterKey": "x"}
    }
    bad["root"]["dag"]["tasks"]["cleanup"]["dependentTasks"].append("first")
    bad["root"]["dag"]["tasks"]["first"] = {"taskInfo": {"name": "first"}}
    bad["root"]["dag"]["tasks"]["later"] = {"dependentTasks": ["cleanup"]}
    found = problems(bad)
    assert any("cleanup: an exit task" in p and "'first'" in p for p in found), found
    assert any("later: depends on exit task cleanup" in p for p in found), found


# 2. waiting on an If block


@pipeline
def waits_on_either_branch(journal: str, n: int = 1) -> int:
    s = corpus.score(n=n)
    with If(s.output > 25):
        big = corpus.note(journal=journal, text="big").named("big")
    with Else():
        small = corpus.note(journal=journal, text="small").named("small")
    return corpus.count_marks(journal=journal).after(big, small).output


def test_a_task_after_a_branch_waits_on_a_block_that_succeeds_when_skipped() -> None:
    """argocompiler ``dag.go`` writes each dependency as ``<task>.Succeeded`` and skips a DAG
    task whose condition is false, so a task depending on it is omitted; Argo
    (``workflow/controller/dag.go``, ``assessDAGPhase``: a skipped node counts as successful)
    marks a DAG whose only task was skipped Succeeded, so a
    plain block around the If block lets the waiter run, as ``dagwright run`` does."""
    spec = _spec(waits_on_either_branch)
    root = spec["root"]["dag"]["tasks"]
    assert sorted(root["count-marks"]["dependentTasks"]) == [
        "condition-1-outcome",
        "condition-2-outcome",
    ]
    for n in (1, 2):
        wrapper = spec["components"][f"comp-condition-{n}-outcome"]["dag"]["tasks"]
        assert list(wrapper) == [f"condition-{n}"]
        assert "condition" in wrapper[f"condition-{n}"]["triggerPolicy"]
        assert "triggerPolicy" not in root[f"condition-{n}-outcome"]


@pytest.mark.kfp_old_form  # compiles the old form on purpose
def test_the_check_finds_the_waiter_the_old_spec_omitted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topology, "wrap_awaited_conditions", lambda ir: ir)  # the old form
    old = yaml.safe_load(dagwright.compile(waits_on_either_branch, target="kfp"))
    found = problems(old)
    assert any("count-marks: waits on condition-1.Succeeded" in p for p in found), found
    assert any("count-marks: waits on condition-2.Succeeded" in p for p in found), found


@pytest.mark.parametrize("n", [1, 3])
def test_a_task_after_a_branch_runs_on_kfp_local_like_dagwright_run(
    n: int, tmp_path: Path, local_runner: Path
) -> None:
    (tmp_path / "kfp").mkdir()
    (tmp_path / "ours").mkdir()
    theirs = _on_kfp_local(waits_on_either_branch, tmp_path, journal=str(tmp_path / "kfp"), n=n)
    ours = dagwright.run(
        waits_on_either_branch,
        {"journal": str(tmp_path / "ours"), "n": n},
        echo=False,
        root=tmp_path / "store",
    )
    assert ours.succeeded
    assert theirs == ours.outputs == {"output": 1}
    assert (
        os.listdir(tmp_path / "kfp")
        == os.listdir(tmp_path / "ours")
        == ["big" if n == 3 else "small"]
    )


# 3. Collected over a loop with no items


@pipeline
def sum_of_nothing() -> int:
    with ParallelFor([]) as x:
        sq = corpus.square(x=x)
    return corpus.total(values=Collected(sq.output)).output


@pipeline
def join_of_nothing() -> str:
    with ParallelFor([]) as name:
        part = corpus.write_part(name=name, size=1)
    return corpus.join_parts(parts=Collected(part.outputs["part"])).output


def test_collected_over_no_items_is_the_empty_list(tmp_path: Path, local_runner: Path) -> None:
    """The driver (``backend/src/v2/driver/resolve.go``, ``resolveUpstreamParameters``)
    collects only when the loop had iterations and fails the reader otherwise: the reader is
    given ``[]`` itself, as ``dagwright run`` gives it."""
    spec = _spec(sum_of_nothing)
    values = spec["root"]["dag"]["tasks"]["total"]["inputs"]["parameters"]["values"]
    assert values == {"runtimeValue": {"constant": []}}
    ours = dagwright.run(sum_of_nothing, echo=False, root=tmp_path / "store")
    assert _on_kfp_local(sum_of_nothing, tmp_path) == ours.outputs == {"output": 0}


def test_bad_collected_artifacts_over_no_items_are_refused_for_kfp() -> None:
    with pytest.raises(ValidationError) as err:
        dagwright.compile(join_of_nothing, target="kfp")
    assert err.value.field == "parts" and err.value.task == "join-parts"
    assert "non-empty list" in str(err.value)


@pytest.mark.kfp_old_form  # compiles the old form on purpose
def test_the_check_finds_the_reader_of_an_empty_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DagBuilder, "_collects_nothing", lambda self, value, block: False)
    for p in (sum_of_nothing, join_of_nothing):  # the old form of both: read the loop's output
        found = problems(yaml.safe_load(dagwright.compile(p, target="kfp")))
        assert any("reads a loop over no items (loop-1)" in f for f in found), found


# 4. the run's ids in lineage arguments


def test_lineage_ids_reach_the_pod_through_inputs_the_driver_fills() -> None:
    """KFP's launcher (``backend/src/v2/component/launcher_v2.go``) fills only ``{{$}}`` and
    input/output placeholders in args; the driver (``backend/src/v2/driver/resolve.go``) fills
    a constant input that is exactly ``{{$.pipeline_job_uuid}}`` or
    ``{{$.pipeline_task_name}}``."""
    spec = _spec(corpus.loop_over_param, tracking_uri="http://mlflow:5000")
    args = spec["deploymentSpec"]["executors"]["exec-square"]["container"]["args"]
    assert args[args.index("--dagwright-run") + 1] == "{{$.inputs.parameters['dagwright-run']}}"
    assert not any("pipeline_" in a for a in args)
    square = spec["components"]["comp-loop-1"]["dag"]["tasks"]["square"]["inputs"]["parameters"]
    assert square["dagwright-run"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}"
    assert square["dagwright-task"]["runtimeValue"]["constant"] == "{{$.pipeline_task_name}}"
    old = copy.deepcopy(spec)  # the old form: the run's placeholders straight in args
    old["deploymentSpec"]["executors"]["exec-square"]["container"]["args"][-5] = (
        "{{$.pipeline_job_uuid}}"
    )
    assert any("leaves {{$.pipeline_job_uuid}} unfilled" in p for p in problems(old))


def test_kfp_pods_record_lineage_under_the_run_id(tmp_path: Path, local_runner: Path) -> None:
    """kfp.local fills the constants as the driver does: the pods' parent MLflow run carries
    KFP's run id, not a placeholder."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    spec = tmp_path / "spec.yaml"
    dagwright.compile(corpus.ordering, target="kfp", path=spec, tracking_uri=uri)
    (tmp_path / "journal").mkdir()
    kfp_components.load_component_from_file(str(spec))(journal=str(tmp_path / "journal"))
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("ordering")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    tags = [r.data.tags for r in runs]
    run_ids = {t["dagwright.run_id"] for t in tags if "dagwright.run_id" in t}
    assert len(run_ids) == 1 and "{{" not in next(iter(run_ids)), run_ids
    assert all("{{" not in str(t) for t in tags)


# 5. an Optional parameter left None, used inside a block


@component
def note_value(journal: str, x: str | None = None) -> None:
    with open(os.path.join(journal, str(x)), "a", encoding="utf-8") as mark:
        mark.write("ran\n")


@pipeline
def optional_in_blocks(journal: str, opt: str | None = None, n: int = 1) -> None:
    with If(n != 5):
        with ParallelFor([1]):
            note_value(journal=journal, x=opt)


def test_a_parameter_that_may_be_none_enters_blocks_as_optional() -> None:
    """The driver (``backend/src/v2/driver/resolver/parameters.go``, ``resolveParameters``)
    refuses a null, or an input the parent DAG left out, unless the reading component declares
    it ``isOptional``; declared so at every block, the None reaches the step as its default.
    (The older MLMD-based driver, ``backend/src/v2/driver/resolve.go``, fails the step inside
    even then: it finds the input missing from the block and does not treat that as null.)"""
    spec = _spec(optional_in_blocks)
    for block in ("comp-condition-1", "comp-loop-1"):
        defined = spec["components"][block]["inputDefinitions"]["parameters"]
        assert defined["pipelinechannel--opt"]["isOptional"] is True
        assert "isOptional" not in defined["pipelinechannel--journal"]  # never null
    old = copy.deepcopy(spec)  # the old form: no isOptional on the block inputs
    del old["components"]["comp-loop-1"]["inputDefinitions"]["parameters"]["pipelinechannel--opt"][
        "isOptional"
    ]
    found = problems(old)
    assert found == [
        "comp-loop-1: input pipelinechannel--opt may be null and is not isOptional; the DAG "
        "driver refuses it"
    ]


def test_an_optional_block_input_still_passes_a_value_on_kfp_local(
    tmp_path: Path, local_runner: Path
) -> None:
    """kfp.local cannot run a pipeline whose parameter is left None at all (its orchestrator,
    ``kfp/local/orchestrator/orchestrator_utils.py``, reads the unset default as a value), so
    this shows only that an input declared optional still carries a given value."""
    (tmp_path / "kfp").mkdir()
    (tmp_path / "ours").mkdir()
    _on_kfp_local(optional_in_blocks, tmp_path, journal=str(tmp_path / "kfp"), opt="given")
    ours = dagwright.run(
        optional_in_blocks,
        {"journal": str(tmp_path / "ours"), "opt": "given"},
        echo=False,
        root=tmp_path / "s",
    )
    assert ours.succeeded
    assert os.listdir(tmp_path / "kfp") == os.listdir(tmp_path / "ours") == ["given"]


def test_every_kfp_spec_a_test_compiles_goes_through_the_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``tests/conftest.py`` checks each spec ``dagwright.compile`` writes for KFP in a test:
    a form the backend runs otherwise fails the compiling test itself."""
    monkeypatch.setattr(topology, "wrap_awaited_conditions", lambda ir: ir)  # the old form
    with pytest.raises(AssertionError, match="KFP's backend would run this otherwise"):
        dagwright.compile(waits_on_either_branch, target="kfp")
