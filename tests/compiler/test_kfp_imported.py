"""A pipeline imported from KFP, compiled back to KFP and into a project image.

To KFP, each imported component keeps its own executor (its image, command and args as KFP
wrote them): KFP runs it as it ran before the import, so the recompiled YAML gives under
kfp.local what the original gives. ``dagwright dockerfile`` puts kfp and what the components'
commands install into the image, and needs no module for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")

import kfp_imported_shapes as shapes  # noqa: E402
import yaml  # noqa: E402
from kfp_backend_checks import assert_runs_as_compiled  # noqa: E402

import dagwright  # noqa: E402
from dagwright.sources.kfp import import_pipeline  # noqa: E402


def executors(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)["deploymentSpec"]["executors"]


def run_on_kfp_local(path: Path, **arguments: Any) -> dict[str, Any]:
    from kfp import components

    return dict(components.load_component_from_file(str(path))(**arguments).outputs)


def test_an_imported_pipeline_compiled_back_to_kfp_runs_its_own_executors(
    local_runner: Path, tmp_path: Path
) -> None:
    original = shapes.kfp_yaml(shapes.python_only, tmp_path / "kfp")
    ir = import_pipeline(original)
    back = tmp_path / "back.yaml"
    # options that add dagwright's own arguments to its executors leave imported ones alone
    text = dagwright.compile(
        ir, target="kfp", path=back, tracking_uri="http://127.0.0.1:5000", allow_pickle=True
    )
    # the same executors, under labels made from the component ids
    theirs = sorted(json.dumps(e, sort_keys=True) for e in executors(original.read_text()).values())
    assert sorted(json.dumps(e, sort_keys=True) for e in executors(text).values()) == theirs
    assert_runs_as_compiled(text)  # as KFP's backend would run it (kfp_backend_checks)
    assert run_on_kfp_local(back, text="xyz") == run_on_kfp_local(original, text="xyz")
    assert run_on_kfp_local(back, text="xyz") == {"Output": "xyzxyz3"}


def test_a_container_component_compiled_back_to_kfp_keeps_its_image_and_command(
    tmp_path: Path,
) -> None:
    original = shapes.kfp_yaml(shapes.greeted, tmp_path)
    text = dagwright.compile(import_pipeline(original), target="kfp")
    (box,) = [e["container"] for e in executors(text).values()]
    (theirs,) = [e["container"] for e in executors(original.read_text()).values()]
    assert box == theirs and box["image"] == shapes.ALPINE


def test_dockerfile_of_an_imported_pipeline_installs_kfp_and_component_packages(
    tmp_path: Path,
) -> None:
    from importlib import metadata

    from dagwright.compiler.dockerfile import dockerfile

    ir = import_pipeline(shapes.kfp_yaml(shapes.mixed, tmp_path))
    lines = dockerfile(ir, tmp_path).splitlines()
    (install,) = [line for line in lines if line.startswith("RUN pip install")]
    assert f"kfp=={metadata.version('kfp')}" in install and "packaging" in install
    # kfp comes with its dependencies (the step uses kfp.local's utilities), once
    assert not any("--no-deps" in line for line in lines)
    assert not any(line.startswith("COPY") for line in lines)  # no module to copy
