"""Pipelines that tests/reliability/test_runstate.py runs through the CLI in real processes.

Each step appends its name to the log file, so a test can tell what ran and how often. ``gate``
waits while a marker file exists (a test signals the engine meanwhile); ``crash`` takes the
process down while a flag file exists: ``os._exit``, a segfault, or SIGKILL of itself.
"""

import ctypes
import os
import signal
import time

from dagwright import Collected, ParallelFor, component, pipeline


def _log(log: str, name: str) -> None:
    with open(log, "a") as f:
        f.write(name + "\n")


@component
def step(log: str, name: str) -> int:
    _log(log, name)
    return 1


@component
def gate(log: str, marker: str, n: int) -> int:
    _log(log, "gate")
    while os.path.exists(marker):
        time.sleep(0.05)
    return n + 1


@component
def crash(log: str, flag: str, how: str) -> int:
    _log(log, "crash")
    if os.path.exists(flag):
        if how == "exit":
            os._exit(3)
        elif how == "segv":
            ctypes.string_at(0)  # reads address 0: SIGSEGV
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return 5


@pipeline
def gated(log: str, marker: str) -> int:
    first = step(log=log, name="first")
    middle = gate(log=log, marker=marker, n=first.output)
    return step(log=log, name="last").after(middle).output


@pipeline
def crashing(log: str, flag: str, how: str) -> int:
    first = step(log=log, name="first")
    broken = crash(log=log, flag=flag, how=how).after(first)
    step(log=log, name="beside").after(first)
    return step(log=log, name="last").after(broken).output


@component
def square(log: str, n: int) -> int:
    _log(log, f"square-{n}")
    time.sleep(0.02)
    return n * n


@component
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def many(log: str) -> int:
    with ParallelFor(list(range(120)), parallelism=4) as n:
        squared = square(log=log, n=n)
    return total(xs=Collected(squared.output)).output
