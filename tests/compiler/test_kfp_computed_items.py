"""A Collected over a loop whose items are computed at run time, when they turn out empty.

KFP's driver (``backend/src/v2/driver/resolve.go``) collects a loop's outputs only after an
iteration and fails the reader of a loop that had none; ``dagwright run`` gives it ``[]``. The
KFP target guards such a loop (``dagwright/compiler/kfp/guards.py``). No KFP backend runs here:
each test checks the spec with ``kfp_backend_checks`` (which models the driver, cited there),
shows the check fails on the old form, or runs the spec on kfp.local against ``dagwright run``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import kfp_edge_cases as edges
import pytest
import yaml
from kfp_backend_checks import problems
from kfp_backend_runs import checked_spec as _spec
from kfp_backend_runs import on_kfp_local as _on_kfp_local

import dagwright
from dagwright import Collected, If, ParallelFor, component, pipeline
from dagwright.compiler.kfp import guards

kfp_local = pytest.importorskip("kfp.local")
kfp_components = pytest.importorskip("kfp.components")


@pipeline
def sum_of_nothing() -> int:
    with ParallelFor([]) as x:
        sq = corpus.square(x=x)
    return corpus.total(values=Collected(sq.output)).output


@component
def add(a: int, b: int = 1) -> int:
    return a + b


@component
def upto(n: int) -> list[int]:
    return list(range(n))


@pipeline
def fan_out(xs: list[int] = [1, 2, 3]) -> int:  # noqa: B006
    """The README's fan_out."""
    with ParallelFor(xs) as x:
        plus_one = add(a=x)
    return corpus.total(values=Collected(plus_one.output)).output


@pipeline
def inner_computed(ns: list[int] = [2, 0, 3]) -> list:  # noqa: B006
    """The inner loop's items come from a task in the outer loop; some turn out empty."""
    with ParallelFor(ns) as n:
        with ParallelFor(upto(n=n).output) as x:
            plus = add(a=x)
        t = corpus.total(values=Collected(plus.output))
    return Collected(t.output)


@pipeline
def in_branch(n: int = 2, go: bool = True) -> int:
    """A guarded loop inside an If block; a later task waits on the collector."""
    with If(go == True):  # noqa: E712
        with ParallelFor(upto(n=n).output) as x:
            plus = add(a=x)
        t = corpus.total(values=Collected(plus.output))
    return add(a=n).after(t).output


@pipeline
def over_outer_item(rows: list[list[int]] = [[1, 2], []]) -> list:  # noqa: B006
    with ParallelFor(rows) as row:
        with ParallelFor(row) as x:
            plus = add(a=x)
        t = corpus.total(values=Collected(plus.output))
    return Collected(t.output)


def test_collected_over_computed_items_chooses_at_run_time() -> None:
    """The driver (``backend/src/v2/driver/resolve.go``) collects a loop's outputs only when
    ``iterations > 0``; the spec decides as the KFP SDK compiles ``dsl.If``/``dsl.Else`` and
    ``dsl.OneOf``: the loop runs in a branch whose trigger condition (CEL, evaluated by the DAG
    driver, ``backend/src/v2/expression/expression.go``) needs its items non-empty, the other
    branch's step returns ``[]``, and the reader takes ``valueFromOneof`` of the two, which
    the driver resolves to the branch that ran (``resolve.go``, ``GetProducerTask``)."""
    spec = _spec(fan_out)
    root = spec["root"]["dag"]["tasks"]
    assert root["total"]["inputs"]["parameters"]["values"] == {
        "taskOutputParameter": {
            "producerTask": "loop-1-collected",
            "outputParameterKey": "pipelinechannel--add-Output",
        }
    }
    guard = spec["components"]["comp-loop-1-collected"]["dag"]
    assert guard["outputs"]["parameters"]["pipelinechannel--add-Output"] == {
        "valueFromOneof": {
            "parameterSelectors": [
                {
                    "producerSubtask": "loop-1-items",
                    "outputParameterKey": "pipelinechannel--add-Output",
                },
                {
                    "producerSubtask": "loop-1-no-items",
                    "outputParameterKey": "pipelinechannel--loop-1-empty-Output",
                },
            ]
        }
    }
    items = "inputs.parameter_values['pipelinechannel--xs']"
    assert guard["tasks"]["loop-1-items"]["triggerPolicy"] == {"condition": f"{items} != []"}
    assert guard["tasks"]["loop-1-no-items"]["triggerPolicy"] == {"condition": f"!({items} != [])"}
    inner = spec["components"]["comp-loop-1-items"]["dag"]["tasks"]
    assert inner["loop-1"]["parameterIterator"]["items"] == {
        "inputParameter": "pipelinechannel--xs"
    }
    empty = spec["components"]["comp-loop-1-no-items"]["dag"]["tasks"]["loop-1-empty"]
    assert empty["componentRef"] == {"name": "comp-dagwright-empty-list"}
    # a constant list is known when compiled, and a loop nothing collects from needs none
    assert "comp-loop-1-collected" not in _spec(sum_of_nothing)["components"]
    assert "comp-loop-1-collected" not in _spec(edges.field_condition)["components"]


