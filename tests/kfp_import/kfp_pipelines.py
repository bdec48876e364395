"""KFP pipelines written with kfp's own DSL (kfp 2.17), one per construct dagwright imports,
plus the shapes kfp.local gets wrong; each with the outputs a correct run gives, worked out by
hand, and what kfp.local does with it.

Nothing here is copied from KFP: the components are small on purpose, so a wrong value says
which construct was misread. A pipeline that takes ``journal`` (a folder) has steps leave a
file there when they run, so that branches, loops and exit tasks that have no outputs can be
checked too; ``journal_files`` reads it back.

``SHAPES`` lists them: a ``Shape`` holds the pipeline function, the arguments of one run (the
journal folder aside), the pipeline outputs expected (KFP's output names: ``Output`` for a
single return, the fields of a NamedTuple), the journal expected, whether the run succeeds,
and ``kfp_local``: ``SAME`` when kfp.local 2.17 gives exactly that, else what it does instead
(the evidence behind the issue's claims; ``kfp_local_evidence.py`` measures it again).
"""

import functools
import json
import os
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional

from kfp import dsl
from kfp.dsl import (
    HTML,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)

SAME = "same"
IMAGE = "python:3.11"  # said, so kfp does not warn that its default will change

component = functools.partial(dsl.component, base_image=IMAGE)


# ---------------------------------------------------------------- components


@component
def add(a: int, b: int) -> int:
    return a + b


@component
def mul(a: int, b: int) -> int:
    return a * b


@component
def total(xs: list[int]) -> int:
    # a float among the items (kfp.local's Collected List[int]) shows in the type name
    return sum(xs) if all(type(x) is int for x in xs) else -1


@component
def count_to(n: int) -> list[int]:
    return list(range(1, n + 1))


@component
def mark(journal: str, name: str) -> str:
    import os

    with open(os.path.join(journal, name), "a") as f:
        f.write("ran\n")
    return name


@component
def mark_item(journal: str, prefix: str, item: int) -> int:
    import os

    with open(os.path.join(journal, f"{prefix}-{item}"), "a") as f:
        f.write("ran\n")
    return item


@component
def hold(journal: str, item: int) -> int:
    import os
    import time

    # how many items run at once: each holds a "running-" file for a while, then leaves the
    # number of them it saw in "item-<item>"
    running = os.path.join(journal, f"running-{item}")
    open(running, "w").close()
    time.sleep(0.3)
    seen = len([n for n in os.listdir(journal) if n.startswith("running-")])
    os.remove(running)
    with open(os.path.join(journal, f"item-{item}"), "w") as f:
        f.write(str(seen))
    return item


@component
def mark_after(journal: str, name: str, requires: str) -> str:
    import os

    # ``.after`` must have let ``requires`` finish first: its file is there already
    if not os.path.exists(os.path.join(journal, requires)):
        raise RuntimeError(f"{name} ran before {requires}")
    with open(os.path.join(journal, name), "a") as f:
        f.write("ran\n")
    return name


@component
def fail(message: str) -> str:
    raise RuntimeError(message)


@component
def describe(
    s: str,
    i: int,
    f: float,
    b: bool,
    items: list,
    mapping: dict,
    unset: str = "component default",
    maybe: Optional[str] = None,  # noqa: UP045 (kfp reads no "str | None")
) -> str:
    import json

    values = [s, i, f, b, items, mapping, unset, maybe]
    return json.dumps([[type(v).__name__, v] for v in values], sort_keys=True)


@component
def split(a: int, b: int) -> NamedTuple("Parts", [("total", int), ("product", int), ("text", str)]):
    from collections import namedtuple

    parts = namedtuple("Parts", ["total", "product", "text"])
    return parts(a + b, a * b, f"{a},{b}")


