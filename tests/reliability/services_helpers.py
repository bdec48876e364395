"""Helpers of tests/reliability/test_services.py: reading a process's first line, stopping it."""

from __future__ import annotations

import subprocess
import threading


def first_line(proc: subprocess.Popen[str], timeout: float = 90) -> str:
    """The first line the process prints, or a failure with what it said on stderr."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not (box and box[0]):
        stop(proc)
        raise AssertionError(f"nothing printed; stderr: {proc.stderr.read()}")  # type: ignore[union-attr]
    return box[0]


def stop(proc: subprocess.Popen[str]) -> str:
    """Kill the process if it still runs, reap it and return what it printed (once)."""
    if proc.poll() is None:
        proc.kill()
    if proc.stdout is None or proc.stdout.closed:
        return ""
    return proc.communicate(timeout=30)[0]
