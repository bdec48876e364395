"""A pod's bootstrap: kfp installed without its dependencies, and kept out of the timeout.

The install lines and pod entries run for real here, as subprocesses. No cluster runs: pip is
replaced by a stand-in that records its arguments (and, for the timeout cases, takes its
time), and the Argo pods by ``argo_controller.ArgoControllerStandIn``, which kills a pod
after its template's ``activeDeadlineSeconds`` as Kubernetes does (counted from the pod's
start, so over the bootstrap too).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_controller import ArgoControllerStandIn

import dagwright
from dagwright import component, pipeline
from dagwright.compiler.deadline import BOOTSTRAP_SECONDS, EXIT_CODE
from dagwright.verify.kfp_local import init

ROOT = Path(__file__).resolve().parents[2]
KFP = f"kfp=={metadata.version('kfp')}"
MISSING = "dagwright-test-surely-not-installed"  # a package no environment has: pip is called


def _fake_pip(folder: Path, seconds: float = 0) -> Path:
    """A ``python3`` for ``folder/bin`` that records ``-m pip`` calls in ``folder/pip.log``
    (one JSON list per call), sleeping ``seconds`` each, and runs anything else as usual."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    log = folder / "pip.log"
    script = bin_dir / "python3"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -m ] && [ "$2" = pip ]; then\n'
        f'  "{sys.executable}" -c "import json, sys; print(json.dumps(sys.argv[1:]))" "$@"'
        f' >> "{log}"\n'
        f"  sleep {seconds}\n"
        "  exit 0\n"
        "fi\n"
        f'exec "{sys.executable}" "$@"\n'
    )
    script.chmod(0o755)
    return log


def _install_line(command: list[str]) -> str:
    """The bootstrap of a container's command: the shell line before the entry starts."""
    assert command[:2] == ["sh", "-c"], command
    return command[2].split(' && "$0"')[0].split(" && exec ")[0]


