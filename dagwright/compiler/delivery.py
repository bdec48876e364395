"""How a step's code reaches a pod, shared by every cluster target.

A pod runs dagwright's step executor, so its image needs dagwright and the component's code:

- ``inline`` (default): the component's source travels in the spec; at start the pod installs
  dagwright and the component's packages, unless the image already has them all. dagwright
  comes from ``--dagwright``, else the running release from the package index, which only a
  release installed from an index may use (``release.py``; compiling warns otherwise, or
  refuses under ``strict``; ``submit`` and ``schedule`` refuse, ``check_sendable``, unless
  ``--dagwright``, ``--code image`` or ``--index-url`` was given, or a KFP version already
  uploaded is run without ``--upload``).
- ``image``: the image already holds dagwright and the user's modules; the spec carries only an
  import reference (``module:function``) and the executor imports it from there.

``dagwright dockerfile`` writes a Dockerfile for such an image (see ``dockerfile.py``).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from dagwright.compiler.release import release_requirement
from dagwright.components.spec import ComponentSpec
from dagwright.errors import ValidationError
from dagwright.names import check_image, check_requirement

MODES = ("inline", "image")
DEFAULT_IMAGE = "python:3.11-slim"


@dataclass(frozen=True)
class CodeDelivery:
    """Project-wide choices for how steps get their code.

    Attributes:
        mode: "inline" or "image".
        image: The image for steps that name none. In "image" mode it must hold dagwright and
            the project's modules.
        dagwright: The requirement that installs dagwright in a pod (a version pin, a wheel URL
            or ``dagwright @ URL``). None: the running release (``release_requirement``),
            resolved when inline delivery is made, which refuses a dagwright that is not a
            release installed from a package index.
        index_url: A pip index to install from instead of PyPI.
        extra_packages: Requirements every inline step installs.
        no_deps: Requirements every inline step installs without their dependencies, after
            the others: the KFP SDK, which a pod needs only for its executor and which the
            KFP SDK's own lightweight components install with ``--no-deps``.
        refuse_unreleased: With ``dagwright`` None, refuse a dagwright that is not a release
            from an index; False warns (``release.UnreleasedWarning``) and pins it anyway.
    """

    mode: str = "inline"
    image: str | None = None
    dagwright: str | None = None
    index_url: str | None = None
    extra_packages: tuple[str, ...] = ()
    no_deps: tuple[str, ...] = ()
    refuse_unreleased: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValidationError(
                f"code delivery mode {self.mode!r} is not known",
                field="code",
                fix=f"use one of {', '.join(MODES)}",
            )
        if self.image is not None:
            check_image(self.image, "--image")
        if self.dagwright is not None:
            check_requirement(self.dagwright, "--dagwright")
        elif self.mode == "inline":  # refused here, before anything is built
            pin = release_requirement(strict=self.refuse_unreleased)
            object.__setattr__(self, "dagwright", pin)
        for package in self.extra_packages:
            check_requirement(package, "extra_packages")
        for package in self.no_deps:
            check_requirement(package, "no_deps")

    def image_for(self, spec: ComponentSpec) -> str:
        """The image a component's steps run in."""
        # a Python component imported from KFP names KFP's base image, which holds no
        # dagwright: in image mode it runs in the project image (``dagwright dockerfile``)
        if spec.image and not (self.mode == "image" and spec.kfp is not None):
            return spec.image
        if self.image:
            return self.image
        if self.mode == "image":
            raise ValidationError(
                f"component '{spec.name}' names no image, and image delivery needs one",
                field="image",
                fix="give --image (an image built from 'dagwright dockerfile') or "
                "@component(image=...)",
            )
        return DEFAULT_IMAGE

    def carried_spec(self, spec: ComponentSpec) -> ComponentSpec:
        """The component as the pod receives it: without its source in image mode."""
        if self.mode == "inline" or spec.kfp is not None:  # its program travels in ``kfp``
            return spec
        if not spec.module:
            raise ValidationError(
                f"component '{spec.name}' is defined in a script, so an image cannot import it",
                field="module",
                fix="move it into an importable module, or compile with --code inline",
            )
        from dataclasses import replace

        return replace(spec, source="")

    def packages(self, spec: ComponentSpec) -> list[str]:
        """The component's own requirements: its ``packages``, and for a Python component
        imported from KFP, kfp and what its command installs (``kfp_pods.py``)."""
        from dagwright.compiler.kfp_pods import pod_packages

        own = list(spec.packages)
        return own + [p for p in pod_packages(spec) if p not in own]

    def requirements(self, spec: ComponentSpec) -> list[str]:
        """What an inline pod installs for this component, dagwright first, ``no_deps`` last."""
        return [*self._with_deps(spec), *self._no_deps(spec)]

    def _no_deps(self, spec: ComponentSpec) -> list[str]:
        # a component that lists one of them itself gets it as it asks, with its dependencies
        # (as the KFP SDK leaves kfp to a component that lists it)
        own = {distribution_name(p) for p in self.packages(spec)}
        return [r for r in self.no_deps if distribution_name(r) not in own]

    def _with_deps(self, spec: ComponentSpec) -> list[str]:
        return [self.dagwright or release_requirement(), *self.extra_packages, *self.packages(spec)]

    def install_command(self, spec: ComponentSpec) -> str | None:
        """A shell line that installs what the step needs unless all of it is present.

        The check looks only at distribution names, so a prepared image skips pip entirely;
        None in image mode, where the image is trusted to hold everything. ``no_deps``
        requirements get a pip call of their own with ``--no-deps``, after the others.
        """
        if self.mode == "image":
            return None
        # a requirement with an environment marker may rightly be absent (pip skips it)
        names = [distribution_name(r) for r in self.requirements(spec) if ";" not in r]
        check = f"import importlib.metadata as m; [m.distribution(n) for n in {json.dumps(names)}]"
        pip = ["PIP_DISABLE_PIP_VERSION_CHECK=1", "python3", "-m", "pip", "install", "--quiet"]
        pip.append("--no-warn-script-location")
        if self.index_url:
            pip += ["--index-url", shlex.quote(self.index_url)]
        calls = [" ".join([*pip, *(shlex.quote(r) for r in self._with_deps(spec))])]
        if self._no_deps(spec):
            no_deps = (shlex.quote(r) for r in self._no_deps(spec))
            calls.append(" ".join([*pip, "--no-deps", *no_deps]))
        return f"python3 -c {shlex.quote(check)} 2>/dev/null || {{ {' && '.join(calls)}; }}"


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def distribution_name(requirement: str) -> str:
    """The distribution a pip requirement installs: ``scikit-learn>=1.3`` -> ``scikit-learn``;
    for a wheel URL, the name in the wheel's file name."""
    text = requirement.strip()
    if "://" in text.split("@", 1)[0]:  # a bare URL
        wheel = text.rsplit("/", 1)[-1]
        return wheel.split("-", 1)[0]
    match = _NAME.match(text)
    if not match:
        raise ValidationError(
            f"{requirement!r} is not a pip requirement",
            field="packages",
            fix="write requirements such as 'scikit-learn>=1.3'",
        )
    return match.group(1)


