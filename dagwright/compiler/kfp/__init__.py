"""The KFP target: the IR as a KFP v2 PipelineSpec (schemaVersion 2.1.0).

Built from the official protobuf messages (``kfp.pipeline_spec.pipeline_spec_pb2``) and
written the way the KFP SDK writes its IR YAML. Each dagwright component becomes one KFP
component and one executor, shared by every task that uses it; each block (If/Elif/Else,
ParallelFor, ExitHandler, nested pipeline) becomes a DAG component. Pod fields a component's
runtime sets (a Job's node selector) follow as a second YAML document, the kfp-kubernetes
platform spec, only when some executor has them (see ``runtime``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dagwright._version import __version__
from dagwright.compiler.delivery import CodeDelivery, distribution_name, sdk_requirement
from dagwright.compiler.kfp.runtime import platform_document
from dagwright.names import to_k8s_name
from dagwright.pipelines.ir import PipelineIR
from dagwright.specs import SpecSizeWarning as SpecSizeWarning  # the one class, for callers here
from dagwright.specs import check_size, yaml_text

SCHEMA_VERSION = "2.1.0"
SIZE_LIMIT = int(1.5 * 1024 * 1024)  # etcd's request limit, which a KFP run must fit in


@dataclass(frozen=True)
class KfpOptions:
    """Choices for the KFP target.

    Attributes:
        delivery: How steps get their code.
        pipeline_root: Where KFP stores artifacts (``defaultPipelineRoot``), if not the
            cluster's default.
        strict: Refuse, instead of warning about, a spec over the size limit.
        tracking_uri: MLflow tracking URI the pods record lineage to (none: they record none).
        allow_pickle: Pods may unpickle (joblib) artifacts they are given; without it they
            refuse, since loading a pickle runs whatever code it holds.
    """

    delivery: CodeDelivery = field(default_factory=CodeDelivery)
    pipeline_root: str | None = None
    strict: bool = False
    tracking_uri: str | None = None
    allow_pickle: bool = False


def build(ir: PipelineIR, options: KfpOptions | None = None) -> Any:
    """The PipelineSpec message of a validated IR."""
    return documents(ir, options)[0]


def documents(ir: PipelineIR, options: KfpOptions | None = None) -> tuple[Any, dict[str, Any]]:
    """The PipelineSpec message of a validated IR, and its platform spec document (empty
    when no step's runtime sets a Kubernetes field the PipelineSpec cannot carry)."""
    from dagwright.compiler.kfp.proto import messages

    pb = messages()

    from dagwright.compiler.kfp.dag import DagBuilder
    from dagwright.compiler.kfp.notify import notify_secrets, with_notify_exit

    ir = with_notify_exit(ir)  # the notifications as an exit task around the body
    options = options or KfpOptions()
    delivery = options.delivery
    given = (*delivery.extra_packages, *delivery.no_deps)
    if delivery.mode == "inline" and "kfp" not in {distribution_name(p) for p in given}:
        # the pod runs KFP's executor, so it needs the SDK that wrote the spec; only its
        # executor, which needs none of its dependencies (the SDK installs it --no-deps too)
        no_deps = (*delivery.no_deps, sdk_requirement("kfp"))
        delivery = dataclasses.replace(delivery, no_deps=no_deps)
    spec = pb.PipelineSpec()
    spec.pipeline_info.name = pipeline_name(ir.name)
    spec.pipeline_info.display_name = ir.name
    if ir.description:
        spec.pipeline_info.description = ir.description
    spec.sdk_version = f"dagwright-{__version__}"
    spec.schema_version = SCHEMA_VERSION
    if options.pipeline_root:
        spec.default_pipeline_root = options.pipeline_root
    executors = DagBuilder(
        ir, spec, delivery, options.tracking_uri, allow_pickle=options.allow_pickle
    ).build()
    executors = notify_secrets(ir, spec, executors)
    return spec, (platform_document(executors) if executors else {})


def to_yaml(spec: Any, platform: dict[str, Any] | None = None) -> str:
    """The PipelineSpec as KFP IR YAML: sorted keys, as the KFP SDK writes it; with a platform
    spec, that follows as a second document, as the SDK writes kfp-kubernetes settings."""
    from google.protobuf import json_format

    data = json_format.MessageToDict(spec)
    if platform:
        return yaml_text(data, platform, sort_keys=True)
    return yaml_text(data, sort_keys=True)


def write(ir: PipelineIR, options: KfpOptions | None = None) -> str:
    """Compile the IR to KFP YAML, checking the size limit.

    Raises:
        ValidationError: for a spec over 1.5 MiB when ``options.strict`` is set.
    """
    options = options or KfpOptions()
    text = to_yaml(*documents(ir, options))
    check_size(
        text,
        SIZE_LIMIT,
        spec="KFP",
        over="the 1.5 MiB a Kubernetes API request may carry (etcd's limit)",
        fix="share components between tasks, or deliver code by image (--code image)",
        strict=options.strict,
        pipeline=ir.name,
    )
    return text


def pipeline_name(name: str) -> str:
    """KFP pipeline names are lowercase letters, digits and '-'."""
    return to_k8s_name(name) or "pipeline"