def _pip_calls(line: str, folder: Path) -> list[list[str]]:
    log = _fake_pip(folder)
    env = {**os.environ, "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["sh", "-c", line], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(entry) for entry in log.read_text().splitlines()]


@component(packages=["pyyaml", MISSING])
def needs_packages(x: int) -> int:
    return x


@pipeline
def with_packages(x: int = 1) -> int:
    return needs_packages(x=x).output


def test_kfp_is_installed_without_its_dependencies_after_the_rest(tmp_path: Path) -> None:
    """As the KFP SDK's lightweight components do (``sdk/python/kfp/dsl/component_factory.py``,
    ``_get_packages_to_install_command``: the user's packages first, then ``kfp==<version>
    --no-deps``): a pod needs KFP only for its executor (``kfp.dsl.executor_main``), which
    imports none of KFP's dependencies."""
    spec = yaml.safe_load(dagwright.compile(with_packages, target="kfp"))
    box = spec["deploymentSpec"]["executors"]["exec-needs-packages"]["container"]
    first, second = _pip_calls(_install_line(box["command"]), tmp_path)
    assert first[-3:] == [f"dagwright=={dagwright.__version__}", "pyyaml", MISSING]
    assert "--no-deps" not in first and not any(a.startswith("kfp") for a in first)
    assert second[-2:] == ["--no-deps", KFP]


@component(packages=["kfp>=2", MISSING])
def uses_kfp_client(x: int) -> int:
    return x


@pipeline
def with_kfp_client(x: int = 1) -> int:
    return uses_kfp_client(x=x).output


def test_a_component_that_lists_kfp_gets_it_with_its_dependencies(tmp_path: Path) -> None:
    """As the SDK leaves kfp to a component that lists it (``kfp_in_user_pkgs``)."""
    spec = yaml.safe_load(dagwright.compile(with_kfp_client, target="kfp"))
    box = spec["deploymentSpec"]["executors"]["exec-uses-kfp-client"]["container"]
    (call,) = _pip_calls(_install_line(box["command"]), tmp_path)
    assert call[-2:] == ["kfp>=2", MISSING] and "--no-deps" not in call


def test_argo_pods_install_no_kfp(tmp_path: Path) -> None:
    """An Argo pod runs dagwright's own entry; KFP is not installed there at all."""
    manifest = yaml.safe_load(dagwright.compile(with_packages, target="argo"))
    box = next(t for t in manifest["spec"]["templates"] if t["name"] == "needs-packages")
    line = _install_line(box["container"]["command"])
    assert "kfp" not in line
    (call,) = _pip_calls(line, tmp_path)
    assert call[-3:] == [f"dagwright=={dagwright.__version__}", "pyyaml", MISSING]


def _dagwright_needs() -> set[str]:
    """The distributions dagwright itself needs (its install_requires, transitively)."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    todo = [r for r in config["options"]["install_requires"].split() if r]
    found: set[str] = set()
    while todo:
        name = _normal(re.split(r"[<>=!~;\[ ]", todo.pop())[0])
        if name in found:
            continue
        found.add(name)
        try:
            todo += [r for r in metadata.requires(name) or [] if "extra ==" not in r]
        except metadata.PackageNotFoundError:
            continue
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _site_without(folder: Path, blocked: set[str]) -> Path:
    """A folder of links to everything in site-packages but ``blocked`` (top-level names and
    their dist-info), as an environment where those were never installed."""
    farm = folder / "site"
    farm.mkdir()
    sites = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    for site in sites:
        for entry in os.listdir(site):
            stem = _normal(entry.split("-")[0].split(".")[0])
            link = farm / entry
            if stem not in blocked and not link.exists():
                link.symlink_to(Path(site) / entry)
    return farm


@component
def square(x: int) -> int:
    return x * x


@pipeline
def squared(x: int = 2) -> int:
    return square(x=x).output


def test_kfps_executor_runs_a_step_with_kfp_installed_without_dependencies(
    tmp_path: Path,
) -> None:
    """The KFP pod's command runs for real in an environment that holds dagwright and its own
    dependencies, and KFP without any of its dependencies (as ``--no-deps`` leaves a pod)."""
    kfp_only = {
        _normal(re.split(r"[<>=!~;\[ ]", r)[0])
        for r in metadata.requires("kfp") or []
        if "extra ==" not in r
    }
    blocked = kfp_only - _dagwright_needs()
    assert {"kfp_pipeline_spec", "protobuf", "kubernetes"} <= blocked
    blocked |= {"google"}  # the namespace that protobuf and the google-* packages fill
    farm = _site_without(tmp_path, blocked)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(farm)])}
    python = tmp_path / "python3"  # no site-packages but the farm's; no pip install
    python.write_text(
        '#!/bin/sh\n[ "$2" = pip ] && { echo "pip was called" >&2; exit 3; }\n'
        f'exec "{sys.executable}" -S "$@"\n'
    )
    python.chmod(0o755)
    full_kfp = subprocess.run(
        [str(python), "-c", "import kfp.client"], env=env, capture_output=True, text=True
    )
    assert "No module named" in full_kfp.stderr  # KFP's dependencies are really gone

    spec = yaml.safe_load(dagwright.compile(squared, target="kfp"))
    (executor,) = spec["deploymentSpec"]["executors"].values()
    box = executor["container"]
    out = tmp_path / "out"
    executor_input = {
        "inputs": {"parameterValues": {"x": 7}},
        "outputs": {
            "parameters": {"Output": {"outputFile": str(out / "Output")}},
            "outputFile": str(out / "executor_output.json"),
        },
    }
    command = [
        part.replace("python3", str(python)).replace("{{$}}", json.dumps(executor_input))
        for part in box["command"] + box["args"]
    ]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    written = json.loads((out / "executor_output.json").read_text())
    assert written["parameterValues"]["Output"] == 49


@component(packages=[MISSING], timeout=3)
def quick(x: int) -> int:
    return x + 1


@pipeline
def quick_after_slow_bootstrap(x: int = 1) -> int:
    return quick(x=x).output


@component(timeout=1)
def hangs(x: int) -> int:
    import time

    time.sleep(120)
    return x


@pipeline
def hanging(x: int = 1) -> int:
    return hangs(x=x).output


def _stand_in(pipeline_: Any, folder: Path, bootstrap: float) -> ArgoControllerStandIn:
    """The stand-in with a pip that takes ``bootstrap`` seconds (it replaces the stand-in's
    ``python3`` in the pods' PATH)."""
    manifest = yaml.safe_load(dagwright.compile(pipeline_, target="argo"))
    controller = ArgoControllerStandIn(manifest, folder)
    _fake_pip(folder, bootstrap)
    return controller


def test_a_slow_bootstrap_does_not_count_against_the_steps_timeout(tmp_path: Path) -> None:
    """Argo sets a template's ``activeDeadlineSeconds`` on the pod, and turns a template
    ``timeout`` into one too, counted from the node's start, pending time included
    (``workflow/controller/workflowpod.go``, ``docs/fields.md``); the kubelet counts a pod's
    deadline from its start time, before the image is pulled
    (kubernetes ``pkg/kubelet/active_deadline.go``). So the deadline is the timeout plus an
    allowance, and the entry times the step. A bootstrap of 5 s and a step of well under its
    3 s succeed."""
    manifest = yaml.safe_load(dagwright.compile(quick_after_slow_bootstrap, target="argo"))
    template = next(t for t in manifest["spec"]["templates"] if t["name"] == "quick")
    assert template["activeDeadlineSeconds"] == str(3 + BOOTSTRAP_SECONDS)
    node = _stand_in(quick_after_slow_bootstrap, tmp_path, bootstrap=5).run()
    assert node.phase == "Succeeded"
    assert (tmp_path / "pip.log").read_text().count(MISSING) == 1  # the bootstrap ran


def test_fault_a_step_over_its_timeout_fails_in_the_pod_long_before_the_pods_deadline(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    node = _stand_in(hanging, tmp_path, bootstrap=0).run()
    assert node.phase == "Failed"
    assert time.monotonic() - started < 60  # not the step's 120 s, nor the pod's 601 s


def test_fault_the_pod_entry_ends_a_late_step_with_the_timeout_exit_code(tmp_path: Path) -> None:
    """The Argo pod's own command (entry and arguments as compiled), without the stand-in."""
    manifest = yaml.safe_load(dagwright.compile(hanging, target="argo"))
    template = next(t for t in manifest["spec"]["templates"] if t["name"] == "hangs")
    args = [
        a.replace("{{inputs.parameters.x}}", "5")
        .replace("{{inputs.parameters.dagwright-task}}", "hangs")
        .replace("{{pod.name}}", "pod-1")
        .replace("{{outputs.parameters.output.path}}", str(tmp_path / "output"))
        for a in template["container"]["args"]
    ]
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.compiler.argo.entry", *args],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert proc.returncode == EXIT_CODE
    assert "TimeoutError: step 'hangs' did not finish within 1 s" in proc.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "output").exists()


def test_fault_a_kfp_step_over_its_timeout_fails_under_kfp_local(tmp_path: Path) -> None:
    """kfp.local ignores the platform spec's deadline: the timeout holds because the pod's
    entry enforces it."""
    pytest.importorskip("kfp.local")
    from kfp import components

    path = tmp_path / "hanging.yaml"
    dagwright.compile(hanging, target="kfp", path=path)
    init(tmp_path / "root")
    started = time.monotonic()
    with pytest.raises(RuntimeError):
        components.load_component_from_file(str(path))(x=1)
    assert time.monotonic() - started < 60
