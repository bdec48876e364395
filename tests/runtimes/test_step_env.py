"""A Local step's variables in this process's environment: set while it runs, restored after,
and two steps wanting different values of one variable never overlap."""

from __future__ import annotations

import os
import threading
import time

from dagwright.runtimes.step_env import applied


def test_variables_are_set_while_the_step_runs_and_restored_after(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DW_KEEP", "before")
    monkeypatch.delenv("DW_NEW", raising=False)
    with applied({"DW_KEEP": "during", "DW_NEW": "x"}):
        assert os.environ["DW_KEEP"] == "during" and os.environ["DW_NEW"] == "x"
        with applied({"DW_NEW": "x"}):  # the same value: no wait, and still held after
            pass
        assert os.environ["DW_NEW"] == "x"
    assert os.environ["DW_KEEP"] == "before" and "DW_NEW" not in os.environ


def test_different_values_of_one_variable_do_not_overlap() -> None:
    seen: list[tuple[str, str]] = []
    first_in = threading.Event()

    def step(value: str, hold: float) -> None:
        with applied({"DW_MODE": value}):
            first_in.set()
            seen.append(("in", os.environ["DW_MODE"]))
            time.sleep(hold)
            seen.append(("out", os.environ["DW_MODE"]))

    a = threading.Thread(target=step, args=("a", 0.3))
    a.start()
    first_in.wait(5)
    b = threading.Thread(target=step, args=("b", 0.0))
    b.start()
    a.join(5)
    b.join(5)
    assert seen == [("in", "a"), ("out", "a"), ("in", "b"), ("out", "b")]
    assert "DW_MODE" not in os.environ


def test_an_abandoned_step_no_longer_holds_its_value() -> None:
    """A timed-out Local step's thread may never end: a step wanting another value of its
    variable runs once it is abandoned, and the late end of the abandoned one changes nothing."""
    abandoned = threading.Event()
    release = threading.Event()
    holding = threading.Event()

    def stuck() -> None:
        with applied({"DW_STUCK": "old"}, abandoned):
            holding.set()
            release.wait(10)

    first = threading.Thread(target=stuck)
    first.start()
    holding.wait(5)
    seen: list[str] = []
    second = threading.Thread(target=lambda: _hold(seen))
    second.start()
    second.join(0.5)
    assert seen == []  # still waiting: the first holds "old" and is not abandoned
    abandoned.set()
    second.join(5)
    assert seen == ["new"]
    assert "DW_STUCK" not in os.environ  # the second restored what was there before both
    release.set()
    first.join(5)
    assert "DW_STUCK" not in os.environ


def _hold(seen: list[str]) -> None:
    with applied({"DW_STUCK": "new"}):
        seen.append(os.environ["DW_STUCK"])


def test_a_child_process_does_not_inherit_a_local_steps_variables(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A Process (or Horovod, ranks) step's child starts from this process's environment:
    while a Local step beside it holds a Secret's value there, the child must not get it (it
    gets the variables of its own step only), and a variable set before keeps that value."""
    import subprocess
    import sys

    from dagwright.runtimes.process import child_env

    monkeypatch.setenv("DW_SHARED", "before")
    monkeypatch.delenv("DW_LOCAL_SECRET", raising=False)
    show = "import os; print(os.environ.get('DW_LOCAL_SECRET'), os.environ.get('DW_SHARED'))"
    with applied({"DW_LOCAL_SECRET": "s3cret-of-another-step", "DW_SHARED": "during"}):
        env = child_env()
        out = subprocess.run(
            [sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True
        ).stdout
    assert out.split() == ["None", "before"]


def test_a_secret_holder_runs_alone_and_a_waiting_one_goes_first() -> None:
    """A secret holder waits for the running step; a step coming while it waits waits for it
    too (else a stream of plain steps could keep it waiting for ever)."""
    from dagwright.runtimes.step_env import in_process

    order: list[str] = []
    plain_in, go = threading.Event(), threading.Event()

    def plain(name: str, hold: threading.Event | None) -> None:
        with in_process({}):
            order.append(f"{name} in")
            if hold is not None:
                plain_in.set()
                hold.wait(5)
            order.append(f"{name} out")

    def secret() -> None:
        with in_process({"DW_ALONE": "s3cret"}, ["DW_ALONE"]):
            order.append("secret in")
            time.sleep(0.2)
            order.append("secret out")

    first = threading.Thread(target=plain, args=("first", go))
    first.start()
    plain_in.wait(5)
    holder = threading.Thread(target=secret)
    holder.start()
    time.sleep(0.3)  # the holder is waiting for the first step now
    second = threading.Thread(target=plain, args=("second", None))
    second.start()
    time.sleep(0.3)
    assert order == ["first in"]  # neither the holder nor the step after it started
    go.set()
    for t in (first, holder, second):
        t.join(5)
    assert order == ["first in", "first out", "secret in", "secret out", "second in", "second out"]
    assert "DW_ALONE" not in os.environ


def test_an_abandoned_step_does_not_keep_a_secret_holder_waiting() -> None:
    from dagwright.runtimes.step_env import in_process

    abandoned, release, inside = threading.Event(), threading.Event(), threading.Event()

    def stuck() -> None:
        with in_process({}, (), abandoned):
            inside.set()
            release.wait(10)

    t = threading.Thread(target=stuck)
    t.start()
    inside.wait(5)
    abandoned.set()
    seen: list[str] = []
    holder = threading.Thread(target=lambda: _secret_step(seen))
    holder.start()
    holder.join(5)
    assert seen == ["s3cret"]
    release.set()
    t.join(5)


def _secret_step(seen: list[str]) -> None:
    from dagwright.runtimes.step_env import in_process

    with in_process({"DW_ALONE": "s3cret"}, ["DW_ALONE"]):
        seen.append(os.environ["DW_ALONE"])


def test_a_step_abandoned_while_it_waits_never_runs_nor_holds_others_up() -> None:
    """A secret holder that times out while waiting for a running step gives up: it does not
    run later, and steps coming after it no longer wait for it."""
    import pytest

    from dagwright.runtimes.step_env import Abandoned, in_process

    release, inside = threading.Event(), threading.Event()
    abandoned = threading.Event()
    outcome: list[str] = []

    def running() -> None:
        with in_process({}):
            inside.set()
            release.wait(10)

    def waiting_holder() -> None:
        with pytest.raises(Abandoned):
            with in_process({"DW_ALONE": "s3cret"}, ["DW_ALONE"], abandoned):
                outcome.append("ran")
        outcome.append("gave up")

    first = threading.Thread(target=running)
    first.start()
    inside.wait(5)
    holder = threading.Thread(target=waiting_holder)
    holder.start()
    time.sleep(0.3)
    abandoned.set()
    holder.join(5)
    assert outcome == ["gave up"]
    with in_process({}):  # not held up by the abandoned holder (the first still runs)
        outcome.append("next ran")
    release.set()
    first.join(5)
    assert outcome == ["gave up", "next ran"]
