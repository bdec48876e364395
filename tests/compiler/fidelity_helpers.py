"""What the fidelity tests share: a pipeline checked on both targets and run both ways.

- ``kfp_spec`` compiles to KFP and runs ``kfp_backend_checks`` on the result (what KFP's
  backend would do otherwise than kfp.local);
- ``argo_manifest`` compiles to Argo and validates the Workflow against Argo v4.1.2's own JSON
  schema as shipped (its top-level ``oneOf`` over every kind) and dagwright's strict check;
- ``run_both`` runs the Argo manifest under the stand-in for the Argo controller
  (``argo_controller.ArgoControllerStandIn``, not Argo: no controller runs here) and the
  pipeline under ``dagwright run``, and gives both outcomes to compare;
- ``readme_tour`` imports the README's python blocks that define things, as a module.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import inspect
import json
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from argo_controller import ArgoControllerStandIn
from kfp_backend_checks import assert_runs_as_compiled

import dagwright
from dagwright.compiler.argo.entry import decode, encode
from dagwright.compiler.argo.validate import SCHEMA, validate_manifest
from dagwright.components.artifacts import Artifact

ROOT = Path(__file__).resolve().parents[2]


def kfp_spec(pipeline: Any) -> str:
    """The KFP YAML of ``pipeline``, after the backend check passed on it."""
    text = dagwright.compile(pipeline, target="kfp")
    assert_runs_as_compiled(text)  # as KFP's backend runs it, not only kfp.local
    return text


def argo_manifest(pipeline: Any, folder: Path) -> dict[str, Any]:
    """The Argo Workflow of ``pipeline``, validated against the vendored upstream schema
    (as a whole document, its ``oneOf`` included), by ``validate_manifest`` and by the checks
    the stand-in makes of a manifest it is given (``folder`` is the stand-in's)."""
    import jsonschema

    manifest: dict[str, Any] = yaml.safe_load(dagwright.compile(pipeline, target="argo"))
    jsonschema.Draft202012Validator(_upstream_schema()).validate(manifest)
    validate_manifest(manifest)  # unknown keys and Kubernetes names, which the schema lets by
    ArgoControllerStandIn(manifest, folder)  # what the stand-in refuses before running
    return manifest


@functools.lru_cache(maxsize=1)
def _upstream_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(gzip.decompress(SCHEMA.read_bytes()))
    return loaded


def journal_arguments(pipeline: Any, folder: Path) -> dict[str, str]:
    """A fresh ``journal`` folder for pipelines that leave a mark per step, else nothing."""
    if "journal" not in inspect.signature(pipeline.func).parameters:
        return {}
    folder.mkdir(parents=True)
    return {"journal": str(folder)}


def _read(value: Any) -> Any:
    if isinstance(value, Artifact):
        return Path(value.path).read_text(encoding="utf-8")
    return value


def run_both(pipeline: Any, tmp_path: Path, **arguments: Any) -> tuple[Any, Any, Any, Any]:
    """The stand-in's run of the compiled spec and dagwright's own run: each run's outcome,
    then (outputs, steps journal) of each."""
    ir = dagwright.api.to_ir(pipeline)
    manifest = yaml.safe_load(dagwright.compile(ir, target="argo"))
    takes_journal = hasattr(pipeline, "func")  # a Pipeline built by hand has no function
    theirs_args = {**arguments}
    ours_args = {**arguments}
    if takes_journal:
        theirs_args.update(journal_arguments(pipeline, tmp_path / "argo-journal"))
        ours_args.update(journal_arguments(pipeline, tmp_path / "ours-journal"))
    node = ArgoControllerStandIn(manifest, tmp_path / "argo").run(
        {k: encode(v) for k, v in theirs_args.items()}
    )
    outputs: dict[str, Any] = {}
    for name, value in ir.outputs.items():
        ref = value.get("collected", value)
        out = ir.component_of(ref["task"]).output(ref["output"])
        assert out is not None
        if name in node.artifacts:
            outputs[name] = Path(node.artifacts[name]).read_text(encoding="utf-8")
        elif name in node.params:
            type_str = f"list[{out.type}]" if "collected" in value else out.type
            outputs[name] = decode(node.params[name], type_str)
    ours = dagwright.run(pipeline, ours_args, echo=False, root=tmp_path / "store")

    def journal(args: dict[str, Any]) -> list[str]:
        return sorted(os.listdir(args["journal"])) if "journal" in args else []

    mine = {k: _read(v) for k, v in ours.outputs.items()}
    return node, ours, (outputs, journal(theirs_args)), (mine, journal(ours_args))


def readme_blocks() -> list[str]:
    """The README's python blocks, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def readme_tour(folder: Path) -> ModuleType:
    """The README tour's definitions imported as a module: every python block but the ones
    that only run things (``if __name__ == "__main__":`` blocks do not run on import)."""
    defining = [b for b in readme_blocks() if not b.startswith("if __name__")]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "readme_tour.py"
    path.write_text("\n\n".join(defining), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("readme_tour", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_tour"] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["readme_tour"]
    return module
