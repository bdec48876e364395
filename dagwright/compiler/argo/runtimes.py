"""A step's runtime on Argo: its ``Fragments`` merged into the step's template.

The compiler describes each component's container as a ``PodStep`` and asks the component's
runtime for fragments. Container fields go into the template's container (``env`` and
``envFrom`` appended, other fields replaced), pod fields onto the template, which is where Argo
keeps a pod's ``nodeSelector``, ``tolerations``, ``serviceAccountName`` and the like; a pod
field Argo templates lack goes into the template's ``podSpecPatch``. A runtime that returns a
resource (a SparkApplication, an MPIJob) turns the step into an Argo resource template that
creates it and waits for its conditions; the resource's own pods run the step's command. A
resource step uses no container or pod fragments: the resource holds its own pods' fields. A
serving runtime (``serves``, as Nuclio) is the exception: its step's own pod deploys the
resource and outputs the URL, so the step stays a container template.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from dagwright.compiler.argo.objects import obj
from dagwright.compiler.pod_options import with_pod_options
from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError
from dagwright.names import to_k8s_name
from dagwright.runtimes import Fragments, PodStep, runtime_for
from dagwright.runtimes.fragments import PARAMETERS_ONLY_FIX, fill_instance

# pod fields that an Argo template carries itself (the rest go into podSpecPatch)
TEMPLATE_POD_FIELDS = {
    "affinity": "affinity",
    "automountServiceAccountToken": "automount_service_account_token",
    "hostAliases": "host_aliases",
    "metadata": "metadata",  # a pod's labels and annotations (the component's pod options)
    "nodeSelector": "node_selector",
    "priorityClassName": "priority_class_name",
    "schedulerName": "scheduler_name",
    "securityContext": "security_context",
    "serviceAccountName": "service_account_name",
    "tolerations": "tolerations",
    "volumes": "volumes",
}
# a created resource's name: generateName adds 5 characters; 40 in all leaves room for the
# names operators derive from it (``<name>-launcher``, ``<name>-worker-12``, ``<name>-driver``)
PREFIX_LENGTH = 34


def fragments_for(spec: ComponentSpec, pod: PodStep) -> Fragments:
    """The fragments the component's runtime gives for ``pod``.

    Raises:
        ValidationError: when no runtime is known for the component's runtime config.
    """
    config = spec.runtime
    try:
        runtime = runtime_for(config)
    except (LookupError, ImportError) as exc:
        raise ValidationError(
            f"Argo target: component '{spec.name}' has runtime '{config.kind}' and {exc}",
            field="runtime",
            fix="install the package that provides the runtime, or register one with "
            "dagwright.runtimes.register_runtime",
        ) from None
    # the component's own pod options (volumes, Secrets as variables...) join the runtime's
    return with_pod_options(spec, runtime.fragments(config, pod), _refused)


def _refused(problem: str, *, fix: str, field: str) -> ValidationError:
    return ValidationError(f"Argo target: {problem}", field=field, fix=fix)


def pod_step(name: str, container: dict[str, Any], env: dict[str, str]) -> PodStep:
    """The ``PodStep`` of a component's container."""
    dumped = container.get("resources") or {}
    resources = {k: dict(v) for k, v in dumped.items() if isinstance(v, dict)}
    return PodStep(
        name=to_k8s_name(name) or "step",
        image=container["image"],
        command=list(container.get("command") or []) + list(container.get("args") or []),
        env=dict(env),
        resources=resources,
    )


def merge_container(container: dict[str, Any], fields: dict[str, Any], kind: str) -> Any:
    """``container`` with a runtime's container fields merged in, checked by Hera's model.

    Raises:
        ValidationError: for a field a Kubernetes container does not have.
    """
    if not fields:
        return container
    from hera.workflows import models as m  # only a runtime's fragments need checking

    data = dict(container)
    known = {f.alias or n for n, f in m.Container.model_fields.items()}
    for key, value in fields.items():
        if key not in known:
            raise _runtime_bug(kind, f"container field '{key}'", "a container has no such field")
        if key in ("env", "envFrom"):  # the step's own entries stay; the runtime's follow
            data[key] = list(data.get(key, [])) + list(value)
        else:
            data[key] = value
    return _dumped(m.Container.model_validate(data))


