"""KFP's control flow compiled for KFP as the KFP SDK writes it, checked against what KFP's
backend does (``kfp_backend_checks``) and run by kfp.local beside ``dagwright run``: OneOf
(``valueFromOneof`` on a ``condition-branches`` block), a final status
(``taskFinalStatus``), ``ignore_upstream_failure`` (trigger strategy
``ALL_UPSTREAM_TASKS_COMPLETED``) and a loop over artifacts (``artifactIterator``); and what
KFP's backend cannot run is refused by name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp_backend_checks import assert_runs_as_compiled

import dagwright
from dagwright import (
    Collected,
    Dataset,
    Elif,
    Else,
    ExitHandler,
    If,
    Input,
    OneOf,
    Output,
    ParallelFor,
    PipelineTaskFinalStatus,
    ValidationError,
    component,
    pipeline,
)

kfp_local = pytest.importorskip("kfp.local")
kfp_components = pytest.importorskip("kfp.components")

pytestmark = pytest.mark.usefixtures("local_runner")


@component
def number(n: int) -> int:
    return n


@component
def word(s: str) -> str:
    return s


@component
def shout(v: str) -> str:
    return v.upper()


@component
def note(journal: str, text: str) -> str:
    with open(os.path.join(journal, text), "a", encoding="utf-8") as mark:
        mark.write("ran\n")
    return text


@component
def fails(n: int) -> int:
    raise ValueError(f"no good: {n}")


@component
def report(journal: str, status: PipelineTaskFinalStatus) -> str:
    with open(os.path.join(journal, f"status-{status.state}"), "w", encoding="utf-8") as f:
        f.write(status.pipeline_task_name)
    return status.state


@component
def tidy(journal: str, v: int = -1) -> str:
    with open(os.path.join(journal, f"tidy-{v}"), "w", encoding="utf-8") as f:
        f.write("ran")
    return str(v)


@component
def write(text: str, out: Output[Dataset]) -> None:
    Path(out.path).write_text(text, encoding="utf-8")


@component
def read_into(journal: str, d: Input[Dataset]) -> str:
    text = Path(d.path).read_text(encoding="utf-8")
    with open(os.path.join(journal, f"read-{text}"), "w", encoding="utf-8") as f:
        f.write(text)
    return text


@pipeline
def choose(x: int = 3) -> str:
    n = number(n=x)
    with If(n.output > 5):
        big = word(s="big")
    with Elif(n.output > 2):
        mid = word(s="mid")
    with Else():
        small = word(s="small")
    return shout(v=OneOf(big.output, mid.output, small.output)).output


@pipeline
def guarded(journal: str, bad: bool = False) -> None:
    done = report(journal=journal)
    with ExitHandler(done):
        n = number(n=1)
        with If(bad == True):  # noqa: E712
            fails(n=7).after(n)


@pipeline
def tolerant(journal: str, n: int = 4) -> None:
    tidy(journal=journal, v=number(n=n).output).ignore_upstream_failure()
    tidy(journal=journal).after(fails(n=n)).ignore_upstream_failure()


@pipeline
def tolerant_reader(journal: str, n: int = 4) -> None:
    tidy(journal=journal, v=fails(n=n).output).ignore_upstream_failure()


@pipeline
def makes_many(texts: list[str] = ["x", "y"]) -> Any:  # noqa: B006
    with ParallelFor(texts) as t:
        made = write(text=t)
    return Collected(made.outputs["out"])


@pipeline
def loop_over_artifacts(journal: str) -> None:
    inner = makes_many(texts=["p", "q", "r"])
    with ParallelFor(inner.output, parallelism=2) as art:
        read_into(journal=journal, d=art)


def _compiled(pipe: Any, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    spec = tmp_path / "spec.yaml"
    dagwright.compile(pipe, target="kfp", path=spec)
    text = spec.read_text(encoding="utf-8")
    assert_runs_as_compiled(text)
    return spec, yaml.safe_load(text)


def _kfp_run(spec: Path, **arguments: Any) -> Any:
    loaded = kfp_components.load_component_from_file(str(spec))
    try:
        return loaded(**arguments).outputs
    except RuntimeError as exc:  # kfp.local raises when a task fails
        return exc


def _journal(tmp_path: Path, name: str) -> str:
    folder = tmp_path / name
    folder.mkdir()
    return str(folder)


def test_one_of_is_value_from_oneof_on_a_condition_branches_block(tmp_path: Path) -> None:
    spec, data = _compiled(choose, tmp_path)
    block = data["components"]["comp-condition-branches-1"]["dag"]
    selectors = block["outputs"]["parameters"]["pipelinechannel--condition-branches-1-oneof-1"]
    branches = [s["producerSubtask"] for s in selectors["valueFromOneof"]["parameterSelectors"]]
    assert branches == ["condition-1", "condition-2", "condition-3"]
    reader = data["root"]["dag"]["tasks"]["shout"]["inputs"]["parameters"]["v"]
    assert reader["taskOutputParameter"]["producerTask"] == "condition-branches-1"
    for x in (9, 3, 1):
        ours = dagwright.run(choose, x=x, echo=False, root=tmp_path / "store")
        theirs = _kfp_run(spec, x=x)
        assert theirs == ours.outputs
        assert ours.outputs["output"] in ("BIG", "MID", "SMALL")


@pytest.mark.parametrize("bad", [False, True])
def test_the_final_status_reaches_the_exit_task_as_on_kfp(tmp_path: Path, bad: bool) -> None:
    spec, data = _compiled(guarded, tmp_path)
    exit_task = data["root"]["dag"]["tasks"]["report"]
    assert exit_task["inputs"]["parameters"]["status"] == {
        "taskFinalStatus": {"producerTask": "exit-handler-1"}
    }
    declared = data["components"]["comp-report"]["inputDefinitions"]["parameters"]["status"]
    assert declared == {"isOptional": True, "parameterType": "TASK_FINAL_STATUS"}
    theirs = _kfp_run(spec, journal=_journal(tmp_path, "kfp"), bad=bad)
    ours = dagwright.run(
        guarded, journal=_journal(tmp_path, "ours"), bad=bad, echo=False, root=tmp_path / "s"
    )
    assert isinstance(theirs, Exception) == bad == (ours.status == "failed")
    state = "FAILED" if bad else "SUCCEEDED"
    for side in ("kfp", "ours"):
        assert os.listdir(tmp_path / side) == [f"status-{state}"]
        assert (tmp_path / side / f"status-{state}").read_text() == "exit-handler-1"


def test_a_task_ignoring_upstream_failures_runs_on_kfp_as_here(tmp_path: Path) -> None:
    spec, data = _compiled(tolerant, tmp_path)
    tasks = data["root"]["dag"]["tasks"]
    strategies = {n: t.get("triggerPolicy", {}).get("strategy") for n, t in tasks.items()}
    assert strategies["tidy"] == strategies["tidy-2"] == "ALL_UPSTREAM_TASKS_COMPLETED"
    theirs = _kfp_run(spec, journal=_journal(tmp_path, "kfp"))
    ours = dagwright.run(tolerant, journal=_journal(tmp_path, "ours"), echo=False, root=tmp_path)
    assert isinstance(theirs, Exception) and ours.status == "failed"
    assert sorted(os.listdir(tmp_path / "ours")) == ["tidy--1", "tidy-4"]
    assert sorted(os.listdir(tmp_path / "kfp")) == sorted(os.listdir(tmp_path / "ours"))


def test_a_tolerant_task_reading_a_failed_task_takes_its_default(tmp_path: Path) -> None:
    """kfp.local fails such a task ("task 'fails' not found"), where KFP's driver leaves the
    input out and the component's default applies: the expected value is asserted."""
    _, data = _compiled(tolerant_reader, tmp_path)
    assert data["root"]["dag"]["tasks"]["tidy"]["triggerPolicy"] == {
        "strategy": "ALL_UPSTREAM_TASKS_COMPLETED"
    }
    assert data["components"]["comp-tidy"]["inputDefinitions"]["parameters"]["v"]["isOptional"]
    ours = dagwright.run(
        tolerant_reader, journal=_journal(tmp_path, "ours"), echo=False, root=tmp_path
    )
    assert ours.status == "failed" and os.listdir(tmp_path / "ours") == ["tidy--1"]


