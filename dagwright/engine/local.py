"""The local engine: runs every ready task of an IR as soon as its inputs exist.

The run is a tree of frames (``frame_tree.py``). The root frame is the pipeline's top level;
entering a block (If, ExitHandler, sub-pipeline) opens one child frame, a ParallelFor opens one
per item, at most ``parallelism`` of them at a time. A frame's nodes are its tasks and child
blocks; a node is ready when every node it depends on in the same frame has finished. The
dispatch thread (the one that called ``run``) hands ready tasks to a pool of worker threads
(``parallelism`` at a time); their runtime decides whether the step runs in that thread or in a
subprocess. By default the first failure stops new work (fail fast; exit tasks still run);
``keep_going`` lets independent branches finish. A cancel recorded in the run database
(``runs cancel``, the UI) is seen within ``cancel.CHECK_EVERY`` seconds: nothing new starts
but exit tasks, running steps are stopped, and the run ends ``cancelled`` (``cancel.py``).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from dagwright.engine.attempts import attempts
from dagwright.engine.cache import look_up, restore
from dagwright.engine.cancel import CANCEL_REASON, CancelWatch, stop_steps
from dagwright.engine.conditions import evaluate
from dagwright.engine.final_status import final_status
from dagwright.engine.frame_tree import FrameTree
from dagwright.engine.frames import Execution, Frame
from dagwright.engine.interrupt import abandon
from dagwright.engine.notify import notify_run
from dagwright.engine.plan import Plan
from dagwright.engine.pod_env import PodEnv, mask_record
from dagwright.engine.progress import Observer
from dagwright.engine.result import (
    BAD,
    CANCELLED,
    FAILED,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    UPSTREAM_FAILED,
    RunResult,
    StepRecord,
    jsonable,
)
from dagwright.engine.state import Path_, RunState, flatten
from dagwright.errors import DagwrightError
from dagwright.executor import Step
from dagwright.pipelines.flow_values import wants_flat
from dagwright.pipelines.ir import PipelineIR
from dagwright.redact import secret_values
from dagwright.runtimes import Attempt, Session
from dagwright.runtimes.scratch import remove_stale
from dagwright.store import LocalStore, RunStore
from dagwright.store.live_logs import LiveLog

DEFAULT_PARALLELISM = 64


class LocalEngine:
    """Runs one pipeline IR on this machine."""

    def __init__(
        self,
        ir: PipelineIR,
        store: RunStore | None = None,
        observer: Observer | None = None,
        *,
        parallelism: int | None = None,
        keep_going: bool = False,
        cache: bool | None = None,
        allow_pickle: bool = False,
        host_containers: bool = False,
        kfp_packages: str = "",
        pod_env: PodEnv | None = None,
    ) -> None:
        self.ir = ir
        self.plan = Plan(ir)
        self.store = store or LocalStore()
        self.observer = observer
        self.parallelism = parallelism or DEFAULT_PARALLELISM
        self.keep_going = keep_going
        self.cache = cache  # None: each component's own choice; True/False: for every step
        self.allow_pickle = allow_pickle
        self.host_containers = host_containers  # KFP container components on this machine
        self.kfp_packages = kfp_packages  # packages installed for KFP components ('' : none)
        self.position = {task.name: i for i, task in enumerate(ir.tasks)}
        # Secret and ConfigMap values, read before the run (api.run); else read here
        self.pod_env = pod_env or PodEnv.resolve(ir.components.values())

    def run(
        self,
        arguments: dict[str, Any],
        run_id: str | None = None,
        reuse: dict[tuple[str, Path_], dict[str, Any]] | None = None,
        session: Session | None = None,
    ) -> RunResult:
        """Run the pipeline.

        Args:
            arguments: Every parameter's value.
            run_id: Continue this run (resume) instead of starting a new one.
            reuse: Outputs of executions that already succeeded, by (task, iteration): they
                are taken as they are, not run again.
            session: Where runtimes keep what their steps share (clusters, servers). By
                default one for this run, closed when it ends; a caller that passes its own
                closes it (``dagwright serve`` keeps functions up until stopped).
        """
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.run_id = run_id or f"{self.ir.name}-{stamp}-{secrets.token_hex(3)}"
        self.reuse = reuse or {}
        self.state = RunState(self.plan, arguments)
        self.records: list[StepRecord] = []
        self.runnable: deque[Execution] = deque()
        self.running: dict[Future[tuple[Attempt, int]], Execution] = {}
        self.frames = FrameTree(self.plan)
        self.stopping = False
        self.cancelled = False  # stopping because a cancel was requested
        self.dirty: list[StepRecord] = []
        self.db = self.store.database()
        self.watch = CancelWatch(self.db, self.run_id)
        self.stop = threading.Event()  # set on a cancel: every running step but exit tasks
        self.logs_root = self.db.path.parent  # live log files beside runs.db, local always
        # masked in the live log files and, for Secrets' values, in every step record
        self.secrets = sorted(
            {*secret_values(arguments), *self.pod_env.secrets}, key=len, reverse=True
        )
        ir_text = json.dumps(self.ir.to_dict(), separators=(",", ":"))
        if self.observer:
            self.observer.run_started(self.ir.name, self.run_id)
        self.db.start_run(
            self.run_id,
            self.ir.name,
            arguments,
            ir_text,
            self.store.run_uri(self.run_id),
            self.ir.function,
        )
        # kept across resumes: KFP's pipeline_job_create_time_utc of the steps
        self.run_started = float(self.db.find_run(self.run_id)["started"])
        remove_stale()  # step folders of engines killed before they could clean up
        self.session = session or Session(self.run_id)
        try:
            self._dispatch()
            return self._result(arguments)
        except BaseException as exc:
            abandon(self, exc, arguments)  # recorded interrupted (Ctrl-C, SIGTERM) or failed
            raise
        finally:
            if session is None:
                self.session.close()
            self.db.close()

    def _dispatch(self) -> None:
        """The dispatch loop: start what is ready, hand runnable steps to the workers, record
        what finished, until nothing is left. Only this thread touches frames and records."""
        self.frames.enter(None, (), {}, None, None)
        self.pool = ThreadPoolExecutor(self.parallelism, thread_name_prefix="dagwright")
        try:
            while self.frames.ready or self.runnable or self.running:
                if not self.cancelled and self.watch.requested():
                    self._cancel_run()
                while self.frames.ready:
                    self._start(*self.frames.ready.popleft())
                starting: list[Execution] = []
                while self.runnable and len(self.running) + len(starting) < self.parallelism:
                    execution = self.runnable.popleft()
                    if self.stopping and not self._protected(execution.task):
                        self._cancel(execution)  # queued before the failure, not started yet
                        continue
                    execution.record.started, execution.record.status = time.time(), RUNNING
                    self.dirty.append(execution.record)
                    starting.append(execution)
                # written before the steps start: if one takes the process down (a segfault),
                # the database still says which steps were running
                self.flush()
                for execution in starting:
                    if self.observer:
                        self.observer.step_started(execution.record)
                    future = self.pool.submit(attempts, execution.step, self.session)
                    self.running[future] = execution
                if self.running:
                    # woken at least every CHECK_EVERY seconds to look for a cancel request
                    left = None if self.cancelled else self.watch.left()
                    done, _ = wait(self.running, left, FIRST_COMPLETED)
                    for future in done:  # left in running until recorded, should this fail
                        self._finish_task(self.running[future], *future.result())
                        del self.running[future]
        except BaseException:
            # Ctrl-C (KeyboardInterrupt) ends the run now: queued steps are dropped and running
            # ones are not waited for (their threads cannot be stopped)
            self.pool.shutdown(wait=False, cancel_futures=True)
            raise
        self.pool.shutdown()
        self.flush()

    def _cancel_run(self) -> None:
        """A cancel was requested: start nothing new but exit tasks (as after a failure), and
        stop the running steps that are not exit tasks (``cancel.stop_steps``)."""
        self.cancelled = self.stopping = True
        stopping = {f: e for f, e in self.running.items() if not self._protected(e.task)}
        ended, late = stop_steps(stopping)
        for future in stopping:
            del self.running[future]
        for future in ended:
            self._finish_task(stopping[future], *future.result())
        for future in late:
            self._cancel(stopping[future])
        if late:  # their threads run on: the steps still to run (exit tasks) get fresh ones
            self.pool.shutdown(wait=False)
            self.pool = ThreadPoolExecutor(self.parallelism, thread_name_prefix="dagwright")
        self.flush()

    def flush(self) -> None:
        """Write the step rows changed since the last dispatch round, in one transaction."""
        if self.dirty:
            self.db.save_steps(self.run_id, [r.to_row() for r in self.dirty])
            self.dirty.clear()

    def _result(self, arguments: dict[str, Any]) -> RunResult:
        self.records.sort(key=lambda r: (self.position[r.task], r.iteration))
        failed = self.cancelled or any(r.status in BAD for r in self.records)
        outputs, reason = ({}, None) if failed else self.state.outputs(self.ir.outputs)
        failed = failed or reason is not None
        status = FAILED if failed else SUCCEEDED
        if self.cancelled:
            status, reason = CANCELLED, CANCEL_REASON
        result = RunResult(
            self.run_id,
            self.ir.name,
            status,
            outputs,
            self.records,
            self.store.run_uri(self.run_id),
            dict(arguments),
        )
        result.reason = reason
        self.db.finish_run(self.run_id, result.status, result.json_outputs(), reason)
        if self.observer:
            self.observer.run_finished(result)
        notify_run(self.ir, result, self.secrets)  # after the summary: it may wait on a server
        return result

    # nodes

    def _start(self, frame: Frame, node: str) -> None:
        upstream = self.plan.blocks[frame.block].upstream[node]
        failed_before = any(frame.status[u] in BAD for u in upstream)
        if node in self.plan.tasks:
            return self._start_task(frame, node, failed_before)
        if (
            self.stopping
            and node not in self.plan.exit_side
            and (self.cancelled or not failed_before)
        ):
            return self._skip_block(frame, node, CANCELLED)
        if failed_before:
            return self._skip_block(frame, node, UPSTREAM_FAILED)
        group = self.plan.groups[node]
        source = group.condition if group.kind == "condition" else group.items
        try:
            resolve = lambda v: self.state.resolve(v, frame.scope, frame.path, frame.items)  # noqa: E731
            if group.kind == "condition" and not evaluate(
                source or {"constant": True}, resolve, node
            ):
                return self._skip_block(frame, node, SKIPPED)
            values = list(resolve(source or {"constant": []})) if group.kind == "loop" else []
        except Exception as exc:  # e.g. None > 3: the block fails, other branches go on
            error = str(exc) if isinstance(exc, DagwrightError) else f"{type(exc).__name__}: {exc}"
            record = StepRecord(node, frame.path, FAILED, error=error)
            self.records.append(record)
            self.dirty.append(record)
            self.position.setdefault(node, len(self.position))
            if self.observer:
                self.observer.step_finished(record)
            self._stop_if_failing(FAILED)
            return self._skip_block(frame, node, UPSTREAM_FAILED)
        if group.kind != "loop":
            return self.frames.enter(node, frame.path, frame.items, frame, node)
        if not values:
            self.state.no_iterations(self.plan.inside[node], frame.path)
        return self.frames.start_loop(frame, node, values, group.parallelism or len(values) or 1)

    def _skip_block(self, frame: Frame, group: str, status: str) -> None:
        for task in self.plan.inside[group]:
            self._record(StepRecord(task, frame.path, status))
        self.frames.finish(frame, group, status)

    def _start_task(self, frame: Frame, task: str, failed_before: bool) -> None:
        record = StepRecord(task, frame.path, display_name=self.plan.tasks[task].display_name)
        anyway = task in self.plan.run_anyway  # an exit task, or one ignoring upstream failures
        if self.cancelled and not self._protected(task):
            record.status = CANCELLED  # asked for: not "upstream failed", though it is too
        elif failed_before and not anyway:
            record.status = UPSTREAM_FAILED
        elif self.stopping and not self._protected(task):
            record.status = CANCELLED
        else:
            try:
                step = self._step(task, frame)
            except Exception as exc:  # an input that cannot be had fails this step
                record.status, record.error = FAILED, f"{type(exc).__name__}: {exc}"
            else:
                record.inputs = {"parameters": step.parameters, "artifacts": step.artifacts}
                if not self._take_finished(record, step):
                    self.runnable.append(Execution(frame, task, record, step))
                    return
        mask_record(record, self.pod_env.secrets)
        self._record(record)
        self._stop_if_failing(record.status)
        self.frames.finish(frame, task, record.status)

    def _take_finished(self, record: StepRecord, step: Step) -> bool:
        """Fill ``record`` from a resumed run or the cache instead of running the step."""
        spec = step.component
        earlier = self.reuse.get((record.task, record.iteration))
        if earlier is not None and self.plan.reads_status(record.task):
            earlier = None  # it reported the block's earlier end: it reports this one's
        outcome, why = restore(spec, earlier) if earlier is not None else (None, "")
        if why:
            record.note = f"not reused: {why}"
        if outcome is not None:
            record.reused = True
        else:  # the cache, when on for it; the key's parts recorded either way
            outcome = look_up(self.db, step, record, self.cache)
        if outcome is None:
            return False
        record.status = SUCCEEDED
        record.outputs = {**outcome.values, **outcome.artifacts}
        return True

    def _step(self, task: str, frame: Frame) -> Step:
        spec = self.ir.component_of(task)
        step = Step(
            spec,
            StepRecord(task, frame.path).label,
            allow_pickle=self.allow_pickle,
            run_id=self.run_id,
            host_containers=self.host_containers,
            run_started=self.run_started,
            kfp_packages=self.kfp_packages,
            stop=None if self._exiting(task) else self.stop,  # a cancel stops no exit task
            live=LiveLog(self.logs_root, self.run_id, task, frame.path, self.secrets),
        )
        step.env = self.pod_env.env_for(spec, self.logs_root, self.run_id, step.task)
        for out in spec.output_artifacts:
            step.outputs[out.name] = self.store.artifact_uri(
                self.run_id, task, frame.path, out.name
            )
        ignoring = self.plan.tasks[task].ignore_upstream_failure
        for name, value in self.plan.tasks[task].inputs.items():
            if "final_status" in value:
                step.parameters[name] = final_status(
                    self.records, self.plan, value["final_status"], frame.path, self.run_id
                )
                continue
            try:
                resolved = self.state.resolve(value, frame.scope, frame.path, frame.items)
            except (KeyError, LookupError):
                if ignoring:  # its upstream failed and made nothing: the input's default
                    continue
                raise
            target = spec.input(name)
            if "collected" in value and target is not None and wants_flat(target.type):
                depth = self.state.depth(value["collected"]["task"], frame.scope)
                resolved = flatten(resolved, depth)  # a list of values, not of lists
            if target is not None and target.artifact:
                step.artifacts[name] = jsonable(resolved)
            else:
                step.parameters[name] = resolved
        return step

    def _cancel(self, execution: Execution) -> None:
        execution.record.status = CANCELLED
        self._record(execution.record)
        self.frames.finish(execution.frame, execution.task, CANCELLED)

    def _finish_task(self, execution: Execution, attempt: Attempt, attempts: int) -> None:
        record = execution.record
        record.ended = time.time()
        record.duration = record.ended - (record.started or record.ended)
        record.attempts = attempts
        record.stdout, record.stderr = attempt.stdout, attempt.stderr
        if attempt.outcome is not None:
            record.status = SUCCEEDED
            record.outputs = {**attempt.outcome.values, **attempt.outcome.artifacts}
            if record.cache_key:
                self.db.save_cache(
                    record.cache_key, record.to_row()["outputs"], self.run_id, record.task
                )
        elif execution.step.stop is not None and execution.step.stop.is_set():
            record.status, record.error = CANCELLED, CANCEL_REASON  # stopped: no failure
        else:
            record.status, record.error, record.traceback = FAILED, attempt.error, attempt.traceback
        mask_record(record, self.pod_env.secrets)
        self._record(record)
        self._stop_if_failing(record.status)
        self.frames.finish(execution.frame, execution.task, record.status)

    def _record(self, record: StepRecord) -> None:
        if self.cancelled and record.status == CANCELLED and not record.error:
            record.error = CANCEL_REASON
        self.state.add(record.task, record.iteration, record.status, record.outputs)
        self.records.append(record)
        if not record.reused:  # a resumed run keeps the row of the earlier execution
            self.dirty.append(record)
        if self.observer:
            self.observer.step_finished(record)

    def _protected(self, task: str) -> bool:
        """Does ``task`` run even though the run is stopping: an exit task or its pipeline;
        after a failure (not a cancel) also a task that ignores upstream failures?"""
        if self._exiting(task):
            return True
        return not self.cancelled and task in self.plan.run_anyway

    def _exiting(self, task: str) -> bool:
        """Is ``task`` an exit task, or after one (never stopped by a cancel)?"""
        return task in self.plan.exit_tasks or task in self.plan.exit_side

    def _stop_if_failing(self, status: str) -> None:
        if status == FAILED and not self.keep_going:
            self.stopping = True
