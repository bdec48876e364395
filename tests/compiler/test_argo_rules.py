"""The stand-in is as strict as Argo v4.1.2 on items, names and variables: each test runs a
hand-written spec and names the upstream code the stand-in models (``argo_validate.py``,
``argo_values.py``). No Argo controller runs here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from argo_controller import ArgoControllerStandIn
from argo_values import ArgoRejected, item_scope

# writes its second argument to the path in its first: what the pod was given
ECHO = (
    "import os, sys; os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True); "
    "open(sys.argv[1], 'w', encoding='utf-8').write(sys.argv[2])"
)


def echo(name: str = "echo", default: str | None = None, value: str | None = None) -> dict:
    param: dict[str, Any] = {"name": "x"}
    if default is not None:
        param["default"] = default
    return {
        "name": name,
        "inputs": {"parameters": [param]},
        "outputs": {"parameters": [{"name": "out", "valueFrom": {"path": "/outputs/out"}}]},
        "container": {
            "image": "python:3.12",
            "command": ["python3", "-c", ECHO],
            "args": ["{{outputs.parameters.out.path}}", value or "{{inputs.parameters.x}}"],
        },
    }


def dag(*tasks: dict[str, Any], outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"name": "main", "dag": {"tasks": list(tasks)}}
    if outputs:
        template["outputs"] = {
            "parameters": [{"name": k, "valueFrom": {"parameter": v}} for k, v in outputs.items()]
        }
    return template


def workflow(*templates: dict[str, Any], params: list[Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"entrypoint": "main", "templates": list(templates)}
    if params:
        spec["arguments"] = {"parameters": params}
    return {"kind": "Workflow", "metadata": {"generateName": "w-"}, "spec": spec}


def call(name: str, value: str | None = None, **fields: Any) -> dict[str, Any]:
    task: dict[str, Any] = {"name": name, "template": "echo", **fields}
    if value is not None:
        task["arguments"] = {"parameters": [{"name": "x", "value": value}]}
    return task


def out(name: str) -> str:
    return f"{{{{tasks.{name}.outputs.parameters.out}}}}"


# {{item}}: workflow/controller/operator.go processItem, pkg/apis/workflow/v1alpha1/item.go
# Item.String (quotes cut off, escapes kept, util/json Fix), Go's json.Marshal of a map item


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ('"caf\\u00e9"', {"item": "caf\\u00e9"}),
        ('"café"', {"item": "café"}),
        ('"say \\"hi\\""', {"item": 'say \\"hi\\"'}),
        ('"C:\\\\temp"', {"item": "C:\\\\temp"}),
        ('"a<b"', {"item": "a<b"}),
        ("1.0", {"item": "1.0"}),
        ("1e-05", {"item": "1e-05"}),
        ("true", {"item": "true"}),
        ("null", {"item": "null"}),
        ("[1, 2]", {"item": "[1,2]"}),
        (
            '{"z": "caf\\u00e9", "a": "x<y", "n": 1.0}',
            {
                "item": '{"a":"x\\u003cy","n":1.0,"z":"caf\\u00e9"}',
                "item.z": "caf\\u00e9",
                "item.a": "x<y",
                "item.n": "1.0",
            },
        ),
    ],
)
def test_items_render_as_argo_renders_them(raw: str, rendered: dict[str, str]) -> None:
    assert item_scope(raw) == rendered


def loop_over(items: dict[str, Any], value: str = "{{item}}") -> dict[str, Any]:
    return workflow(
        dag(call("each", value, **items), outputs={"all": out("each")}),
        echo(),
    )


def test_a_pod_gets_a_string_item_with_its_escapes_kept(tmp_path: Path) -> None:
    """withParam keeps each item's own JSON: Python's ``\\u00e9`` and ``\\"`` reach the pod."""
    param = json.dumps(["café", 'a"b', {"k": "café"}])
    spec = loop_over({"withParam": param})
    node = ArgoControllerStandIn(spec, tmp_path).run()
    assert node.phase == "Succeeded"
    assert json.loads(node.params["all"]) == ["caf\\u00e9", 'a\\"b', '{"k":"caf\\u00e9"}']
    picked = loop_over({"withParam": json.dumps([{"k": "café"}])}, "{{item.k}}")
    node = ArgoControllerStandIn(picked, tmp_path / "picked").run()
    assert json.loads(node.params["all"]) == ["caf\\u00e9"]


def test_with_items_come_back_as_the_api_server_writes_them(tmp_path: Path) -> None:
    """withItems reach the controller as Go's JSON: text in UTF-8, numbers as float64."""
    spec = loop_over({"withItems": [1.0, 0.5, "é", {"b": 2.0, "a": "é"}]})
    node = ArgoControllerStandIn(spec, tmp_path).run()
    assert json.loads(node.params["all"]) == ["1", "0.5", "é", '{"a":"é","b":2}']


