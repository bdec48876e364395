"""Small KFP pipelines (written here, compiled with kfp, imported) for the compilers' tests of
components imported from KFP: Python components named after their functions (ids Argo takes
for no template name), a container component in an image without Python, KFP's Concat and
IfPresent placeholders, the run's placeholders, and placeholders Argo has nothing for."""

# no `from __future__ import annotations`: kfp reads the annotations as objects

from pathlib import Path
from typing import Any, Optional

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Output

ALPINE = "alpine:3.19"
PYTHON = "python:3.11"
# writes $0 into the file $1 (making its folder), as a container's own shell does
WRITE = 'mkdir -p "$(dirname "$1")" && printf "%s" "$0" > "$1"'


@dsl.component(base_image=PYTHON, packages_to_install=["packaging"])
def shout_it(text: str) -> str:
    return text.upper()


@dsl.container_component
def echo_twice(text: str, said: dsl.OutputPath(str), copy: Output[Dataset]):  # type: ignore[valid-type]
    return dsl.ContainerSpec(
        image=ALPINE,
        command=["sh", "-c"],
        args=[
            'mkdir -p "$(dirname "$1")" "$(dirname "$2")" && printf "%s" "$0" > "$1" '
            '&& printf "%s!" "$0" > "$2"',
            text,
            said,
            copy.path,
        ],
    )


@dsl.component(base_image=PYTHON)
def read_copy(data: Input[Dataset], said: str) -> str:
    with open(data.path, encoding="utf-8") as f:
        return f"{f.read()}|{said}"


@dsl.pipeline
def mixed(text: str = "hi") -> str:
    shouted = shout_it(text=text)
    echoed = echo_twice(text=shouted.output)
    return read_copy(data=echoed.outputs["copy"], said=echoed.outputs["said"]).output


@dsl.container_component
def greet(name: str, said: dsl.OutputPath(str), greeting: Optional[str] = None):  # type: ignore[valid-type]  # noqa: UP045 (kfp reads Optional)
    text = dsl.ConcatPlaceholder(
        [
            "<",
            dsl.IfPresentPlaceholder(input_name="greeting", then=greeting, else_="hello"),
            " ",
            name,
            ">",
        ]
    )
    return dsl.ContainerSpec(image=ALPINE, command=["sh", "-c", WRITE], args=[text, said])


@dsl.pipeline
def greeted(name: str = "ann") -> str:
    return greet(name=name, greeting="hey").outputs["said"]


@dsl.pipeline
def ungreeted(name: str = "ann") -> str:
    return greet(name=name).outputs["said"]


@dsl.pipeline
def greeted_both_ways(name: str = "ann") -> str:
    greet(name=name, greeting="hey")
    return greet(name=name).outputs["said"]


@dsl.container_component
def where_am_i(said: dsl.OutputPath(str)):  # type: ignore[valid-type]
    run = f"{dsl.PIPELINE_JOB_NAME_PLACEHOLDER}/{dsl.PIPELINE_TASK_NAME_PLACEHOLDER}"
    return dsl.ContainerSpec(image=ALPINE, command=["sh", "-c", WRITE], args=[run, said])


@dsl.pipeline
def placed() -> str:
    return where_am_i().outputs["said"]


@dsl.container_component
def executor_input(said: dsl.OutputPath(str)):  # type: ignore[valid-type]
    return dsl.ContainerSpec(image=ALPINE, command=["sh", "-c", WRITE], args=["{{$}}", said])


@dsl.pipeline
def given_executor_input() -> str:
    return executor_input().outputs["said"]


@dsl.container_component
def artifact_uri(copy: Output[Dataset]):
    return dsl.ContainerSpec(image=ALPINE, command=["sh", "-c", WRITE], args=[copy.uri, copy.path])


@dsl.pipeline
def given_artifact_uri() -> Dataset:
    return artifact_uri().outputs["copy"]


@dsl.component(base_image=PYTHON)
def twice(text: str, out: Output[Dataset]) -> int:
    with open(out.path, "w", encoding="utf-8") as f:
        f.write(text * 2)
    return len(text)


@dsl.component(base_image=PYTHON)
def read_with(data: Input[Dataset], n: int) -> str:
    with open(data.path, encoding="utf-8") as f:
        return f"{f.read()}{n}"


@dsl.pipeline
def python_only(text: str = "ab") -> str:
    made = twice(text=text)
    return read_with(data=made.outputs["out"], n=made.outputs["Output"]).output


@dsl.container_component
def count_chars(data: Input[Dataset], n: dsl.OutputPath(int)):  # type: ignore[valid-type]
    count = 'mkdir -p "$(dirname "$1")" && printf "%s" "$(wc -c < "$0" | tr -d " ")" > "$1"'
    return dsl.ContainerSpec(image=ALPINE, command=["sh", "-c", count], args=[data.path, n])


@dsl.component(base_image=PYTHON)
def joined(items: Input[list[Dataset]]) -> str:
    texts = []
    for item in items:
        with open(item.path, encoding="utf-8") as f:
            texts.append(f.read())
    return ",".join(texts)


@dsl.pipeline
def container_reads(text: str = "ab") -> str:
    made = twice(text=text)
    counted = count_chars(data=made.outputs["out"])
    return read_with(data=made.outputs["out"], n=counted.outputs["n"]).output


@dsl.pipeline
def container_fan() -> str:
    with dsl.ParallelFor(["x", "yz"]) as item:
        echoed = echo_twice(text=item)
    return joined(items=dsl.Collected(echoed.outputs["copy"])).output


@dsl.pipeline
def container_on_item_field() -> None:
    with dsl.ParallelFor([{"a": "x"}, {"a": "y"}]) as item:
        echo_twice(text=item.a)


def kfp_yaml(pipeline: Any, folder: Path) -> Path:
    """The pipeline compiled by kfp into ``folder/<name>.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pipeline.name}.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    return path


def imported(pipeline: Any, folder: Path) -> Any:
    """The pipeline compiled by kfp, then imported into dagwright's IR."""
    from dagwright.sources.kfp import import_pipeline

    return import_pipeline(kfp_yaml(pipeline, folder))