def test_a_loop_over_a_list_of_artifacts_is_an_artifact_iterator(tmp_path: Path) -> None:
    """kfp.local finds an artifact iterator's items only under the KFP SDK's input names
    (``pipelinechannel--<task>-<key>``, split at the last '-') and otherwise runs no iteration
    without a word: the reads ``dagwright run`` makes are asserted instead."""
    _, data = _compiled(loop_over_artifacts, tmp_path)
    loops = [
        t
        for comp in [data["root"], *data["components"].values()]
        for t in comp.get("dag", {}).get("tasks", {}).values()
        if "artifactIterator" in t
    ]
    assert len(loops) == 1 and loops[0]["iteratorPolicy"] == {"parallelismLimit": 2}
    item = loops[0]["artifactIterator"]["itemInput"]
    body = data["components"][loops[0]["componentRef"]["name"]]
    assert body["inputDefinitions"]["artifacts"][item]["artifactType"]["schemaTitle"] == (
        "system.Dataset"
    )
    ours = dagwright.run(
        loop_over_artifacts, journal=_journal(tmp_path, "ours"), echo=False, root=tmp_path
    )
    assert ours.succeeded
    assert sorted(os.listdir(tmp_path / "ours")) == ["read-p", "read-q", "read-r"]


# what KFP's backend cannot run as dagwright run does


