"""The Process runtime: the step runs in ``python -m dagwright.executor``, killed on timeout."""

from __future__ import annotations

import contextlib
import json
import os
import site
import subprocess
import sys
import sysconfig
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from dagwright.executor import Step, StepOutcome
from dagwright.runtimes import Attempt, Fragments, PodStep, RuntimeConfig, Session
from dagwright.runtimes.config import Process


class ProcessRuntime:
    """``Process()``: a fresh interpreter per step; on Kubernetes every step is a pod anyway."""

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        return run_process(step, timeout)

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        return Fragments()

    def in_pod(self, config: RuntimeConfig) -> AbstractContextManager[dict[str, Any]]:
        return contextlib.nullcontext({})


def _child_env() -> dict[str, str]:
    """The parent's own import folders (not its installed packages or standard library), so
    the child imports the user's modules as the parent did, whatever its interpreter."""
    installed = {os.path.realpath(p) for p in sysconfig.get_paths().values()}
    installed |= {
        os.path.realpath(p) for p in site.getsitepackages() + [site.getusersitepackages()]
    }
    paths = [
        p
        for p in sys.path
        if p
        and os.path.isdir(p)
        and os.path.realpath(p) not in installed
        and "site-packages" not in p
        and "dist-packages" not in p
    ]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_process(step: Step, timeout: float | None, env: dict[str, str] | None = None) -> Attempt:
    """Run the step in ``python -m dagwright.executor``; ``env`` adds to the step's env."""
    config = step.component.runtime
    python = config.python if isinstance(config, Process) and config.python else sys.executable
    with tempfile.TemporaryDirectory(prefix="dagwright-step-") as folder:
        step_file, result_file = Path(folder) / "step.json", Path(folder) / "result.json"
        step_file.write_text(json.dumps(step.to_dict()), encoding="utf-8")
        command = [
            python,
            "-m",
            "dagwright.executor",
            "--step",
            str(step_file),
            "--result",
            str(result_file),
        ]
        try:
            proc = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                env={**_child_env(), **step.component.env, **(env or {})},
            )
        except subprocess.TimeoutExpired as exc:
            return Attempt(
                error=f"TimeoutError: step '{step.task}' did not finish within {timeout:g} s "
                "and was killed",
                stdout=_text(exc.stdout),
                stderr=_text(exc.stderr),
            )
        if not result_file.exists():
            return Attempt(
                error=f"the executor exited with code {proc.returncode} and no result",
                stdout=proc.stdout,
                stderr=proc.stderr,
            )
        result = json.loads(result_file.read_text(encoding="utf-8"))
    if "error" in result:
        return Attempt(
            error=result["error"],
            traceback=result.get("traceback"),
            stdout=proc.stdout,
            stderr=proc.stderr,
        )
    return Attempt(StepOutcome.from_dict(result), stdout=proc.stdout, stderr=proc.stderr)


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""
