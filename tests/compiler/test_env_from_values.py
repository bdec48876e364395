"""A variable set from a pipeline value (``task.set_env_variable("LR", lr)``, a parameter or a
task's output): an input of the task's component that the executor sets the variable from,
so it works alike in a local run (Local and Process steps), on Argo and on KFP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_controller import ArgoControllerStandIn

import dagwright
from dagwright import ValidationError, component, pipeline
from dagwright.runtimes import Process


@component
def read_env(tag: str) -> str:
    import os

    return f"{tag}:{os.environ.get('LR', 'unset')}:{os.environ.get('WHO', 'unset')}"


@component
def who() -> str:
    return "alice"


@pipeline
def env_pipe(lr: float = 0.5) -> str:
    name = who()
    task = read_env(tag="t").set_env_variable("LR", lr).set_env_variable("WHO", name.output)
    return task.output


@pipeline
def env_in_process(lr: float = 0.5) -> str:
    task = component(runtime=Process())(read_env.func)(tag="p")
    return task.set_env_variable("LR", lr).output


def test_the_ir_keeps_the_variable_as_an_input_of_the_tasks_component() -> None:
    task = env_pipe.ir.task("read-env")
    spec = env_pipe.ir.component_of("read-env")
    assert spec.env_inputs == {"LR": "env_LR", "WHO": "env_WHO"}
    assert task.inputs["env_LR"] == {"param": "lr"}
    assert task.inputs["env_WHO"] == {"task": "who", "output": "output"}
    assert [(i.name, i.type) for i in spec.inputs if i.name.startswith("env_")] == [
        ("env_LR", "float"),
        ("env_WHO", "str"),
    ]


def test_local_steps_get_the_variable_and_it_is_gone_after(tmp_path: Path) -> None:
    import os

    ran = dagwright.run(env_pipe, echo=False, root=tmp_path, lr=0.25)
    assert ran.outputs == {"output": "t:0.25:alice"}
    assert "LR" not in os.environ
    ran = dagwright.run(env_in_process, echo=False, root=tmp_path, lr=2.0)
    assert ran.outputs == {"output": "p:2.0:unset"}


def test_the_value_counts_in_the_cache_key(tmp_path: Path) -> None:
    @pipeline
    def cached(lr: float = 0.5) -> str:
        task = component(cache=True)(read_env.func)(tag="c")
        return task.set_env_variable("LR", lr).output

    first = dagwright.run(cached, echo=False, root=tmp_path, lr=1.0)
    again = dagwright.run(cached, echo=False, root=tmp_path, lr=1.0)
    other = dagwright.run(cached, echo=False, root=tmp_path, lr=3.0)
    assert [r.outputs["output"] for r in (first, again, other)] == ["c:1.0:unset"] * 2 + [
        "c:3.0:unset"
    ]
    assert [s.cached for s in again.steps] == [True]
    assert [s.cached for s in other.steps] == [False]


def test_the_argo_stand_in_runs_the_pod_with_the_variable(tmp_path: Path) -> None:
    pytest.importorskip("hera")
    spec = yaml.safe_load(dagwright.compile(env_pipe, target="argo"))
    node = ArgoControllerStandIn(spec, tmp_path).run({"lr": "0.75"})
    assert node.phase == "Succeeded"
    assert node.params["output"] == "t:0.75:alice"


@pytest.mark.usefixtures("local_runner")
def test_kfp_local_runs_the_compiled_spec_with_the_variable(tmp_path: Path) -> None:
    kfp_components = pytest.importorskip("kfp.components")
    path = tmp_path / "env.yaml"
    dagwright.compile(env_pipe, target="kfp", path=path)
    outputs: Any = kfp_components.load_component_from_file(str(path))(lr=1.5).outputs
    assert outputs == {"output": "t:1.5:alice"}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda t, lr, items: t.set_env_variable("1LR", lr), "env"),
        (lambda t, lr, items: t.set_env_variable("ITEMS", items), "env.ITEMS"),
    ],
)
def test_bad_variables_from_values_are_refused(call: Any, field: str) -> None:
    @pipeline
    def p(lr: float = 0.5, items: list = []) -> None:  # noqa: B006
        call(read_env(tag="x"), lr, items)

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == field


def test_bad_variable_clashing_with_an_input_or_a_secret_is_refused() -> None:
    from dagwright import Secret

    @component(secrets=[Secret("db", "password", env="LR")])
    def guarded(env_X: str = "") -> str:  # noqa: N803
        return env_X

    @pipeline
    def secret_clash(lr: float = 0.5) -> None:
        guarded().set_env_variable("LR", lr)

    with pytest.raises(ValidationError) as caught:
        secret_clash.build()
    assert caught.value.field == "secrets[0].env"

    @pipeline
    def input_clash(lr: float = 0.5) -> None:
        guarded().set_env_variable("X", lr)

    with pytest.raises(ValidationError) as caught:
        input_clash.build()
    assert "input 'env_X'" in str(caught.value)


def test_a_malformed_env_inputs_in_an_ir_file_is_refused_by_its_path() -> None:
    from dagwright import PipelineIR

    data = env_pipe.ir.to_dict()
    cid = env_pipe.ir.task("read-env").component
    data["components"][cid]["env_inputs"] = ["LR"]
    with pytest.raises(ValidationError) as caught:
        PipelineIR.from_dict(data)
    assert f"components.{cid}.env_inputs" in str(caught.value)