def _refused(pipe: Any, tmp_path: Path, message: str) -> ValidationError:
    with pytest.raises(ValidationError, match=message) as err:
        dagwright.compile(pipe, target="kfp", path=tmp_path / "spec.yaml")
    assert not (tmp_path / "spec.yaml").exists()
    return err.value


def test_one_of_over_artifacts_is_refused(tmp_path: Path) -> None:
    @pipeline
    def either(x: int = 1, journal: str = "") -> None:
        with If(x > 2):
            a = write(text="a")
        with Else():
            b = write(text="b")
        read_into(journal=journal, d=OneOf(a.outputs["out"], b.outputs["out"]))

    err = _refused(either, tmp_path, "OneOf over artifacts")
    assert (err.task, err.field) == ("read-into", "d")


def test_a_tolerant_task_waiting_for_two_tasks_is_refused(tmp_path: Path) -> None:
    @pipeline
    def two(journal: str) -> None:
        tidy(journal=journal, v=number(n=1).output).after(fails(n=2)).ignore_upstream_failure()

    err = _refused(two, tmp_path, r"waits for \['fails', 'number'\]")
    assert (err.task, err.field) == ("tidy", "ignore_upstream_failure")


def test_a_task_waiting_for_a_tolerant_task_is_refused(tmp_path: Path) -> None:
    @pipeline
    def chained(journal: str) -> None:
        t = tidy(journal=journal, v=number(n=1).output).ignore_upstream_failure()
        note(journal=journal, text="after").after(t)

    err = _refused(chained, tmp_path, "'note' waits for 'tidy'")
    assert err.task == "tidy"


def test_collecting_over_a_loop_over_computed_artifacts_is_refused(tmp_path: Path) -> None:
    @pipeline
    def gathered(journal: str) -> list:
        inner = makes_many(texts=["p"])
        with ParallelFor(inner.output) as art:
            got = read_into(journal=journal, d=art)
        return Collected(got.output)

    err = _refused(gathered, tmp_path, "loops over artifacts made at run time")
    assert err.block == "loop-2"


@component
def product(a: int, b: int) -> int:
    return a * b


@component
def shape(rows: list) -> str:
    return repr(rows)


@pipeline
def fan_in() -> str:
    with ParallelFor([1, 2]) as a:
        with ParallelFor([3, 4]) as b:
            made = product(a=a, b=b)
    return shape(rows=Collected(made.output)).output


@pipeline
def computed_fan_in(outer: list[int] = [1, 2]) -> str:  # noqa: B006
    with ParallelFor(outer) as a:
        with ParallelFor([3, 4]) as b:
            made = product(a=a, b=b)
    return shape(rows=Collected(made.output)).output


