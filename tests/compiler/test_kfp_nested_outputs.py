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
from typing import Any, NamedTuple

import pytest
import yaml
from kfp_backend_checks import assert_runs_as_compiled

import dagwright
from dagwright import Collected, If, ParallelFor, component, pipeline

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


class Pair(NamedTuple):
    low: float
    high: float


@component
def pair(n: int) -> Pair:
    return Pair(n / 4, n / 2)


@pipeline
def pairs(n: int = 4) -> Pair:
    made = pair(n=n)
    return Pair(made.outputs["low"], made.outputs["high"])


@pipeline
def outer_two(journal: str, n: int = 4) -> float:
    sub = pairs(n=n)
    with If(sub.outputs["high"] > 1.0):
        mark(journal=journal, text="above")
    return sub.outputs["low"]


@component
def upto(n: int) -> list[int]:
    return list(range(n))


@component
def square(x: int) -> int:
    return x * x


@component
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def numbers(n: int = 4) -> list[int]:
    return upto(n=n).output


@pipeline
def loop_over_nested(n: int = 4) -> int:
    with ParallelFor(numbers(n=n).output) as x:
        squared = square(x=x)
    return total(xs=Collected(squared.output)).output


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
        "dag output key": out_key,
        "condition input": channel.replace(sub_name, "<pipeline task>"),
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
    assert ours["condition input"] == "pipelinechannel--<pipeline task>-Output"


@pytest.mark.usefixtures("local_runner")  # kfp.local set up (conftest.py)
@pytest.mark.parametrize("pipe", [outer, outer_two], ids=["one-output", "two-outputs"])
@pytest.mark.parametrize(("n", "ran"), [(4, ["above"]), (2, [])])
def test_the_branch_runs_under_kfp_local_as_under_dagwright_run(
    tmp_path: Path, pipe: Any, n: int, ran: list[str]
) -> None:
    spec = tmp_path / "outer.yaml"
    dagwright.compile(pipe, target="kfp", path=spec)
    for who in ("kfp", "ours"):
        (tmp_path / who).mkdir()
    theirs = kfp_components.load_component_from_file(str(spec))(journal=str(tmp_path / "kfp"), n=n)
    ours = dagwright.run(pipe, journal=str(tmp_path / "ours"), n=n, echo=False, root=tmp_path)
    assert ours.succeeded
    assert os.listdir(tmp_path / "kfp") == os.listdir(tmp_path / "ours") == ran
    if pipe is outer_two:  # the other value the nested pipeline gives, read as well
        assert theirs.output == ours.outputs["output"] == n / 4
        inner_dag = next(yaml.safe_load_all(spec.read_text()))["components"]["comp-pairs"]["dag"]
        assert set(inner_dag["outputs"]["parameters"]) == {"pair-low", "pair-high"}


@pytest.mark.usefixtures("local_runner")
def test_a_loop_over_a_nested_pipelines_output_runs_under_kfp_local(tmp_path: Path) -> None:
    """kfp.local finds a loop's items by their input's name too (``-Output`` only)."""
    spec = tmp_path / "loop.yaml"
    dagwright.compile(loop_over_nested, target="kfp", path=spec)
    theirs = kfp_components.load_component_from_file(str(spec))(n=4)
    ours = dagwright.run(loop_over_nested, n=4, echo=False, root=tmp_path)
    assert theirs.output == ours.outputs["output"] == 0 + 1 + 4 + 9


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