def sdk_requirement(distribution: str) -> str:
    """Pin a pod to the SDK version that compiled the spec, as the SDK itself does."""
    return f"{distribution}=={metadata.version(distribution)}"


def check_sendable(
    takes: Sequence[str],
    options: Mapping[str, Any],
    *,
    python: bool,
    remote: Mapping[str, Any] | None = None,
) -> None:
    """Refuse to send a spec whose pods would install a dagwright that is not this code.

    Compiling only warns (a private index the pods use may hold the version, which an offline
    check cannot see), but a spec sent to a cluster with ``dagwright==<version>`` that no
    index has fails in every pod. So ``submit`` and ``schedule`` take the default only for a
    release installed from an index (``release.py``), and otherwise a delivery the user chose:
    a ``dagwright`` requirement, image delivery, or an ``index_url`` said to hold the version.

    Args:
        takes: The target's compile options: a target whose pods install no code
            (``DELIVERY_OPTIONS`` not among them) is let through.
        options: The compile options given (``compile_ir``'s keywords).
        python: Name the fixes as ``compile_options`` keys rather than command-line flags.
        remote: The send's own options: a KFP version chosen to run (``version_name``
            without ``upload``) sends nothing compiled here, and is let through.

    Raises:
        ValidationError: naming ``--dagwright`` (``dagwright`` from Python) and the fixes.
    """
    from dagwright._version import __version__
    from dagwright.compiler.release import check_release, installed, same_source

    if "dagwright" not in takes or options.get("code") == "image":
        return
    if remote and remote.get("version_name") and not remote.get("upload"):
        return  # the server's version runs as uploaded: its pods install what its spec says
    if any(options.get(key) for key in ("dagwright", "index_url")):
        return
    dist = installed()
    try:
        check_release(dist, __version__)
    except ValidationError as exc:
        # where this dagwright came from, when a pod can fetch it too (a VCS commit, a URL)
        same = None if dist is None else same_source(dist)
        wheel = same or f"dagwright @ https://HOST/dagwright-{__version__}-py3-none-any.whl"
        if python:
            field = "compile_options['dagwright']"
            fixes = (
                f"pass compile_options={{'dagwright': '{wheel}'}} (a requirement the pods can "
                "install), {'code': 'image', 'image': IMAGE} (an image holding dagwright, see "
                f"'dagwright dockerfile'), or {{'index_url': URL}} of an index holding "
                f"dagwright=={__version__} (the way out for a real release installed from a "
                "downloaded wheel file or a conda build, which leave a direct_url.json)"
            )
        else:
            field = "--dagwright"
            fixes = (
                f"give --dagwright '{wheel}' (a requirement the pods can install), --code "
                "image --image IMAGE (an image holding dagwright, see 'dagwright dockerfile'), "
                f"or --index-url URL of an index holding dagwright=={__version__} (the way out "
                "for a real release installed from a downloaded wheel file or a conda build, "
                "which leave a direct_url.json)"
            )
        raise ValidationError(
            f"{exc.problem}, so every pod of the run would fail at start; nothing was sent",
            field=field,
            fix=fixes,
        ) from None
