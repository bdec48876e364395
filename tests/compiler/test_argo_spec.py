"""What the Argo target writes, construct by construct, and how its validation fails.

No Argo server or controller runs here: every spec is checked against Argo's own JSON schema
(``api/jsonschema/schema.json`` of v4.1.2, shipped verbatim in the package; provenance in
``tests/schemas/README.md``) plus a
strict unknown-key check; test_argo_controller.py runs the same specs with a stand-in.
"""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import kfp_corpus as corpus
import kfp_edge_cases as edges
import pytest
import yaml
from click.testing import CliRunner

import dagwright
from dagwright import ParallelFor, component, pipeline
from dagwright.cli import cli
from dagwright.compiler import argo as argo_target
from dagwright.compiler.argo.validate import SCHEMA, validate_manifest
from dagwright.compiler.deadline import BOOTSTRAP_SECONDS
from dagwright.errors import ValidationError

pytest.importorskip("hera")
ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_SCHEMA = json.loads(gzip.decompress(SCHEMA.read_bytes()))


def manifest(p: Any, **options: Any) -> dict[str, Any]:
    return yaml.safe_load(dagwright.compile(p, target="argo", **options))


def template(spec: dict[str, Any], name: str) -> dict[str, Any]:
    templates = spec["spec"].get("templates") or spec["spec"]["workflowSpec"]["templates"]
    return next(t for t in templates if t["name"] == name)


def task(spec: dict[str, Any], dag: str, name: str) -> dict[str, Any]:
    return next(t for t in template(spec, dag)["dag"]["tasks"] if t["name"] == name)


def args(task_or_hook: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in task_or_hook["arguments"].get("parameters", [])}


@pytest.mark.parametrize("kind", ["workflow", "template", "cron"])
def test_every_kind_validates_against_the_upstream_schema(kind: str) -> None:
    for name in ("branches", "loop_over_output", "exit_handler", "nested", "artifact_types"):
        data = manifest(getattr(corpus, name), kind=kind, schedule="0 3 * * *")
        assert data["kind"] == {"workflow": "Workflow", "template": "WorkflowTemplate"}.get(
            kind, "CronWorkflow"
        )
        jsonschema.Draft202012Validator(UPSTREAM_SCHEMA).validate(data)


def test_dag_tasks_dependencies_and_workflow_parameters() -> None:
    spec = manifest(corpus.ordering)
    assert spec["metadata"]["generateName"] == "ordering-"
    assert spec["spec"]["entrypoint"] == "main"
    assert task(spec, "main", "second")["dependencies"] == ["first"]
    assert task(spec, "main", "count-marks")["dependencies"] == ["second"]
    assert args(task(spec, "main", "first"))["journal"] == "{{workflow.parameters.journal}}"
    typed = manifest(corpus.typed_params)["spec"]["arguments"]["parameters"]
    assert {p["name"]: p["value"] for p in typed} == {
        "word": "ab",
        "count": "3",
        "ratio": "0.25",
        "flag": "true",
        "tags": '["b", "a"]',
        "limits": '{"a": 1, "b": 2}',
    }


def test_one_template_per_component_shared_by_its_tasks() -> None:
    @component
    def inc(x: int) -> int:
        return x + 1

    @pipeline
    def chain(n: int = 0) -> int:
        value = inc(x=n)
        for _ in range(9):
            value = inc(x=value.output)
        return value.output

    spec = manifest(chain)
    names = [t["name"] for t in spec["spec"]["templates"]]
    assert names == ["main", "inc"]
    assert len(template(spec, "main")["dag"]["tasks"]) == 10


