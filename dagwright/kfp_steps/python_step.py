"""A Python lightweight KFP component run in this process through kfp's own
``kfp.dsl.executor.Executor``: the function gets its inputs, artifacts and output paths exactly
as ``python -m kfp.dsl.executor_main`` gives them in a pod, and writes the same output metadata
file; no subprocess, no virtual environment, no pip (the packages its command would install
are checked instead, ``requirements.py``).

The embedded program is executed as a module once per component digest in a process (kfp's
``executor_main`` imports it as a module too) and registered in ``linecache`` so tracebacks
show its lines. Steps run side by side in threads: nothing here changes ``sys.argv``, the
working folder or the environment; the Executor reads only the executor input it is given.
"""

from __future__ import annotations

import json
import linecache
import os
import sys
import threading
import types
from typing import Any

from dagwright.errors import DagwrightError
from dagwright.kfp_steps.component import KfpComponent
from dagwright.kfp_steps.executor_input import point_at_local_copies
from dagwright.kfp_steps.requirements import check_installed, unmet
from dagwright.writes import write_file

_MODULES: dict[str, types.ModuleType] = {}
_LOCK = threading.Lock()
# kfp's Executor keeps the task root in a module global (``CONTAINER_TASK_ROOT``), set when it
# is built and read by ``dsl.get_uri()`` while the function runs: steps side by side in threads
# would read each other's. Every Executor is built holding this lock, and a program that calls
# ``get_uri`` holds it for its whole run (the others run side by side).
_TASK_ROOT = threading.Lock()


def program_module(component: KfpComponent, digest: str) -> types.ModuleType:
    """The component's program as a module, executed once per digest in this process."""
    found = _MODULES.get(digest)
    if found is not None:
        return found
    with _LOCK:  # two steps of one component starting together execute it once
        found = _MODULES.get(digest)
        if found is None:
            found = _load(component, digest)
            _MODULES[digest] = found
    return found


def _load(component: KfpComponent, digest: str) -> types.ModuleType:
    text = component.program or ""
    name = f"dagwright_kfp_{component.function}_{digest[:12]}"
    filename = f"<kfp component {component.name}>"
    # registered so tracebacks show the component's lines, as for dagwright's own components
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    # in sys.modules as kfp's executor_main has it: dataclasses and pickling look it up
    sys.modules[name] = module
    try:
        # dont_inherit: this module's `from __future__ import annotations` would turn the
        # program's annotations into strings, which kfp's Executor cannot read
        code = compile(text, filename, "exec", dont_inherit=True)
        exec(code, module.__dict__)  # the component's own program
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def run_python(
    component: KfpComponent,
    digest: str,
    executor_input: dict[str, Any],
    task_root: str,
    abandoned: threading.Event | None = None,
    packages: str = "",
) -> None:
    """Run the component's function on ``executor_input``; it writes the output metadata file.

    A component whose container sets environment variables runs in a Python process of its
    own (as ``python -m kfp.dsl.executor_main`` in its pod, without pip; its executor input
    in a private file, never on the command line): the environment is
    the process's, and steps side by side in threads cannot each have their own. So does one
    needing packages this environment lacks when ``packages`` (the run's packages folder,
    ``--install-packages``) is given: they are installed there (``packages.py``) and put
    first on its ``PYTHONPATH``.

    Raises:
        ValidationError: when a package the component installs with pip is not installed here.
        Exception: whatever the function raised, its traceback starting at the function.
    """
    from kfp.dsl.executor import Executor

    extra = ""
    if packages and unmet(component.name, component.install, digest):
        from dagwright.kfp_steps.packages import ensure

        extra = str(ensure(unmet(component.name, component.install, digest), packages))
    else:
        check_installed(component.name, component.install, digest)
    if extra or any(os.environ.get(k) != v for k, v in component.env.items()):
        return _run_apart(component, executor_input, task_root, abandoned, extra)
    module = program_module(component, digest)
    func = getattr(module, component.function or "")
    try:
        if "get_uri" in (component.program or ""):
            with _TASK_ROOT:
                executor = Executor(executor_input=executor_input, function_to_execute=func)
                point_at_local_copies(executor.input_artifacts, executor_input)
                executor.execute()
        else:
            with _TASK_ROOT:
                executor = Executor(executor_input=executor_input, function_to_execute=func)
            point_at_local_copies(executor.input_artifacts, executor_input)
            executor.execute()
    except SystemExit as exc:
        if exc.code in (0, None):  # sys.exit(0) ends its pod's process well: so the step
            return
        tb = _from_program(exc.__traceback__, module.__file__ or "")
        raise exc.with_traceback(tb) from exc.__cause__
    except BaseException as exc:
        # from the component's first frame: kfp's executor frames only called it
        tb = _from_program(exc.__traceback__, module.__file__ or "")
        raise exc.with_traceback(tb) from exc.__cause__


class ComponentFailed(DagwrightError, RuntimeError):
    """A component run in a process of its own exited with an error (its traceback is on the
    step's stderr)."""


def _run_apart(
    component: KfpComponent,
    executor_input: dict[str, Any],
    task_root: str,
    abandoned: threading.Event | None,
    extra: str = "",
) -> None:
    from dagwright.kfp_steps.containers import run_command

    program = os.path.join(task_root, "ephemeral_component.py")
    with open(program, "w", encoding="utf-8") as f:
        f.write(component.program or "")
    # The executor input holds the parameter values (secrets among them): kfp's executor_main
    # takes it on its command line, which any local user reads in /proc/<pid>/cmdline, and
    # logs it. It travels in a 0600 file instead, read by _APART (executor_main without both).
    given = os.path.join(task_root, "executor_input.json")
    write_file(given, json.dumps(executor_input), private=True)
    argv = [sys.executable, "-c", _APART, program, component.function or "", given]
    env = {**os.environ, **component.env, "_KFP_RUNTIME": "true"}
    if extra:  # the packages installed for it, before this environment's
        env["PYTHONPATH"] = os.pathsep.join(p for p in (extra, env.get("PYTHONPATH")) if p)
    try:
        code, last = run_command(argv, env, abandoned)
    finally:
        os.unlink(given)
    if code != 0:
        raise ComponentFailed(
            f"{last or f'exit code {code}'} (component '{component.name}' ran in a process of "
            f"its own for {_why_apart(component, extra)}; its traceback is on the step's "
            "stderr)"
        )


def _why_apart(component: KfpComponent, extra: str) -> str:
    reasons = ["the packages installed for it"] if extra else []
    if component.env:
        reasons.append(f"its environment variables {', '.join(sorted(component.env))}")
    return " and ".join(reasons)


_APART = """\
import json, os, sys
from kfp.dsl import executor, utils
program, function, given = sys.argv[1:4]
with open(given, encoding="utf-8") as f:
    executor_input = json.load(f)
module = utils.load_module(
    module_name=os.path.basename(program)[: -len(".py")], module_directory=os.path.dirname(program)
)
from dagwright.kfp_steps.executor_input import point_at_local_copies
func = getattr(module, function)
made = executor.Executor(executor_input=executor_input, function_to_execute=func)
point_at_local_copies(made.input_artifacts, executor_input)
made.execute()
"""


def _from_program(tb: types.TracebackType | None, filename: str) -> types.TracebackType | None:
    start = tb
    while start is not None and start.tb_frame.f_code.co_filename != filename:
        start = start.tb_next
    return start or tb
