"""The Argo compiler without Hera's models on its hot path, and its validation by shape.

The compiler writes plain dicts (``compiler/argo/objects.py``); these tests hold them to what
Hera's models dump for every pipeline of the corpora, under every kind and artifact option.
Validation checks one list item of each shape (``validate.one_of_each_shape``): these tests
hold Argo's schema to the premise that makes that as strict as checking every item, and break
one task among many to see it found and named.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import fidelity_corpus
import jsonschema
import kfp_corpus
import kfp_edge_cases
import pytest
import yaml

from dagwright import Pipeline, component
from dagwright.compiler import argo
from dagwright.compiler.argo.validate import one_of_each_shape, schema, validate_manifest
from dagwright.errors import ValidationError
from dagwright.pipelines.decorator import PipelineDefinition
from dagwright.runtimes import Job

models = pytest.importorskip("hera.workflows.models")

OPTIONS: list[dict[str, Any]] = [
    {},
    {"kind": "template", "namespace": "ml", "service_account": "runner", "labels": {"a": "b"}},
    {"kind": "cron", "schedule": "0 3 * * *", "timezone": "Europe/Berlin"},
    {
        "artifact_repository": "s3://bucket/prefix",
        "artifact_endpoint": "http://minio:9000",
        "artifact_secret": "creds",
        "tracking_uri": "http://mlflow:5000",
        "allow_pickle": True,
    },
    {"artifact_repository": "gs://bucket/prefix", "artifact_secret": "gcs-key"},
    {"artifact_repository_ref": "repositories:minio"},
]


def _pipelines() -> list[Any]:
    found = {}
    for module in (kfp_corpus, kfp_edge_cases, fidelity_corpus):
        for name, value in vars(module).items():
            if isinstance(value, PipelineDefinition):
                found[f"{module.__name__}.{name}"] = value
    return sorted(found.items())


def _compiled(p: Any, options: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return argo.build(p.ir, argo.ArgoOptions(**options))
    except ValidationError:  # a pipeline the Argo target refuses has no spec to compare
        return None


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: o.get("kind", "workflow"))
def test_compiled_specs_are_what_heras_models_dump(options: dict[str, Any]) -> None:
    compared = 0
    for name, p in _pipelines():
        data = _compiled(p, options)
        if data is None:
            continue
        model = getattr(models, data["kind"]).model_validate(data)
        dumped = model.model_dump(by_alias=True, exclude_none=True, mode="json")
        # compared as JSON text: the same keys in the same order, the same values and types
        assert json.dumps(data) == json.dumps(dumped), name
        compared += 1
    assert compared > 30


def test_a_step_with_runtime_fragments_is_what_heras_models_dump() -> None:
    job = Job(node_selector={"pool": "gpu"}, tolerations=[{"key": "gpu", "operator": "Exists"}])

    @component(runtime=job, cpu="1", memory_limit="1Gi", gpu=1, retries=2, timeout=30)
    def fit(x: int) -> int:
        return x

    p = Pipeline("fragments")
    p.add(fit, x=1)
    data = argo.build(p.ir, argo.ArgoOptions())
    dumped = models.Workflow.model_validate(data).model_dump(
        by_alias=True, exclude_none=True, mode="json"
    )
    assert json.dumps(data) == json.dumps(dumped)
    step = next(t for t in data["spec"]["templates"] if t["name"] == "fit")
    assert step["nodeSelector"] == {"pool": "gpu"}
    assert step["container"]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def _chain(tasks: int) -> dict[str, Any]:
    @component
    def bump(x: int) -> int:
        return x + 1

    p = Pipeline("chain")
    value: Any = 0
    for _ in range(tasks):
        value = p.add(bump, x=value).output
    return argo.build(p.ir, argo.ArgoOptions())


def test_a_long_dag_is_checked_as_one_task_of_each_shape() -> None:
    data = _chain(300)
    cut = one_of_each_shape(data)
    tasks = cut["spec"]["templates"][0]["dag"]["tasks"]
    # the first task takes a constant, the rest wait for the one before: two shapes
    assert [t["name"] for t in tasks] == ["bump", "bump-2"]
    assert cut["kind"] == "Workflow" and cut["metadata"] == data["metadata"]


@pytest.mark.parametrize(
    "change, where, problem",
    [
        (lambda t: t.update(dependencies="bump-199"), "dependencies", "is not of type 'array'"),
        (lambda t: t.update(dependecies=["bump-199"]), "dependecies", "unknown key"),
        (lambda t: t["arguments"]["parameters"][0].update(value=3), "value", "not of type"),
        (lambda t: t.pop("name"), "", "'name' is a required property"),
    ],
)
def test_a_break_in_one_task_of_many_is_found_and_named(
    change: Any, where: str, problem: str
) -> None:
    data = _chain(400)
    validate_manifest(copy.deepcopy(data))
    change(data["spec"]["templates"][0]["dag"]["tasks"][199])
    with pytest.raises(ValidationError) as info:
        validate_manifest(data)
    assert info.value.field.startswith("spec.templates[0].dag.tasks[199]")
    assert info.value.field.endswith(where)
    assert problem in str(info.value)


def test_a_float_where_the_schema_wants_an_integer_is_found_though_a_whole_one_passes() -> None:
    data = _chain(50)
    data["spec"]["templates"][0]["parallelism"] = 2.0  # JSON schema's integer takes 2.0
    validate_manifest(data)
    data["spec"]["templates"][0]["parallelism"] = 2.5
    with pytest.raises(ValidationError) as info:
        validate_manifest(data)
    assert info.value.field == "spec.templates[0].parallelism"


STRUCTURAL = {"$ref", "type", "properties", "items", "additionalProperties", "required"}
NOTES = {"description", "title", "format"}  # format is not asserted by the validator


def test_below_the_top_level_the_schema_constrains_nothing_but_shapes() -> None:
    """The premise of checking one item of each shape: no keyword reachable from a kind looks
    at a value's text or number, except the kinds' own ``apiVersion`` and ``kind`` consts."""
    definitions = schema()["definitions"]
    found: dict[str, str] = {}

    def walk(node: dict[str, Any], where: str, seen: set[str]) -> None:
        for key, value in node.items():
            if key == "$ref":
                name = value.split("/")[-1]
                if name not in seen:
                    seen.add(name)
                    walk(definitions[name], name, seen)
            elif key == "properties":
                for field, inner in value.items():
                    if where.endswith(("Workflow", "WorkflowTemplate")) and "const" in inner:
                        assert field in ("apiVersion", "kind")
                        inner = {k: v for k, v in inner.items() if k != "const"}
                    walk(inner, f"{where}.{field}", seen)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                walk(value, f"{where}[]", seen)
            elif key not in STRUCTURAL | NOTES and not key.startswith("x-kubernetes"):
                found.setdefault(key, where)

    for kind in ("Workflow", "WorkflowTemplate", "CronWorkflow"):
        walk(definitions[f"io.argoproj.workflow.v1alpha1.{kind}"], kind, set())
    assert found == {}
    # and the validator does not assert formats: a date-time that is no date passes
    assert jsonschema.Draft202012Validator({"format": "date-time"}).is_valid("no date")


def test_a_tasks_arguments_and_dependencies_are_written_in_flow_style() -> None:
    @component
    def bump(x: int) -> int:
        return x + 1

    p = Pipeline("lines")
    first = p.add(bump, x=0)
    p.add(bump, x=first.output)
    text = argo.write(p.ir, argo.ArgoOptions())
    second = text[text.index("      - arguments:", text.index("name: bump\n")) :]
    assert second.splitlines()[:2] == [
        "      - arguments: {parameters: [{name: x, value: "
        "'{{tasks.bump.outputs.parameters.output}}'}]}",
        "        dependencies: [bump]",
    ]
    assert "        dependencies: [bump]\n" in text
    # the same data as before, only written shorter
    assert yaml.safe_load(text) == json.loads(json.dumps(argo.build(p.ir, argo.ArgoOptions())))
