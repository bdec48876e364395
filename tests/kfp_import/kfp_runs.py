"""Running a shape of ``kfp_pipelines`` the way every test here does: compiled once with kfp
into a YAML file, then run from that file, on kfp.local or on dagwright.

- ``compiled`` writes the pipeline's YAML with ``kfp.compiler`` (what a user has);
- ``arguments`` makes what a run of a shape takes besides its own arguments: a fresh journal
  folder, and the file an importer step reads;
- ``on_kfp_local`` runs the YAML under kfp.local (``SubprocessRunner(use_venv=False)``, its
  fastest configuration; ``kfp_local`` sets it up) with ``dagwright.verify.kfp_local``, what
  ``dagwright verify`` runs too, and gives a ``Finished``: the outputs, or why kfp.local
  failed, and the journal;
- ``imported`` is the YAML through ``dagwright.sources.kfp.import_pipeline``;
  ``on_dagwright`` runs it with ``dagwright.run`` (container components on the host);
- ``on_argo`` compiles the imported IR to an Argo Workflow and runs it under the test stand-in
  for the Argo controller (``tests/compiler/argo_controller.py``: no Argo controller runs
  here), reading the pipeline's outputs as Argo leaves them;
- ``plain`` turns an output into what is compared: an artifact (KFP's or dagwright's) into
  the text it holds, numbers and lists as they are.

The YAML pins the kfp installed here (``kfp==<version>`` in each step's pip line), so the pip
step kfp.local runs before each lightweight step finds it installed and installs nothing.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp_pipelines import Shape, journal_files

COMPILER_TESTS = Path(__file__).resolve().parents[1] / "compiler"

IMPORTED_TEXT = "imported text"


@dataclass
class Finished:
    """What one run of a shape gave: outputs (plain), the error if it failed, the journal."""

    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    journal: tuple[str, ...] = ()


def compiled(shape: Shape, folder: Path) -> Path:
    """The shape's pipeline compiled by kfp into ``folder/<name>.yaml``."""
    from kfp import compiler

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{shape.name}.yaml"
    if not path.exists():
        compiler.Compiler().compile(shape.pipeline, str(path))
    return path


def arguments(shape: Shape, folder: Path) -> dict[str, Any]:
    """The shape's arguments, with a fresh journal folder and an importer's file in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    given = dict(shape.arguments)
    inputs = shape.pipeline.component_spec.inputs or {}
    if "journal" in inputs:
        journal = folder / "journal"
        journal.mkdir()
        given["journal"] = str(journal)
    if "uri" in inputs:
        source = folder / "imported.txt"
        source.write_text(IMPORTED_TEXT, encoding="utf-8")
        given["uri"] = str(source)
    return given


def plain(value: Any) -> Any:
    """An artifact (dagwright's, or kfp.local's as ``dagwright.verify.kfp_local.plain`` gives
    it) as the text its file holds; any other value as it is."""
    if isinstance(value, dict) and set(value) == {"artifact"}:
        return plain_path(value["artifact"]["uri"])
    path = getattr(value, "path", None)
    if isinstance(path, str) and os.path.isfile(path):
        return Path(path).read_text(encoding="utf-8")
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def kfp_local(pipeline_root: Path) -> None:
    """kfp.local set up to run steps as subprocesses of this environment."""
    from dagwright.verify.kfp_local import init

    init(pipeline_root)


def on_kfp_local(shape: Shape, folder: Path) -> Finished:
    """The shape's compiled YAML run on kfp.local (set up by ``kfp_local`` beforehand)."""
    from dagwright.verify.kfp_local import SUCCEEDED, run_spec

    given = arguments(shape, folder / "kfp-local")
    ran = run_spec(compiled(shape, folder), given)
    if ran.status == SUCCEEDED:
        finished = Finished(outputs={k: plain(v) for k, v in ran.outputs.items()})
    else:  # a step failed, or kfp.local could not run one
        finished = Finished(error=ran.reason or ran.status)
    if "journal" in given:
        finished.journal = journal_files(given["journal"])
    return finished


def imported(shape: Shape, folder: Path) -> Any:
    """The shape's compiled YAML imported into dagwright's IR."""
    from dagwright.sources.kfp import import_pipeline

    return import_pipeline(compiled(shape, folder))


def on_dagwright(shape: Shape, folder: Path, **options: Any) -> tuple[Finished, Any]:
    """The shape's YAML imported and run with ``dagwright.run`` into ``folder/store``; what it
    gave, and the ``RunResult``."""
    import dagwright

    given = arguments(shape, folder / "dagwright")
    options.setdefault("echo", False)
    options.setdefault("root", folder / "store")
    result = dagwright.run(
        imported(shape, folder), given, host_containers=shape.container, **options
    )
    finished = Finished(outputs={k: plain(v) for k, v in result.outputs.items()})
    if not result.succeeded:
        failed = [s for s in result.steps if s.error]
        finished.error = failed[0].error if failed else (result.reason or result.status)
    if "journal" in given:
        finished.journal = journal_files(given["journal"])
    return finished, result


def stand_in_module() -> Any:
    """``tests/compiler/argo_controller.py`` (with its sibling models) as a module."""
    if str(COMPILER_TESTS) not in sys.path:
        sys.path.append(str(COMPILER_TESTS))
    return importlib.import_module("argo_controller")


def on_argo(shape: Shape, folder: Path) -> tuple[Finished, Any]:
    """The imported IR compiled to Argo and run under the stand-in for the Argo controller;
    what it gave (outputs read from the entry template's outputs), and the stand-in's node."""
    import yaml

    import dagwright
    from dagwright.compiler.argo.entry import decode, encode

    ir = imported(shape, folder)
    manifest = yaml.safe_load(dagwright.compile(ir, target="argo"))
    given = arguments(shape, folder / "argo")
    stand_in = stand_in_module().ArgoControllerStandIn(manifest, folder / "stand-in")
    node = stand_in.run({k: encode(v) for k, v in given.items()})
    finished = Finished()
    if node.phase != "Succeeded":
        finished.error = f"{node.phase}: {'; '.join(stand_in.errors)}"
    else:
        for name, value in ir.outputs.items():
            if name in node.artifacts:
                finished.outputs[name] = plain_path(node.artifacts[name])
            elif name in node.params:
                finished.outputs[name] = decode(node.params[name], output_type(ir, value))
    if "journal" in given:
        finished.journal = journal_files(given["journal"])
    return finished, node


def output_type(ir: Any, value: dict[str, Any]) -> str:
    """The IR type of a pipeline output: its task output's, a list of it when collected."""
    levels = 0
    while "collected" in value:
        value, levels = value["collected"], levels + 1
    out = ir.component_of(value["task"]).output(value["output"])
    type_str = str(out.type)
    for _ in range(levels):
        type_str = f"list[{type_str}]"
    return type_str


def plain_path(path: str) -> Any:
    """A file's text (an artifact the stand-in keeps in its repository folder)."""
    return Path(path).read_text(encoding="utf-8")