def test_artifacts_go_through_the_repository_with_their_metadata() -> None:
    spec = manifest(corpus.artifact_types)
    made = template(spec, "make-all")
    data = next(a for a in made["outputs"]["artifacts"] if a["name"] == "data")
    assert data["s3"] == {
        "key": "{{workflow.name}}/{{inputs.parameters.dagwright-task}}/data/{{pod.name}}"
    }
    assert data["archive"] == {"none": {}}
    read = task(spec, "main", "read-all")["arguments"]
    assert {"name": "data", "from": "{{tasks.make-all.outputs.artifacts.data}}"} in read[
        "artifacts"
    ]
    assert args(task(spec, "main", "read-all"))["data-meta"] == (
        "{{tasks.make-all.outputs.parameters.data-meta}}"
    )
    gcs = manifest(corpus.artifact_types, artifact_repository="gs://bucket/runs")
    out = template(gcs, "make-all")["outputs"]["artifacts"][0]
    assert out["gcs"]["bucket"] == "bucket" and out["gcs"]["key"].startswith("runs/")
    ref = manifest(corpus.artifact_types, artifact_repository_ref="artifacts:minio")
    assert ref["spec"]["artifactRepositoryRef"] == {"configMap": "artifacts", "key": "minio"}
    s3 = manifest(
        corpus.artifact_types,
        artifact_repository="s3://bucket/p",
        artifact_endpoint="minio:9000",
        artifact_secret="minio-creds",
    )
    location = template(s3, "make-all")["outputs"]["artifacts"][0]["s3"]
    assert location["endpoint"] == "minio:9000"
    assert location["accessKeySecret"] == {"name": "minio-creds", "key": "accesskey"}


def test_if_elif_else_become_when() -> None:
    spec = manifest(corpus.branches)
    # one expression tag each (see dagwright/compiler/argo/when.py), values typed as the pod
    # reads them, never pasted into govaluate's text
    score = "int(tasks.score.outputs.parameters.output)"
    assert task(spec, "main", "condition-1")["when"] == f"{{{{={score} > 25}}}}"
    assert task(spec, "main", "condition-2")["when"] == (
        f"{{{{=(!({score} > 25)) && ({score} == 20)}}}}"
    )
    assert task(spec, "main", "condition-4")["when"] == (
        f"{{{{=({score} >= 10) && (int(workflow.parameters.n) != 5)}}}}"
    )
    assert task(spec, "main", "condition-1")["dependencies"] == ["score"]


def test_parallel_for_fans_out_with_its_parallelism_and_collects() -> None:
    spec = manifest(corpus.loop_over_param)
    loop = template(spec, "loop-1")
    assert loop["parallelism"] == 2
    each = task(spec, "loop-1", "loop-1-each")
    assert each["withParam"] == "{{workflow.parameters.xs}}"
    assert each["template"] == "loop-1-body"
    assert args(each) == {"loop-1-item": "{{item}}"}
    assert loop["outputs"]["parameters"] == [
        {
            "name": "square-output",
            "valueFrom": {
                "parameter": "{{tasks.loop-1-each.outputs.parameters.square-output}}",
                "default": "[]",  # a loop over no items aggregates nothing
            },
        }
    ]
    assert args(task(spec, "main", "total"))["values"] == (
        "{{tasks.loop-1.outputs.parameters.square-output}}"
    )
    literal = manifest(edges.field_condition)
    items = task(literal, "loop-1", "loop-1-each")
    assert items["withParam"] == "{{workflow.parameters.xs}}"
    assert args(items)["loop-1-item-b"] == "{{item.b}}"

    @component
    def show(x: int) -> None:
        print(x)

    @pipeline
    def raw() -> None:
        with ParallelFor([1, 2]) as item:
            show(x=item)

    assert task(manifest(raw), "loop-1", "loop-1-each")["withItems"] == [1, 2]


def test_collected_artifacts_are_read_by_key_prefix() -> None:
    spec = manifest(corpus.loop_over_output)
    join = task(spec, "main", "join-parts")
    assert join["arguments"]["artifacts"] == [
        # optional on the argument: Argo keeps only path, mode and recurseMode of the
        # template's declaration (ProcessArgs), and a loop over no items writes nothing
        {"name": "parts", "optional": True, "s3": {"key": "{{workflow.name}}/write-part/part"}}
    ]
    assert args(join)["parts-meta"] == "{{tasks.loop-1.outputs.parameters.write-part-part-meta}}"


def test_exit_handler_is_the_exit_hook_of_its_block() -> None:
    spec = manifest(corpus.exit_handler)
    block = task(spec, "main", "exit-handler-1")
    hook = block["hooks"]["exit"]
    assert hook["template"] == "note"
    assert args(hook)["text"] == "cleanup"
    assert [t["name"] for t in template(spec, "main")["dag"]["tasks"]] == ["exit-handler-1"]


