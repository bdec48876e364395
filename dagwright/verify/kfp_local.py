"""A compiled KFP spec run under ``kfp.local``, the one way dagwright (and its tests) do it.

``init`` sets kfp.local up as every run here needs it: ``SubprocessRunner(use_venv=False)``, so
each step is a subprocess of this very interpreter and environment. kfp's
``local/subprocess_task_handler.py`` still runs a step's command as written (only ``python3``
is replaced by ``sys.executable``; a venv is made only with ``use_venv=True``), so the pip line
of a compiled spec would run too: dagwright's bootstrap skips it when ``dagwright`` and ``kfp``
are installed distributions (``compiler/delivery.py``, ``install_command``), and ``isolated`` sets
``PIP_NO_INDEX`` so that any pip install a step still attempts fails at once instead of going
to the network.

``run_spec`` runs a spec file in this process and gives what it did: the pipeline's outputs
and each task's, read where kfp.local's orchestrator hands them back
(``kfp/local/orchestrator/task_executor.py``, ``execute_single_task``, wrapped while the run
lasts; older kfp has no such function and gives only the pipeline's outputs). Not from its
pipeline root's layout: a task's folder there is named after its component
(``executor_input_utils.construct_local_task_root``), so two tasks of one component in one DAG
share a folder, the later one's files over the earlier one's. ``isolated``
runs ``run_spec`` in a child process (``python -m dagwright.verify.child``): kfp.local's global
configuration, its ``print`` indentation and its working folder stay out of the caller, and a
run that hangs is killed after ``timeout`` seconds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagwright

SUCCEEDED = "succeeded"
FAILED = "failed"  # kfp.local ran the pipeline and a task failed
NOT_RUN = "not run"  # kfp.local could not run it (or did not finish in time)

_ITERATION = re.compile(r"-iteration-(\d+)$")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class KfpTask:
    """One task execution kfp.local ran: its name, loop iteration, status and outputs."""

    task: str
    iteration: tuple[int, ...]
    succeeded: bool
    outputs: dict[str, Any]


@dataclass
class KfpLocalRun:
    """What kfp.local did with a spec: outputs are JSON, artifacts as ``{"artifact": ...}``."""

    status: str
    reason: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    tasks: list[KfpTask] = field(default_factory=list)
    log: str = ""  # the last lines kfp.local and its steps printed

    def to_dict(self) -> dict[str, Any]:
        """As JSON data (what the child process writes)."""
        return {
            "status": self.status,
            "reason": self.reason,
            "outputs": self.outputs,
            "tasks": [
                {
                    "task": t.task,
                    "iteration": list(t.iteration),
                    "succeeded": t.succeeded,
                    "outputs": t.outputs,
                }
                for t in self.tasks
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KfpLocalRun:
        """Read back what ``to_dict`` wrote."""
        return cls(
            status=data["status"],
            reason=data.get("reason"),
            outputs=data.get("outputs") or {},
            tasks=[
                KfpTask(t["task"], tuple(t["iteration"]), t["succeeded"], t["outputs"])
                for t in data.get("tasks") or []
            ],
        )


def init(pipeline_root: str | Path, *, raise_on_error: bool = True) -> None:
    """Set kfp.local up to run steps as subprocesses of this environment, in ``pipeline_root``."""
    from kfp import local

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(pipeline_root),
        raise_on_error=raise_on_error,
    )


def plain(value: Any) -> Any:
    """A value kfp.local returned as JSON data: an artifact as its URI, schema and metadata."""
    uri = getattr(value, "uri", None)
    if isinstance(uri, str) and hasattr(value, "metadata"):
        return {
            "artifact": {
                "uri": uri,
                "schema": getattr(value, "schema_title", None),
                "metadata": dict(value.metadata or {}),
            }
        }
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def run_spec(spec: str | Path, arguments: dict[str, Any]) -> KfpLocalRun:
    """Run the KFP spec file ``spec`` under kfp.local (``init`` first) in this process."""
    from kfp import components

    tasks: list[KfpTask] = []
    with _watched(tasks):
        try:
            loaded = components.load_component_from_file(str(spec))
            outputs = loaded(**arguments).outputs
        except Exception as exc:  # kfp.local raises for a failed task and for what it cannot run
            failed = [t for t in tasks if not t.succeeded]
            reason = _first_line(exc)
            if failed:
                return KfpLocalRun(FAILED, f"task {failed[0].task} failed: {reason}", tasks=tasks)
            return KfpLocalRun(NOT_RUN, reason, tasks=tasks)
    return KfpLocalRun(SUCCEEDED, outputs={k: plain(v) for k, v in outputs.items()}, tasks=tasks)


class _watched:
    """kfp.local's ``execute_single_task`` wrapped so each task's outputs are kept in ``tasks``."""

    def __init__(self, tasks: list[KfpTask]) -> None:
        self.tasks = tasks
        self.module: Any = None
        self.original: Any = None

    def __enter__(self) -> None:
        try:
            from kfp.local.orchestrator import task_executor
        except ImportError:  # an older kfp: only the pipeline's outputs are read
            return
        self.module, self.original = task_executor, task_executor.execute_single_task
        original, tasks = self.original, self.tasks

        def execute(task_name: str, task_spec: Any, pipeline_resource_name: str, **kw: Any) -> Any:
            outputs, status = original(task_name, task_spec, pipeline_resource_name, **kw)
            # an iteration runs under "<run>/loop-1-iteration-0/...": one index per loop level
            iteration = tuple(
                int(m.group(1))
                for part in pipeline_resource_name.split("/")
                if (m := _ITERATION.search(part))
            )
            succeeded = getattr(status, "name", str(status)) == "SUCCESS"
            tasks.append(KfpTask(task_name, iteration, succeeded, plain(outputs or {})))
            return outputs, status

        task_executor.execute_single_task = execute

    def __exit__(self, *exc: object) -> None:
        if self.module is not None:
            self.module.execute_single_task = self.original


def _first_line(exc: BaseException) -> str:
    text = _COLOUR.sub("", str(exc)).strip().splitlines()  # kfp.local colours task names
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def isolated(
    spec: str | Path, arguments: dict[str, Any], folder: str | Path, *, timeout: float
) -> KfpLocalRun:
    """``run_spec`` in a child process working in ``folder`` (kfp.local's pipeline root is
    ``folder/root``, what it printed ``folder/kfp-local.log``); killed after ``timeout`` s."""
    work = Path(folder).resolve()  # the child works inside it
    work.mkdir(parents=True, exist_ok=True)
    request = work / "request.json"
    result = work / "result.json"
    request.write_text(
        json.dumps(
            {
                "spec": str(Path(spec).resolve()),
                "arguments": arguments,
                "pipeline_root": str(work / "root"),
                "result": str(result),
            }
        ),
        encoding="utf-8",
    )
    log = work / "kfp-local.log"
    with open(log, "wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "dagwright.verify.child", str(request)],
            cwd=work,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its steps too are killed with its process group
        )
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(child)
            reason = f"kfp.local did not finish within {timeout:g} s"
            return KfpLocalRun(NOT_RUN, reason, log=tail(log))
        except BaseException:  # Ctrl-C reaches only this process (the child has its session)
            _stop(child)
            raise
    if not result.exists():
        reason = f"kfp.local's process ended with exit code {child.returncode}"
        return KfpLocalRun(NOT_RUN, reason, log=tail(log))
    run = KfpLocalRun.from_dict(json.loads(result.read_text(encoding="utf-8")))
    run.log = tail(log)
    return run


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Kill kfp.local's process group: the child and the steps it started."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:  # gone already
        pass
    child.wait()


def child_env() -> dict[str, str]:
    """The environment of kfp.local's process: this dagwright first on ``PYTHONPATH`` (its
    steps import the same code as the caller), and pip kept off the network."""
    import site

    env = dict(os.environ)
    here = str(Path(dagwright.__file__).resolve().parents[1])
    installed = {
        str(Path(p).resolve()) for p in [*site.getsitepackages(), site.getusersitepackages()]
    }
    if here not in installed:  # a checkout; site-packages ahead of the standard library, never
        given = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != here]
        env["PYTHONPATH"] = os.pathsep.join([here, *given])
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file, without the colours kfp.local logs in."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return _COLOUR.sub("", "".join(deque(f, maxlen=lines)))
