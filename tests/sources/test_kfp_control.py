"""KFP control flow the IR gains with issue 17 (exit handlers with a final status, OneOf,
ignore_upstream_failure, loops over artifacts, nested fan-in) and importers, read at the IR-dict
level: these values validate once the engine side of the contract is merged.

No ``from __future__ import annotations``: kfp reads the components' annotations as types.
"""

from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("kfp")

from kfp import dsl  # noqa: E402
from kfp.dsl import Dataset, Input, Output, PipelineTaskFinalStatus  # noqa: E402

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def say(text: str) -> str:
    return text


@dsl.component(base_image=IMAGE)
def fail():
    raise ValueError("on purpose")


@dsl.component(base_image=IMAGE)
def report(status: PipelineTaskFinalStatus, note: str = "") -> str:
    return status.state


@dsl.component(base_image=IMAGE)
def make(data: Output[Dataset]):
    with open(data.path, "w") as out:
        out.write("x")


@dsl.component(base_image=IMAGE)
def read(data: Input[Dataset]) -> str:
    return open(data.path).read()


@dsl.component(base_image=IMAGE)
def read_all(data: Input[list[Dataset]]) -> int:
    return len(data)


@dsl.component(base_image=IMAGE)
def numbers() -> list:
    return [1, 2]


@dsl.component(base_image=IMAGE)
def count(values: list) -> int:
    return len(values)


