"""One recorded step made again from its run's records, to run it once more (``dagwright
replay``): which execution STEP names, and the inputs it was given.

The engine keeps what it gave each step it looked up (``steps.inputs``, which ``cache
explain`` reads too), but masked where a value is secret, and nothing for a run recorded
before it did so or a step that never ran. So the inputs are also derived as resume derives
them: the run's IR and parameters and the outputs of the other executions' rows put into a
``RunState``, which resolves the task's inputs (and the items of the loops around it) as the
engine did when it ran. The recorded parameters are used, the masked ones and the artifacts
taken from the derivation (``_as_given``). Nothing is written: the run database is only read.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagwright.components.spec import ComponentSpec
from dagwright.engine._steps import fill_inputs
from dagwright.engine.plan import Plan
from dagwright.engine.pod_env import PodEnv
from dagwright.engine.result import SUCCEEDED, StepRecord
from dagwright.engine.state import Path_, RunState
from dagwright.errors import ValidationError
from dagwright.executor import Step
from dagwright.pipelines.arguments import read_value
from dagwright.pipelines.ir import PipelineIR
from dagwright.redact import MASK, secret_values
from dagwright.store import files, remote
from dagwright.store.local import LocalStore
from dagwright.store.rundb import iteration_text

_LISTED = 20  # executions named in an error, at most
_LABEL = re.compile(r"^(?P<task>[^\[\]]+?)(?:\[(?P<at>[0-9.,\s]*)\])?$")


@dataclass
class Replay:
    """A recorded execution, made again as a Step whose outputs go to a scratch folder.

    Attributes:
        run_id: The run it belongs to.
        label: The execution as ``runs show`` names it (``train``, ``add[1]``).
        step: What to run: the recorded parameters (with any overrides), the recorded input
            artifacts, outputs in ``scratch``, the component's variables in ``env``.
        recorded: The outputs the run recorded for it (None when it made none: it failed).
        status: The recorded execution's status.
        scratch: The folder the outputs go to (kept, for a look afterwards).
        secrets: Values to mask in anything shown (secret parameters, Secrets' values).
        overridden: The parameters ``-p`` changed.
        source: Where the inputs came from: ``recorded`` (what the engine kept of what it
            gave the step, ``RunDatabase.step_inputs``), or ``derived`` from the other
            executions' rows, for a run recorded before that was kept or a step never run.
        code: Whose code runs, in words: the run's, or a file's as it is now.
    """

    run_id: str
    label: str
    step: Step
    recorded: dict[str, Any] | None
    status: str
    scratch: Path
    secrets: list[str] = field(default_factory=list)
    overridden: list[str] = field(default_factory=list)
    source: str = "derived"
    code: str = "as the run recorded it"


def prepare(
    run_id: str,
    label: str,
    overrides: dict[str, str] | None = None,
    *,
    root: str | Path | None = None,
    secrets_file: str | Path | None = None,
    allow_pickle: bool = False,
    code_from: PipelineIR | None = None,
) -> Replay:
    """The recorded execution ``label`` of run ``run_id``, ready to run again.

    Args:
        run_id: The run, or an unambiguous prefix of its id.
        label: A task (``train``), or one loop iteration of it (``add[1]``, ``add[0.2]``).
        overrides: Parameter inputs to change, as command-line text by input name.
        root: The store folder holding the run database.
        secrets_file: Where the component's Secret and ConfigMap values are (as for run).
        allow_pickle: Let the step unpickle values read from a non-local store.
        code_from: A pipeline whose task of the same name gives the component to run (its
            code as it is now) instead of the one the run recorded.

    Raises:
        ValidationError: no such run or step (field ``RUN``/``STEP``), an input that cannot
            be had from the records, or a bad override (field: the parameter).
    """
    store = LocalStore(root)
    db = store.existing_database(run_id)
    try:
        run = db.find_run(run_id)
        rows = db.steps(run["run_id"])
        ir = PipelineIR.from_dict(json.loads(run["ir"]))
        task, path = _find(ir, rows, run["run_id"], label)
        given = db.step_inputs(run["run_id"], task, iteration_text(path))
    finally:
        db.close()
    row = next(r for r in rows if r["task"] == task and r["iteration"] == iteration_text(path))
    spec = ir.component_of(task)
    plan = Plan(ir)
    state = RunState(plan, run["params"])
    for r in rows:
        state.add(r["task"], _path(r["iteration"]), r["status"], r["outputs"])
    shown = _label(task, path)
    step = Step(
        spec,
        shown,
        allow_pickle=allow_pickle,
        run_id=run["run_id"],
        run_started=float(run["started"]),
    )
    try:
        _inputs(step, plan, state, rows, task, path, run["run_id"])
        unresolved = None
    except ValidationError as exc:
        if given is None:
            raise
        unresolved = exc
    source = "derived" if given is None else _as_given(step, given, unresolved)
    check_not_in_memory(step)
    if code_from is not None:
        spec = step.component = current_component(code_from, task, step)
    changed = override(step, spec, overrides or {})
    if code_from is not None:
        check_complete(spec, step, task)
    pod_env = PodEnv.resolve([spec], secrets_file)
    step.env = pod_env.env_for(spec, store.root, run["run_id"], shown)
    scratch = Path(tempfile.mkdtemp(prefix=f"dagwright-replay-{task}-"))  # all checks passed
    for out in spec.output_artifacts:
        step.outputs[out.name] = str(scratch / out.name)
    secrets = sorted({*secret_values(run["params"]), *pod_env.secrets}, key=len, reverse=True)
    made = Replay(run["run_id"], shown, step, row["outputs"], row["status"], scratch, secrets)
    made.overridden, made.source = changed, source
    return made


def _as_given(step: Step, given: dict[str, Any], unresolved: ValidationError | None) -> str:
    """The parameters as the run recorded giving them (``steps.inputs``), but those it kept
    masked (secret by name or look), whose values come from the derivation; the artifacts
    as derived, from the upstream rows, which keep them whole (the record masks secret
    metadata keys and URI passwords), else as recorded.

    Raises:
        ValidationError: a masked value is needed and the derivation could not make it.
    """
    masked = set(given.get("masked") or ())
    if unresolved is not None and (masked or MASK in json.dumps(given.get("artifacts"))):
        raise unresolved
    derived = step.parameters
    step.parameters = {
        name: derived.get(name, value) if name in masked else value
        for name, value in (given.get("parameters") or {}).items()
    }
    if unresolved is not None:
        step.artifacts = dict(given.get("artifacts") or {})
    return "recorded"


def current_component(ir: PipelineIR, task: str, step: Step) -> ComponentSpec:
    """The component of ``task`` in ``ir``, which must take the inputs the step was given."""
    found = next((t for t in ir.tasks if t.name == task), None)
    if found is None:
        raise ValidationError(
            f"pipeline '{ir.name}' has no task '{task}'",
            field="--code-from",
            fix="name the file (and :PIPELINE) that defines the replayed step's pipeline",
        )
    spec = ir.component_of(found)
    given = {**step.parameters, **step.artifacts}
    missing = sorted(name for name in given if spec.input(name) is None)
    if missing:
        raise ValidationError(
            f"component '{spec.name}' of task '{task}' now takes no input {missing[0]!r}, "
            "which the step was given",
            field="--code-from",
            fix="replay with the code the run recorded (leave out --code-from)",
        )
    return spec


def check_not_in_memory(step: Step) -> None:
    """A ``memory://`` artifact lived only as long as the run's process: refused by name."""
    for name, value in step.artifacts.items():
        for artifact in value if isinstance(value, list) else [value]:
            if str(artifact.get("uri", "")).startswith("memory://"):
                raise ValidationError(
                    f"input '{name}' of step '{step.task}' was kept in memory:// by the run's "
                    "own process, which has ended",
                    field="STEP",
                    fix="replay the steps of a run whose --store is a folder, s3:// or gs://",
                )


def check_complete(spec: ComponentSpec, step: Step, task: str) -> None:
    """Every input the component requires has a value (``--code-from``: it may need a new one)."""
    given = {**step.parameters, **step.artifacts}
    for port in spec.inputs:
        if port.has_default or port.name in given:
            continue
        fix = "replay with the code the run recorded (leave out --code-from)"
        raise ValidationError(
            f"component '{spec.name}' of task '{task}' needs input '{port.name}', which the "
            "step was not given",
            field="--code-from",
            fix=fix if port.artifact else f"pass -p {port.name}=..., or {fix}",
        )


def _path(text: str) -> Path_:
    return tuple(int(i) for i in text.split(".")) if text else ()


def _label(task: str, path: Path_) -> str:
    return f"{task}[{iteration_text(path)}]" if path else task


def _find(ir: PipelineIR, rows: list[dict[str, Any]], run_id: str, label: str) -> tuple[str, Path_]:
    """The task and loop iteration STEP names, among the executions the run recorded."""
    tasks = {task.name for task in ir.tasks}
    ran = [(r["task"], _path(r["iteration"])) for r in rows if r["task"] in tasks]
    known = ", ".join(_label(task, path) for task, path in ran[:_LISTED]) or "none"
    known += ", ..." if len(ran) > _LISTED else ""
    where = f"see them with 'dagwright runs show {run_id}'"
    found = _LABEL.match(label.strip())
    if found is None or found["task"] not in tasks:
        raise ValidationError(
            f"run '{run_id}' has no step '{label}' (its steps: {known})",
            field="STEP",
            fix=f"name one of its steps; {where}",
        )
    task, at = found["task"], found["at"]
    mine = [path for name, path in ran if name == task]
    if at is not None:
        try:
            wanted = tuple(int(i) for i in re.split(r"[.,]", at.replace(" ", "")))
        except ValueError:
            wanted = (-1,)
        if wanted in mine:
            return task, wanted
    elif len(mine) == 1:
        return task, mine[0]
    if not mine:
        problem = f"step '{task}' of run '{run_id}' never ran (nothing was recorded for it)"
    elif at is None:
        problem = f"step '{task}' ran {len(mine)} times in run '{run_id}'"
    else:
        problem = f"run '{run_id}' has no execution '{label}'"
    executions = ", ".join(_label(task, path) for path in mine[:_LISTED])
    executions += ", ..." if len(mine) > _LISTED else ""
    fix = f"name one execution: {executions}" if mine else where
    raise ValidationError(f"{problem} (its steps: {known})", field="STEP", fix=fix)


def _inputs(
    step: Step,
    plan: Plan,
    state: RunState,
    rows: list[dict[str, Any]],
    task: str,
    path: Path_,
    run_id: str,
) -> None:
    """Fill the step's parameters and artifacts as the engine resolved them (``_step``)."""
    scope = plan.loops[task]
    items = _loop_items(plan, state, scope, path, task)
    records = [
        StepRecord(r["task"], _path(r["iteration"]), r["status"], error=r["error"]) for r in rows
    ]
    fill_inputs(
        step,
        plan,
        state,
        records,
        task,
        (scope, path, items),
        run_id,
        missing=lambda name, value: _unavailable(plan, state, task, name, value),
    )


def _loop_items(
    plan: Plan, state: RunState, loops: list[str], path: Path_, task: str
) -> dict[str, Any]:
    """The item of each loop around the task at ``path``: each loop's items resolved where
    the loop itself sits (its enclosing loops' items known), then indexed."""
    items: dict[str, Any] = {}
    for depth, loop in enumerate(loops):
        group = plan.groups[loop]
        try:
            values = list(
                state.resolve(group.items or {"constant": []}, loops[:depth], path[:depth], items)
            )
            items[loop] = values[path[depth]]
        except (LookupError, IndexError):
            raise ValidationError(
                f"the items of loop '{loop}' around step '{task}' cannot be had from the run's "
                "records",
                field="STEP",
                fix="replay a step whose upstream steps succeeded in the run",
            ) from None
    return items


def _unavailable(
    plan: Plan, state: RunState, task: str, name: str, value: dict[str, Any]
) -> ValidationError:
    """Why an input cannot be had: the step that makes it did not make it in the run."""
    ref = value.get("task") or (value.get("collected") or {}).get("task")
    members = [m["task"] for m in value.get("one_of", [])]
    makers = [ref] if ref else members
    statuses = {
        f"{m}: {status}"
        for m in makers
        for (done, _), status in state.status.items()
        if done == m and status != SUCCEEDED
    }
    why = f" ({', '.join(sorted(statuses))})" if statuses else ""
    return ValidationError(
        f"input '{name}' of step '{task}' was not made in the run{why}",
        field="STEP",
        fix="replay the step that makes it first, or resume the run",
    )


def override(step: Step, spec: ComponentSpec, given: dict[str, str]) -> list[str]:
    """Set the ``-p`` parameters, each read as the component declares its type."""
    names = [i.name for i in spec.inputs if not i.artifact]
    for name, text in given.items():
        port = spec.input(name)
        if port is None or port.artifact:
            kind = "an artifact input" if port is not None else "not an input"
            raise ValidationError(
                f"'{name}' is {kind} of component '{spec.name}'; -p sets its parameters",
                field=name,
                fix=f"its parameters are {names}" if names else "it takes no parameters",
            )
        step.parameters[name] = read_value(text, port.type, name)
    return list(given)


def changed_inputs(step: Step) -> list[str]:
    """The input artifacts on this machine whose content is not what the run recorded (gone,
    or another sha256): a replay from them is not the step as it ran. Remote ones are checked
    by nobody here, as fetching them twice would cost what a replay should not."""
    found = []
    for name, value in step.artifacts.items():
        for artifact in value if isinstance(value, list) else [value]:
            uri, recorded = artifact.get("uri", ""), artifact.get("digest")
            if not recorded or not remote.is_local(uri):
                continue
            now = files.sha256_of(remote.local_path(uri))
            if now != recorded:
                what = f"sha256 {now[:12]}" if now else "nothing"
                found.append(
                    f"input '{name}' has changed since the run: {uri} holds {what}, "
                    f"recorded {recorded[:12]}"
                )
    return found
