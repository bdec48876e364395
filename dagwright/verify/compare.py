"""The outputs of a ``dagwright run`` and of kfp.local's run of the compiled spec, side by side.

Outputs are matched by task, loop iteration and output name: the pipeline's own outputs under
the task ``(pipeline)``, each task's under its name (``sq[1]`` in a loop). KFP calls a single
return value ``Output`` (``compiler/kfp/types.output_key``): it is read back as ``output``.
Only the pipeline's own tasks are compared, not the helper tasks the KFP compiler adds (a
Collected's empty-list step, a notification's exit task). A task that ran on one side only, or
failed on one side only, is one row with the output ``(status)``. A string naming an artifact
its run made, and a text artifact holding such names, are compared by what they name
(``uris.py``): their verdicts start with ``same`` or ``differs`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dagwright.compiler.kfp.types import output_key
from dagwright.engine.result import FAILED, SUCCEEDED, RunResult, StepRecord
from dagwright.pipelines.ir import PipelineIR
from dagwright.verify.kfp_local import KfpLocalRun, KfpTask
from dagwright.verify.uris import Places, verdict
from dagwright.verify.values import as_json, comparable, same

PIPELINE = "(pipeline)"
STATUS = "(status)"
MISSING = "-"

SAME = "same"
DIFFERS = "differs"
ONLY_LOCAL = "only local"
ONLY_KFP = "only kfp.local"


@dataclass
class Row:
    """One output compared: where it is, both values (comparable forms) and the verdict."""

    task: str
    output: str
    local: Any
    kfp_local: Any
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        """As JSON data."""
        return {
            "task": self.task,
            "output": self.output,
            "local": as_json(self.local),
            "kfp_local": as_json(self.kfp_local),
            "verdict": self.verdict,
        }


def alike(verdict: str) -> bool:
    """Whether a row's verdict says the two sides agree (``same``, ``same (...)``)."""
    return verdict == SAME or verdict.startswith(SAME + " (")


def rows(
    ir: PipelineIR, ours: RunResult, theirs: KfpLocalRun, folders: tuple[str, str] = ("", "")
) -> list[Row]:
    """Every output of both runs, compared: the pipeline's first, then each task's in the
    order it ran here (tasks only kfp.local ran last). ``folders``: where each run wrote
    (dagwright's store, kfp.local's pipeline root), to tell a run-local path."""
    found: list[Row | tuple[str, dict[str, Any], dict[str, Any]]] = []
    if ours.succeeded and theirs.status == SUCCEEDED:
        found.append((PIPELINE, dict(ours.outputs), _renamed(theirs.outputs)))
    else:
        found.append(_status(PIPELINE, ours.status, theirs.status))
    names = {t.name for t in ir.tasks}
    local = {(s.task, s.iteration): s for s in ours.steps if s.status in (SUCCEEDED, FAILED)}
    kfp = {(t.task, t.iteration): t for t in theirs.tasks if t.task in names}
    for key in [*local, *(k for k in kfp if k not in local)]:
        found.append(_task(ir, key, local.get(key), kfp.get(key)))
    # every artifact of either run is known before any string naming one is compared
    places = Places(folders[0]), Places(folders[1])
    for item in found:
        if not isinstance(item, Row) and item[0] != PIPELINE:
            for side, outputs in zip(places, item[1:], strict=True):
                for name, value in outputs.items():
                    side.add(f"{item[0]}/{name}", value, comparable(value))
    done: list[Row] = []
    for item in found:
        done += [item] if isinstance(item, Row) else _outputs(*item, places)
    return done


def _task(
    ir: PipelineIR, key: tuple[str, tuple[int, ...]], step: StepRecord | None, kfp: KfpTask | None
) -> Row | tuple[str, dict[str, Any], dict[str, Any]]:
    task, iteration = key
    label = f"{task}[{','.join(map(str, iteration))}]" if iteration else task
    if step is None or kfp is None:
        return Row(label, STATUS, _ran(step), _ran(kfp), ONLY_KFP if step is None else ONLY_LOCAL)
    kfp_status = SUCCEEDED if kfp.succeeded else FAILED
    if step.status != SUCCEEDED or not kfp.succeeded:
        return _status(label, step.status, kfp_status)
    spec = ir.component_of(task)
    names = {output_key(spec, o.name): o.name for o in spec.outputs}
    theirs = {names.get(k, k): v for k, v in kfp.outputs.items()}
    return label, dict(step.outputs or {}), theirs


def _outputs(
    task: str, ours: dict[str, Any], theirs: dict[str, Any], places: tuple[Places, Places]
) -> list[Row]:
    found = []
    for name in [*ours, *(n for n in theirs if n not in ours)]:
        if name not in theirs:
            found.append(Row(task, name, comparable(ours[name]), MISSING, ONLY_LOCAL))
        elif name not in ours:
            found.append(Row(task, name, MISSING, comparable(theirs[name]), ONLY_KFP))
        else:
            a, b = comparable(ours[name]), comparable(theirs[name])
            said = SAME if same(a, b) else verdict((ours[name], theirs[name]), (a, b), places)
            found.append(Row(task, name, a, b, said or DIFFERS))
    return found


def _status(task: str, ours: str, theirs: str) -> Row:
    return Row(task, STATUS, ours, theirs, SAME if ours == theirs else DIFFERS)


def _ran(record: StepRecord | KfpTask | None) -> str:
    if record is None:
        return "did not run"
    if isinstance(record, KfpTask):
        return SUCCEEDED if record.succeeded else FAILED
    return record.status


def _renamed(outputs: dict[str, Any]) -> dict[str, Any]:
    """A pipeline's outputs as kfp.local names them, with KFP's ``Output`` as ``output``."""
    return {("output" if k == "Output" else k): v for k, v in outputs.items()}
