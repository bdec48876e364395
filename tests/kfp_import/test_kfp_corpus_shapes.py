"""The construct classes of KFP's own SDK test pipelines that dagwright runs, one small
pipeline each, written here (none of KFP's is copied): compiled with kfp, imported by
``dagwright.run`` from the YAML, run, and the values asserted.

No ``from __future__ import annotations``: kfp reads the components' annotations as types.
"""

import json
from pathlib import Path
from typing import Any, NamedTuple, Optional

import pytest

pytest.importorskip("kfp")

from kfp import compiler, components, dsl  # noqa: E402
from kfp.dsl import (  # noqa: E402
    Artifact,
    Dataset,
    Input,
    InputPath,
    Metrics,
    Model,
    Output,
    OutputPath,
    PipelineTaskFinalStatus,
)

import dagwright  # noqa: E402

IMAGE = "python:3.11"


def _compile(pipeline: Any, folder: Path, name: str = "pipeline.yaml") -> Path:
    path = folder / name
    compiler.Compiler().compile(pipeline, str(path))
    return path


def _run(pipeline: Any, tmp_path: Path, *args: Any, **kwargs: Any) -> Any:
    path = _compile(pipeline, tmp_path)
    return dagwright.run(str(path), *args, root=tmp_path / "store", echo=False, **kwargs)


def _ok(result: Any) -> None:
    assert result.status == "succeeded", [(s.task, s.error) for s in result.steps if s.error]


def _outputs(result: Any, task: str) -> list[Any]:
    """Output 'Output' of every execution of ``task``, in iteration order."""
    runs = sorted((s for s in result.steps if s.task == task), key=lambda s: s.iteration)
    return [s.outputs.get("Output") for s in runs]


# --- parameters and artifacts of each kind between Python steps -------------------------


@dsl.component(base_image=IMAGE)
def produce(
    text: str,
    table: dict,
    words: list,
    data: Output[Dataset],
    copy_path: OutputPath("Dataset"),
    said: OutputPath(str),
    flag: OutputPath(bool),
    table_out: OutputPath(dict),
    words_out: OutputPath(list),
):
    import json

    for path in (data.path, copy_path, said):
        with open(path, "w") as f:
            f.write(text)
    data.metadata["rows"] = len(words)
    with open(flag, "w") as f:
        f.write("True")
    with open(table_out, "w") as f:
        json.dump(table, f)
    with open(words_out, "w") as f:
        json.dump(words, f)


@dsl.component(base_image=IMAGE)
def consume(
    data: Input[Dataset],
    copy_path: InputPath("Dataset"),
    said: str,
    flag: bool,
    table: dict,
    words: list,
    model: Output[Model],
    times: int = 2,
) -> str:
    with open(data.path) as f, open(copy_path) as g:
        both = f.read() + g.read()
    model.metadata["accuracy"] = 0.5
    with open(model.path, "w") as f:
        f.write(both * times)
    return f"{both}|{said}|{flag}|{sorted(table.items())}|{words}|{data.metadata['rows']}"


@dsl.pipeline
def passing(text: str, table: dict = {"a": 1, "b": 2}) -> str:  # noqa: B006 - KFP defaults
    made = produce(text=text, table=table, words=["x", "y", "z"])
    return consume(
        data=made.outputs["data"],
        copy_path=made.outputs["copy_path"],
        said=made.outputs["said"],
        flag=made.outputs["flag"],
        table=made.outputs["table_out"],
        words=made.outputs["words_out"],
    ).outputs["Output"]


def test_parameters_and_artifacts_of_every_kind_pass_between_steps(tmp_path: Path) -> None:
    result = _run(passing, tmp_path, text="hi")
    _ok(result)
    assert result.outputs["Output"] == "hihi|hi|True|[('a', 1), ('b', 2)]|['x', 'y', 'z']|3"
    model = result.step("consume").outputs["model"]
    assert Path(model.path).read_text() == "hihihihi" and model.metadata == {"accuracy": 0.5}


# --- NamedTuple returns with Metrics and an artifact given as its content -------------------


@dsl.component(base_image=IMAGE)
def summarize(
    n: int,
) -> NamedTuple("Summary", [("label", str), ("metrics", Metrics), ("model", Model)]):
    import json

    metrics = json.dumps({"metrics": [{"name": "n", "numberValue": n}]})
    return ("n" * n, metrics, f"model of {n}")


@dsl.pipeline
def named_tuple(n: int = 3) -> str:
    return summarize(n=n).outputs["label"]


def test_a_named_tuple_return_fills_parameters_and_artifacts(tmp_path: Path) -> None:
    result = _run(named_tuple, tmp_path)
    _ok(result)
    assert result.outputs["Output"] == "nnn"
    out = result.step("summarize").outputs
    assert Path(out["model"].path).read_text() == "model of 3"
    assert json.loads(Path(out["metrics"].path).read_text())["metrics"][0]["numberValue"] == 3


# --- If / Elif / Else, OneOf of parameters and of artifacts, a nested pipeline returning it -


@dsl.component(base_image=IMAGE)
def tag(text: str) -> str:
    return text