def test_retries_timeout_resources_env_and_image() -> None:
    flaky = template(manifest(corpus.retried), "flaky")
    assert flaky["retryStrategy"] == {
        "limit": "2",
        "retryPolicy": "Always",
        "backoff": {"duration": "0s", "factor": "2"},
    }

    @component(timeout=90.5, gpu=1, retries=dagwright.Retry(limit=3, backoff=5, max_backoff=60))
    def train() -> None:
        print("x")

    @pipeline
    def p() -> None:
        train()

    trained = template(manifest(p), "train")
    # the entry times the step; the pod's deadline also covers pull and bootstrap
    assert trained["activeDeadlineSeconds"] == str(91 + BOOTSTRAP_SECONDS)
    assert trained["retryStrategy"]["backoff"] == {
        "duration": "5s",
        "factor": "2",
        "cap": "60s",
    }
    assert trained["container"]["resources"] == {"limits": {"nvidia.com/gpu": "1"}}
    greet = template(manifest(corpus.options), "greet-env")["container"]
    assert greet["resources"] == {
        "limits": {"cpu": "1", "memory": "256Mi"},
        "requests": {"cpu": "100m", "memory": "64Mi"},
    }
    assert greet["env"] == [{"name": "GREETING", "value": "hello"}]
    assert greet["image"] == "python:3.11-slim"
    assert "pyyaml" in greet["command"][2] and "exec python3 -m dagwright" in greet["command"][2]


def test_platform_defaults_service_account_and_labels() -> None:
    spec = manifest(corpus.retried, service_account="runner", labels={"team": "ml"})
    assert spec["spec"]["serviceAccountName"] == "runner"
    assert spec["spec"]["ttlStrategy"] == {
        "secondsAfterFailure": 604800,
        "secondsAfterSuccess": 86400,
    }
    assert spec["spec"]["podGC"] == {"strategy": "OnPodSuccess"}
    assert spec["metadata"]["labels"] == {"dagwright.dev/pipeline": "retried", "team": "ml"}
    assert spec["spec"]["workflowMetadata"]["labels"]["team"] == "ml"


