"""The runtime registry, the per-run session, and runtime-provided parameters."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from pyspark.sql import DataFrame as SparkFrame

from dagwright import Pipeline, component
from dagwright.errors import ValidationError
from dagwright.executor import Step, StepOutcome, run_step
from dagwright.runtimes import (
    Attempt,
    Fragments,
    Local,
    PodStep,
    Process,
    RuntimeConfig,
    Session,
    register_runtime,
    runtime_for,
)
from dagwright.runtimes.local import LocalRuntime, run_local
from dagwright.runtimes.process import ProcessRuntime
from dagwright.runtimes.registry import config_from_dict


@dataclass(frozen=True)
class Greeter(RuntimeConfig):
    """A third-party runtime config: hands the function a ``greeting``."""

    kind: ClassVar[str] = "test-greeter"
    provides: ClassVar[tuple[str, ...]] = ("greeting",)
    word: str = "hello"


class GreeterRuntime:
    def __init__(self) -> None:
        self.starts = 0

    def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
        config = step.component.runtime
        assert isinstance(config, Greeter)

        def start() -> str:
            self.starts += 1
            return config.word

        word = session.resource(("greeter", config.word), start, lambda _: None)
        return run_local(step, timeout, provided={"greeting": word})

    def fragments(self, config: RuntimeConfig, pod: PodStep) -> Fragments:
        return Fragments(pod={"nodeSelector": {"greeter": "yes"}})

    def in_pod(self, config: RuntimeConfig) -> contextlib.AbstractContextManager[dict[str, Any]]:
        return contextlib.nullcontext({"greeting": "from-pod"})


@dataclass(frozen=True)
class Orphan(RuntimeConfig):
    kind: ClassVar[str] = "test-orphan"


def test_builtin_configs_find_their_runtimes() -> None:
    assert isinstance(runtime_for(Local()), LocalRuntime)
    assert isinstance(runtime_for(Process()), ProcessRuntime)
    assert runtime_for(Local()) is runtime_for(Local())  # one instance per config class


def test_a_config_without_a_runtime_is_a_lookup_error() -> None:
    with pytest.raises(LookupError, match="test-orphan"):
        runtime_for(Orphan())


def test_an_unknown_kind_in_an_ir_names_the_field() -> None:
    with pytest.raises(ValidationError, match="unknown runtime kind 'nope'") as info:
        config_from_dict({"kind": "nope"})
    assert info.value.field == "runtime"


def test_a_registered_runtime_serves_subclasses_and_its_object_reaches_the_function(
    run: Any,
) -> None:
    runtime = GreeterRuntime()
    register_runtime(Greeter, runtime)

    @dataclass(frozen=True)
    class LoudGreeter(Greeter):
        kind: ClassVar[str] = "test-loud-greeter"

    assert runtime_for(LoudGreeter()) is runtime

    @component(runtime=Greeter(word="hi"))
    def greet(greeting: Any, name: str) -> str:
        return f"{greeting} {name}"

    assert [i.name for i in greet.spec.inputs] == ["name"]  # the runtime's object is no input
    assert greet.spec.injected == ["greeting"]
    p = Pipeline("greetings")
    a = p.add(greet, name="ada")
    b = p.add(greet, name="bob")
    p.output("a", a.output)
    p.output("b", b.output)
    result = run(p, lineage=False)
    assert result.outputs == {"a": "hi ada", "b": "hi bob"}
    assert runtime.starts == 1  # one resource per run, shared by both steps
    assert runtime.fragments(Greeter(), PodStep("x", "img", [])).pod == {
        "nodeSelector": {"greeter": "yes"}
    }


def test_injected_names_travel_in_the_spec_only_when_used() -> None:
    register_runtime(Greeter, GreeterRuntime())

    @component(runtime=Greeter())
    def greet(greeting: Any) -> str:
        return str(greeting)

    @component
    def plain(x: int) -> int:
        return x

    assert greet.spec.to_dict()["injected"] == ["greeting"]
    assert "injected" not in plain.spec.to_dict()
    again = type(greet.spec).from_dict(greet.spec.to_dict())
    assert again.injected == ["greeting"] and again.digest == greet.spec.digest


def test_a_step_outside_its_runtime_gets_the_pods_objects_or_a_clear_error() -> None:
    register_runtime(Greeter, GreeterRuntime())

    @component(runtime=Greeter())
    def greet(greeting: Any) -> str:
        return str(greeting)

    step = Step(component=greet.spec, task="greet", outputs={})
    # provided=None is a compiled pod: the runtime's in_pod makes the objects
    assert run_step(step).values == {"output": "from-pod"}
    with pytest.raises(TypeError, match="declares greeting"):
        run_step(step, provided={})


def test_session_starts_each_resource_once_under_concurrency() -> None:
    session = Session("r1")
    starts: list[int] = []

    def start() -> int:
        time.sleep(0.05)  # a slow start: the other threads must wait for it, not start again
        starts.append(1)
        return len(starts)

    got: list[int] = []
    threads = [
        threading.Thread(target=lambda: got.append(session.resource("k", start, lambda v: None)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert starts == [1] and got == [1] * 8
    assert session.find("k") == 1 and session.find("other") is None


def test_session_stops_newest_first_and_survives_a_failing_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopped: list[str] = []

    def failing(_: Any) -> None:
        raise RuntimeError("cannot stop")

    with Session() as session:
        session.resource("a", lambda: "a", stopped.append)
        session.resource("b", lambda: "b", failing)
        session.resource("c", lambda: "c", stopped.append)
    assert stopped == ["c", "a"]
    assert "stopping runtime resource 'b' failed" in caplog.text
    with pytest.raises(RuntimeError, match="closed"):
        session.resource("d", lambda: "d", stopped.append)


def test_a_run_closes_its_session_but_not_one_it_was_given(run: Any) -> None:
    stops: list[str] = []

    @dataclass(frozen=True)
    class Kept(RuntimeConfig):
        kind: ClassVar[str] = "test-kept"

    class KeptRuntime(GreeterRuntime):
        def run(self, step: Step, timeout: float | None, session: Session) -> Attempt:
            session.resource("server", lambda: "up", stops.append)
            return Attempt(StepOutcome(values={"output": "ok"}))

    register_runtime(Kept, KeptRuntime())

    @component(runtime=Kept())
    def serve() -> str:
        return "unused"

    p = Pipeline("kept")
    p.output("out", p.add(serve).output)
    run(p, lineage=False)
    assert stops == ["up"]
    session = Session()
    run(p, lineage=False, session=session)
    assert stops == ["up"]  # still serving
    session.close()
    assert stops == ["up", "up"]


def test_a_served_function_cannot_be_cached() -> None:
    from dagwright.runtimes import Nuclio

    with pytest.raises(ValidationError, match="cached result would be the URL") as info:

        @component(runtime=Nuclio(), cache=True)
        def hello(context: Any, event: Any) -> str:
            return "hi"

    assert info.value.field == "cache"


def test_a_spark_dataframe_input_needs_the_spark_runtime() -> None:
    with pytest.raises(ValidationError, match="needs a Spark session") as info:

        @component
        def count(frame: SparkFrame) -> int:
            return int(frame.count())

    assert info.value.field == "frame" and "runtime=Spark()" in str(info.value)


PLUGIN = """
from dataclasses import dataclass
from typing import ClassVar

from dagwright.runtimes import RuntimeConfig
from dagwright.runtimes.local import LocalRuntime


@dataclass(frozen=True)
class Shout(RuntimeConfig):
    kind: ClassVar[str] = "test-shout"
    implementation: ClassVar[str] = "shout_runtime:ShoutRuntime"
    times: int = 1


class ShoutRuntime(LocalRuntime):
    pass
"""


def test_a_third_party_runtime_is_found_through_its_entry_point(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed distribution (a real .dist-info folder on sys.path) declares its config in
    the ``dagwright.runtimes`` entry-point group; an IR naming the kind loads it."""
    (tmp_path / "shout_runtime.py").write_text(PLUGIN)
    info = tmp_path / "shout_runtime-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-runtime\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[dagwright.runtimes]\ntest-shout = shout_runtime:Shout\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    config = config_from_dict({"kind": "test-shout", "times": 3})
    assert type(config).__module__ == "shout_runtime" and config.to_dict()["times"] == 3
    assert type(runtime_for(config)).__name__ == "ShoutRuntime"