@dsl.component(base_image=IMAGE)
def tag_file(text: str, out: OutputPath(str)):
    with open(out, "w") as f:
        f.write(text.upper())


@dsl.pipeline
def choose(n: int) -> str:
    with dsl.If(n < 0):
        low = tag(text="negative")
    with dsl.Elif(n == 0):
        zero = tag(text="zero")
    with dsl.Else():
        high = tag_file(text="positive")
    return dsl.OneOf(low.output, zero.output, high.outputs["out"])


@dsl.pipeline
def choose_outer(n: int) -> str:
    return tag(text=choose(n=n).output).output


@pytest.mark.parametrize("n, expected", [(-4, "negative"), (0, "zero"), (9, "POSITIVE")])
def test_if_elif_else_and_one_of_returned_by_a_nested_pipeline(
    tmp_path: Path, n: int, expected: str
) -> None:
    result = _run(choose_outer, tmp_path, n=n)
    _ok(result)
    assert result.outputs["Output"] == expected


@dsl.component(base_image=IMAGE)
def to_artifact(text: str, a: Output[Artifact]):
    with open(a.path, "w") as f:
        f.write(text)


@dsl.component(base_image=IMAGE)
def read_artifact(a: Input[Artifact]) -> str:
    with open(a.path) as f:
        return f.read()


@dsl.pipeline
def artifact_branch(heads: bool) -> str:
    with dsl.If(heads == True):  # noqa: E712 - KFP's condition syntax
        h = to_artifact(text="heads")
    with dsl.Else():
        t = to_artifact(text="tails")
    return read_artifact(a=dsl.OneOf(h.outputs["a"], t.outputs["a"])).output


def test_one_of_artifacts_picks_the_branch_that_ran(tmp_path: Path) -> None:
    result = _run(artifact_branch, tmp_path, heads=False)
    _ok(result)
    assert result.outputs["Output"] == "tails"


# --- loops: over a parameter, a task output with item fields, nested, with conditions -----


@dsl.component(base_image=IMAGE)
def rows() -> list:
    return [{"label": "a", "parts": ["1", "2"]}, {"label": "b", "parts": ["3"]}]


@dsl.component(base_image=IMAGE)
def echo(text: str, more: str = "") -> str:
    return text + more


@dsl.pipeline
def loops(prefixes: list = ["p", "q"]):  # noqa: B006 - KFP defaults
    with dsl.ParallelFor(prefixes, parallelism=1) as prefix:
        echo(text=prefix)
    listed = rows()
    with dsl.ParallelFor(listed.output) as row:
        with dsl.If(row.label == "a"):
            echo(text=row.label, more="!")
        with dsl.ParallelFor(row.parts) as part:
            echo(text=row.label, more=part)
    with dsl.ParallelFor([{"k": "x"}, {"k": "y"}]) as item:
        echo(text=item.k)


def test_loops_over_parameters_outputs_and_item_fields_with_conditions(tmp_path: Path) -> None:
    result = _run(loops, tmp_path)
    _ok(result)
    echoes = [s for s in result.steps if s.task.startswith("echo") and s.status == "succeeded"]
    made = sorted(s.outputs["Output"] for s in echoes)
    assert made == ["a!", "a1", "a2", "b3", "p", "q", "x", "y"]


# --- Collected parameters and artifacts into a step and out of the pipeline ----------------


@dsl.component(base_image=IMAGE)
def square(n: int) -> int:
    return n * n


@dsl.component(base_image=IMAGE)
def total(nums: list) -> int:
    return sum(nums)


@dsl.component(base_image=IMAGE)
def number_file(n: int, out: Output[Dataset]):
    with open(out.path, "w") as f:
        f.write(str(n))


@dsl.component(base_image=IMAGE)
def join_files(files: Input[list[Dataset]]) -> str:
    texts = []
    for each in files:
        with open(each.path) as f:
            texts.append(f.read())
    return "+".join(texts)


class Fanned(NamedTuple):
    sum: int
    squares: list
    joined: str


@dsl.pipeline
def fan_in() -> Fanned:
    with dsl.ParallelFor([1, 2, 3]) as n:
        sq = square(n=n)
        made = number_file(n=n)
    joined = join_files(files=dsl.Collected(made.outputs["out"]))
    return Fanned(
        sum=total(nums=dsl.Collected(sq.output)).output,
        squares=dsl.Collected(sq.output),
        joined=joined.output,
    )


def test_collected_parameters_and_artifacts_feed_a_step_and_the_pipeline_outputs(
    tmp_path: Path,
) -> None:
    result = _run(fan_in, tmp_path)
    _ok(result)
    assert result.outputs["sum"] == 14
    assert result.outputs["squares"] == [1, 4, 9]
    assert all(type(v) is int for v in result.outputs["squares"])  # kfp.local gives floats
    assert result.outputs["joined"] == "1+2+3"


# --- .after across loops ---------------------------------------------------------------------


@dsl.component(base_image=IMAGE)
def mark(label: str) -> str:
    return label


