"""The messages of kfp-kubernetes' ``kubernetes_executor_config.proto`` that dagwright writes.

kfp-kubernetes is not installed here, so its generated module is not either. This builds the
same messages (names, field numbers, types and labels transcribed from the proto in
kubeflow/pipelines, ``kubernetes_platform/proto/kubernetes_executor_config.proto``) with
protobuf's descriptor API, so a test can parse an emitted executor config with protobuf's own
JSON parser: an unknown field name or a value of the wrong type is refused there as it would
be by the KFP backend's driver, which reads the platform spec with the same message.

The ``...NameParameter`` fields (each a ``TaskInputsSpec.InputParameterSpec`` of
pipeline_spec.proto, whose message comes from the installed kfp-pipeline-spec) are transcribed
from the proto at kubeflow/pipelines commit 0537b862473877cdb5fcd396964f753f9a1824e3, where they
replace the deprecated ``secretName``, ``configMapName`` and ``PvcMount.constant``.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from kfp.pipeline_spec import pipeline_spec_pb2

F = descriptor_pb2.FieldDescriptorProto
_STRING, _BOOL, _INT64, _MESSAGE = F.TYPE_STRING, F.TYPE_BOOL, F.TYPE_INT64, F.TYPE_MESSAGE
_INT32 = F.TYPE_INT32
# pipeline_spec.proto's message, taken from kfp-pipeline-spec itself (``_with_pipeline_spec``)
_PARAMETER = ".ml_pipelines.TaskInputsSpec.InputParameterSpec"
_ONE, _MANY = F.LABEL_OPTIONAL, F.LABEL_REPEATED

# message -> (field name, number, type, label, message type): only the fields dagwright writes
_MESSAGES: dict[str, list[tuple[str, int, int, int, str]]] = {
    "KubernetesExecutorConfig": [
        ("secret_as_volume", 1, _MESSAGE, _MANY, "SecretAsVolume"),
        ("secret_as_env", 2, _MESSAGE, _MANY, "SecretAsEnv"),
        ("pvc_mount", 3, _MESSAGE, _MANY, "PvcMount"),
        ("node_selector", 4, _MESSAGE, _ONE, "NodeSelector"),
        ("pod_metadata", 5, _MESSAGE, _ONE, "PodMetadata"),
        ("image_pull_secret", 6, _MESSAGE, _MANY, "ImagePullSecret"),
        ("config_map_as_volume", 8, _MESSAGE, _MANY, "ConfigMapAsVolume"),
        ("config_map_as_env", 9, _MESSAGE, _MANY, "ConfigMapAsEnv"),
        ("active_deadline_seconds", 10, _INT64, _ONE, ""),
        ("field_path_as_env", 11, _MESSAGE, _MANY, "FieldPathAsEnv"),
        ("tolerations", 12, _MESSAGE, _MANY, "Toleration"),
        ("node_affinity", 14, _MESSAGE, _MANY, "NodeAffinityTerm"),
        ("empty_dir_mounts", 17, _MESSAGE, _MANY, "EmptyDirMount"),
    ],
    "SecretAsVolume": [
        ("secret_name", 1, _STRING, _ONE, ""),
        ("mount_path", 2, _STRING, _ONE, ""),
        ("optional", 3, _BOOL, _ONE, ""),
        ("secret_name_parameter", 4, _MESSAGE, _ONE, _PARAMETER),
    ],
    # the oneof pvc_reference's constant; the task and component forms dagwright never writes
    "PvcMount": [
        ("constant", 2, _STRING, _ONE, ""),
        ("mount_path", 4, _STRING, _ONE, ""),
        ("pvc_name_parameter", 5, _MESSAGE, _ONE, _PARAMETER),
        ("sub_path", 6, _STRING, _ONE, ""),
    ],
    "PodMetadata": [
        ("labels", 1, _MESSAGE, _MANY, "PodMetadata.LabelsEntry"),
        ("annotations", 2, _MESSAGE, _MANY, "PodMetadata.AnnotationsEntry"),
    ],
    "PodMetadata.LabelsEntry": [("key", 1, _STRING, _ONE, ""), ("value", 2, _STRING, _ONE, "")],
    "PodMetadata.AnnotationsEntry": [
        ("key", 1, _STRING, _ONE, ""),
        ("value", 2, _STRING, _ONE, ""),
    ],
    "ConfigMapAsVolume": [
        ("config_map_name", 1, _STRING, _ONE, ""),
        ("mount_path", 2, _STRING, _ONE, ""),
        ("optional", 3, _BOOL, _ONE, ""),
        ("config_map_name_parameter", 4, _MESSAGE, _ONE, _PARAMETER),
    ],
    "SelectorRequirement": [
        ("key", 1, _STRING, _ONE, ""),
        ("operator", 2, _STRING, _ONE, ""),
        ("values", 3, _STRING, _MANY, ""),
    ],
    "NodeAffinityTerm": [
        ("match_expressions", 1, _MESSAGE, _MANY, "SelectorRequirement"),
        ("match_fields", 2, _MESSAGE, _MANY, "SelectorRequirement"),
        ("weight", 3, _INT32, _ONE, ""),
    ],
    "EmptyDirMount": [
        ("volume_name", 1, _STRING, _ONE, ""),
        ("mount_path", 2, _STRING, _ONE, ""),
        ("medium", 3, _STRING, _ONE, ""),
        ("size_limit", 4, _STRING, _ONE, ""),
    ],
    "SecretAsEnv": [
        ("secret_name", 1, _STRING, _ONE, ""),
        ("key_to_env", 2, _MESSAGE, _MANY, "SecretAsEnv.SecretKeyToEnvMap"),
        ("optional", 3, _BOOL, _ONE, ""),
        ("secret_name_parameter", 4, _MESSAGE, _ONE, _PARAMETER),
    ],
    "SecretAsEnv.SecretKeyToEnvMap": [
        ("secret_key", 1, _STRING, _ONE, ""),
        ("env_var", 2, _STRING, _ONE, ""),
    ],
    "ConfigMapAsEnv": [
        ("config_map_name", 1, _STRING, _ONE, ""),
        ("key_to_env", 2, _MESSAGE, _MANY, "ConfigMapAsEnv.ConfigMapKeyToEnvMap"),
        ("config_map_name_parameter", 3, _MESSAGE, _ONE, _PARAMETER),
        ("optional", 4, _BOOL, _ONE, ""),
    ],
    "ConfigMapAsEnv.ConfigMapKeyToEnvMap": [
        ("config_map_key", 1, _STRING, _ONE, ""),
        ("env_var", 2, _STRING, _ONE, ""),
    ],
    "NodeSelector": [("labels", 1, _MESSAGE, _MANY, "NodeSelector.LabelsEntry")],
    "NodeSelector.LabelsEntry": [("key", 1, _STRING, _ONE, ""), ("value", 2, _STRING, _ONE, "")],
    "ImagePullSecret": [
        ("secret_name", 1, _STRING, _ONE, ""),
        ("secret_name_parameter", 2, _MESSAGE, _ONE, _PARAMETER),
    ],
    "FieldPathAsEnv": [("name", 1, _STRING, _ONE, ""), ("field_path", 2, _STRING, _ONE, "")],
    "Toleration": [
        ("key", 1, _STRING, _ONE, ""),
        ("operator", 2, _STRING, _ONE, ""),
        ("value", 3, _STRING, _ONE, ""),
        ("effect", 4, _STRING, _ONE, ""),
        ("toleration_seconds", 5, _INT64, _ONE, ""),
    ],
}
_PACKAGE = "kfp_kubernetes"


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="dagwright_test_kubernetes_executor_config.proto", package=_PACKAGE, syntax="proto3"
    )
    made: dict[str, Any] = {}
    for full_name in sorted(_MESSAGES, key=lambda n: n.count(".")):  # parents first
        parent, _, short = full_name.rpartition(".")
        holder = made[parent].nested_type if parent else proto.message_type
        message = holder.add(name=short)
        if short.endswith("Entry"):
            message.options.map_entry = True
        made[full_name] = message
        for name, number, kind, label, type_name in _MESSAGES[full_name]:
            field = message.field.add(name=name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = type_name if type_name[0] == "." else f".{_PACKAGE}.{type_name}"
    proto.dependency.append(pipeline_spec_pb2.DESCRIPTOR.name)
    return proto


def _with_pipeline_spec(pool: Any, file: Any) -> None:
    """Add ``file`` (a FileDescriptor) to ``pool`` after the files it imports."""
    for dependency in file.dependencies:
        _with_pipeline_spec(pool, dependency)
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        pool.Add(proto)


_POOL = descriptor_pool.DescriptorPool()
_with_pipeline_spec(_POOL, pipeline_spec_pb2.DESCRIPTOR)
_POOL.Add(_file())
ExecutorConfig: Any = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName(f"{_PACKAGE}.KubernetesExecutorConfig")
)


def parse_executor_config(data: dict[str, Any]) -> Any:
    """The executor config as the proto message; unknown fields and wrong types raise."""
    return json_format.ParseDict(data, ExecutorConfig())
