"""Code delivery and pod-level settings: bad inputs and faults, each with its exact outcome.

Bad inputs run the real CLI in a subprocess: exit 2, the message names the field and the fix,
no traceback, nothing written. The installed dagwright each case needs is a ``.dist-info``
folder made in tmp_path and put first on ``PYTHONPATH`` (the machine's own install is never
touched). Faults run a compiled pod's own command, with pip replaced by a stand-in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import dagwright

VERSION = dagwright.__version__
PIPELINE = """
import dagwright

@dagwright.component(timeout=1)
def stubborn(x: int) -> int:
    import time
    for _ in range(3):  # a step that swallows whatever is raised into it
        try:
            time.sleep(60)
        except BaseException:
            pass
    return x

@dagwright.component(packages=["dagwright-test-surely-not-installed"])
def double(x: int) -> int:
    return 2 * x

@dagwright.pipeline
def demo(x: int = 2) -> int:
    return double(x=x).output

@dagwright.pipeline
def slow(x: int = 2) -> int:
    return stubborn(x=x).output
"""
EDITABLE = {"url": "file:///src/dagwright", "dir_info": {"editable": True}}
RELEASE: dict[str, object] = {}  # no direct_url.json: installed from an index


def _dist(folder: Path, version: str, direct_url: dict[str, object]) -> Path:
    info = folder / f"dagwright-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: dagwright\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    if direct_url:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return folder


def _cli(
    cwd: Path, *args: str, version: str = VERSION, direct_url: dict[str, object] = RELEASE
) -> subprocess.CompletedProcess[str]:
    (cwd / "flow.py").write_text(PIPELINE)
    site = _dist(cwd / "site", version, direct_url)
    paths = [str(site), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    env["DAGWRIGHT_HOME"] = str(cwd / "home")
    return subprocess.run(
        [sys.executable, "-c", "from dagwright.cli import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _refused(proc: subprocess.CompletedProcess[str], field: str, says: str, cwd: Path) -> None:
    assert proc.returncode == 2, proc.stderr
    assert f"field '{field}'" in proc.stderr, proc.stderr
    assert says in proc.stderr and "Fix: " in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (cwd / "out.yaml").exists()
    assert not (cwd / "home").exists()  # compile and the refused submits write no store


ARGO = ("compile", "flow.py:demo", "-t", "argo", "-o", "out.yaml")


@pytest.mark.parametrize(
    ("flags", "field", "says"),
    [
        (("--artifact-repository", "s3://b/p"), "artifact_endpoint", "has no endpoint"),
        (("--artifact-repository", "s3://b/p", "--artifact-endpoint", ""), "artifact_endpoint", ""),
        (("--artifact-endpoint", "minio:9000"), "artifact_endpoint", "without a bucket"),
        (("--artifact-secret", "creds"), "artifact_secret", "without a bucket"),
        (
            ("--artifact-repository", "gcs", "--artifact-secret", "creds"),
            "artifact_secret",
            "without a bucket",
        ),
        (
            ("--artifact-repository", "gs://b/p", "--artifact-endpoint", "minio:9000"),
            "artifact_endpoint",
            "for S3",
        ),
        (
            ("--artifact-repository", "s3://b/p", "--artifact-endpoint", "minio:9000")
            + ("--artifact-repository-ref", "artifacts:minio"),
            "artifact_repository_ref",
            "do not use",
        ),
        (
            ("--artifact-repository", "s3://b/p", "--artifact-endpoint", "ftp://minio:21"),
            "artifact_endpoint",
            "scheme ftp://",
        ),
        (
            ("--artifact-repository", "s3://b/p", "--artifact-endpoint", "http://minio:9000/b"),
            "artifact_endpoint",
            "host[:port]",
        ),
        (
            ("--artifact-repository", "s3://b/p", "--artifact-endpoint", "minio:1234567"),
            "artifact_endpoint",
            "host[:port]",
        ),
        (
            ("--artifact-repository", "s3://b/p", "--artifact-endpoint", "s3 .amazonaws.com"),
            "artifact_endpoint",
            "host[:port]",
        ),
        (("--artifact-repository", "s3://"), "artifact_repository", "not an artifact repository"),
        (("--artifact-repository", "gs:///p"), "artifact_repository", "not an artifact repository"),
    ],
)
def test_bad_artifact_repository_settings(
    tmp_path: Path, flags: tuple[str, ...], field: str, says: str
) -> None:
    _refused(_cli(tmp_path, *ARGO, *flags), field, says, tmp_path)


@pytest.mark.parametrize(
    ("args", "version", "direct_url", "says"),
    [
        (("compile", "flow.py:demo", "-t", "kfp", "-o", "out.yaml"), VERSION, EDITABLE, "editable"),
        (ARGO, VERSION, EDITABLE, "editable"),
        (ARGO, VERSION, {"url": "file:///src/dagwright", "dir_info": {}}, "from a folder"),
        (ARGO, "0.0.1", RELEASE, "is not the installed distribution (0.0.1)"),
        (
            ARGO,
            VERSION,
            {"url": "https://git.example/dagwright.git", "vcs_info": {"vcs": "git"}},
            "from version control",
        ),
        (ARGO, VERSION, {"url": "file:///w/d.whl", "archive_info": {}}, "wheel or archive"),
        (("dockerfile", "flow.py:demo", "-o", "out.yaml"), VERSION, EDITABLE, "editable"),
        (
            ("submit", "flow.py:demo", "--target", "kfp", "--host", "http://127.0.0.1:9"),
            VERSION,
            EDITABLE,
            "editable",
        ),
        (
            ("submit", "flow.py:demo", "--target", "argo", "--host", "http://127.0.0.1:9"),
            VERSION,
            EDITABLE,
            "editable",
        ),
    ],
)
def test_bad_default_dagwright_pin_that_no_index_holds(
    tmp_path: Path,
    args: tuple[str, ...],
    version: str,
    direct_url: dict[str, object],
    says: str,
) -> None:
    """Refused under --strict (the default only warns: ``test_delivery_release.py``);
    ``dockerfile`` always refuses: an image is built once and kept."""
    strict = () if args[0] == "dockerfile" else ("--strict",)
    proc = _cli(tmp_path, *args, *strict, version=version, direct_url=direct_url)
    _refused(proc, "--dagwright", says, tmp_path)
    assert "--code image" in proc.stderr


@pytest.mark.parametrize(
    "requirement",
    [
        "dagwright @ https://files.example/d.whl; rm -rf /",
        "dagwright>=",
        "  ",
        "dagwright @ file:///d.whl$(id)",
        "[dagwright]",
    ],
)
def test_bad_dagwright_requirement(tmp_path: Path, requirement: str) -> None:
    proc = _cli(tmp_path, *ARGO, "--dagwright", requirement, direct_url=EDITABLE)
    assert proc.returncode == 2, proc.stderr
    assert "'--dagwright'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.yaml").exists()


def _pod_command(tmp_path: Path, pipeline: str, template: str, pip_exit: int) -> list[str]:
    """The compiled Argo pod's command and args, placeholders filled, with a ``python3`` whose
    ``-m pip`` exits ``pip_exit``."""
    proc = _cli(tmp_path, "compile", f"flow.py:{pipeline}", "-t", "argo", "-o", "wf.yaml")
    assert proc.returncode == 0, proc.stderr
    manifest = yaml.safe_load((tmp_path / "wf.yaml").read_text())
    box = next(t for t in manifest["spec"]["templates"] if t["name"] == template)["container"]
    _python3(tmp_path, pip_exit)
    fills = {
        "{{inputs.parameters.x}}": "5",
        "{{inputs.parameters.dagwright-task}}": template,
        "{{pod.name}}": "pod-1",
        "{{outputs.parameters.output.path}}": str(tmp_path / "output"),
    }
    command = []
    for part in box["command"] + box["args"]:
        for placeholder, value in fills.items():
            part = part.replace(placeholder, value)
        command.append(part)
    return command


def _python3(tmp_path: Path, pip_exit: int) -> None:
    """A ``python3`` in ``tmp_path/bin`` whose ``-m pip`` exits ``pip_exit``."""
    python = tmp_path / "bin" / "python3"
    python.parent.mkdir()
    python.write_text(
        f'#!/bin/sh\n[ "$2" = pip ] && exit {pip_exit}\nexec "{sys.executable}" "$@"\n'
    )
    python.chmod(0o755)


def _pod_env(tmp_path: Path) -> dict[str, str]:
    site = str(tmp_path / "site")
    paths = [site, os.environ.get("PYTHONPATH", "")]
    return {
        **os.environ,
        "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
    }


def test_fault_a_failing_bootstrap_fails_the_pod_before_the_step(tmp_path: Path) -> None:
    command = _pod_command(tmp_path, "demo", "double", pip_exit=1)
    proc = subprocess.run(command, env=_pod_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 1
    assert not (tmp_path / "output").exists()  # the entry never ran


def test_fault_a_failing_bootstrap_fails_a_kfp_pod_before_kfps_executor(tmp_path: Path) -> None:
    """The KFP executor's command as compiled; the executor would write its output file."""
    proc = _cli(tmp_path, "compile", "flow.py:demo", "-t", "kfp", "-o", "spec.yaml")
    assert proc.returncode == 0, proc.stderr
    spec = yaml.safe_load((tmp_path / "spec.yaml").read_text())
    box = spec["deploymentSpec"]["executors"]["exec-double"]["container"]
    _python3(tmp_path, pip_exit=7)
    executor_input = {
        "inputs": {"parameterValues": {"x": 5}},
        "outputs": {"outputFile": str(tmp_path / "executor_output.json")},
    }
    command = [p.replace("{{$}}", json.dumps(executor_input)) for p in box["command"] + box["args"]]
    proc = subprocess.run(command, env=_pod_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 7  # pip's own exit code
    assert not (tmp_path / "executor_output.json").exists()


def test_a_bootstrap_that_succeeds_runs_the_step(tmp_path: Path) -> None:
    """The counterpart: the same command with a pip that succeeds writes the output."""
    command = _pod_command(tmp_path, "demo", "double", pip_exit=0)
    proc = subprocess.run(command, env=_pod_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "output").read_text() == "10\n"


def test_fault_a_step_that_swallows_interruptions_still_ends_at_its_timeout(
    tmp_path: Path,
) -> None:
    """The pod's entry ends the process at the timeout; nothing raised into the step could."""
    command = _pod_command(tmp_path, "slow", "stubborn", pip_exit=1)
    started = time.monotonic()
    proc = subprocess.run(
        command, env=_pod_env(tmp_path), capture_output=True, text=True, timeout=170
    )
    assert proc.returncode == 124
    assert "TimeoutError: step 'stubborn' did not finish within 1 s" in proc.stderr
    assert time.monotonic() - started < 90  # the step alone would take 180 s
    assert not (tmp_path / "output").exists()