def test_an_untyped_item_is_compared_as_the_json_text_the_driver_makes_of_it() -> None:
    """An item of an untyped list reaches the inner loop's blocks as a STRING input, which the
    driver fills with the value's JSON text (``resolver/parameters.go``,
    ``normalizeResolvedParameterValue``; ``PbValueToText`` writes an empty list as ``[]``);
    a list typed as such arrives as a list. (kfp.local cannot run a loop over an outer loop's
    item at all: it looks the items up under a name the spec does not have.)"""

    @pipeline
    def untyped(n: int = 2) -> list:
        with ParallelFor(edges.numbers(n=n).output) as row:
            with ParallelFor(row) as x:
                plus = add(a=x)
            t = corpus.total(values=Collected(plus.output))
        return Collected(t.output)

    for p, literal in ((untyped, '"[]"'), (over_outer_item, "[]")):
        spec = _spec(p)
        guard = spec["components"]["comp-loop-2-collected"]
        item = "pipelinechannel--loop-1-loop-item"
        kind = "STRING" if literal == '"[]"' else "LIST"
        assert guard["inputDefinitions"]["parameters"][item] == {"parameterType": kind}
        condition = guard["dag"]["tasks"]["loop-2-items"]["triggerPolicy"]["condition"]
        assert condition == f"inputs.parameter_values['{item}'] != {literal}"


def test_a_task_collecting_artifacts_moves_into_the_branch_and_is_copied_into_the_other() -> None:
    """No step outputs an empty list of artifacts, and the older driver takes the last of a DAG
    output's ``artifactSelectors`` whichever branch ran (``resolve.go``, ``GetProducerTask``):
    the task that collects artifacts runs beside the loop in the If branch, and a copy of it,
    its list left out (declared ``isOptional``), in the Else branch; its parameter output
    leaves by OneOf."""
    spec = _spec(corpus.loop_over_output)
    items = spec["components"]["comp-loop-1-items"]["dag"]["tasks"]
    assert items["join-parts"]["inputs"]["artifacts"]["parts"] == {
        "taskOutputArtifact": {
            "producerTask": "loop-1",
            "outputArtifactKey": "pipelinechannel--write-part--part",
        }
    }
    copy_ = spec["components"]["comp-loop-1-no-items"]["dag"]["tasks"]["join-parts-no-items"]
    assert copy_["componentRef"] == {"name": "comp-join-parts"} and "inputs" not in copy_
    parts = spec["components"]["comp-join-parts"]["inputDefinitions"]["artifacts"]["parts"]
    assert parts["isOptional"] is True and parts["isArtifactList"] is True
    assert spec["root"]["dag"]["outputs"]["parameters"]["output"] == {
        "valueFromParameter": {
            "producerSubtask": "loop-1-collected",
            "outputParameterKey": "pipelinechannel--join-parts-Output",
        }
    }


