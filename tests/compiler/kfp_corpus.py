"""Pipelines that exercise every construct the KFP target maps, for the kfp.local tests.

Each pipeline returns what it computed as pipeline outputs, and the ones whose effect is which
steps ran (conditions, exit handlers, retries) leave a file per step in a ``journal`` folder,
so a dagwright run and a kfp.local run of the compiled spec can be compared.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import pandas as pd

from dagwright import (
    HTML,
    Artifact,
    Collected,
    Dataset,
    Elif,
    Else,
    ExitHandler,
    If,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
    ParallelFor,
    component,
    pipeline,
)
from dagwright.runtimes import Process

# the pipelines below that every target's run test takes, in order
NAMES = [
    "typed_params",
    "artifact_types",
    "branches",
    "loop_over_param",
    "loop_over_output",
    "exit_handler",
    "ordering",
    "retried",
    "options",
    "nested",
    "value_files",
    "loop_with_condition",
    "task_settings",
]


@component
def note(journal: str, text: str) -> str:
    """Leave a mark that this step ran."""
    with open(os.path.join(journal, text), "a", encoding="utf-8") as mark:
        mark.write("ran\n")
    return text


@component
def describe(
    word: str,
    count: int,
    ratio: float,
    flag: bool,
    tags: list[str],
    limits: dict[str, int],
    maybe: int | None = None,
) -> dict:
    return {
        "word": word * count,
        "ratio": ratio * 2,
        "flag": not flag,
        "tags": sorted(tags),
        "total": sum(limits.values()),
        "maybe": maybe,
        "types": [type(count).__name__, type(ratio).__name__, type(limits["a"]).__name__],
    }


@pipeline
def typed_params(
    word: str = "ab",
    count: int = 3,
    ratio: float = 0.25,
    flag: bool = True,
    tags: list[str] = ["b", "a"],  # noqa: B006
    limits: dict[str, int] = {"a": 1, "b": 2},  # noqa: B006
) -> dict:
    # an unset Optional input with a None default trips kfp.local (the SDK's own specs too)
    return describe(
        word=word, count=count, ratio=ratio, flag=flag, tags=tags, limits=limits, maybe=7
    )


@component
def make_all(
    data: Output[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    page: Output[HTML],
    notes: Output[Markdown],
    blob: Output[Artifact],
) -> None:
    for artifact, text in ((data, "1,2\n3,4\n"), (model, "weights"), (page, "<b>hi</b>")):
        with open(artifact.path, "w", encoding="utf-8") as f:
            f.write(text)
    os.makedirs(blob.path)  # a folder artifact
    with open(os.path.join(blob.path, "part-0"), "w", encoding="utf-8") as f:
        f.write("zero")
    with open(notes.path, "w", encoding="utf-8") as f:
        f.write("# notes")
    data.metadata["rows"] = "2"  # KFP keeps metadata in a protobuf Struct: numbers are floats
    metrics.log_metric("accuracy", 0.75)


@component
def read_all(
    data: Input[Dataset],
    model: Input[Model],
    metrics: Input[Metrics],
    page: Input[HTML],
    notes: Input[Markdown],
    blob: Input[Artifact],
    summary: Output[Markdown],
) -> str:
    def text(path: str) -> str:
        with open(path, encoding="utf-8") as f:
            return f.read()

    parts = [
        text(data.path).strip(),
        str(data.metadata.get("rows")),
        text(model.path),
        str(metrics.metadata.get("accuracy")),
        text(page.path),
        text(notes.path),
        text(os.path.join(blob.path, "part-0")),
    ]
    with open(summary.path, "w", encoding="utf-8") as f:
        f.write("|".join(parts))
    return "|".join(parts)


@pipeline
def artifact_types() -> dict:
    made = make_all()
    read = read_all(**{name: made.outputs[name] for name in made_outputs()})
    return {"text": read.output, "summary": read.outputs["summary"]}


def made_outputs() -> list[str]:
    return ["data", "model", "metrics", "page", "notes", "blob"]


@component
def score(n: int) -> int:
    return n * 10


@pipeline
def branches(journal: str, n: int = 2) -> int:
    s = score(n=n)
    with If(s.output > 25):
        note(journal=journal, text="big").named("note-big")
    with Elif(s.output == 20):
        note(journal=journal, text="twenty").named("note-twenty")
    with Else():
        note(journal=journal, text="small").named("note-small")
    with If((s.output >= 10) & (n != 5)):
        note(journal=journal, text="both").named("note-both")
    return s.output


@component
def square(x: int) -> int:
    return x * x


@component
def total(values: list[int]) -> int:
    return sum(values)


@pipeline
def loop_over_param(xs: list[int] = [1, 2, 3, 4]) -> dict:  # noqa: B006
    with ParallelFor(xs, parallelism=2) as x:
        sq = square(x=x)
    summed = total(values=Collected(sq.output))
    return {"total": summed.output, "squares": Collected(sq.output)}


@component
def make_items(n: int) -> list:
    return [{"name": f"part{i}", "size": i + 1} for i in range(n)]


@component
def write_part(name: str, size: int, part: Output[Dataset]) -> None:
    with open(part.path, "w", encoding="utf-8") as f:
        f.write(name * size)


@component
def join_parts(parts: Input[list[Dataset]]) -> str:
    texts = []
    for part in parts:
        with open(part.path, encoding="utf-8") as f:
            texts.append(f.read())
    return "+".join(sorted(texts))


@pipeline
def loop_over_output(n: int = 3) -> str:
    items = make_items(n=n)
    with ParallelFor(items.output) as item:
        written = write_part(name=item["name"], size=item["size"])
    return join_parts(parts=Collected(written.outputs["part"])).output


@component
def maybe_fail(journal: str, fail: bool) -> str:
    note.func(journal, "body")
    if fail:
        raise RuntimeError("asked to fail")
    return "ok"


@pipeline
def exit_handler(journal: str, fail: bool = False) -> None:
    cleanup = note(journal=journal, text="cleanup").named("cleanup")
    with ExitHandler(cleanup):
        maybe_fail(journal=journal, fail=fail)


@component
def count_marks(journal: str) -> int:
    return len(os.listdir(journal))


@pipeline
def ordering(journal: str) -> int:
    first = note(journal=journal, text="first").named("first")
    second = note(journal=journal, text="second").named("second").after(first)
    return count_marks(journal=journal).after(second).output


@component(retries=2)
def flaky(journal: str) -> int:
    path = os.path.join(journal, "attempts")
    with open(path, "a", encoding="utf-8") as f:
        f.write("x")
    with open(path, encoding="utf-8") as f:
        attempts = len(f.read())
    if attempts < 2:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


@pipeline
def retried(journal: str) -> int:
    return flaky(journal=journal).output


@component(
    cache=True,
    cpu="100m",
    memory="64Mi",
    cpu_limit="1",
    memory_limit="256Mi",
    env={"GREETING": "hello"},
    image="python:3.11-slim",
    packages=["pyyaml"],
    runtime=Process(),
)
def greet_env(name: str) -> str:
    return f"{os.environ['GREETING']}, {name}"


@pipeline
def options(name: str = "kfp") -> str:
    return greet_env(name=name).output


class Stats(NamedTuple):
    low: int
    high: int


@component
def bounds(values: list[int]) -> Stats:
    return Stats(min(values), max(values))


@pipeline
def inner_stats(values: list[int]) -> Stats:
    b = bounds(values=values)
    return Stats(b.outputs["low"], b.outputs["high"])


@component
def spread(low: int, high: int) -> int:
    return high - low


@pipeline
def nested(values: list[int] = [4, 9, 2]) -> int:  # noqa: B006
    stats = inner_stats(values=values)
    return spread(low=stats.outputs["low"], high=stats.outputs["high"]).output


@component
def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(n)), "y": [i * i for i in range(n)]})


@component
def frame_sum(table: pd.DataFrame) -> int:
    return int(table["y"].sum())


@pipeline
def value_files(n: int = 4) -> int:
    return frame_sum(table=frame(n=n).output).output


@component
def mark(journal: str, n: int) -> None:
    note.func(journal, f"square-{n}")


@pipeline
def loop_with_condition(journal: str, xs: list[int] = [1, 5, 2]) -> None:  # noqa: B006
    with ParallelFor(xs) as x:
        sq = square(x=x)
        with If(sq.output > 3):
            mark(journal=journal, n=sq.output)


@component
def flaky_plain(journal: str) -> int:
    """Fail on the first attempt (counted in the journal), as ``flaky`` does, with no retries
    of its own: the task sets them."""
    path = os.path.join(journal, "plain-attempts")
    with open(path, "a", encoding="utf-8") as f:
        f.write("x")
    with open(path, encoding="utf-8") as f:
        attempts = len(f.read())
    if attempts < 2:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


@component(runtime=Process())
def greet_plain(name: str) -> str:
    return f"{os.environ.get('GREETING', 'hi')}, {name}"


@pipeline
def task_settings(journal: str, name: str = "kfp") -> dict:
    """KFP's task methods: a retry, a display name, caching, resources and env per task."""
    tries = flaky_plain(journal=journal).set_retry(2, "0s").set_display_name("Try twice")
    hello = greet_plain(name=name).set_env_variable("GREETING", "hello")
    hello.set_cpu_request("100m").set_memory_limit("256Mi").set_caching_options(True, "v1")
    return {"attempts": tries.output, "greeting": hello.output, "plain": greet_plain(name=name)}
