"""``dagwright.importer`` traces to a task of the built-in importer component, checked up
front: the URI's scheme, the artifact class, the metadata."""

from __future__ import annotations

import pytest

import dagwright
from dagwright import Dataset, Input, Model, PipelineIR, ValidationError, component, pipeline
from dagwright.errors import OutsidePipeline


@component
def size(data: Input[Dataset]) -> int:
    with open(data.path, encoding="utf-8") as f:
        return len(f.read())


def test_an_importer_is_a_task_of_the_importer_component() -> None:
    @pipeline
    def p(uri: str = "s3://bucket/data.csv") -> int:
        first = dagwright.importer(uri, Dataset, metadata={"rows": 3})
        dagwright.importer("gs://bucket/model", Model, reimport=True)
        return size(data=first.output).output

    ir = p.ir
    assert [t.name for t in ir.tasks] == ["importer", "importer-2", "size"]
    assert ir.task("importer").inputs == {"uri": {"param": "uri"}}
    assert ir.task("importer-2").inputs == {"uri": {"constant": "gs://bucket/model"}}
    assert ir.task("size").inputs == {"data": {"task": "importer", "output": "artifact"}}
    first, second = ir.component_of("importer"), ir.component_of("importer-2")
    assert first.importer == {"type": "Dataset", "metadata": {"rows": 3}, "reimport": False}
    assert second.importer == {"type": "Model", "metadata": {}, "reimport": True}
    assert [(i.name, i.type) for i in first.inputs] == [("uri", "str")]
    assert [(o.name, o.type, o.artifact) for o in second.outputs] == [("artifact", "Model", True)]
    assert ir.task("importer-2").component == f"importer-{second.digest[:8]}"
    again = PipelineIR.from_yaml(ir.to_yaml())  # the field survives the file, digest and all
    assert again.component_of("importer").importer == first.importer
    assert again.to_dict() == ir.to_dict()


@component
def label() -> str:
    return "v1"


def test_pipeline_values_in_the_metadata_are_inputs_read_by_kfps_placeholders() -> None:
    @pipeline
    def p(uri: str, n: int = 3) -> None:
        tag = label()
        dagwright.importer(uri, metadata={"n": n, "tag": tag.output, "again": [tag.output]})

    spec = p.ir.component_of("importer")
    assert [(i.name, i.type) for i in spec.inputs] == [
        ("uri", "str"),
        ("metadata", "int"),
        ("metadata-2", "str"),
    ]
    assert spec.importer["metadata"] == {  # type: ignore[index]
        "n": "{{$.inputs.parameters['metadata']}}",
        "tag": "{{$.inputs.parameters['metadata-2']}}",
        "again": ["{{$.inputs.parameters['metadata-2']}}"],
    }
    assert p.ir.task("importer").inputs == {
        "uri": {"param": "uri"},
        "metadata": {"param": "n"},
        "metadata-2": {"task": "label", "output": "output"},
    }


def test_components_without_an_importer_keep_their_digest() -> None:
    assert "importer" not in size.spec.to_dict()


@pytest.mark.parametrize(
    ("kwargs", "field", "said"),
    [
        ({"artifact_uri": "minio://mlpipeline/x"}, "artifact_uri", "'minio://'"),
        ({"artifact_uri": "hdfs://nn/x"}, "artifact_uri", "'hdfs://'"),
        ({"artifact_uri": ""}, "artifact_uri", "not a URI"),
        ({"artifact_uri": "/data", "artifact_class": dict}, "artifact_class", "not an artifact"),
        ({"artifact_uri": "/data", "metadata": {"when": object()}}, "metadata", "JSON object"),
        ({"artifact_uri": "/data", "metadata": [1]}, "metadata", "JSON object"),
        ({"artifact_uri": "/data", "reimport": "no"}, "reimport", "True or False"),
    ],
)
def test_bad_arguments_are_refused_when_traced(kwargs: dict, field: str, said: str) -> None:
    @pipeline
    def p() -> None:
        dagwright.importer(**kwargs)

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == field and said in caught.value.problem
    assert caught.value.fix


def test_a_uri_with_a_password_is_refused_without_repeating_it() -> None:
    @pipeline
    def p() -> None:
        dagwright.importer("https://user:hunter2@example.org/data.csv")

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == "artifact_uri" and "password" in caught.value.problem
    assert "hunter2" not in str(caught.value)


def test_a_parameter_default_with_a_bad_scheme_is_refused() -> None:
    @pipeline
    def p(uri: str = "ftp://host/file") -> None:
        dagwright.importer(uri)

    with pytest.raises(ValidationError, match="default of parameter 'uri'.*'ftp://'"):
        p.build()


def test_a_parameter_of_another_type_is_refused_by_validation() -> None:
    @pipeline
    def p(uri: int = 3) -> None:
        dagwright.importer(uri)

    with pytest.raises(ValidationError, match="uri"):
        p.build()


def test_container_settings_do_not_apply_to_an_importer() -> None:
    @pipeline
    def p() -> None:
        dagwright.importer("/data").set_cpu_limit("1")

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == "set_cpu_limit" and "importer" in caught.value.problem


def test_an_importer_may_be_named_and_cached() -> None:
    @pipeline
    def p() -> None:
        dagwright.importer("/data").set_display_name("Raw data").set_caching_options(True)

    assert p.ir.task("importer").display_name == "Raw data"
    assert p.ir.component_of("importer").cache


def test_outside_a_pipeline_it_is_refused() -> None:
    with pytest.raises(OutsidePipeline, match="importer"):
        dagwright.importer("/data")


def test_a_malformed_importer_field_in_an_ir_file_is_refused_by_path() -> None:
    @pipeline
    def p() -> None:
        dagwright.importer("/data")

    data = p.ir.to_dict()
    component = data["components"]["importer"]
    component.pop("digest")
    component["importer"]["reimport"] = "yes"
    with pytest.raises(ValidationError, match=r"components\.importer\.importer\.reimport"):
        PipelineIR.from_dict(data)
