"""What a pod needs to run a Python component imported from KFP, beside dagwright.

Such a step runs in its pod through dagwright's step executor, which runs the component's
function through kfp's own executor contract (``kfp_steps``): the pod needs kfp, and the
packages the component's command would pip-install (``packages_to_install``), which the step
checks for and never installs. ``pod_packages`` lists them for inline delivery and for
``dagwright dockerfile``:

- every requirement of the command's ``pip install`` lines, as written;
- kfp: the version the command pins when dagwright's step executor runs on it (kfp
  ``KFP_MINIMUM`` or later, or a URL the user chose), else the kfp installed here (also for a
  kfp wheel file of the machine that compiled the YAML, which the pod does not have). It is
  installed with its dependencies, unlike in KFP's own pods (``--no-deps``): dagwright's step
  uses kfp's local executor utilities and the PipelineSpec messages, which need them.

A KFP container component needs none of this: it runs its own image (``argo/kfp_container.py``).
"""

from __future__ import annotations

from importlib import metadata

from dagwright.components.spec import ComponentSpec

KFP_MINIMUM = "2.17"  # the kfp extra's (setup.cfg): the step executor's kfp.local utilities


def pod_packages(spec: ComponentSpec) -> list[str]:
    """The requirements the pod of ``spec`` installs beyond dagwright and ``spec.packages``:
    none unless it is a Python component imported from KFP."""
    if spec.kfp is None or "container" not in (spec.kfp.get("executor") or {}):
        return []
    from dagwright.kfp_steps.component import component_of
    from dagwright.kfp_steps.requirements import requirements

    component = component_of(spec, spec.digest)
    if not component.lightweight:
        return []
    found: list[str] = []
    pinned: str | None = None
    for text in requirements(component.install):
        if _is_kfp(text):
            pinned = text
        elif text not in found:
            found.append(text)
    return [kfp_requirement(pinned), *found]


def kfp_requirement(pinned: str | None) -> str:
    """The kfp a pod installs: ``pinned`` (the component's) when the step executor runs on it,
    else the kfp installed here, else the minimum."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import Version

    if pinned is not None:
        try:
            req = Requirement(pinned)
        except InvalidRequirement:  # KFP's kfp_package_path: a URL the pod fetches too, or a
            req = None  # file on the machine that compiled it, which the pod has not
            if "://" in pinned:
                return pinned
        if req is not None and req.url:
            return pinned
        exact = [s.version for s in req.specifier if s.operator in ("==", "===")] if req else []
        if exact and Version(exact[0]) >= Version(KFP_MINIMUM):
            return f"kfp=={exact[0]}"
    try:
        return f"kfp=={metadata.version('kfp')}"
    except metadata.PackageNotFoundError:
        return f"kfp>={KFP_MINIMUM}"


def _is_kfp(text: str) -> bool:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(text).name) == "kfp"
    except InvalidRequirement:  # KFP's own repository as a URL, or a kfp wheel or sdist
        base = text.rstrip("/").rsplit("/", 1)[-1]
        return ("kubeflow/pipelines" in text and "sdk/python" in text) or base.startswith("kfp-")
