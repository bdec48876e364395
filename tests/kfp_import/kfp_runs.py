"""Running a shape of ``kfp_pipelines`` the way every test here does: compiled once with kfp
into a YAML file, then run from that file, on kfp.local or on dagwright.

- ``compiled`` writes the pipeline's YAML with ``kfp.compiler`` (what a user has);
- ``arguments`` makes what a run of a shape takes besides its own arguments: a fresh journal
  folder, and the file an importer step reads;
- ``on_kfp_local`` runs the YAML under kfp.local (``SubprocessRunner(use_venv=False)``, its
  fastest configuration; ``kfp_local`` sets it up) and gives a ``Finished``: the outputs,
  or the error kfp.local raised, and the journal;
- ``plain`` turns an output into what is compared: an artifact (KFP's or dagwright's) into
  the text it holds, numbers and lists as they are.

The YAML pins the kfp installed here (``kfp==<version>`` in each step's pip line), so the pip
step kfp.local runs before each lightweight step finds it installed and installs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfp_pipelines import Shape, journal_files

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
    """An artifact as the text its file holds; any other value as it is."""
    path = getattr(value, "path", None)
    if isinstance(path, str) and os.path.isfile(path):
        return Path(path).read_text(encoding="utf-8")
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def kfp_local(pipeline_root: Path) -> None:
    """kfp.local set up to run steps as subprocesses of this environment."""
    from kfp import local

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=True,
    )


def on_kfp_local(shape: Shape, folder: Path) -> Finished:
    """The shape's compiled YAML run on kfp.local (set up by ``kfp_local`` beforehand)."""
    from kfp import components

    given = arguments(shape, folder / "kfp-local")
    loaded = components.load_component_from_file(str(compiled(shape, folder)))
    try:
        task = loaded(**given)
    except Exception as exc:  # kfp.local raises when a step fails or it cannot run one
        finished = Finished(error=f"{type(exc).__name__}: {exc}")
    else:
        finished = Finished(outputs={k: plain(v) for k, v in task.outputs.items()})
    if "journal" in given:
        finished.journal = journal_files(given["journal"])
    return finished
