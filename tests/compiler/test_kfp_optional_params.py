"""An ``Optional`` pipeline parameter left unset: dagwright's KFP spec is the KFP SDK's, and the
refusal under kfp.local is kfp.local's own, for both specs alike.

The SDK declares ``opt: Optional[str] = None`` as ``isOptional: true`` with no
``defaultValue``; KFP's driver leaves such an input out when nothing is given
(``backend/src/v2/driver/resolver/parameters.go``, ``resolveParameters``), so the component's
own default applies. kfp.local reads the absent default as a value
(``OrchestratorUtils.join_user_inputs_and_defaults``) and stops with ``Unknown value type``:
``dagwright verify`` reports that as not run under kfp.local (documented there). When kfp.local
learns it, the last assertion fails and the documentation is to be changed.
"""

# no `from __future__ import annotations`: kfp reads the annotations as objects

from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

import dagwright
from dagwright import component, pipeline

kfp_components = pytest.importorskip("kfp.components")
from kfp import compiler as kfp_compiler  # noqa: E402
from kfp import dsl  # noqa: E402


@component
def echo(x: Optional[str] = None) -> str:  # noqa: UP045 (the spelling the issue reports)
    return str(x)


@pipeline
def unset(opt: Optional[str] = None) -> str:  # noqa: UP045
    return echo(x=opt).output


@dsl.component(base_image="python:3.11")
def kfp_echo(x: Optional[str] = None) -> str:  # noqa: UP045 (kfp reads Optional)
    return str(x)


@dsl.pipeline
def kfp_unset(opt: Optional[str] = None) -> str:  # noqa: UP045
    return kfp_echo(x=opt).output


def _inputs(path: Path) -> dict[str, Any]:
    spec = next(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    (echo_component,) = [name for name in spec["components"] if name.endswith("echo")]
    return {
        "pipeline": spec["root"]["inputDefinitions"],
        "component": spec["components"][echo_component]["inputDefinitions"],
        "task": next(iter(spec["root"]["dag"]["tasks"].values()))["inputs"],
    }


@pytest.mark.usefixtures("local_runner")  # kfp.local set up (conftest.py)
def test_an_unset_optional_parameter_compiles_as_the_kfp_sdk_does(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.yaml", tmp_path / "kfp.yaml"
    dagwright.compile(unset, target="kfp", path=ours)
    kfp_compiler.Compiler().compile(kfp_unset, str(theirs))
    assert _inputs(ours) == _inputs(theirs)
    assert _inputs(ours)["pipeline"] == {
        "parameters": {"opt": {"isOptional": True, "parameterType": "STRING"}}
    }
    assert dagwright.run(unset, echo=False, root=tmp_path / "store").outputs == {"output": "None"}
    for spec in (ours, theirs):
        with pytest.raises(ValueError, match="Unknown value type"):
            kfp_components.load_component_from_file(str(spec))()
        # given a value, kfp.local runs the same spec
        assert kfp_components.load_component_from_file(str(spec))(opt="x").output == "x"