def apply_pod(template: dict[str, Any], fields: dict[str, Any], kind: str) -> dict[str, Any]:
    """``template`` with a runtime's pod fields: on the template, or in its podSpecPatch,
    checked by Hera's model."""
    if not fields:
        return template
    from hera.workflows import models as m  # only a runtime's fragments need checking

    own = {k: v for k, v in fields.items() if k in TEMPLATE_POD_FIELDS}
    rest = {k: v for k, v in fields.items() if k not in TEMPLATE_POD_FIELDS}
    data = dict(template)
    data.update(own)
    if rest:
        from kubernetes import client

        known = set(client.V1PodSpec.attribute_map.values())
        unknown = sorted(set(rest) - known)
        if unknown:
            raise _runtime_bug(kind, f"pod field '{unknown[0]}'", "a pod spec has no such field")
        data["podSpecPatch"] = json.dumps(rest, sort_keys=True)
    return _dumped(m.Template.model_validate(data))


def _dumped(model: Any) -> dict[str, Any]:
    """A Hera model as the plain dict the compiler writes (``objects.py``)."""
    data: dict[str, Any] = model.model_dump(by_alias=True, exclude_none=True, mode="json")
    return data


def check_resource_step(spec: ComponentSpec, kind: str, tasks: list[str]) -> None:
    """Refuse what a step that becomes a resource cannot do: outputs and artifact inputs.

    Raises:
        ValidationError: naming the task, the field and the fix.
    """
    task = tasks[0] if tasks else None
    if spec.outputs:
        out = spec.outputs[0]
        what = "an artifact output" if out.artifact else "a return value"
        raise ValidationError(
            f"Argo target: component '{spec.name}' runs as a {kind} resource, whose pods "
            f"cannot hand {what} back to the workflow",
            task=task,
            field=f"output {out.name}",
            fix=PARAMETERS_ONLY_FIX,
        )
    for inp in spec.inputs:
        if inp.artifact:
            raise ValidationError(
                f"Argo target: component '{spec.name}' runs as a {kind} resource, whose pods "
                f"cannot receive the artifact input '{inp.name}'",
                task=task,
                field=f"input {inp.name}",
                fix=PARAMETERS_ONLY_FIX,
            )


def resource_template(
    base: dict[str, Any], fragments: Fragments, pod: PodStep, kind: str
) -> dict[str, Any]:
    """The resource template that creates ``fragments.resource`` and waits for it.

    Args:
        base: The template's other fields (name, inputs, retries, deadline, metadata).
        fragments: The runtime's fragments, with ``resource`` set.
        pod: The step's PodStep (its name seeds the resource's).
        kind: The runtime's kind, for messages.
    """
    manifest = dict(fragments.resource or {})
    for key in ("apiVersion", "kind"):
        if not isinstance(manifest.get(key), str):
            raise _runtime_bug(kind, f"resource {key}", "the resource has no string " + key)
    if not fragments.success_condition:
        raise _runtime_bug(
            kind, "success_condition", "without it the step would end when the resource is made"
        )
    # Argo's pod name for the template is unique per node and retry, as the created name is
    manifest = fill_instance(manifest, "{{pod.name}}")
    meta = dict(manifest.get("metadata") or {})
    # one resource per run, loop iteration and retry: the API server completes the name
    meta["generateName"] = generate_name(str(meta.pop("name", "") or pod.name))
    manifest["metadata"] = meta
    return obj(
        **base,
        resource=obj(
            action="create",
            manifest=manifest_text(manifest),
            setOwnerReference=True,  # deleted with the workflow
            successCondition=fragments.success_condition,
            failureCondition=fragments.failure_condition,
        ),
    )


def generate_name(name: str) -> str:
    """A ``generateName`` prefix: a DNS-1035 label (a letter first), short enough for the
    names operators derive from the generated name."""
    prefix = to_k8s_name(name)[:PREFIX_LENGTH].rstrip("-")
    if not prefix[:1].isalpha():
        prefix = f"s-{prefix}"[:PREFIX_LENGTH].rstrip("-")
    return f"{prefix}-"


def manifest_text(manifest: dict[str, Any]) -> str:
    """The manifest as YAML in which Argo's substitutions cannot break the syntax.

    Argo pastes a parameter's text into the manifest as it is. Every string holding a
    ``{{...}}`` placeholder is written as a literal block with an explicit indentation, so a
    pasted value may hold quotes, ``: ``, ``#`` or leading spaces; only a value with a line
    break would end the block early.
    """
    return yaml.dump(manifest, Dumper=_ManifestDumper, sort_keys=False, width=2**31)


class _ManifestDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def determine_block_hints(self, text: str) -> str:
        # the indentation indicator keeps a value pasted at a line's start from moving it
        hints: str = super().determine_block_hints(text)
        return hints if hints[:1].isdigit() else f"{self.best_indent}{hints}"


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "{{" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _string)


def _runtime_bug(kind: str, where: str, problem: str) -> ValidationError:
    return ValidationError(
        f"Argo target: runtime '{kind}' returned a bad {where}: {problem}",
        field="runtime",
        fix="this is a bug in the runtime; report it to whoever provides it",
    )