def _by(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


@dsl.pipeline(name="exits")
def exits(text: str = "a"):
    final = report(note=text)
    with dsl.ExitHandler(final, name="guarded"):
        say(text=text)
        fail()


def test_an_exit_handler_and_its_exit_task_with_the_final_status(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(exits)
    groups = _by(data["groups"], "id")
    tasks = _by(data["tasks"])
    (handler,) = [g for g in data["groups"] if g["kind"] == "exit_handler"]
    assert handler["exit_task"] == "report"
    assert "parent" not in handler
    assert tasks["say"]["group"] == handler["id"] and tasks["fail"]["group"] == handler["id"]
    # the exit task sits beside its block, runs after it whatever happened (no `after`, no
    # ignore_upstream_failure: the block's exit task is that already) and gets its status
    report_task = tasks["report"]
    assert "group" not in report_task and "after" not in report_task
    assert "ignore_upstream_failure" not in report_task
    assert report_task["inputs"] == {
        "status": {"final_status": handler["id"]},
        "note": {"param": "text"},
    }
    spec = data["components"]["report"]
    assert {"name": "status", "type": "PipelineTaskFinalStatus"} in spec["inputs"]
    assert groups[handler["id"]]["kind"] == "exit_handler"


@dsl.pipeline(name="one-of")
def one_of(flag: bool = True) -> str:
    with dsl.If(flag == True):  # noqa: E712 - KFP's conditions are written this way
        first = say(text="a")
        made_a = make()
    with dsl.Else():
        second = say(text="b")
        made_b = make()
    read(data=dsl.OneOf(made_a.outputs["data"], made_b.outputs["data"]))
    return dsl.OneOf(first.output, second.output)


def test_one_of_over_parameters_and_artifacts(imported: Callable[[Any], dict[str, Any]]) -> None:
    data = imported(one_of)
    tasks = _by(data["tasks"])
    assert data["outputs"] == {
        "Output": {
            "one_of": [{"task": "say", "output": "Output"}, {"task": "say-2", "output": "Output"}]
        }
    }
    assert tasks["read"]["inputs"] == {
        "data": {
            "one_of": [{"task": "make", "output": "data"}, {"task": "make-2", "output": "data"}]
        }
    }
    branches = [g for g in data["groups"] if g["kind"] == "condition"]
    assert [g["branch"] for g in branches] == ["if", "else"]


@dsl.pipeline(name="carry-on")
def carry_on():
    broken = fail()
    say(text="after").after(broken).ignore_upstream_failure()


def test_ignore_upstream_failure(imported: Callable[[Any], dict[str, Any]]) -> None:
    tasks = _by(imported(carry_on)["tasks"])
    assert tasks["say"]["ignore_upstream_failure"] is True
    assert tasks["say"]["after"] == ["fail"]
    assert "ignore_upstream_failure" not in tasks["fail"]


@dsl.pipeline(name="artifact-loops")
def artifact_loops():
    with dsl.ParallelFor([1, 2, 3]) as _:
        made = make()
    gathered = read_all(data=dsl.Collected(made.outputs["data"]))
    with dsl.ParallelFor(numbers().output) as _n:
        with dsl.ParallelFor([1, 2]) as _m:
            inner = say(text="x")
    count(values=dsl.Collected(inner.output))
    say(text="done").after(gathered)


def test_collected_artifacts_and_a_nested_fan_in(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(artifact_loops)
    tasks = _by(data["tasks"])
    groups = _by(data["groups"], "id")
    assert tasks["read-all"]["inputs"] == {
        "data": {"collected": {"task": "make", "output": "data"}}
    }
    assert {"name": "data", "type": "list[Dataset]", "artifact": True} in data["components"][
        "read_all"
    ]["inputs"]
    # loop over a task output; the inner loop's task gathered over both levels
    outer = groups[groups[tasks["say"]["group"]]["parent"]]
    assert outer["items"] == {"task": "numbers", "output": "Output"}
    assert tasks["count"]["inputs"] == {
        "values": {"collected": {"task": "say", "output": "Output"}}
    }


@dsl.pipeline(name="imports")
def imports(uri: str = "gs://bucket/data.csv"):
    imported_data = dsl.importer(
        artifact_uri=uri, artifact_class=Dataset, reimport=True, metadata={"source": "test"}
    )
    read(data=imported_data.output)


def test_an_importer_is_a_component_with_importer_set(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(imports)
    tasks = _by(data["tasks"])
    spec = data["components"][tasks["importer"]["component"]]
    assert spec["importer"] == {"type": "Dataset", "metadata": {"source": "test"}, "reimport": True}
    assert spec["inputs"] == [{"name": "uri", "type": "str"}]
    assert spec["outputs"] == [{"name": "artifact", "type": "Dataset", "artifact": True}]
    assert spec["kfp"]["executor"]["importer"]["artifactUri"] == {"runtimeParameter": "uri"}
    assert tasks["importer"]["inputs"] == {"uri": {"param": "uri"}}
    assert tasks["read"]["inputs"] == {"data": {"task": "importer", "output": "artifact"}}


@dsl.pipeline(name="shown")
def shown():
    say(text="a").set_display_name("Say it")


def test_a_display_name_is_kept_on_the_task(imported: Callable[[Any], dict[str, Any]]) -> None:
    (task,) = imported(shown)["tasks"]
    assert task["name"] == "say" and task["display_name"] == "Say it"


@pytest.mark.parametrize(
    ("pipeline", "part", "kept"),
    [(imports, "components", "importer"), (shown, "tasks", "display_name")],
    ids=["importer", "display-name"],
)
def test_importers_and_display_names_validate_and_are_kept(
    pipeline: Any, part: str, kept: str
) -> None:
    from dagwright.sources.kfp import import_pipeline

    data = import_pipeline(pipeline).to_dict()[part]
    assert any(kept in item for item in (data.values() if isinstance(data, dict) else data))


@dsl.component(base_image=IMAGE)
def state_of(status: dict) -> str:
    return status["state"]


@dsl.pipeline
def notify(status: PipelineTaskFinalStatus, note: str = "always"):
    with dsl.If(state_of(status=status).output == "FAILED"):
        say(text="it failed")
    say(text=note)


@dsl.pipeline(name="pipeline-exit")
def pipeline_exit(text: str = "a"):
    with dsl.ExitHandler(notify()):
        say(text=text)
        fail()


def test_a_pipeline_as_the_exit_task_is_laid_out_beside_the_block(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(pipeline_exit)
    tasks = _by(data["tasks"])
    groups = _by(data["groups"], "id")
    (handler,) = [g for g in data["groups"] if g["kind"] == "exit_handler"]
    # its first task is the IR's exit task, beside the block, given the final status as a dict
    assert handler["exit_task"] == "notify-state-of"
    assert tasks["notify-state-of"]["inputs"] == {"status": {"final_status": handler["id"]}}
    spec = data["components"][tasks["notify-state-of"]["component"]]
    assert spec["inputs"] == [{"name": "status", "type": "PipelineTaskFinalStatus"}]
    assert spec["kfp"]["inputDefinitions"]["parameters"]["status"]["parameterType"] == "STRUCT"
    assert "group" not in tasks["notify-state-of"]
    # the If inside the exit pipeline reads the exit task's output
    inner_if = groups[tasks["notify-say"]["group"]]
    assert inner_if["condition"]["left"] == {"task": "notify-state-of", "output": "Output"}
    # its other first task waits for the exit task, whatever became of it
    assert tasks["notify-say-2"]["after"] == ["notify-state-of"]
    assert tasks["notify-say-2"]["inputs"] == {"text": {"constant": "always"}}  # its default
    assert tasks["notify-say-2"]["ignore_upstream_failure"] is True
    assert "group" not in tasks["notify-say-2"]


@dsl.component(base_image=IMAGE)
def maybe(data: Input[Dataset] | None = None) -> str:
    return "given" if data is not None else "none"


@dsl.pipeline
def maybe_inner(data: Input[Dataset] | None = None):
    maybe(data=data)


@dsl.pipeline(name="optional-artifacts")
def optional_artifacts(data: Input[Dataset] | None = None):
    maybe(data=data)
    maybe_inner(data=make().outputs["data"])
    maybe_inner()


def test_optional_artifacts_given_no_value_are_not_passed(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    from dagwright.pipelines.ir import PipelineIR
    from dagwright.pipelines.validate import validate_ir

    data = imported(optional_artifacts)
    tasks = _by(data["tasks"])
    assert tasks["maybe"]["inputs"] == {}
    assert tasks["maybe-inner-maybe"]["inputs"] == {"data": {"task": "make", "output": "data"}}
    assert tasks["maybe-inner-2-maybe"]["inputs"] == {}
    assert {"name": "data", "type": "Dataset", "artifact": True, "default": None} in data[
        "components"
    ]["maybe"]["inputs"]
    validate_ir(PipelineIR.from_dict(data))


@dsl.component(base_image=IMAGE)
def make_text(text: str) -> Dataset:
    data = Dataset(uri=dsl.get_uri())
    with open(data.path, "w") as out:
        out.write(text)
    return data


@dsl.pipeline
def make_texts(texts: list = ["a", "b"]) -> list[Dataset]:  # noqa: B006 - as KFP takes it
    with dsl.ParallelFor(texts) as text:
        made = make_text(text=text)
    return dsl.Collected(made.output)


@dsl.pipeline(name="artifact-iterator")
def artifact_iterator():
    texts = make_texts()
    with dsl.ParallelFor(texts.output, parallelism=2) as one:
        read(data=one)


def test_a_loop_over_artifacts(imported: Callable[[Any], dict[str, Any]]) -> None:
    data = imported(artifact_iterator)
    tasks = _by(data["tasks"])
    groups = _by(data["groups"], "id")
    loop = groups[tasks["read"]["group"]]
    # KFP's artifactIterator over the nested pipeline's Collected output
    assert loop["kind"] == "loop" and loop["parallelism"] == 2
    assert loop["items"] == {"collected": {"task": "make-texts-make-text", "output": "Output"}}
    assert tasks["read"]["inputs"] == {"data": {"loop_item": loop["id"]}}
    assert groups["make-texts"]["kind"] == "pipeline"


@pytest.mark.parametrize(
    ("pipeline", "kept"),
    [
        (exits, "'final_status'"),
        (pipeline_exit, "'final_status'"),
        (one_of, "'one_of'"),
        (carry_on, "'ignore_upstream_failure'"),
    ],
    ids=["exits", "pipeline-exit", "one-of", "carry-on"],
)
def test_the_control_flow_pipelines_validate_and_keep_their_values(
    pipeline: Any, kept: str
) -> None:
    from dagwright.sources.kfp import import_pipeline

    ir = import_pipeline(pipeline)
    assert kept in repr(ir.to_dict())  # read back by the IR, not dropped on the way