@pytest.mark.kfp_old_form  # compiles the old form on purpose
@pytest.mark.parametrize(
    "p",
    [fan_out, corpus.loop_over_param, corpus.loop_over_output, inner_computed, in_branch],
    ids=["fan_out", "loop_over_param", "loop_over_output", "inner_computed", "in_branch"],
)
def test_the_check_finds_the_unguarded_reader_of_a_computed_loop(
    p: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old form: the reader reads the loop itself, which the driver fails after no
    iteration (``resolve.go``, ``resolveUpstreamParameters``/``...Artifacts``)."""
    assert problems(yaml.safe_load(dagwright.compile(p, target="kfp"))) == []
    monkeypatch.setattr(guards, "guard_computed_loops", lambda ir, fail: (ir, guards.Guarded()))
    found = problems(yaml.safe_load(dagwright.compile(p, target="kfp")))
    assert any("a loop over items computed at run time" in f for f in found), found


@pytest.mark.parametrize(
    ("p", "arguments"),
    [
        (fan_out, {"xs": []}),
        (fan_out, {"xs": [1, 2, 3]}),
        (corpus.loop_over_output, {"n": 0}),
        (corpus.loop_over_output, {"n": 3}),
        (inner_computed, {"ns": [2, 0, 3]}),
        (in_branch, {"n": 0}),
        (in_branch, {"n": 3}),
    ],
    ids=["fan-out-empty", "fan-out", "artifacts-empty", "artifacts", "inner", "if-empty", "if"],
)
def test_collected_over_computed_items_runs_on_kfp_local_like_dagwright_run(
    p: Any, arguments: dict[str, Any], tmp_path: Path, local_runner: Path
) -> None:
    """Both branches run on kfp.local (its orchestrator evaluates the trigger conditions and
    resolves ``valueFromOneof``, ``kfp/local/orchestrator``) as ``dagwright run`` runs the
    pipeline; the empty-artifact copy gets its list as ``[]`` (KFP's executor passes None for
    a list it was given no artifact of, ``kfp/dsl/executor.py``)."""
    ours = dagwright.run(p, arguments, echo=False, root=tmp_path / "store")
    assert ours.succeeded
    assert _on_kfp_local(p, tmp_path, **arguments) == ours.outputs


def test_the_check_finds_an_artifact_chosen_by_branch() -> None:
    """The old driver (``resolve.go``, ``GetProducerTask``) takes the last of a DAG output's
    ``artifactSelectors`` whichever branch ran, so the guard never chooses an artifact by
    branch: a DAG output with two artifact selectors is flagged."""
    spec = _spec(corpus.loop_over_output)
    loop = spec["components"]["comp-loop-1"]["dag"]["outputs"]["artifacts"]
    selectors = loop["pipelinechannel--write-part--part"]["artifactSelectors"]
    assert len(selectors) == 1
    selectors.append({"producerSubtask": "write-part", "outputArtifactKey": "other"})
    assert problems(spec) == [
        "comp-loop-1: DAG output pipelinechannel--write-part--part selects from several "
        "tasks; the driver (resolve.go, GetProducerTask) takes the last, whichever ran"
    ]


@pytest.mark.parametrize(("items", "runs"), [([], "loop-1-no-items"), ([0], "loop-1-items")])
def test_exactly_one_branch_runs_under_the_drivers_cel(items: list[int], runs: str) -> None:
    """``cel_model`` models the driver's CEL over ``google.protobuf.Value`` inputs
    (``backend/src/v2/expression/expression.go``): the two branches' conditions, over the
    block's declared input types, are never both true nor both false."""
    from cel_model import evaluate

    guard = _spec(fan_out)["components"]["comp-loop-1-collected"]
    types = {
        name: spec["parameterType"]
        for name, spec in guard["inputDefinitions"]["parameters"].items()
    }
    taken = [
        name
        for name, task in guard["dag"]["tasks"].items()
        if evaluate(task["triggerPolicy"]["condition"], types, {"pipelinechannel--xs": items})
    ]
    assert taken == [runs]
