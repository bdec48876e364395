"""The entry points as a user meets them, each a real ``dagwright`` process: ``run
pipeline.yaml`` on the YAML kfp wrote, ``run file.py:NAME`` on a ``@dsl.pipeline``, container
components with and without ``--host-containers``, and ``resume`` of an imported run; what
each run left in the run database read back with ``runs show --json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")

from kfp_pipelines import BY_NAME  # noqa: E402
from kfp_runs import arguments, compiled  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def dagwright(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def shown(folder: Path, run_id: str) -> dict[str, Any]:
    out = dagwright(folder, "runs", "show", run_id, "--root", "store", "--json")
    assert out.returncode == 0, out.stderr
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def run_id_of(out: subprocess.CompletedProcess[str]) -> str:
    """The run id ``run -q`` prints first on its last line (``<run id> <status>``)."""
    return out.stdout.strip().splitlines()[-1].split()[0]


def test_run_a_kfp_yaml_with_params(tmp_path: Path) -> None:
    spec = compiled(BY_NAME["plain-chain"], tmp_path)
    out = dagwright(tmp_path, "run", str(spec), "-p", "x=2", "--root", "store", "-q")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith(" succeeded")
    run = shown(tmp_path, run_id_of(out))
    assert run["params"] == {"x": 2} and run["outputs"] == {"Output": 15}  # (2 + 1 + 2) * 3
    assert [(s["task"], s["status"]) for s in run["steps"]] == [
        ("add", "succeeded"),
        ("add-2", "succeeded"),
        ("mul", "succeeded"),
    ]


def test_run_a_list_parameter_given_as_json(tmp_path: Path) -> None:
    spec = compiled(BY_NAME["loop-over-parameter"], tmp_path)
    out = dagwright(tmp_path, "run", str(spec), "-p", "items=[1, 2, 3]", "--root", "store", "-q")
    assert out.returncode == 0, out.stderr
    assert shown(tmp_path, run_id_of(out))["outputs"] == {"Output": 12}


KFP_FILE = """
from kfp import dsl


@dsl.component(base_image="python:3.11")
def shout(text: str) -> str:
    return text.upper() + "!"


@dsl.pipeline
def greet(name: str = "world") -> str:
    return shout(text=shout(text=name).output).output
"""


def test_run_a_kfp_dsl_pipeline_from_its_python_file(tmp_path: Path) -> None:
    (tmp_path / "greeting.py").write_text(KFP_FILE)
    out = dagwright(tmp_path, "run", "greeting.py:greet", "-p", "name=kfp", "--root", "store", "-q")
    assert out.returncode == 0, out.stderr
    assert shown(tmp_path, run_id_of(out))["outputs"] == {"Output": "KFP!!"}


def test_container_components_need_host_containers_without_docker(tmp_path: Path) -> None:
    spec = compiled(BY_NAME["container-component"], tmp_path)
    refused = dagwright(tmp_path, "run", str(spec), "--root", "store", "-q")
    if refused.returncode == 0:
        pytest.skip("a Docker or Podman daemon answers here: the step ran in a container")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--host-containers" in refused.stderr and "shell-echo" in refused.stderr
    out = dagwright(tmp_path, "run", str(spec), "--host-containers", "--root", "store", "-q")
    assert out.returncode == 0, out.stderr
    outputs = shown(tmp_path, run_id_of(out))["outputs"]
    assert outputs["said"] == "hi"


def test_resume_an_imported_run_from_the_command_line(tmp_path: Path) -> None:
    shape = BY_NAME["fails-then-resumes"]
    spec = compiled(shape, tmp_path)
    journal = arguments(shape, tmp_path / "args")["journal"]
    out = dagwright(tmp_path, "run", str(spec), "-p", f"journal={journal}", "--root", "store", "-q")
    assert out.returncode == 1 and out.stdout.strip().endswith(" failed"), out.stderr
    run_id = run_id_of(out)
    again = dagwright(tmp_path, "resume", run_id, "--root", "store", "-q")
    assert again.returncode == 0, again.stderr
    run = shown(tmp_path, run_id_of(again))
    assert run["status"] == "succeeded" and run["outputs"] == {"Output": 2}
    assert sorted(os.listdir(journal)) == ["attempts", "first", "last"]
