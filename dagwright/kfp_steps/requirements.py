"""The packages a lightweight component's command would pip-install, checked against this
environment: a step never runs pip (``packages.py`` installs them into the store, apart from
this environment, when the run asks for it).

KFP writes them as ``python3 -m pip install [options] 'pkg' ... && ...`` (the component's
``packages_to_install``, then ``kfp==<version>`` with ``--no-deps``). kfp itself is fine in any
installed version: the step runs on the kfp of this process.
"""

from __future__ import annotations

import importlib.metadata
import re
import shlex
import sys
import threading

from dagwright.errors import ValidationError

# pip options that take a value as the next word
_VALUED = {
    "-i",
    "--index-url",
    "--extra-index-url",
    "--trusted-host",
    "-f",
    "--find-links",
    "-c",
    "--constraint",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--proxy",
    "--retries",
    "--timeout",
    "--cache-dir",
    "--src",
    "--upgrade-strategy",
    "--progress-bar",
    "--log",
}
_ENDS = {"&&", "||", ";", "|", "&", "(", ")"}
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9_.\-]+)")

_UNMET: dict[str, list[str]] = {}
_LOCK = threading.Lock()


def requirements(install: str) -> list[str]:
    """The requirement strings of every ``pip install`` in a shell text."""
    lexer = shlex.shlex(install, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    words = list(lexer)
    found: list[str] = []
    i = 0
    while i < len(words):
        if words[i] == "pip" and i + 1 < len(words) and words[i + 1] == "install":
            i += 2
            while i < len(words) and words[i] not in _ENDS:
                word = words[i]
                if word in _VALUED:
                    i += 1  # its value
                elif word.startswith("-r") or word == "--requirement":
                    raise ValidationError(
                        "a requirements file given to pip cannot be checked here",
                        field="packages",
                        fix="list the packages in packages_to_install instead",
                    )
                elif not word.startswith("-"):
                    found.append(word)
                i += 1
        i += 1
    return found


def unmet(component: str, install: str, key: str) -> list[str]:
    """The requirements no installed distribution satisfies (kfp never among them: the
    installed kfp runs every step); warn (on the step's stderr) about one installed in a
    version outside its specifier. Once per ``key`` (the component's digest) in a process."""
    found = _UNMET.get(key)
    if found is not None:
        return found
    missing: list[str] = []
    for text in requirements(install):
        problem = _problem(text)
        if problem == "missing":
            missing.append(text)
        elif problem:
            print(f"dagwright: component '{component}': {problem}", file=sys.stderr)
    with _LOCK:
        _UNMET[key] = missing
    return missing


def check_installed(component: str, install: str, key: str) -> None:
    """Raise a ValidationError naming the packages that are not installed here (``unmet``).

    Raises:
        ValidationError: naming them, ``pip install`` and ``--install-packages`` as fixes.
    """
    missing = unmet(component, install, key)
    if missing:
        quoted = " ".join(shlex.quote(m) for m in missing)
        raise ValidationError(
            f"component '{component}' needs {', '.join(repr(m) for m in missing)}, not "
            "installed here (dagwright runs KFP components in this environment and "
            "pip-installs only when asked)",
            field="packages_to_install",
            fix=f"pip install {quoted}; or run with --install-packages (install_packages=True) "
            "to install them into the store for such steps only, leaving this environment as "
            "it is",
        )


def _problem(text: str) -> str:
    """'' when the requirement is met, 'missing', or a version mismatch to warn about."""
    from packaging.markers import UndefinedEnvironmentName
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(text)
        name, specifier = req.name, req.specifier
        if req.marker is not None and not req.marker.evaluate():
            return ""
    except (InvalidRequirement, UndefinedEnvironmentName):
        found = _name_of_url(text)
        if found is None:
            return "missing"
        name, specifier = found, None
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"
    if canonicalize_name(name) == "kfp" or not specifier:
        return ""
    if specifier.contains(version, prereleases=True):
        return ""
    return f"'{text}' asked for, {name} {version} installed; running with {version}"


def _name_of_url(text: str) -> str | None:
    """The distribution a URL or file requirement installs: its ``#egg=``, kfp for KFP's own
    repository (``...kubeflow/pipelines...#subdirectory=sdk/python``), or the name a wheel or
    sdist file starts with (``kfp-2.17.3-py3-none-any.whl``)."""
    egg = _EGG.search(text)
    if egg:
        return egg.group(1)
    if "kubeflow/pipelines" in text and "sdk/python" in text:
        return "kfp"
    base = text.rstrip("/").rsplit("/", 1)[-1]
    if base.endswith((".whl", ".tar.gz", ".zip")) and "-" in base:
        return base.split("-", 1)[0]
    return None
