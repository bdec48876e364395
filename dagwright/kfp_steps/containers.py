"""KFP container components: run in Docker or Podman when one answers, else on this machine
with ``host_containers`` (``--host-containers``), else refused before the run starts.

The command is KFP's ``command`` + ``args`` with its placeholders resolved by kfp's own
``placeholder_utils`` (``{{$.inputs.parameters[...]}}``, ``{{$.outputs.artifacts[...].path}}``,
``.uri``, ``.metadata``, ``{{$.outputs.parameters[...].output_file}}``, ``{{$}}``, Concat,
IfPresent): paths on this machine. In a container the folders holding them are mounted at the
same paths, so the resolved command is the same in both places.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from dagwright.errors import DagwrightError, ValidationError
from dagwright.kfp_steps.component import KfpComponent

FIX = (
    "start Docker or Podman (`docker info` must answer), or pass --host-containers "
    "(host_containers=True) to run their commands on this machine"
)


def container_engine() -> str | None:
    """``docker`` or ``podman`` when its ``info`` answers, else None (asked once per PATH)."""
    return _engine(os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=8)
def _engine(path: str) -> str | None:
    for tool in ("docker", "podman"):
        found = shutil.which(tool, path=path)
        if found is None:
            continue
        try:
            answered = subprocess.run(
                [found, "info"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if answered.returncode == 0:
            return found
    return None


def refusal(tasks: Iterable[tuple[str, str]], pipeline: str | None = None) -> ValidationError:
    """The error for container tasks (task name, image) that have nowhere to run."""
    listed = sorted(set(tasks))
    named = ", ".join(f"'{task}' (image {image})" for task, image in listed)
    return ValidationError(
        f"container component task{'s' if len(listed) > 1 else ''} {named} need Docker or "
        "Podman, and neither answers here",
        pipeline=pipeline,
        field="host_containers",
        fix=FIX,
    )


def run_container(
    component: KfpComponent,
    command: list[str],
    host_containers: bool,
    mounts: list[tuple[str, bool]],
    task: str,
    abandoned: threading.Event | None,
    env: Mapping[str, str] | None = None,
    volumes: Mapping[str, str] | None = None,
) -> None:
    """Run the resolved command in a container, or on this machine; raise when it fails.

    Args:
        component: The component (image, env).
        command: The command with its placeholders resolved.
        host_containers: Run on this machine when no container engine answers.
        mounts: Folders the command reads or writes (path, writable), mounted at their paths.
        task: The task, for errors.
        abandoned: Set when the engine stopped waiting (a timeout): the process is killed.
        env: The step's own variables (its pod options' Secrets and ConfigMaps), beside the
            component's.
        volumes: The step's volumes, {mount path: folder of the store}: in a container each
            folder is mounted at its mount path, as the pod's volume would be.
    """
    variables = {**component.env, **(env or {})}
    engine = container_engine()
    if engine is not None:
        argv = [engine, "run", "--rm", "-i"]
        for folder, writable in _folders(mounts):
            argv += ["-v", f"{folder}:{folder}:{'rw' if writable else 'ro'}"]
        for path, folder in sorted((volumes or {}).items()):
            argv += ["-v", f"{folder}:{path}:rw"]
        # `-e NAME` alone: the engine reads the value from its own environment, so values
        # (secrets among them) stay off command lines, which any local user reads in /proc
        for name in variables:
            argv += ["-e", name]
        if component.entrypoint:  # arguments to the image's own entrypoint
            argv += [component.image, *command]
        else:
            argv += ["--entrypoint", command[0], component.image, *command[1:]]
    elif host_containers:
        argv = list(command)
    else:
        raise refusal([(task, component.image)])
    code, _ = run_command(argv, {**os.environ, **variables}, abandoned)
    if code != 0:
        where = f"in {os.path.basename(engine)}" if engine else "on this machine"
        raise ContainerFailed(
            f"the command of task '{task}' (image {component.image}) exited with code {code} "
            f"{where}: {' '.join(command)[:500]}"
        )


class ContainerFailed(DagwrightError, RuntimeError):
    """A container component's command exited with a non-zero code, or could not start."""


def _folders(mounts: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """Each folder once, writable when any use writes; nested ones inside their parent."""
    merged: dict[str, bool] = {}
    for path, writable in mounts:
        merged[path] = merged.get(path, False) or writable
    kept: list[tuple[str, bool]] = []
    for path in sorted(merged):
        if any(path.startswith(p.rstrip(os.sep) + os.sep) and w >= merged[path] for p, w in kept):
            continue
        kept.append((path, merged[path]))
    return kept


def run_command(
    argv: list[str], env: dict[str, str] | None, abandoned: threading.Event | None
) -> tuple[int, str]:
    """Run, copying its output to this step's stdout and stderr; killed when abandoned.

    Returns:
        The exit code and the last line the command wrote to stderr.
    """
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        raise ContainerFailed(f"could not start {argv[0]!r}: {exc}") from exc
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, out), daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    copied = [0, 0]  # lines of out and err already copied to this step's output
    while True:
        try:
            code = process.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if abandoned is not None and abandoned.is_set():
                _kill(process)
            _copy(out, err, copied)  # as the command prints: the step's live log shows it
    for reader in readers:
        reader.join()
    _copy(out, err, copied)
    last = next((line.strip() for line in reversed(err) if line.strip()), "")
    return code, last


def _copy(out: list[str], err: list[str], copied: list[int]) -> None:
    """Write the lines the readers collected since the last copy to this step's stdout and
    stderr: from this thread, where the step's capture (Local) or its files (Process) are."""
    for i, (lines, stream) in enumerate(((out, sys.stdout), (err, sys.stderr))):
        upto = len(lines)  # the reader appends meanwhile: what is there now, once
        if upto > copied[i]:
            stream.write("".join(lines[copied[i] : upto]))
            copied[i] = upto


def _drain(stream: Any, into: list[str]) -> None:
    for line in stream:
        into.append(line)
    stream.close()


def _kill(process: subprocess.Popen[str]) -> None:
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
