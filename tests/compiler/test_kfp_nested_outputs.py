"""A nested pipeline's output read by an If in the outer pipeline, compiled as the KFP SDK does.

kfp.local evaluates a condition from the names of its inputs alone: it takes the producer task
and output key out of ``pipelinechannel--<task>--<key>`` (or ``...-Output``) and looks them up
in the outer DAG (``kfp/local/orchestrator/enhanced_dag_orchestrator.py``,
``ConditionEvaluator``). A condition input named after the task *inside* the nested pipeline
found nothing there, and kfp.local skipped the branch without an error. KFP's driver reads the
names only as keys (``backend/src/v2/driver/resolve.go``), so both shapes are checked: the
fields KFP's SDK writes, and the branch running under kfp.local.
"""

# no `from __future__ import annotations`: kfp reads the annotations as objects

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kfp_backend_checks import assert_runs_as_compiled

import dagwright
from dagwright import If, component, pipeline

kfp_local = pytest.importorskip("kfp.local")
kfp_components = pytest.importorskip("kfp.components")
from kfp import compiler as kfp_compiler  # noqa: E402
from kfp import dsl  # noqa: E402
from kfp.local import io as kfp_io  # noqa: E402
from kfp.local.orchestrator.enhanced_dag_orchestrator import ConditionEvaluator  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@component
def mean(n: int) -> float:
    return n / 2


@component
def mark(journal: str, text: str) -> str:
    with open(os.path.join(journal, text), "w", encoding="utf-8") as f:
        f.write("ran\n")
    return text


@pipeline
def inner(n: int = 4) -> float:
    return mean(n=n).output


@pipeline
def outer(journal: str, n: int = 4) -> None:
    sub = inner(n=n)
    with If(sub.output > 1.0):
        mark(journal=journal, text="above")


@dsl.component(base_image="python:3.11")
def kfp_mean(n: int) -> float:
    return n / 2


@dsl.component(base_image="python:3.11")
def kfp_mark(journal: str, text: str) -> str:
    return text


@dsl.pipeline
def kfp_inner(n: int = 4) -> float:
    return kfp_mean(n=n).output


@dsl.pipeline
def kfp_outer(journal: str, n: int = 4) -> None:
    sub = kfp_inner(n=n)
    with dsl.If(sub.output > 1.0):
        kfp_mark(journal=journal, text="above")


def _ours(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "ours.yaml"
    dagwright.compile(outer, target="kfp", path=path)
    assert_runs_as_compiled(path.read_text(encoding="utf-8"))
    return next(yaml.safe_load_all(path.read_text(encoding="utf-8")))


def _theirs(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "kfp.yaml"
    kfp_compiler.Compiler().compile(kfp_outer, str(path))
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _shape(spec: dict[str, Any]) -> dict[str, Any]:
    """The fields that carry the nested DAG's output to the condition, and what kfp.local makes
    of the condition's input name."""
    tasks = spec["root"]["dag"]["tasks"]
    condition = next(t for t in tasks.values() if "triggerPolicy" in t)
    (sub_name,) = [name for name, t in tasks.items() if "triggerPolicy" not in t]
    sub = spec["components"][tasks[sub_name]["componentRef"]["name"]]
    ((out_key, out_spec),) = sub["dag"]["outputs"]["parameters"].items()
    ((inner_task,),) = [list(sub["dag"]["tasks"])]
    ((channel, source),) = [
        (name, value)
        for name, value in condition["inputs"]["parameters"].items()
        if "taskOutputParameter" in value
    ]
    cel = condition["triggerPolicy"]["condition"]
    # kfp.local's own reading of the name, against a store holding only the outer DAG's tasks
    store = kfp_io.IOStore()
    store.put_task_output(sub_name, out_key, 1.5)
    return {
        "dag output": out_spec["valueFromParameter"]
        == {"producerSubtask": inner_task, "outputParameterKey": "Output"},
        "dag output has no channel prefix": not out_key.startswith("pipelinechannel--"),
        "condition reads": source["taskOutputParameter"]
        == {"producerTask": sub_name, "outputParameterKey": out_key},
        "condition names its input": cel == f"inputs.parameter_values['{channel}'] > 1.0",
        "input declared": spec["components"][condition["componentRef"]["name"]]["inputDefinitions"][
            "parameters"
        ][channel]
        == {"parameterType": "NUMBER_DOUBLE"},
        "kfp.local resolves it": ConditionEvaluator._resolve_pipeline_channel(channel, store),
    }


def test_the_spec_carries_the_output_as_the_kfp_sdk_spec_does(tmp_path: Path) -> None:
    theirs, ours = _shape(_theirs(tmp_path)), _shape(_ours(tmp_path))
    assert theirs == ours
    assert all(ours.values()) and ours["kfp.local resolves it"] == 1.5


@pytest.mark.usefixtures("local_runner")  # kfp.local set up (conftest.py)
@pytest.mark.parametrize(("n", "ran"), [(4, ["above"]), (2, [])])
def test_the_branch_runs_under_kfp_local_as_under_dagwright_run(
    tmp_path: Path, n: int, ran: list[str]
) -> None:
    spec = tmp_path / "outer.yaml"
    dagwright.compile(outer, target="kfp", path=spec)
    for who in ("kfp", "ours"):
        (tmp_path / who).mkdir()
    kfp_components.load_component_from_file(str(spec))(journal=str(tmp_path / "kfp"), n=n)
    ours = dagwright.run(outer, journal=str(tmp_path / "ours"), n=n, echo=False, root=tmp_path)
    assert ours.succeeded
    assert os.listdir(tmp_path / "kfp") == os.listdir(tmp_path / "ours") == ran


def _readme_tour() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return "\n\n".join(re.findall(r"```python\n(.*?)```", readme, flags=re.S))


@pytest.mark.integration
def test_verify_on_the_readme_tours_nested_pipeline_exits_0(tmp_path: Path) -> None:
    (tmp_path / "tour.py").write_text(_readme_tour(), encoding="utf-8")
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "verify", "tour.py:nested"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in proc.stdout.splitlines()[1:]}
    assert rows[("say", "output")] == ['"mean', "above", 'one"', '"mean', "above", 'one"', "same"]
    assert "outputs the same" in proc.stdout
