"""Whether the dagwright running here is a release that pods can install from a package index.

Inline delivery installs dagwright in every pod. By default it pins the running version,
``dagwright==<version>``, which is right only when that release is on the index the pods use:
otherwise every step fails at start (no such release), or installs whatever someone else
published under the name and runs it in every pod. The check stays offline and reads only the
installed distribution's metadata. The pin is used when all of these hold:

- a distribution named dagwright is installed, and its version is the running code's
  ``__version__`` (code run from a source folder over an installed release is not that release);
- its version is a release in PEP 440's sense: no ``.devN`` (not a release) and no local
  ``+label`` (which package indexes refuse);
- an installer installed it (PEP 376's ``INSTALLER`` record, which pip, uv and conda write;
  a source tree's ``.egg-info`` has none), from an index: there is no ``direct_url.json``
  (PEP 610), which installers write for an editable install, a local folder, a wheel or
  archive file or URL, and a VCS checkout;
- the running code is the files that distribution installed (its ``RECORD``), not a source
  folder of the same version first on ``sys.path``.

Otherwise compiling warns (``UnreleasedWarning``: what the pods will install, why it is not
this code, and the fix) and still writes the spec, since a private index the pods use may hold
that version, which an offline check cannot see; under ``strict`` it refuses instead. Sending
(``submit``, ``schedule``) refuses unless a delivery was chosen (``delivery.check_sendable``):
a run whose every pod fails at start helps no one. The fix:
``--dagwright REQUIREMENT`` (a requirement the pods can install, such as a wheel URL) or
``--code image`` with an image that holds dagwright.
Shipping the wheel inside the spec was measured and set aside: dagwright's wheel is about
0.6 MiB, 0.8 MiB in base64, so one copy per component template (Argo) or executor (KFP) puts
a spec over what Argo keeps uncompressed (1 MiB) and what etcd takes (1.5 MiB).
A release from a private index passes the check; give ``--index-url`` so pods use that index.
"""

from __future__ import annotations

import json
import warnings
from importlib import metadata
from pathlib import Path

from dagwright.errors import ValidationError

FIX = (
    "give --dagwright with a requirement the pods can install, e.g. 'dagwright @ "
    "https://HOST/dagwright-{version}-py3-none-any.whl' (a wheel built with 'pip wheel --no-deps "
    ".' and put where the pods can fetch it), or deliver by image: --code image --image IMAGE "
    "(see 'dagwright dockerfile'); a real release installed from a downloaded wheel file or a "
    "conda build (both leave a direct_url.json) is on an index: give --index-url URL of an index "
    "holding dagwright=={version}"
)


class UnreleasedWarning(UserWarning):
    """The pods would install ``dagwright==<version>`` from the index, which is not this code."""


def installed() -> metadata.Distribution | None:
    """The installed distribution named dagwright (the first on ``sys.path``), if any."""
    try:
        return metadata.distribution("dagwright")
    except metadata.PackageNotFoundError:
        return None


def release_requirement(*, strict: bool = True) -> str:
    """``dagwright==<version>`` for the dagwright running here.

    Args:
        strict: Refuse a dagwright that is not a release from an index; else warn
            (``UnreleasedWarning``) and return the pin all the same.

    Raises:
        ValidationError: (field ``--dagwright``) when it is not a release from an index and
            ``strict`` is set.
    """
    from dagwright._version import __version__

    try:
        return check_release(installed(), __version__)
    except ValidationError as exc:
        if strict:
            raise
        warnings.warn(
            UnreleasedWarning(
                f"{exc.problem}; every step's pod would fail at start unless its index has "
                f"that version. Fix: {exc.fix} (--strict refuses to write such a spec)"
            ),
            stacklevel=2,
        )
        return f"dagwright=={__version__}"