@component
def make_artifacts(
    rows: int,
    data: Output[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    page: Output[HTML],
    notes: Output[Markdown],
    confusion: Output[ClassificationMetrics],
) -> str:
    with open(data.path, "w") as f:
        f.write(",".join(str(r) for r in range(rows)))
    data.metadata["rows"] = rows
    with open(model.path, "w") as f:
        f.write("weights")
    model.metadata["framework"] = "none"
    metrics.log_metric("accuracy", 0.75)
    with open(page.path, "w") as f:
        f.write("<p>hello</p>")
    with open(notes.path, "w") as f:
        f.write("# notes")
    confusion.log_confusion_matrix(["a", "b"], [[3, 1], [0, 4]])
    return "made"


@component
def read_artifacts(
    data: Input[Dataset],
    model: Input[Model],
    metrics: Input[Metrics],
    page: Input[HTML],
    notes: Input[Markdown],
    confusion: Input[ClassificationMetrics],
) -> str:
    import json

    def text(artifact) -> str:
        with open(artifact.path) as f:
            return f.read()

    seen = {
        "data": [text(data), data.metadata.get("rows")],
        "model": [text(model), model.metadata.get("framework")],
        "metrics": metrics.metadata.get("accuracy"),
        "page": text(page),
        "notes": text(notes),
        "confusion": confusion.metadata["confusionMatrix"]["rows"],
    }
    return json.dumps(seen, sort_keys=True)


@component
def write_text(text: str, out: Output[Dataset]) -> None:
    with open(out.path, "w") as f:
        f.write(text)
    out.metadata["length"] = len(text)


@component
def read_text(data: Input[Dataset]) -> str:
    with open(data.path) as f:
        return f.read() + "|" + str(data.metadata.get("length"))


@component
def join_texts(items: Input[list[Dataset]]) -> str:
    texts = []
    for item in items:
        with open(item.path) as f:
            texts.append(f.read())
    return "+".join(sorted(texts))


@component
def double_text(data: Input[Dataset], out: Output[Dataset]) -> None:
    with open(data.path) as f, open(out.path, "w") as g:
        g.write(f.read() * 2)


@component
def exit_status(journal: str, status: dsl.PipelineTaskFinalStatus) -> str:
    import os

    with open(os.path.join(journal, f"exit-{status.state}"), "a") as f:
        f.write(f"{status.pipeline_task_name}\n")
    return status.state


@component
def flaky(journal: str, fails: int) -> int:
    import os

    # each attempt adds one line; the first ``fails`` attempts fail
    path = os.path.join(journal, "attempts")
    with open(path, "a") as f:
        f.write("attempt\n")
    with open(path) as f:
        attempts = len(f.read().splitlines())
    if attempts <= fails:
        raise RuntimeError(f"attempt {attempts} fails on purpose")
    return attempts


@component
def read_env(name: str) -> str:
    import os

    return os.environ.get(name, "<unset>")


@component
def read_imported(data: Input[Dataset]) -> str:
    with open(data.path) as f:
        return f.read() + "|" + str(data.metadata.get("origin"))


@component
def passthrough(value: int) -> int:
    return value


@component
def pair(a: int, b: int) -> str:
    return f"{a}:{b}"


@component
def join_strings(items: list[str]) -> str:
    return ",".join(items)


@component
def flatten(rows: list) -> list:
    return [x for row in rows for x in row]


@dsl.container_component
def shell_echo(text: str, said: dsl.OutputPath(str), copy: Output[Dataset]):
    return dsl.ContainerSpec(
        image="alpine:3.19",
        command=["sh", "-c"],
        args=[
            'mkdir -p "$(dirname "$1")" "$(dirname "$2")" && printf "%s" "$0" > "$1" '
            '&& printf "%s!" "$0" > "$2"',
            text,
            said,
            copy.path,
        ],
    )


# ---------------------------------------------------------------- pipelines

# what pipelines return (a component's NamedTuple is written inline: its text travels alone)


class SeenData(NamedTuple):
    seen: str
    data: Dataset


class Parts(NamedTuple):
    total: int
    product: int
    text: str


class Doubled(NamedTuple):
    doubled: int
    text: str


class PlusOne(NamedTuple):
    plus_one: int
    text: str


class DoubledRead(NamedTuple):
    doubled: Dataset
    read: str


class SaidCopy(NamedTuple):
    said: str
    copy: Dataset


@dsl.pipeline
def plain_chain(x: int = 1) -> int:
    first = add(a=x, b=1)
    second = add(a=first.output, b=2)
    return mul(a=second.output, b=3).output


@dsl.pipeline
def params_every_type(
    s: str = "text",
    i: int = 3,
    f: float = 1.5,
    b: bool = True,
    items: list = [1, "two", 3.5],  # noqa: B006 (KFP reads defaults from the signature)
    mapping: dict = {"k": [1, 2]},  # noqa: B006
) -> str:
    return describe(s=s, i=i, f=f, b=b, items=items, mapping=mapping).output


@dsl.pipeline
def artifacts_of_each_kind(rows: int = 3) -> SeenData:
    made = make_artifacts(rows=rows)
    seen = read_artifacts(
        data=made.outputs["data"],
        model=made.outputs["model"],
        metrics=made.outputs["metrics"],
        page=made.outputs["page"],
        notes=made.outputs["notes"],
        confusion=made.outputs["confusion"],
    )
    return SeenData(seen=seen.output, data=made.outputs["data"])


@dsl.pipeline
def named_tuple_outputs(a: int = 3, b: int = 4) -> Parts:
    parts = split(a=a, b=b)
    again = add(a=parts.outputs["total"], b=parts.outputs["product"])
    return Parts(total=again.output, product=parts.outputs["product"], text=parts.outputs["text"])


@dsl.pipeline
def inner_pipeline(x: int) -> Doubled:
    parts = split(a=x, b=2)
    return Doubled(doubled=parts.outputs["product"], text=parts.outputs["text"])


@dsl.pipeline
def middle_pipeline(x: int) -> Doubled:
    nested = inner_pipeline(x=x)
    # a pipeline returning a nested pipeline's outputs as they are
    return Doubled(doubled=nested.outputs["doubled"], text=nested.outputs["text"])


@dsl.pipeline
def nested_pipelines(x: int = 5) -> PlusOne:
    middle = middle_pipeline(x=x)
    plus = add(a=middle.outputs["doubled"], b=1)
    return PlusOne(plus_one=plus.output, text=middle.outputs["text"])


@dsl.pipeline
def if_elif_else(journal: str, x: int = 4):
    value = passthrough(value=x)
    with dsl.If(value.output > 5):
        mark(journal=journal, name="big")
    with dsl.Elif(value.output > 2):
        mark(journal=journal, name="middle")
    with dsl.Else():
        mark(journal=journal, name="small")
    with dsl.If(x == 4):  # a condition on a pipeline parameter
        mark(journal=journal, name="four")


@dsl.pipeline
def condition_on_loop_item(journal: str):
    with dsl.ParallelFor([1, 2, 3, 4]) as item:
        with dsl.If(item > 2):
            mark_item(journal=journal, prefix="big", item=item)
        with dsl.Else():
            mark_item(journal=journal, prefix="small", item=item)


@dsl.pipeline
def loop_over_raw_items(n: int = 10) -> list[int]:
    with dsl.ParallelFor([1, 2, 3]) as item:
        summed = add(a=item, b=n)
    return dsl.Collected(summed.output)


@dsl.pipeline
def loop_over_parameter(items: list = [4, 5, 6]) -> int:  # noqa: B006
    with dsl.ParallelFor(items) as item:
        doubled = mul(a=item, b=2)
    return total(xs=dsl.Collected(doubled.output)).output


@dsl.pipeline
def loop_over_task_output(n: int = 4) -> int:
    counted = count_to(n=n)
    with dsl.ParallelFor(counted.output, parallelism=2) as item:
        squared = mul(a=item, b=item)
    return total(xs=dsl.Collected(squared.output)).output


@dsl.pipeline
def loop_over_dicts() -> str:
    with dsl.ParallelFor([{"a": 1, "b": 10}, {"a": 2, "b": 20}]) as item:
        shown = pair(a=item.a, b=item.b)
    return join_strings(items=dsl.Collected(shown.output)).output


@dsl.pipeline
def loop_parallelism(journal: str) -> int:
    with dsl.ParallelFor([1, 2, 3, 4, 5], parallelism=2) as item:
        held = hold(journal=journal, item=item)
    return total(xs=dsl.Collected(held.output)).output


@dsl.pipeline
def loop_unbounded(journal: str) -> int:
    with dsl.ParallelFor([1, 2, 3, 4, 5, 6]) as item:
        held = hold(journal=journal, item=item)
    return total(xs=dsl.Collected(held.output)).output


@dsl.pipeline
def nested_loops(journal: str):
    with dsl.ParallelFor([1, 2]) as outer:
        with dsl.ParallelFor([10, 20]) as inner:
            summed = add(a=outer, b=inner)
            mark_item(journal=journal, prefix="sum", item=summed.output)


@dsl.pipeline
def collected_nested(journal: str) -> list[int]:
    with dsl.ParallelFor([1, 2]) as outer:
        with dsl.ParallelFor([10, 20]) as inner:
            summed = add(a=outer, b=inner)
        # the inner fan-in, inside the outer loop
        subtotal = total(xs=dsl.Collected(summed.output))
        mark_item(journal=journal, prefix="subtotal", item=subtotal.output)
    return dsl.Collected(subtotal.output)


@dsl.pipeline
def collected_artifacts() -> str:
    with dsl.ParallelFor(["a", "b", "c"]) as item:
        written = write_text(text=item)
    return join_texts(items=dsl.Collected(written.outputs["out"])).output


@dsl.pipeline
def one_of_params(x: int = 1) -> str:
    value = passthrough(value=x)
    with dsl.If(value.output == 1):
        first = pair(a=x, b=1)
    with dsl.Else():
        first_else = pair(a=x, b=2)
    return dsl.OneOf(first.output, first_else.output)


@dsl.pipeline
def one_of_artifacts(x: int = 2) -> str:
    value = passthrough(value=x)
    with dsl.If(value.output == 1):
        one = write_text(text="one")
    with dsl.Else():
        other = write_text(text="other")
    return read_text(data=dsl.OneOf(one.outputs["out"], other.outputs["out"])).output


@dsl.pipeline
def exit_handler_plain(journal: str):
    cleanup = mark(journal=journal, name="cleanup")
    with dsl.ExitHandler(cleanup):
        mark(journal=journal, name="work")


@dsl.pipeline
def exit_handler_succeeds(journal: str):
    handler = exit_status(journal=journal)
    with dsl.ExitHandler(handler):
        mark(journal=journal, name="work")


@dsl.pipeline
def exit_handler_fails(journal: str):
    handler = exit_status(journal=journal)
    with dsl.ExitHandler(handler):
        broken = fail(message="this step fails on purpose")
        mark(journal=journal, name="never").after(broken)


@dsl.pipeline
def ignore_upstream_failure(journal: str):
    broken = fail(message="this step fails on purpose")
    mark(journal=journal, name="cleanup").after(broken).ignore_upstream_failure()


@dsl.pipeline
def after_only(journal: str):
    first = mark(journal=journal, name="first")
    mark_after(journal=journal, name="second", requires="first").after(first)


@dsl.pipeline
def retry_then_succeed(journal: str) -> int:
    return flaky(journal=journal, fails=1).set_retry(num_retries=2, backoff_duration="0s").output


@dsl.pipeline
def fails_then_resumes(journal: str) -> int:
    first = mark(journal=journal, name="first")
    # no retry: the first run fails here, a resume runs it again and it succeeds
    flaked = flaky(journal=journal, fails=1).after(first)
    mark(journal=journal, name="last").after(flaked)
    return flaked.output


@dsl.pipeline
def caching_options(journal: str):
    mark(journal=journal, name="cached").set_caching_options(True)
    mark(journal=journal, name="uncached").set_caching_options(False)


@dsl.pipeline
def resources_and_env() -> str:
    task = read_env(name="GREETING")
    task.set_env_variable("GREETING", "hello from env")
    task.set_cpu_limit("1").set_memory_limit("512M").set_cpu_request("0.5")
    return task.output


@dsl.pipeline
def importer_step(uri: str) -> str:
    imported = dsl.importer(
        artifact_uri=uri, artifact_class=Dataset, reimport=False, metadata={"origin": "imported"}
    )
    return read_imported(data=imported.output).output


@dsl.pipeline
def pipeline_outputs(text: str = "ab") -> DoubledRead:
    written = write_text(text=text)
    doubled = double_text(data=written.outputs["out"])
    read = read_text(data=written.outputs["out"])
    return DoubledRead(doubled=doubled.outputs["out"], read=read.output)


@dsl.pipeline
def container_component(text: str = "hi") -> SaidCopy:
    echoed = shell_echo(text=text)
    return SaidCopy(said=echoed.outputs["said"], copy=echoed.outputs["copy"])


# the shapes the issue says kfp.local gets wrong


@dsl.pipeline
def outer_output_in_static_loop(x: int = 100) -> list[int]:
    outer = passthrough(value=x)
    with dsl.ParallelFor([1, 2, 3]) as item:
        summed = add(a=outer.output, b=item)
    return dsl.Collected(summed.output)


@dsl.pipeline
def condition_on_item_values(journal: str):
    with dsl.ParallelFor([1, 5, 2, 7]) as item:
        kept = passthrough(value=item)
        # a condition on a task output of the same iteration
        with dsl.If(kept.output > 3):
            mark_item(journal=journal, prefix="kept", item=kept.output)


@dsl.pipeline
def outer_output_in_nested_loop(x: int = 100) -> list:
    outer = passthrough(value=x)
    with dsl.ParallelFor([1, 2]):
        with dsl.ParallelFor([10, 20]) as second:
            shown = pair(a=outer.output, b=second)
    return dsl.Collected(shown.output)


@dsl.pipeline
def inner_loop_over_outer_item() -> list:
    with dsl.ParallelFor([{"xs": [1, 2]}, {"xs": [3]}]) as outer:
        with dsl.ParallelFor(outer.xs) as inner:
            scaled = mul(a=inner, b=10)
    return dsl.Collected(scaled.output)


@dsl.pipeline
def collected_from_condition_in_loop() -> list[int]:
    with dsl.ParallelFor([1, 5, 2, 7]) as item:
        with dsl.If(item > 3):
            kept = passthrough(value=item)
    # only the iterations where the condition held give a value
    return dsl.Collected(kept.output)


@dsl.pipeline
def collected_ints() -> int:
    with dsl.ParallelFor([1, 2, 3]) as item:
        squared = mul(a=item, b=item)
    return total(xs=dsl.Collected(squared.output)).output


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Shape:
    """One pipeline and what a correct run of it gives."""

    pipeline: Any
    arguments: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    journal: tuple[str, ...] = ()
    succeeds: bool = True
    kfp_local: str = SAME
    container: bool = False

    @property
    def name(self) -> str:
        return str(self.pipeline.name)

    @property
    def takes_journal(self) -> bool:
        return "journal" in self.pipeline.component_spec.inputs


def strict(value: Any) -> str:
    """A value as JSON text, so that 3 and 3.0 differ, as they do to a component."""
    return json.dumps(value, sort_keys=True)


def journal_files(folder: str | os.PathLike[str]) -> tuple[str, ...]:
    """The files the steps left in a journal folder, sorted."""
    return tuple(sorted(os.listdir(folder)))


DESCRIBED = (
    '[["str", "text"], ["int", 3], ["float", 1.5], ["bool", true], '
    '["list", [1, "two", 3.5]], ["dict", {"k": [1, 2]}], ["str", "component default"], '
    '["NoneType", null]]'
)
SEEN = (
    '{"confusion": [{"row": [3, 1]}, {"row": [0, 4]}], "data": ["0,1,2", 3], '
    '"metrics": 0.75, "model": ["weights", "none"], "notes": "# notes", '
    '"page": "<p>hello</p>"}'
)

FLOATS = "ints inside a list or dict arrive as floats"
FLOAT_METADATA = "integer metadata of an input artifact arrives as a float"
FLOAT_COLLECTED = "Collected List[int] reaches the consumer as floats"

SHAPES: list[Shape] = [
    Shape(plain_chain, {"x": 1}, {"Output": 12}),
    Shape(
        params_every_type,
        outputs={"Output": DESCRIBED},
        kfp_local=f"{FLOATS}: [1.0, 'two', 3.5], {{'k': [1.0, 2.0]}}",
    ),
    Shape(
        artifacts_of_each_kind,
        outputs={"seen": SEEN, "data": "0,1,2"},
        kfp_local=f"{FLOAT_METADATA}: rows 3.0, confusion matrix rows [3.0, 1.0]",
    ),
    Shape(named_tuple_outputs, {"a": 3, "b": 4}, {"total": 19, "product": 12, "text": "3,4"}),
    Shape(nested_pipelines, {"x": 5}, {"plus_one": 11, "text": "5,2"}),
    Shape(if_elif_else, {"x": 4}, journal=("four", "middle")),
    Shape(condition_on_loop_item, journal=("big-3", "big-4", "small-1", "small-2")),
    Shape(condition_on_item_values, journal=("kept-5", "kept-7")),
    Shape(loop_over_raw_items, {"n": 10}, {"Output": [11, 12, 13]}),
    Shape(loop_over_parameter, {"items": [4, 5, 6]}, {"Output": 30}, kfp_local=FLOAT_COLLECTED),
    Shape(loop_over_task_output, {"n": 4}, {"Output": 30}, kfp_local=FLOAT_COLLECTED),
    Shape(loop_over_dicts, outputs={"Output": "1:10,2:20"}),
    Shape(
        loop_parallelism,
        outputs={"Output": 15},
        journal=tuple(f"item-{i}" for i in range(1, 6)),
        kfp_local=FLOAT_COLLECTED,
    ),
    Shape(
        loop_unbounded,
        outputs={"Output": 21},
        journal=tuple(f"item-{i}" for i in range(1, 7)),
        kfp_local=f"{FLOAT_COLLECTED}; the six iterations ran one at a time",
    ),
    Shape(nested_loops, journal=("sum-11", "sum-12", "sum-21", "sum-22")),
    Shape(
        collected_nested,
        outputs={"Output": [32, 34]},
        journal=("subtotal-32", "subtotal-34"),
        kfp_local=f"{FLOAT_COLLECTED}: both subtotals -1, one journal file 'subtotal--1'",
    ),
    Shape(collected_artifacts, outputs={"Output": "a+b+c"}),
    Shape(one_of_params, {"x": 1}, {"Output": "1:1"}),
    Shape(
        one_of_artifacts,
        {"x": 2},
        {"Output": "other|5"},
        kfp_local="fails: ValueError: Expected 1 artifact in ArtifactSelectorSpec. Got: 2",
    ),
    Shape(exit_handler_plain, journal=("cleanup", "work")),
    Shape(exit_handler_succeeds, journal=("exit-SUCCEEDED", "work")),
    Shape(exit_handler_fails, journal=("exit-FAILED",), succeeds=False),
    Shape(ignore_upstream_failure, journal=("cleanup",), succeeds=False),
    Shape(after_only, journal=("first", "second")),
    Shape(retry_then_succeed, outputs={"Output": 2}, journal=("attempts",)),
    Shape(fails_then_resumes, journal=("attempts", "first"), succeeds=False),
    Shape(caching_options, journal=("cached", "uncached")),
    Shape(resources_and_env, outputs={"Output": "hello from env"}),
    Shape(importer_step, outputs={"Output": "imported text|imported"}),
    Shape(
        pipeline_outputs,
        {"text": "ab"},
        {"doubled": "abab", "read": "ab|2"},
        kfp_local=f"{FLOAT_METADATA}: read 'ab|2.0'",
    ),
    Shape(
        container_component,
        {"text": "hi"},
        {"said": "hi", "copy": "hi!"},
        container=True,
        kfp_local="refused: the SubprocessRunner only runs Lightweight Python Components",
    ),
    # the shapes the issue names
    Shape(
        outer_output_in_static_loop,
        {"x": 100},
        {"Output": [101, 102, 103]},
        kfp_local="the outer task's output inside the loop is the loop item: [2, 4, 6]",
    ),
    Shape(
        outer_output_in_nested_loop,
        {"x": 100},
        {"Output": [["100:10", "100:20"], ["100:10", "100:20"]]},
        kfp_local="the outer task's output is the outer loop item: [['1:10', '1:20'], ...]",
    ),
    Shape(
        inner_loop_over_outer_item,
        outputs={"Output": [[10, 20], [30]]},
        kfp_local="fails: Parent pipeline input argument "
        "'pipelinechannel--loop-item-param-1-subvar-xs' not found",
    ),
    Shape(
        collected_from_condition_in_loop,
        outputs={"Output": [5, 7]},
        kfp_local="fails: Tried to get output 'pipelinechannel--passthrough-Output' from task "
        "'condition-3', but task 'condition-3' not found",
    ),
    Shape(collected_ints, outputs={"Output": 14}, kfp_local=FLOAT_COLLECTED),
]

BY_NAME = {shape.name: shape for shape in SHAPES}