def test_collected_over_nested_loops_is_kfps_nested_fan_in(tmp_path: Path) -> None:
    """KFP's DAG driver makes one list per loop left, as ``dagwright run`` gives a reader
    declaring no flat list. kfp.local gets nested loops wrong (issue 17), so the values
    ``dagwright run`` gives are asserted."""
    _, data = _compiled(fan_in, tmp_path)
    reader = data["root"]["dag"]["tasks"]["shape"]["inputs"]["parameters"]["rows"]
    outer = reader["taskOutputParameter"]["producerTask"]
    body = data["components"][data["root"]["dag"]["tasks"][outer]["componentRef"]["name"]]
    ((key, selector),) = body["dag"]["outputs"]["parameters"].items()
    inner = body["dag"]["tasks"][selector["valueFromParameter"]["producerSubtask"]]
    assert "parameterIterator" in inner  # the inner loop's list, gathered by the outer one
    ours = dagwright.run(fan_in, echo=False, root=tmp_path / "store")
    assert ours.outputs == {"output": "[[3, 4], [6, 8]]"}


def test_collected_over_nested_loops_over_computed_items_is_refused(tmp_path: Path) -> None:
    err = _refused(computed_fan_in, tmp_path, "items of loop-1 are known only at run time")
    assert (err.task, err.field) == ("shape", "rows")


def test_collected_artifacts_over_nested_loops_are_refused(tmp_path: Path) -> None:
    @pipeline
    def deep() -> None:
        with ParallelFor([1]), ParallelFor([2]):
            made = write(text="x")
        gathered(parts=Collected(made.outputs["out"]))

    err = _refused(deep, tmp_path, "list of lists of artifacts")
    assert (err.task, err.field) == ("gathered", "parts")


@component
def gathered(parts: Input[list[Dataset]]) -> int:
    return len(parts)


@component
def watch(journal: str, status: PipelineTaskFinalStatus) -> str:
    with open(os.path.join(journal, f"{status.pipeline_task_name}-{status.state}"), "w") as f:
        f.write("ran")
    return status.state


@pipeline
def watched(journal: str) -> None:
    watch(journal=journal).after(fails(n=1)).ignore_upstream_failure()


def test_a_tolerant_task_gets_its_upstream_tasks_final_status(tmp_path: Path) -> None:
    spec, data = _compiled(watched, tmp_path)
    task = data["root"]["dag"]["tasks"]["watch"]
    assert task["inputs"]["parameters"]["status"] == {"taskFinalStatus": {"producerTask": "fails"}}
    theirs = _kfp_run(spec, journal=_journal(tmp_path, "kfp"))
    ours = dagwright.run(watched, journal=_journal(tmp_path, "ours"), echo=False, root=tmp_path)
    assert isinstance(theirs, Exception) and ours.status == "failed"
    assert os.listdir(tmp_path / "ours") == ["fails-FAILED"]
    assert os.listdir(tmp_path / "kfp") == os.listdir(tmp_path / "ours")


def test_an_imported_condition_branches_block_is_kept(tmp_path: Path) -> None:
    """An IR imported from KFP holds the chain in a ``pipeline`` block of its own already
    (KFP's ``condition-branches-1`` DAG): both targets keep it as the OneOf's block."""
    from dagwright.pipelines.ir import GroupIR, PipelineIR

    data = choose.build().to_dict()
    data["groups"].insert(0, GroupIR("condition-branches-1", "pipeline").to_dict())
    for group in data["groups"][1:]:
        group["parent"] = "condition-branches-1"
    ir = PipelineIR.from_dict(data)
    spec = tmp_path / "spec.yaml"
    dagwright.compile(ir, target="kfp", path=spec)
    compiled = yaml.safe_load(spec.read_text(encoding="utf-8"))
    assert set(compiled["root"]["dag"]["tasks"]) == {"number", "condition-branches-1", "shout"}
    assert "comp-condition-branches-1-2" not in compiled["components"]
    assert dagwright.run(ir, x=9, echo=False, root=tmp_path / "s").outputs == {"output": "BIG"}
    argo = yaml.safe_load(dagwright.compile(ir, target="argo"))
    assert argo["kind"] == "Workflow"