def check_release(dist: metadata.Distribution | None, version: str) -> str:
    """``dagwright==<version>`` when ``dist`` is that release, installed from an index.

    Args:
        dist: The installed distribution (None: none is installed).
        version: The running code's ``__version__``.

    Raises:
        ValidationError: naming ``--dagwright``, why the pin would not install this code, and
            the fix.
    """
    problem = _why_not(dist, version)
    if problem is not None:
        same = None if dist is None else same_source(dist)
        fix = FIX.format(version=version)
        if same is not None:  # what this dagwright was installed from, which pods can fetch too
            fix = f"give --dagwright '{same}' (where this dagwright came from); otherwise {fix}"
        raise ValidationError(
            f"pods would install dagwright=={version} from the package index, but the "
            f"dagwright running here {problem}",
            field="--dagwright",
            fix=fix,
        )
    return f"dagwright=={version}"


def same_source(dist: metadata.Distribution) -> str | None:
    """The requirement that installs what ``dist`` was installed from, when a pod can fetch it:
    a VCS checkout at its commit, or a wheel or archive at an http(s) URL (PEP 610). None for
    a local folder or file, and for a URL holding credentials or a query, which may be a
    signature (never copied into a message or a spec)."""
    from urllib.parse import urlsplit

    try:
        data = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    url = data["url"]
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "ssh") or parts.username or parts.query:
        return None
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict) and isinstance(vcs.get("vcs"), str):
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        return f"dagwright @ {vcs['vcs']}+{url}" + (f"@{commit}" if commit else "")
    if "archive_info" in data and parts.scheme in ("http", "https"):
        return f"dagwright @ {url}"
    return None


def _why_not(dist: metadata.Distribution | None, version: str) -> str | None:
    """Why ``dist`` is not the release ``version`` from an index; None when it is."""
    from packaging.version import InvalidVersion, Version

    if dist is None:
        return "is not an installed distribution (it runs from a source folder)"
    try:
        parsed = Version(version)
    except InvalidVersion:
        return f"has the version {version!r}, which is not a PEP 440 version"
    try:  # as versions, not strings: '1.0' is '1.0.0', '1.0.0-rc1' is '1.0.0rc1' (PEP 440)
        same = Version(dist.version) == parsed
    except InvalidVersion:
        same = False
    if not same:
        return f"({version}) is not the installed distribution ({dist.version})"
    if parsed.is_devrelease:
        return f"is a development version ({version}), not a release"
    if parsed.local:
        return f"has a local version ({version}), which package indexes refuse"
    if dist.read_text("INSTALLER") is None:
        return "has no installer record (a source tree's metadata, not an installed release)"
    origin = _direct_origin(dist)
    if origin is not None:
        return f"{origin}, not a release from a package index"
    return _elsewhere(dist)


def _elsewhere(dist: metadata.Distribution) -> str | None:
    """Why the running code is not the files ``dist`` installed (a source folder of the same
    version first on ``sys.path``, over an installed release); None when it is, or when
    ``dist`` records no files (PEP 376's ``RECORD``: installers write one)."""
    import dagwright

    recorded = [f for f in dist.files or () if f.as_posix() == "dagwright/__init__.py"]
    if not dist.files or not recorded:
        return None
    try:
        same = (
            Path(str(dist.locate_file(recorded[0]))).resolve() == Path(dagwright.__file__).resolve()
        )
    except OSError:
        same = False
    if same:
        return None
    return "runs from a folder of its own, not from the files the installed release holds"


def _direct_origin(dist: metadata.Distribution) -> str | None:
    """Where a direct install came from (PEP 610's ``direct_url.json``); None for an index."""
    text = dist.read_text("direct_url.json")
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None  # unreadable, but installers write it only for direct installs
    if not isinstance(data, dict):
        return "was installed from a direct reference"
    dir_info = data.get("dir_info")
    if isinstance(dir_info, dict):
        return (
            "is an editable install" if dir_info.get("editable") else "was installed from a folder"
        )
    if "vcs_info" in data:
        return "was installed from version control"
    return "was installed from a wheel or archive (a file or a URL)"
