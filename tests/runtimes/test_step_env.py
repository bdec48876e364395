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