def test_cron_workflow_schedules_timezone_and_policies() -> None:
    spec = manifest(
        corpus.retried,
        kind="cron",
        schedule="0 3 * * 1-5",
        timezone="Europe/Berlin",
        concurrency_policy="Replace",
        starting_deadline_seconds=300,
    )
    assert spec["kind"] == "CronWorkflow" and spec["metadata"]["name"] == "retried"
    assert {k: v for k, v in spec["spec"].items() if k != "workflowSpec"} == {
        "schedules": ["0 3 * * 1-5"],
        "timezone": "Europe/Berlin",
        "concurrencyPolicy": "Replace",
        "startingDeadlineSeconds": 300,
    }


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"kind": "cron", "schedule": "0 3 * *"}, "cron"),
        ({"kind": "cron", "schedule": "0 25 * * *"}, "cron"),
        ({"kind": "cron"}, "schedule"),
        ({"kind": "cron", "schedule": "0 3 * * *", "timezone": "Mars/Base"}, "timezone"),
        (
            {"kind": "cron", "schedule": "0 3 * * *", "concurrency_policy": "Maybe"},
            "concurrency_policy",
        ),
        ({"kind": "job"}, "kind"),
        ({"artifact_repository": "ftp://x"}, "artifact_repository"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        manifest(corpus.retried, **options)
    assert err.value.field == field


def test_a_broken_spec_fails_validation_at_its_path() -> None:
    spec = manifest(corpus.ordering)
    wrong_type = json.loads(json.dumps(spec))
    wrong_type["spec"]["templates"][0]["dag"]["tasks"][0]["dependencies"] = "first"
    with pytest.raises(ValidationError, match="spec.templates\\[0\\].dag.tasks\\[0\\]"):
        validate_manifest(wrong_type)
    misspelled = json.loads(json.dumps(spec))
    misspelled["spec"]["templates"][0]["dag"]["tasks"][0]["dependsOn"] = ["first"]
    # Argo's schema alone accepts the misspelled key
    jsonschema.Draft202012Validator(UPSTREAM_SCHEMA).validate(misspelled)
    with pytest.raises(ValidationError, match="unknown key 'dependsOn'") as err:
        validate_manifest(misspelled)
    assert err.value.field.endswith("dag.tasks[0].dependsOn")
    bad_name = json.loads(json.dumps(spec))
    bad_name["spec"]["templates"][1]["name"] = "Not_A_Name"
    with pytest.raises(ValidationError, match="templates\\[1\\].name"):
        validate_manifest(bad_name)


def test_large_spec_warns_and_fails_under_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(argo_target, "SIZE_LIMIT", 1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest(corpus.retried)
    assert any(issubclass(w.category, argo_target.SpecSizeWarning) for w in caught)
    with pytest.raises(ValidationError, match="1 MiB") as err:
        manifest(corpus.retried, strict=True)
    assert err.value.field == "size"


def test_cli_compiles_each_kind_and_a_saved_ir(tmp_path: Path) -> None:
    runner = CliRunner()
    example = str(ROOT / "examples" / "iris_training.py")
    ir_file = tmp_path / "ir.yaml"
    assert runner.invoke(cli, ["compile", example, "-t", "ir", "-o", str(ir_file)]).exit_code == 0
    for kind, extra in (("workflow", []), ("template", []), ("cron", ["--cron", "0 3 * * *"])):
        out = tmp_path / f"{kind}.yaml"
        result = runner.invoke(
            cli, ["compile", str(ir_file), "-t", "argo", "--kind", kind, "-o", str(out), *extra]
        )
        assert result.exit_code == 0, result.output
        assert yaml.safe_load(out.read_text())["metadata"]["labels"]["dagwright.dev/pipeline"] == (
            "iris-training"
        )
    result = runner.invoke(cli, ["compile", example, "-t", "argo", "--kind", "cron"])
    assert result.exit_code == 2 and "schedule" in result.output


def test_waiting_for_an_exit_task_is_refused() -> None:
    @pipeline
    def p(journal: str = "/tmp") -> str:
        cleanup = corpus.note(journal=journal, text="cleanup").named("cleanup")
        with dagwright.ExitHandler(cleanup):
            corpus.note(journal=journal, text="body")
        return corpus.note(journal=journal, text=cleanup.output).named("after").output

    with pytest.raises(ValidationError, match="exit hook") as err:
        manifest(p)
    assert err.value.task == "after"


def test_what_argo_cannot_express_is_refused_with_the_field() -> None:
    @component(retries=dagwright.Retry(limit=2, backoff=1, factor=1.5))
    def slow() -> None:
        print("x")

    @pipeline
    def fractional() -> None:
        slow()

    with pytest.raises(ValidationError, match="whole factors") as err:
        manifest(fractional)
    assert err.value.field == "retries.factor"

    @pipeline
    def braces(greeting: str = "Hello {{name}}") -> str:  # a constant argument travels
        return edges.show(v=greeting).output  # protected; a parameter may reach a when

    with pytest.raises(ValidationError, match="would alter") as err:
        manifest(braces)
    assert err.value.field == "parameter greeting"

    @pipeline
    def gathered(xs: list[int] = [1, 2]) -> Any:  # noqa: B006
        with ParallelFor(xs) as x:
            part = corpus.write_part(name="p", size=x)
        return dagwright.Collected(part.outputs["part"])

    with pytest.raises(ValidationError, match="collects artifacts") as err:
        manifest(gathered)
    assert err.value.field == "output output"

    long_name = "a" * 53
    spec = manifest(corpus.retried, kind="cron", schedule="0 3 * * *")
    spec["metadata"]["name"] = long_name
    with pytest.raises(ValidationError, match="52 characters"):
        validate_manifest(spec)


def test_outputs_that_may_be_absent_have_defaults() -> None:
    spec = manifest(edges.collected_through_if)
    body = template(spec, "loop-1-body")["outputs"]["parameters"][0]
    assert body["valueFrom"]["default"] == "__dagwright_skipped__"
    join = template(spec, "total")["inputs"]["parameters"]
    assert "dagwright-task" not in [p["name"] for p in join]  # it stores no artifact
    writes = template(manifest(corpus.loop_over_output), "write-part")["inputs"]["parameters"]
    assert {"name": "dagwright-task"} in writes  # its artifacts' keys name the task: no default
    parts = template(manifest(corpus.loop_over_output), "join-parts")["inputs"]["artifacts"]
    assert parts == [{"name": "parts", "optional": True, "path": "/tmp/dagwright/inputs/parts"}]