# names: workflow/validate/validate.go, paramOrArtifactNameRegex and validateDAG


@pytest.mark.parametrize("name", ["my key", "a.b", "é", ""])
def test_a_parameter_name_argo_refuses_is_refused(name: str, tmp_path: Path) -> None:
    template = echo()
    template["inputs"]["parameters"].append({"name": name, "default": "1"})
    with pytest.raises(ArgoRejected, match="name"):
        ArgoControllerStandIn(workflow(dag(call("a", "v")), template), tmp_path)
    argument = workflow(dag(call("a", "v")), echo())
    argument["spec"]["templates"][0]["dag"]["tasks"][0]["arguments"]["parameters"].append(
        {"name": name, "value": "1"}
    )
    with pytest.raises(ArgoRejected, match="name"):
        ArgoControllerStandIn(argument, tmp_path)


def test_a_task_name_with_a_leading_digit_is_refused_when_it_has_dependencies(
    tmp_path: Path,
) -> None:
    waited = workflow(dag(call("3d", "v"), call("b", out("3d"), dependencies=["3d"])), echo())
    assert ArgoControllerStandIn(waited, tmp_path / "waited").run().phase == "Succeeded"
    waiting = workflow(dag(call("a", "v"), call("3d", "w", dependencies=["a"])), echo())
    with pytest.raises(ArgoRejected, match="cannot begin with a digit"):
        ArgoControllerStandIn(waiting, tmp_path / "waiting")


# '{{' in values: validateLeaf / resolveAllVariables (workflow/validate), fasttemplate's parse,
# SubstituteParams (workflow/common/util.go) at run time


@pytest.mark.parametrize(
    ("default", "refused"),
    [
        ("{{inputs.parameters.nope}}", "failed to resolve"),
        ("{{workflow.nope}}", "failed to resolve"),
        ("{{pod.nope}}", "failed to resolve"),
    ],
)
def test_a_default_with_an_unresolvable_variable_is_refused(
    default: str, refused: str, tmp_path: Path
) -> None:
    spec = workflow(dag(call("a")), echo(default=default))
    with pytest.raises(ArgoRejected, match=refused):
        ArgoControllerStandIn(spec, tmp_path)


def test_workflow_variables_in_a_default_are_substituted_at_run_time(tmp_path: Path) -> None:
    spec = workflow(
        dag(call("a"), outputs={"got": out("a")}),
        echo(default="run {{workflow.name}}, {{custom}}"),
    )
    stand_in = ArgoControllerStandIn(spec, tmp_path)
    assert stand_in.run().params["got"] == f"run {stand_in.name}, {{{{custom}}}}"


def test_unresolvable_references_in_arguments_are_refused(tmp_path: Path) -> None:
    for value in (out("nope"), "{{workflow.parameters.undeclared}}", out("b")):
        spec = workflow(dag(call("a", value), call("b", "v")), echo())
        with pytest.raises(ArgoRejected, match="failed to resolve|missing dependency"):
            ArgoControllerStandIn(spec, tmp_path)


def test_a_value_made_at_run_time_is_substituted_again(tmp_path: Path) -> None:
    """A task output holding ``{{workflow.name}}`` becomes the name in its consumer's input;
    in a looping task's arguments an unknown variable or a control character fails it."""
    made = echo("made", value="{{inputs.parameters.x}}")
    made["container"]["command"][-1] += ".replace('[[', chr(123) * 2).replace(']]', chr(125) * 2))"
    made["container"]["command"][-1] = made["container"]["command"][-1].replace(
        ".write(sys.argv[2]).", ".write(sys.argv[2]."
    )
    spec = workflow(
        dag(
            call("a", "[[workflow.name]]-[[pod.name]]", template="made"),
            call("b", out("a"), dependencies=["a"]),
            outputs={"got": out("b")},
        ),
        made,
        echo(),
    )
    stand_in = ArgoControllerStandIn(spec, tmp_path)
    # Argo's SubstituteParams knows the consumer's own pod name when it substitutes
    assert stand_in.run().params["got"] == f"{stand_in.name}-{stand_in.name}-echo-1"
    for bad, message in (("[[nope]]", "failed to resolve {{nope}}"), ("\x07", "invalid JSON")):
        looped = workflow(
            dag(
                call("a", bad, template="made"),
                call("b", "{{item}}:" + out("a"), dependencies=["a"], withItems=[1]),
            ),
            made,
            echo(),
        )
        stand_in = ArgoControllerStandIn(looped, tmp_path / repr(bad))
        assert stand_in.run().phase == "Failed"
        assert message in stand_in.errors[0]