@dsl.pipeline
def after_loops():
    with dsl.ParallelFor([1, 2]):
        first = mark(label="first")
    with dsl.ParallelFor([1, 2]):
        mark(label="second").after(first)
    mark(label="last").after(first)


def test_after_across_loops_waits_for_every_iteration(tmp_path: Path) -> None:
    result = _run(after_loops, tmp_path)
    _ok(result)
    by_label: dict[str, list[Any]] = {}
    for s in result.steps:
        by_label.setdefault(s.outputs["Output"], []).append(s)
    last_first = max(s.ended for s in by_label["first"])
    assert len(by_label["first"]) == 2 and len(by_label["second"]) == 2
    assert all(s.started >= last_first for s in by_label["second"] + by_label["last"])


# --- exit handlers with a failing step, the final status, ignore_upstream_failure -----------


@dsl.component(base_image=IMAGE)
def fail(message: str) -> str:
    raise SystemExit(f"failing on purpose: {message}")


@dsl.component(base_image=IMAGE)
def report(status: PipelineTaskFinalStatus) -> str:
    return f"{status.state}:{status.pipeline_task_name}"


@dsl.component(base_image=IMAGE)
def cleanup(note: str = "default") -> str:
    return note


@dsl.pipeline
def guarded():
    final = report()
    with dsl.ExitHandler(final, name="guarded-block"):
        mark(label="inside")
        fail(message="x")
    cleanup(note=fail(message="y").output).ignore_upstream_failure()


def test_a_failing_step_under_an_exit_handler_runs_the_exit_task_and_the_cleanup(
    tmp_path: Path,
) -> None:
    result = _run(guarded, tmp_path)
    assert result.status == "failed"
    states = {s.task: s.status for s in result.steps}
    assert states["mark"] == "succeeded" and states["fail"] == "failed"
    state, block = result.step("report").outputs["Output"].split(":")
    assert state == "FAILED" and block.startswith("exit-handler")
    assert result.step("cleanup").outputs["Output"] == "default"  # its upstream failed


# --- retry policy -----------------------------------------------------------------------------


@dsl.component(base_image=IMAGE)
def flaky(counter: str) -> int:
    import os

    count = int(open(counter).read()) if os.path.exists(counter) else 0
    with open(counter, "w") as f:
        f.write(str(count + 1))
    if count < 2:
        raise RuntimeError(f"attempt {count + 1} fails")
    return count + 1


@dsl.pipeline
def retried(counter: str) -> int:
    task = flaky(counter=counter)
    task.set_retry(num_retries=3, backoff_duration="0s", backoff_factor=1.0)
    return task.output


def test_a_retry_policy_runs_a_failing_step_again(tmp_path: Path) -> None:
    result = _run(retried, tmp_path, counter=str(tmp_path / "count"))
    _ok(result)
    assert result.outputs["Output"] == 3
    assert result.step("flaky").attempts == 3


# --- container components on the host: placeholders, output files, env --------------------


@dsl.container_component
def shell(text: str, out: OutputPath(str), extra: Optional[str] = None):  # noqa: UP045
    return dsl.ContainerSpec(
        image="alpine",
        command=[
            "sh",
            "-c",
            'mkdir -p "$(dirname "$0")" && printf "%s|%s|%s" "$1" "$2" "$GREETING" > "$0"',
        ],
        args=[
            out,
            dsl.ConcatPlaceholder(["<", text, ">"]),
            dsl.IfPresentPlaceholder(input_name="extra", then=[extra], else_=["none"]),
        ],
    )


@dsl.pipeline
def containers() -> str:
    first = shell(text="a").set_env_variable(name="GREETING", value="hello")
    return shell(text=first.outputs["out"], extra="given").outputs["out"]


def test_container_components_run_on_the_host_with_their_placeholders(tmp_path: Path) -> None:
    result = _run(containers, tmp_path, host_containers=True)
    _ok(result)
    assert result.step("shell").outputs["out"] == "<a>|none|hello"
    assert result.outputs["Output"] == "<<a>|none|hello>|given|"


# --- a pipeline loaded from its compiled YAML, used as a nested pipeline --------------------


@dsl.pipeline
def inner(word: str) -> str:
    return echo(text=word, more="?").output


def test_a_compiled_pipeline_loaded_as_a_component_runs_nested(tmp_path: Path) -> None:
    loaded = components.load_component_from_file(str(_compile(inner, tmp_path, "inner.yaml")))

    @dsl.pipeline
    def outer() -> str:
        return echo(text=loaded(word="why").output, more="!").output

    result = _run(outer, tmp_path)
    _ok(result)
    assert result.outputs["Output"] == "why?!"


# --- KFP's run placeholders -----------------------------------------------------------------


@dsl.pipeline
def placeholders() -> str:
    echo(text=dsl.PIPELINE_TASK_NAME_PLACEHOLDER)
    return echo(text=dsl.PIPELINE_JOB_NAME_PLACEHOLDER).output


def test_job_and_task_name_placeholders_are_the_run_and_the_task(tmp_path: Path) -> None:
    result = _run(placeholders, tmp_path)
    _ok(result)
    assert result.outputs["Output"] == result.run_id
    assert result.step("echo").outputs["Output"] == "echo"
