"""What a ready task becomes: its ``Step`` (inputs read from the run's state, variables, output
URIs), or a record already finished, taken from the run being resumed or from the cache.

Both read the engine's state of the run in progress; only its dispatch thread calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dagwright.engine.cache import look_up, restore
from dagwright.engine.final_status import final_status
from dagwright.engine.frames import Frame
from dagwright.engine.plan import Plan
from dagwright.engine.result import SUCCEEDED, StepRecord, jsonable
from dagwright.engine.state import Path_, RunState, flatten
from dagwright.executor import Step
from dagwright.pipelines.flow_values import wants_flat
from dagwright.store.live_logs import LiveLog

if TYPE_CHECKING:
    from dagwright.engine.local import LocalEngine


def make_step(engine: LocalEngine, task: str, frame: Frame) -> Step:
    """The step of ``task`` in ``frame``: its parameters and artifacts resolved, its variables
    (``PodEnv``) and the URIs its output artifacts go to."""
    spec = engine.ir.component_of(task)
    step = Step(
        spec,
        StepRecord(task, frame.path).label,
        allow_pickle=engine.allow_pickle,
        run_id=engine.run_id,
        host_containers=engine.host_containers,
        run_started=engine.run_started,
        kfp_packages=engine.kfp_packages,
        stop=None if engine.exiting(task) else engine.stop,  # a cancel stops no exit task
        live=LiveLog(engine.logs_root, engine.run_id, task, frame.path, engine.secrets),
    )
    step.env = engine.pod_env.env_for(spec, engine.logs_root, engine.run_id, step.task)
    for out in spec.output_artifacts:
        step.outputs[out.name] = engine.store.artifact_uri(
            engine.run_id, task, frame.path, out.name
        )
    fill_inputs(
        step,
        engine.plan,
        engine.state,
        engine.records,
        task,
        (frame.scope, frame.path, frame.items),
        engine.run_id,
    )
    return step


def fill_inputs(
    step: Step,
    plan: Plan,
    state: RunState,
    records: list[StepRecord],
    task: str,
    where: tuple[list[str], Path_, dict[str, Any]],
    run_id: str,
    missing: Callable[[str, dict[str, Any]], Exception] | None = None,
) -> None:
    """Fill ``step``'s parameters and artifacts from the run's state, as the engine hands them
    to the task: the engine for a ready task, ``dagwright replay`` for a recorded one.

    Args:
        step: The step whose ``parameters`` and ``artifacts`` are filled.
        plan: The run's plan.
        state: The run's values so far.
        records: The run's step records (an exit task's final status is read from them).
        task: The task.
        where: The loops around the task (scope), the iteration path and the loop items.
        run_id: The run.
        missing: Makes the error for an input that cannot be resolved (name, value); without
            it the lookup's own error is raised.
    """
    scope, path, items = where
    spec = step.component
    ignoring = plan.tasks[task].ignore_upstream_failure
    for name, value in plan.tasks[task].inputs.items():
        if "final_status" in value:
            step.parameters[name] = final_status(records, plan, value["final_status"], path, run_id)
            continue
        try:
            resolved = state.resolve(value, scope, path, items)
        except LookupError:
            if ignoring:  # its upstream failed and made nothing: the input's default
                continue
            if missing is None:
                raise
            raise missing(name, value) from None
        target = spec.input(name)
        if "collected" in value and target is not None and wants_flat(target.type):
            depth = state.depth(value["collected"]["task"], scope)
            resolved = flatten(resolved, depth)  # a list of values, not of lists
        if target is not None and target.artifact:
            step.artifacts[name] = jsonable(resolved)
        else:
            step.parameters[name] = resolved


def take_finished(engine: LocalEngine, record: StepRecord, step: Step) -> bool:
    """Fill ``record`` from a resumed run or the cache instead of running the step."""
    spec = step.component
    earlier = engine.reuse.get((record.task, record.iteration))
    if earlier is not None and engine.plan.reads_status(record.task):
        earlier = None  # it reported the block's earlier end: it reports this one's
    outcome, why = restore(spec, earlier) if earlier is not None else (None, "")
    if why:
        record.note = f"not reused: {why}"
    if outcome is not None:
        record.reused = True
    else:  # the cache, when on for it; the key's parts recorded either way
        outcome = look_up(engine.db, step, record, engine.cache, engine.secrets)
    if outcome is None:
        return False
    record.status = SUCCEEDED
    record.outputs = {**outcome.values, **outcome.artifacts}
    return True
