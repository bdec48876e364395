"""Components imported from KFP, compiled to Argo: template names Argo takes from any component
id, a KFP container component run as its own container (its image, command and args, KFP's
placeholders as Argo's variables), and pods of KFP Python components that get kfp and the
packages their command installs.

The pipelines are written here (``kfp_imported_shapes``), compiled with kfp and imported; the
Workflows run under the stand-in for the Argo controller (``argo_controller.py``: no Argo
controller runs here), which runs each container's command on this machine, so a container
component's shell command runs on the host's ``sh``.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")
pytest.importorskip("hera")

import kfp_imported_shapes as shapes  # noqa: E402
import yaml  # noqa: E402
from argo_controller import ArgoControllerStandIn  # noqa: E402

import dagwright  # noqa: E402
from dagwright.compiler.argo.naming import template_names  # noqa: E402
from dagwright.errors import ValidationError  # noqa: E402
from dagwright.names import is_k8s_name  # noqa: E402


def manifest_of(ir: Any, **options: Any) -> dict[str, Any]:
    return yaml.safe_load(dagwright.compile(ir, target="argo", **options))


def templates(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in manifest["spec"]["templates"]}


def run_on_argo(ir: Any, folder: Path, **arguments: str) -> tuple[Any, ArgoControllerStandIn]:
    stand_in = ArgoControllerStandIn(manifest_of(ir), folder)
    return stand_in.run(arguments), stand_in


# template names


def test_component_ids_argo_refuses_become_template_names_it_takes(tmp_path: Path) -> None:
    ir = shapes.imported(shapes.mixed, tmp_path)
    assert {"shout_it", "read_copy"} <= set(ir.components)  # KFP's Python function names
    manifest = manifest_of(ir)
    found = templates(manifest)
    assert {"shout-it", "echo-twice", "read-copy"} <= set(found)
    assert all(is_k8s_name(name) for name in found)
    main = found[manifest["spec"]["entrypoint"]]
    assert {t["name"]: t["template"] for t in main["dag"]["tasks"]} == {
        "shout-it": "shout-it",
        "echo-twice": "echo-twice",
        "read-copy": "read-copy",
    }
    # the pod still gets the component under its own id
    carried = json.loads(found["shout-it"]["container"]["args"][1])
    assert carried["name"] == "shout_it"


def test_template_names_are_unique_and_keep_the_ids_argo_takes() -> None:
    long_id = "a_" * 40
    names = template_names(["mark_item", "mark-item", "Mark.Item", long_id, "main", "__"])
    assert names["mark-item"] == "mark-item" and names["main"] == "main"  # kept as they are
    assert names["mark_item"] == "mark-item-2" and names["Mark.Item"] == "mark-item-3"
    assert names["__"] == "component"
    assert len(names[long_id]) <= 63 and names[long_id].startswith("a-a-")
    assert len(set(names.values())) == len(names)
    assert all(is_k8s_name(n) for n in names.values())


# container components


def test_a_container_component_runs_its_own_image_command_and_args(tmp_path: Path) -> None:
    ir = shapes.imported(shapes.mixed, tmp_path / "yaml")
    echo = templates(manifest_of(ir))["echo-twice"]
    box = echo["container"]
    assert box["image"] == shapes.ALPINE
    assert box["command"] == ["sh", "-c"]  # KFP's own command: no dagwright, no python3
    assert box["args"][1:] == [
        "{{inputs.parameters.text}}",
        "{{outputs.parameters.said.path}}",
        "{{outputs.artifacts.copy.path}}",
    ]
    said = next(p for p in echo["outputs"]["parameters"] if p["name"] == "said")
    assert said["valueFrom"]["path"]
    node, stand_in = run_on_argo(ir, tmp_path / "argo", text="hi")
    assert node.phase == "Succeeded", stand_in.errors
    assert stand_in.ran == ["shout-it", "echo-twice", "read-copy"]
    # the Python step downstream read the container's artifact and output parameter
    assert node.params["Output"] == "HI!|HI"
    ours = dagwright.run(
        ir, {"text": "hi"}, host_containers=True, echo=False, root=tmp_path / "store"
    )
    assert ours.succeeded and ours.outputs["Output"] == node.params["Output"]


@pytest.mark.parametrize(
    ("pipeline", "output"),
    [
        (shapes.container_reads, "abab4"),  # reads an input artifact, outputs an int
        (shapes.container_fan, "x!,yz!"),  # in a loop, its artifacts collected in order
    ],
    ids=["input-artifact", "collected"],
)
def test_container_components_pass_artifacts_as_python_ones_do(
    pipeline: Any, output: str, tmp_path: Path
) -> None:
    ir = shapes.imported(pipeline, tmp_path / "yaml")
    node, stand_in = run_on_argo(ir, tmp_path / "argo")
    assert node.phase == "Succeeded", stand_in.errors
    assert node.params["Output"] == output
    ours = dagwright.run(ir, host_containers=True, echo=False, root=tmp_path / "store")
    assert ours.succeeded and ours.outputs["Output"] == output


@pytest.mark.parametrize(
    ("options", "field", "where"),
    [
        ({"artifact_repository": "s3://arts/runs", "artifact_endpoint": "minio:9000"},
         "stored_at", "s3://arts/"),
        ({}, "repository_key", ""),  # the cluster's default repository: the key alone
    ],
)  # fmt: skip
def test_a_container_component_s_meta_says_where_its_artifact_is_kept(
    options: dict[str, str], field: str, where: str, tmp_path: Path
) -> None:
    """No dagwright step writes its ``-meta``: the default does, naming the object the template
    stores (as a Python component's pod does), which a reader's replay record keeps."""
    ir = shapes.imported(shapes.container_fan, tmp_path)
    template = templates(manifest_of(ir, **options))["echo-twice"]
    (artifact,) = template["outputs"]["artifacts"]
    params = {p["name"]: p for p in template["outputs"]["parameters"]}
    meta = json.loads(params[f"{artifact['name']}-meta"]["valueFrom"]["default"])
    assert meta == {"metadata": {}, "pod": "{{pod.name}}", field: where + artifact["s3"]["key"]}
    assert artifact["s3"]["key"].endswith(f"/{artifact['name']}/{{{{pod.name}}}}")


@pytest.mark.parametrize(
    ("pipeline", "said"), [(shapes.greeted, "<hey ann>"), (shapes.ungreeted, "<hello ann>")]
)
def test_concat_and_if_present_are_resolved_when_compiled(
    pipeline: Any, said: str, tmp_path: Path
) -> None:
    ir = shapes.imported(pipeline, tmp_path)
    greet = templates(manifest_of(ir))["greet"]
    expected = "{{inputs.parameters.greeting}}" if "hey" in said else "hello"
    assert greet["container"]["args"][0] == f"<{expected} {{{{inputs.parameters.name}}}}>"
    node, stand_in = run_on_argo(ir, tmp_path / "argo")
    assert node.phase == "Succeeded", stand_in.errors
    assert node.params["Output"] == said


def test_tasks_resolving_one_if_present_differently_are_refused_by_name(tmp_path: Path) -> None:
    ir = shapes.imported(shapes.greeted_both_ways, tmp_path)
    # one component for both tasks (an IR may share it): one template, two resolutions
    shared = [dataclasses.replace(t, component="greet") for t in ir.tasks]
    others = {k: v for k, v in ir.components.items() if k == "greet"}
    ir = dataclasses.replace(ir, tasks=shared, components=others)
    with pytest.raises(ValidationError, match="IfPresent") as caught:
        dagwright.compile(ir, target="argo")
    assert "'greet'" in str(caught.value) and caught.value.fix


def test_the_run_and_task_names_reach_the_container(tmp_path: Path) -> None:
    ir = shapes.imported(shapes.placed, tmp_path)
    args = templates(manifest_of(ir))["where-am-i"]["container"]["args"]
    assert args[0] == "{{workflow.name}}/{{inputs.parameters.dagwright-task}}"
    node, stand_in = run_on_argo(ir, tmp_path / "argo")
    assert node.phase == "Succeeded", stand_in.errors
    assert node.params["Output"] == f"{stand_in.name}/where-am-i"


@pytest.mark.parametrize(
    ("pipeline", "named"),
    [
        (shapes.given_executor_input, "the executor input JSON"),
        (shapes.given_artifact_uri, "the uri of output artifact 'copy'"),
        (shapes.container_on_item_field, "a field of a loop item"),
    ],
)
def test_placeholders_argo_has_nothing_for_are_refused_by_name(
    pipeline: Any, named: str, tmp_path: Path
) -> None:
    ir = shapes.imported(pipeline, tmp_path)
    with pytest.raises(ValidationError, match=named) as caught:
        dagwright.compile(ir, target="argo")
    assert caught.value.field and caught.value.fix


# pods of Python components


def pip_requirements(command: list[str]) -> list[str]:
    from dagwright.kfp_steps.requirements import requirements

    return requirements(command[2])


def test_pods_of_python_components_install_kfp_and_their_packages(tmp_path: Path) -> None:
    from importlib import metadata

    from dagwright.kfp_steps.component import component_of
    from dagwright.kfp_steps.requirements import requirements

    ir = shapes.imported(shapes.mixed, tmp_path)
    found = templates(manifest_of(ir))
    command = found["shout-it"]["container"]["command"]
    installed = pip_requirements(command)
    assert f"kfp=={metadata.version('kfp')}" in installed and "packaging" in installed
    assert "--no-deps" not in command[2]  # the step uses kfp.local's utilities: its deps too
    # everything the step checks for before it runs is what the pod installs
    spec = ir.components["shout_it"]
    asked = requirements(component_of(spec, spec.digest).install)
    names = {r.split("=")[0].split(";")[0].split(">")[0].strip() for r in installed}
    assert {r.split("=")[0].split(";")[0].split(">")[0].strip() for r in asked} <= names
    # the pod skips pip only where kfp and the packages are all there: here, not without them
    check = shlex.split(command[2].split(" 2>/dev/null")[0])
    assert check[:2] == ["python3", "-c"] and '"kfp"' in check[2]
    assert subprocess.run([sys.executable, "-c", check[2]]).returncode == 0
    # without site-packages: dagwright's release (PYTHONPATH, conftest) is there, kfp is not
    bare = subprocess.run([sys.executable, "-S", "-c", check[2]], capture_output=True)
    assert bare.returncode != 0 and b"for kfp" in bare.stderr
    # a component without packages_to_install gets kfp as well
    assert any(
        r.startswith("kfp==") for r in pip_requirements(found["read-copy"]["container"]["command"])
    )


@pytest.mark.parametrize(
    ("pinned", "expected"),
    [
        ("kfp==2.17.3", "kfp==2.17.3"),
        ("kfp==2.7.0", None),  # older than the step executor runs on: the installed kfp
        (None, None),
        ("/opt/wheels/kfp-2.17.3-py3-none-any.whl", None),  # a file the pod has not
        (  # a URL the pod fetches as well
            "https://example.com/wheels/kfp-2.17.3-py3-none-any.whl",
            "https://example.com/wheels/kfp-2.17.3-py3-none-any.whl",
        ),
        (
            "git+https://github.com/kubeflow/pipelines.git@master#subdirectory=sdk/python",
            "git+https://github.com/kubeflow/pipelines.git@master#subdirectory=sdk/python",
        ),
    ],
)
def test_the_kfp_a_pod_installs(pinned: str | None, expected: str | None) -> None:
    from importlib import metadata

    from dagwright.compiler.kfp_pods import kfp_requirement

    assert kfp_requirement(pinned) == (expected or f"kfp=={metadata.version('kfp')}")


def test_image_delivery_runs_python_components_in_the_project_image(tmp_path: Path) -> None:
    ir = shapes.imported(shapes.mixed, tmp_path)
    found = templates(manifest_of(ir, code="image", image="registry.example/project:1"))
    assert found["shout-it"]["container"]["image"] == "registry.example/project:1"
    assert found["echo-twice"]["container"]["image"] == shapes.ALPINE  # its own
    assert shlex.join(found["shout-it"]["container"]["command"]).startswith("python3 -m")
