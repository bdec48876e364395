"""The packages of lightweight KFP components that this environment lacks, installed when a run
asks for it (``--install-packages``): once per distinct requirement set, with ``pip install
--target <store root>/kfp-packages/<sha256 of the sorted requirements>``, never into this
environment (kfp.local pip-installs into the caller's, and may even replace its kfp). Steps
needing such a folder run in a process of their own with it first on ``PYTHONPATH``.

Concurrent runs install a set once (a file lock per set); pip writes into a temporary sibling
renamed into place when it succeeded, so a failed install leaves no half folder. kfp itself is
never installed there: a requirement's dependency on kfp would shadow the installed one, so
any kfp pip brought along is removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dagwright.errors import ValidationError
from dagwright.kfp_steps.component import component_of
from dagwright.kfp_steps.requirements import unmet
from dagwright.pipelines.ir import PipelineIR

FOLDER = "kfp-packages"


def folder_of(requirements: list[str], root: str | Path) -> Path:
    """Where ``requirements`` are installed under the packages folder ``root``."""
    digest = hashlib.sha256("\n".join(sorted(set(requirements))).encode()).hexdigest()
    return Path(root) / digest


def install_missing(ir: PipelineIR, root: str | Path) -> None:
    """Before a run starts: install what each lightweight KFP component of ``ir`` needs and
    this environment lacks, under the packages folder ``root``.

    Raises:
        ValidationError: when pip fails (its last lines in the message).
    """
    seen: set[str] = set()
    for spec in ir.components.values():
        if spec.kfp is None or spec.importer is not None or spec.digest in seen:
            continue
        seen.add(spec.digest)
        component = component_of(spec, spec.digest)
        if component.lightweight:
            missing = unmet(component.name, component.install, spec.digest)
            if missing:
                ensure(missing, root)


def ensure(requirements: list[str], root: str | Path) -> Path:
    """The folder holding ``requirements``, installed there first unless it exists.

    Raises:
        ValidationError: when pip fails (its last lines in the message).
    """
    import fcntl

    folder = folder_of(requirements, root)
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{folder}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        if not folder.is_dir():  # another run may have installed it while this one waited
            for stale in folder.parent.glob(f".{folder.name}.*"):  # of an install killed midway
                shutil.rmtree(stale, ignore_errors=True)
            _install(requirements, folder)
    return folder


def _install(requirements: list[str], folder: Path) -> None:
    temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-input",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--target",
            str(temporary),
            *sorted(set(requirements)),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            raise ValidationError(
                f"pip could not install {', '.join(repr(r) for r in requirements)} for the "
                f"run's KFP components: {last}",
                field="install_packages",
                fix="check the packages_to_install of the component and that pip reaches "
                "its index, or install them into this environment yourself",
            )
        _drop_kfp(temporary)
        os.rename(temporary, folder)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _drop_kfp(target: Path) -> None:
    """Remove a kfp that pip installed as a dependency: the installed kfp runs the step."""
    import importlib.metadata

    for dist in importlib.metadata.distributions(path=[str(target)]):
        if (dist.metadata["Name"] or "").lower() != "kfp":
            continue
        for file in dist.files or []:
            path = Path(target, file)
            if path.is_file():
                path.unlink()
    for leftover in [target / "kfp", *target.glob("kfp-*.dist-info")]:
        shutil.rmtree(leftover, ignore_errors=True)
