"""The KFP importer: pipelines written here with kfp.dsl, compiled by kfp 2.17, read into the IR
(no ``from __future__ import annotations``: kfp reads the components' annotations as types).

One pipeline per construct; each test asserts the IR's tasks, blocks, values and components.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

pytest.importorskip("kfp")

from kfp import dsl  # noqa: E402
from kfp.dsl import Dataset, Input, Model, Output  # noqa: E402

from dagwright.pipelines.ir import PipelineIR  # noqa: E402
from dagwright.sources.kfp import import_pipeline  # noqa: E402

IMAGE = "python:3.11"


@dsl.component(base_image=IMAGE)
def add(a: int, b: int = 2) -> int:
    return a + b


@dsl.component(base_image=IMAGE)
def shout(text: str) -> str:
    return text.upper()


@dsl.component(base_image=IMAGE)
def make_data(n: int, data: Output[Dataset]) -> NamedTuple("Made", [("rows", int), ("note", str)]):
    with open(data.path, "w") as out:
        out.write(str(n))
    return (n, "made")


@dsl.component(base_image=IMAGE)
def train(data: Input[Dataset], model: Output[Model], rate: float = 0.1, tags: list = [1]):  # noqa: B006 - KFP takes list defaults as written
    with open(model.path, "w") as out:
        out.write(open(data.path).read())


@dsl.component(base_image=IMAGE)
def total(values: list) -> int:
    return sum(values)


@dsl.component(base_image=IMAGE)
def flip() -> str:
    return "heads"


def _by(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


@dsl.pipeline(name="plain-dag")
def plain_dag(n: int = 3, rate: float = 0.5, label: str = "x", flag: bool = True) -> int:
    made = make_data(n=n)
    fitted = train(data=made.outputs["data"], rate=rate)
    after_fit = add(a=made.outputs["rows"]).after(fitted)
    return after_fit.output


def test_a_plain_dag_with_parameters_artifacts_and_after(
    compiled: Callable[[Any], Path],
) -> None:
    ir = import_pipeline(compiled(plain_dag))
    assert isinstance(ir, PipelineIR)
    assert ir.name == "plain-dag"
    # KFP writes every number as a double: the int default comes back an int
    params = {p.name: (p.type, p.default) for p in ir.params}
    assert params == {
        "n": ("int", 3),
        "rate": ("float", 0.5),
        "label": ("str", "x"),
        "flag": ("bool", True),
    }
    assert type(params["n"][1]) is int
    tasks = {t.name: t for t in ir.tasks}
    assert set(tasks) == {"make-data", "train", "add"}
    assert tasks["make-data"].inputs == {"n": {"param": "n"}}
    assert tasks["train"].inputs == {
        "data": {"task": "make-data", "output": "data"},
        "rate": {"param": "rate"},
    }
    # .after(fitted) is not a data dependency: it stays an `after`
    assert tasks["add"].after == ["train"]
    assert tasks["add"].inputs == {"a": {"task": "make-data", "output": "rows"}}
    assert ir.outputs == {"Output": {"task": "add", "output": "Output"}}
    spec = ir.component_of("make-data")
    assert spec.name == "make_data" and spec.function == "make_data"
    assert [(o.name, o.type, o.artifact) for o in spec.outputs] == [
        ("note", "str", False),
        ("rows", "int", False),
        ("data", "Dataset", True),
    ]
    assert "def make_data(n: int, data: Output[Dataset])" in spec.source
    assert spec.image == IMAGE
    assert spec.kfp is not None
    assert spec.kfp["executor"]["container"]["args"][-1] == "make_data"
    assert spec.kfp["outputDefinitions"]["artifacts"]["data"]["artifactType"] == {
        "schemaTitle": "system.Dataset",
        "schemaVersion": "0.0.1",
    }
    train_spec = ir.component_of("train")
    defaults = {i.name: i.default for i in train_spec.inputs if i.has_default}
    assert defaults == {"rate": 0.1, "tags": [1]}
    assert type(defaults["tags"][0]) is int  # [1.0] in the YAML, as a step on KFP sees it
    # KFP's caching is on unless a task turns it off: the YAML says so, the IR follows
    assert spec.cache is True
    # the IR round-trips through its own text form
    assert PipelineIR.from_yaml(ir.to_yaml()).to_dict() == ir.to_dict()


@dsl.pipeline(name="branches")
def branches(n: int = 1):
    coin = flip()
    with dsl.If(coin.output == "heads"):
        shout(text="heads")
    with dsl.Elif(coin.output == "tails"):
        shout(text="tails")
    with dsl.Else():
        shout(text="edge")
    with dsl.If(n > 2, name="big-n"):
        add(a=n)


def test_if_elif_else_become_condition_blocks_with_full_conditions(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(branches)
    groups = _by(data["groups"], "id")
    coin = {"task": "flip", "output": "Output"}
    heads = {"op": "eq", "left": coin, "right": {"constant": "heads"}}
    tails = {"op": "eq", "left": coin, "right": {"constant": "tails"}}
    # the If/Elif/Else chain sits in KFP's condition-branches DAG, kept as a plain block
    assert groups["condition-branches-1"]["kind"] == "pipeline"
    chain = [g for g in data["groups"] if g.get("parent") == "condition-branches-1"]
    assert [(g["id"], g["branch"]) for g in chain] == [
        ("condition-2", "if"),
        ("condition-3", "elif"),
        ("condition-4", "else"),
    ]
    assert chain[0]["condition"] == heads
    assert chain[1]["condition"] == {"op": "and", "args": [{"op": "not", "arg": heads}, tails]}
    assert chain[2]["condition"] == {
        "op": "and",
        "args": [{"op": "not", "arg": heads}, {"op": "not", "arg": tails}],
    }
    # int(...) in the CEL is a cast the IR's types already make
    assert groups["condition-5"]["condition"] == {
        "op": "gt",
        "left": {"param": "n"},
        "right": {"constant": 2},
    }
    tasks = _by(data["tasks"])
    assert {name: t.get("group") for name, t in tasks.items()} == {
        "flip": None,
        "shout": "condition-2",
        "shout-2": "condition-3",
        "shout-3": "condition-4",
        "add": "condition-5",
    }
    _validated(data)


@dsl.pipeline(name="loops")
def loops(items: list = [1, 2, 3], rows: list = [{"a": 1, "b": "x"}]) -> int:  # noqa: B006 - KFP takes list defaults as written
    with dsl.ParallelFor(items, parallelism=2) as item:
        added = add(a=item)
    summed = total(values=dsl.Collected(added.output))
    with dsl.ParallelFor([10, 20]) as raw:
        add(a=raw, b=5)
    with dsl.ParallelFor(rows) as row:
        shout(text=row.b)
        with dsl.If(row.b == "x"):
            shout(text=row.b)
    return summed.output


def test_loops_over_parameters_literals_and_fields_with_collected(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(loops)
    groups = _by(data["groups"], "id")
    tasks = _by(data["tasks"])
    loop = tasks["add"]["group"]
    assert groups[loop] == {
        "id": loop,
        "kind": "loop",
        "items": {"param": "items"},
        "parallelism": 2,
    }
    assert tasks["add"]["inputs"] == {"a": {"loop_item": loop}}
    # the loop DAG's output, read outside the loop, is the Collected of the task inside
    assert tasks["total"]["inputs"] == {
        "values": {"collected": {"task": "add", "output": "Output"}}
    }
    raw_loop = tasks["add-2"]["group"]
    assert groups[raw_loop]["items"] == {"constant": [10, 20]}
    assert tasks["add-2"]["inputs"] == {"a": {"loop_item": raw_loop}, "b": {"constant": 5}}
    row_loop = tasks["shout"]["group"]
    assert tasks["shout"]["inputs"] == {"text": {"loop_item": row_loop, "key": "b"}}
    # a field of the item read in a condition inside the loop (KFP's -subvar- input)
    inner_if = tasks["shout-2"]["group"]
    assert groups[inner_if]["parent"] == row_loop
    assert groups[inner_if]["condition"] == {
        "op": "eq",
        "left": {"loop_item": row_loop, "key": "b"},
        "right": {"constant": "x"},
    }
    assert tasks["shout-2"]["inputs"] == {"text": {"loop_item": row_loop, "key": "b"}}
    assert data["outputs"] == {"Output": {"task": "total", "output": "Output"}}
    assert _validated(data).name == "loops"


@dsl.pipeline
def inner_pipeline(v: int, w: int = 4) -> int:
    first = add(a=v, b=w)
    with dsl.If(v > 0):
        shout(text="positive")
    return add(a=first.output).output


@dsl.pipeline(name="outer")
def outer(x: int = 1) -> int:
    got = inner_pipeline(v=x)
    return add(a=got.output).output


def test_a_nested_pipeline_is_a_pipeline_block_with_its_own_names(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(outer)
    groups = _by(data["groups"], "id")
    tasks = _by(data["tasks"])
    assert groups["inner-pipeline"] == {"id": "inner-pipeline", "kind": "pipeline"}
    # its tasks and blocks are named after the pipeline task, as call_pipeline names them
    assert tasks["inner-pipeline-add"]["inputs"] == {
        "a": {"param": "x"},
        "b": {"constant": 4},  # the nested pipeline's default, passed down
    }
    assert tasks["inner-pipeline-add-2"]["inputs"] == {
        "a": {"task": "inner-pipeline-add", "output": "Output"}
    }
    assert groups["inner-pipeline-condition-1"]["parent"] == "inner-pipeline"
    assert groups["inner-pipeline-condition-1"]["condition"]["left"] == {"param": "x"}
    # the nested pipeline's output resolves to the inner task that makes it
    assert tasks["add"]["inputs"] == {"a": {"task": "inner-pipeline-add-2", "output": "Output"}}
    assert "add" in data["components"] and len(data["components"]) == 2
    assert _validated(data).name == "outer"


@dsl.pipeline(name="options")
def options():
    add(a=1).set_retry(
        num_retries=3, backoff_duration="5s", backoff_factor=3, backoff_max_duration="60s"
    ).set_caching_options(False).set_cpu_limit("2").set_memory_limit("1G").set_cpu_request(
        "500m"
    ).set_memory_request("512M").set_env_variable("MODE", "fast")
    add(a=2)
    add(a=3).set_caching_options(True, cache_key="v2")


def test_retry_caching_resources_and_env_per_task(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(options)
    tasks = _by(data["tasks"])
    tuned = data["components"][tasks["add"]["component"]]
    plain = data["components"][tasks["add-2"]["component"]]
    # the task-level settings make a variant stored under <name>-<digest[:8]>
    ids = sorted(data["components"])
    assert ids[0] == "add" and all(i.startswith("add-") and len(i) == 12 for i in ids[1:])
    assert data["components"][tasks["add-3"]["component"]]["cache_version"] == "v2"
    assert tuned["retry"] == {"limit": 3, "backoff": 5.0, "factor": 3.0, "max_backoff": 60.0}
    assert tuned["cache"] is False and plain["cache"] is True
    assert tuned["resources"] == {
        "cpu": "500m",
        "memory": "512M",
        "cpu_limit": "2",
        "memory_limit": "1G",
    }
    assert tuned["env"] == {"MODE": "fast"}
    assert plain["retry"] == {"limit": 0, "backoff": 0.0, "factor": 2.0}
    ir = _validated(data)
    assert ir.component_of("add-2").retry.limit == 0
    assert ir.component_of(tasks["add"]["component"]).retry.delay(2) == 15.0


@dsl.container_component
def echo_to(message: str, out: dsl.OutputPath(str)):
    return dsl.ContainerSpec(
        image="alpine:3.19", command=["sh", "-c", 'echo "$0" > "$1"'], args=[message, out]
    )


@dsl.pipeline(name="containers")
def containers(message: str = "hi"):
    echoed = echo_to(message=message)
    shout(text=echoed.outputs["out"])


def test_a_container_component_keeps_its_command_and_has_no_source(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(containers)
    spec = data["components"]["echo-to"]
    assert spec["source"] == ""
    assert spec["image"] == "alpine:3.19"
    assert spec["kfp"]["executor"]["container"]["command"] == ["sh", "-c", 'echo "$0" > "$1"']
    assert spec["outputs"] == [{"name": "out", "type": "str"}]
    assert _by(data["tasks"])["shout"]["inputs"] == {"text": {"task": "echo-to", "output": "out"}}
    _validated(data)


def test_the_pipeline_job_form_takes_its_runtime_values_as_defaults(
    compiled: Callable[[Any], Path], tmp_path: Path
) -> None:
    import yaml

    spec = yaml.safe_load(compiled(plain_dag).read_text())
    job = {
        "displayName": "job",
        "pipelineSpec": spec,
        "runtimeConfig": {
            "parameterValues": {"n": 7},
            "parameters": {"label": {"stringValue": "from-job"}},  # the older form
        },
    }
    path = tmp_path / "job.json"
    import json

    path.write_text(json.dumps(job))
    ir = import_pipeline(path)
    assert {p.name: p.default for p in ir.params} == {
        "n": 7,
        "rate": 0.5,
        "label": "from-job",
        "flag": True,
    }


def test_import_pipeline_takes_the_dsl_pipeline_itself() -> None:
    ir = import_pipeline(branches)
    assert ir.name == "branches"
    assert {t.name for t in ir.tasks} == {"flip", "shout", "shout-2", "shout-3", "add"}


def _validated(data: dict[str, Any]) -> PipelineIR:
    """The IR dict read and validated as any IR is."""
    from dagwright.pipelines.validate import validate_ir

    ir = PipelineIR.from_dict(data)
    validate_ir(ir)
    return ir


@dsl.component(base_image=IMAGE)
def cpu_count() -> str:
    return "2"


@dsl.pipeline(name="dynamic-resources")
def dynamic_resources(limit: str = "1"):
    add(a=1).set_cpu_limit(limit)
    add(a=2).set_memory_limit(cpu_count().output)


def test_resources_set_from_pipeline_values_are_reported_and_keep_their_order(
    compiled: Callable[[Any], Path],
) -> None:
    import warnings

    from dagwright.sources.kfp import KfpImportWarning

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ir = import_pipeline(compiled(dynamic_resources))
    messages = sorted(str(w.message) for w in seen if w.category is KfpImportWarning)
    assert len(messages) == 2
    assert messages[0].startswith("task 'add': resources resourceCpuLimit are set from")
    tasks = {t.name: t for t in ir.tasks}
    # KFP's extra inputs (the placeholder and what it reads) are passed on, typed any
    placeholder = "{{$.inputs.parameters['pipelinechannel--limit']}}"
    assert tasks["add"].inputs == {
        "a": {"constant": 1},
        "cpu_limit": {"constant": placeholder},
        "pipelinechannel--limit": {"param": "limit"},
    }
    extra = [i for i in ir.component_of(tasks["add"]).inputs if i.type == "any"]
    assert sorted(i.name for i in extra) == ["cpu_limit", "pipelinechannel--limit"]
    assert ir.component_of(tasks["add"]).kfp["inputDefinitions"]["parameters"].keys() == {"a", "b"}
    # so the task whose output set the memory runs first, as a data dependency
    assert tasks["add-2"].inputs["pipelinechannel--cpu-count-Output"] == {
        "task": "cpu-count",
        "output": "Output",
    }
    assert ir.component_of(tasks["add"]).resources.cpu_limit is None


@dsl.component(base_image=IMAGE)
def greet(text: str) -> str:
    return text


@dsl.pipeline(name="formatted")
def formatted(name: str = "KFP"):
    first = greet(text=f"Hello {name}")
    with dsl.ParallelFor(["Hi", "Howdy"]) as greeting:
        greet(text=f"{greeting}, {first.output}")


def test_f_string_arguments_keep_their_placeholders_and_what_they_read(
    imported: Callable[[Any], dict[str, Any]],
) -> None:
    data = imported(formatted)
    tasks = {t["name"]: t for t in data["tasks"]}
    assert tasks["greet"]["inputs"] == {
        "text": {"constant": "Hello {{$.inputs.parameters['pipelinechannel--name']}}"},
        "pipelinechannel--name": {"param": "name"},
    }
    loop = tasks["greet-2"]["group"]
    assert tasks["greet-2"]["inputs"] == {
        "text": {
            "constant": "{{$.inputs.parameters['pipelinechannel--loop-item-param-1']}}, "
            "{{$.inputs.parameters['pipelinechannel--greet-Output']}}"
        },
        "pipelinechannel--loop-item-param-1": {"loop_item": loop},
        "pipelinechannel--greet-Output": {"task": "greet", "output": "Output"},
    }
    _validated(data)


@dsl.pipeline
def a_nested_pipeline_whose_name_pushes_the_names_of_its_tasks_past_63(v: int) -> int:
    return add(a=v).output


@dsl.pipeline(name="long-names")
def long_names() -> int:
    inner = a_nested_pipeline_whose_name_pushes_the_names_of_its_tasks_past_63(v=1)
    return add(a=inner.output).output


def test_prefixed_names_past_63_characters_are_shortened_as_the_builder_does(
    compiled: Callable[[Any], Path],
) -> None:
    import hashlib

    ir = import_pipeline(compiled(long_names))
    full = "a-nested-pipeline-whose-name-pushes-the-names-of-its-tasks-past-63-add"
    short = f"{full[:54].rstrip('-')}-{hashlib.sha256(full.encode()).hexdigest()[:8]}"
    assert {t.name for t in ir.tasks} == {short, "add"}
    assert len(short) <= 63
    # every reference to it uses the same name
    assert ir.task("add").inputs == {"a": {"task": short, "output": "Output"}}


def test_a_generic_artifact_feeds_a_typed_input_as_kfp_allows(
    compiled: Callable[[Any], Path],
) -> None:
    from kfp import components

    download = components.load_component_from_text(
        "name: Download\n"
        "outputs:\n- {name: table, type: CSV}\n"
        "implementation:\n  container:\n    image: alpine\n"
        "    command: [sh, -c, 'echo a,b > \"$0\"', {outputPath: table}]\n"
    )

    @dsl.pipeline(name="generic-artifacts")
    def generic_artifacts():
        train(data=download().outputs["table"])

    ir = import_pipeline(compiled(generic_artifacts))
    # the v1 type CSV is a system.Artifact, which KFP lets feed an Input[Dataset]
    assert ir.component_of("download").output("table").type == "Artifact"
    spec = ir.component_of("train")
    assert spec.input("data").type == "Artifact"
    assert spec.kfp["inputDefinitions"]["artifacts"]["data"]["artifactType"]["schemaTitle"] == (
        "system.Dataset"
    )
