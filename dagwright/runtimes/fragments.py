"""The target face of a runtime: what a compiled step's pod gets, or the resource it becomes.

A target (KFP, Argo) describes the step's ordinary container as a ``PodStep`` and asks the
step's runtime for ``Fragments``: extra container and pod fields (a Job's node selector, a Dask
scheduler address), or a custom resource the step becomes (a SparkApplication, an MPIJob, a
NuclioFunction) with the conditions that say it succeeded or failed. Manifests use Kubernetes'
camelCase field names, as they appear in YAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A step that becomes a custom resource runs apart from the target's data passing: its pods
# take parameters only and hand nothing back. Both targets refuse more with this fix.
PARAMETERS_ONLY_FIX = "pass data locations as str parameters, or use runtime=Job()"

# A resource's manifest cannot name the resource itself: each target names the resource when it
# creates it (Argo's generateName, the KFP launcher's suffix). Where a manifest must point at
# its own resource's pods (a Service selector, and the label it selects), a runtime writes
# INSTANCE as the whole string, and the target replaces it with a value unique to the created
# resource (see ``fill_instance``).
INSTANCE = "$(DAGWRIGHT_INSTANCE)"
INSTANCE_LABEL = "dagwright.io/instance"


@dataclass(frozen=True)
class PodStep:
    """The ordinary container a target would run for one step.

    Attributes:
        name: The step's Kubernetes name (a DNS-1123 label).
        image: The container image.
        command: The command that runs the step's executor in that image.
        env: Environment variables the target sets (name to value).
        resources: Container ``resources`` (``requests``/``limits``), as Kubernetes writes them.
    """

    name: str
    image: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    resources: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Fragments:
    """What a runtime adds to a compiled step.

    Attributes:
        container: Fields merged into the step's container (``env`` entries are appended;
            ``envFrom``, ``resources``, ``image`` ...).
        pod: Fields merged into the pod spec (``nodeSelector``, ``tolerations``,
            ``serviceAccountName`` ...).
        resource: A custom resource the step becomes instead of a plain pod; its own pods run
            the step's command.
        success_condition: When the resource has succeeded, as an Argo resource template
            writes it (``status.applicationState.state == COMPLETED``).
        failure_condition: When it has failed, in the same notation.
    """

    container: dict[str, Any] = field(default_factory=dict)
    pod: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] | None = None
    success_condition: str | None = None
    failure_condition: str | None = None


def fill_instance(manifest: Any, value: str) -> Any:
    """``manifest`` with every string that is exactly ``INSTANCE`` replaced by ``value``."""
    if manifest == INSTANCE:
        return value
    if isinstance(manifest, dict):
        return {key: fill_instance(item, value) for key, item in manifest.items()}
    if isinstance(manifest, list):
        return [fill_instance(item, value) for item in manifest]
    return manifest
