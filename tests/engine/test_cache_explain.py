"""``dagwright cache explain RUN STEP``: real runs of a small pipeline twice, each time with one
part of a step's cache key changed, and the part named; the command through a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dagwright import Dataset, Input, Output, ParallelFor, component, pipeline
from dagwright.engine.explain import explain
from dagwright.store.rundb import RunDatabase


@component(cache=True)
def make(n: int, api_token: str, out: Output[Dataset]) -> int:
    with open(out.path, "w") as f:
        f.write(str(n))
    return n


@component(cache=True)
def use(data: Input[Dataset], scale: int = 2) -> str:
    with open(data.path) as f:
        return f.read() * scale


@component
def loose(n: int, out: Output[Dataset]) -> None:
    with open(out.path, "w") as f:
        f.write(str(n))


@pipeline
def made(n: int = 1, api_token: str = "", scale: int = 2) -> str:
    m = make(n=n, api_token=api_token)
    return use(data=m.outputs["out"], scale=scale).output


@pipeline
def fed(n: int = 1) -> str:
    # loose is never cached: use's input changes while its own parameters stay the same
    return use(data=loose(n=n).outputs["out"]).output


def _explained(store: Path, run_id: str, step: str) -> dict[str, Any]:
    db = RunDatabase(store / "runs.db")
    try:
        return explain(db, run_id, step)
    finally:
        db.close()


def _texts(found: dict[str, Any]) -> list[str]:
    return [d["text"] for d in found["differences"]]


def test_a_changed_parameter_is_named(run: Any, store: Path) -> None:
    first = run(made, n=1)
    second = run(made, n=1, scale=3)
    found = _explained(store, second.run_id, "use")
    assert found["outcome"] == "miss"
    assert found["nearest"]["run_id"] == first.run_id
    assert _texts(found) == ["parameter scale: 2 -> 3"]
    assert (found["differences"][0]["before"], found["differences"][0]["after"]) == (2, 3)
    assert found["nearest"]["chosen"] == "the same task in pipeline made"
    assert "  parameter scale: 2 -> 3" in found["lines"]


def test_a_changed_input_artifact_is_named_by_its_digests(run: Any, store: Path) -> None:
    first = run(fed, n=1)
    second = run(fed, n=2)
    found = _explained(store, second.run_id, "use")
    before = first.step("loose").outputs["out"].digest
    after = second.step("loose").outputs["out"].digest
    assert found["outcome"] == "miss" and before != after
    assert [(d["part"], d["name"], d["before"], d["after"]) for d in found["differences"]] == [
        ("input", "data", before, after)
    ]
    assert _texts(found) == [f"input data: digest {before[:12]}… -> {after[:12]}…"]


def test_an_unchanged_step_is_a_hit_naming_the_run_that_made_the_entry(
    run: Any, store: Path
) -> None:
    first = run(made, n=4)
    second = run(made, n=4)
    found = _explained(store, second.run_id, "make")
    assert found["outcome"] == "hit" and second.step("make").cached
    assert found["source"] == {"run_id": first.run_id, "task": "make"}
    assert found["key"] == second.step("make").cache_key
    assert (
        found["lines"][-1] == f"hit: served from the cache entry made by run {first.run_id} (make)"
    )


def test_a_deleted_cached_artifact_says_why_the_entry_was_not_used(run: Any, store: Path) -> None:
    first = run(made, n=5)
    Path(first.step("make").outputs["out"].path).unlink()
    second = run(made, n=5)
    found = _explained(store, second.run_id, "make")
    assert not second.step("make").cached
    assert found["outcome"] == "unusable"
    assert found["source"] == {"run_id": first.run_id, "task": "make"}
    assert found["reason"].startswith("artifact 'out' is gone")
    assert "could not be used: artifact 'out' is gone" in found["lines"][-1]


def test_a_masked_parameter_is_not_compared(run: Any, store: Path) -> None:
    run(made, n=6, api_token="first-token-value")
    second = run(made, n=6, api_token="other-token-value")
    found = _explained(store, second.run_id, "make")
    assert found["outcome"] == "miss"
    assert _texts(found) == ["parameter api_token: masked; cannot compare"]
    assert found["lines"][-1] == "  only a masked parameter can differ (its value is not kept)"
    assert "token-value" not in json.dumps(found)


def test_caching_off_and_no_earlier_run_are_said(run: Any, store: Path) -> None:
    first = run(made, n=7)
    assert _explained(store, first.run_id, "make")["lines"][-1] == (
        "no earlier run of this component (make)"
    )
    second = run(made, n=8, cache=False)
    found = _explained(store, second.run_id, "make")
    assert found["outcome"] == "disabled"
    assert found["lines"][-1] == "caching disabled for this task (the run's --no-cache)"
    third = run(made, n=8)  # same key as the second, which made no entry
    found = _explained(store, third.run_id, "make")
    assert found["nearest"]["run_id"] == second.run_id and found["differences"] == []
    assert found["lines"][-1] == (
        "  it had the same key but ran with caching disabled, so it made no cache entry"
    )


PIPELINE = """
from dagwright import component, pipeline


@component(cache=True, cache_version="{version}")
def train(lr: float) -> float:
    return lr * {factor}


@pipeline
def job(lr: float = 0.1) -> float:
    return train(lr=lr).output
"""


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args, "--root", str(tmp_path / "store")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "DAGWRIGHT_TRACKING": "off"},
        timeout=120,
    )


def _run_file(tmp_path: Path, version: str, factor: int) -> str:
    (tmp_path / "job.py").write_text(PIPELINE.format(version=version, factor=factor))
    done = _cli(tmp_path, "run", "job.py")
    assert done.returncode == 0, done.stderr
    runs = _cli(tmp_path, "runs", "ls", "--json")
    return str(json.loads(runs.stdout)[0]["run_id"])


def test_a_changed_component_and_cache_version_through_the_command(tmp_path: Path) -> None:
    _run_file(tmp_path, "v1", 2)
    edited = _run_file(tmp_path, "v1", 3)  # the component's code rewritten between runs
    shown = _cli(tmp_path, "cache", "explain", edited, "train")
    assert shown.returncode == 0, shown.stderr
    assert "miss: no cache entry had this key" in shown.stdout
    assert "  component code changed (digest " in shown.stdout
    assert "cache_version" not in shown.stdout.split("miss:")[1]
    bumped = _run_file(tmp_path, "v2", 3)  # only cache_version
    found = json.loads(_cli(tmp_path, "cache", "explain", bumped, "train", "--json").stdout)
    assert [d["text"] for d in found["differences"]] == ["cache_version v1 -> v2"]
    again = _run_file(tmp_path, "v2", 3)
    found = json.loads(_cli(tmp_path, "cache", "explain", again, "train", "--json").stdout)
    assert found["outcome"] == "hit" and found["source"]["run_id"] == bumped


@pytest.mark.parametrize(
    ("args", "field", "fix"),
    [
        (["no-such-run", "train"], "RUN", "dagwright runs ls"),
        (["{run}", "nothing"], "STEP", "give one of: train"),
    ],
)
def test_bad_run_or_step_exits_2_naming_the_fix(
    tmp_path: Path, args: list[str], field: str, fix: str
) -> None:
    run_id = _run_file(tmp_path, "v1", 2)
    done = _cli(tmp_path, "cache", "explain", *[a.format(run=run_id) for a in args])
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert f"[{field}]" in done.stderr or field in done.stderr
    assert fix in done.stderr


@component(cache=True)
def square(x: int, offset: int) -> int:
    return x * x + offset


@pipeline
def looped(offset: int = 0) -> None:
    with ParallelFor([1, 2, 3]) as x:
        square(x=x, offset=offset)


def test_a_loop_step_is_named_by_its_iteration_and_compared_with_the_same_one(
    run: Any, store: Path
) -> None:
    from dagwright.errors import ValidationError

    first = run(looped, offset=0)
    second = run(looped, offset=1)
    with pytest.raises(ValidationError) as caught:
        _explained(store, second.run_id, "square")
    assert caught.value.field == "STEP" and "square[0]" in str(caught.value)
    found = _explained(store, second.run_id, "square[2]")
    assert found["iteration"] == "2"
    assert found["nearest"] == {
        "run_id": first.run_id,
        "task": "square",
        "iteration": "2",
        "chosen": "the same task and loop iteration in pipeline looped",
    }
    assert _texts(found) == ["parameter offset: 0 -> 1"]
    db = RunDatabase(store / "runs.db")
    try:  # an iteration as the database keeps it, or as a StepRecord has it
        assert db.step_inputs(second.run_id, "square", "2") == db.step_inputs(
            second.run_id, "square", (2,)
        )
        assert db.step_inputs(second.run_id, "square", (2,))["parameters"] == {"x": 3, "offset": 1}
    finally:
        db.close()


def test_a_changed_artifact_says_it_changed_since_it_was_written(run: Any, store: Path) -> None:
    first = run(made, n=9)
    Path(first.step("make").outputs["out"].path).write_text("edited")
    second = run(made, n=9)
    found = _explained(store, second.run_id, "make")
    assert found["outcome"] == "unusable" and not second.step("make").cached
    assert found["reason"].startswith("artifact 'out' changed since it was written (sha256 ")


@component
def fails(n: int) -> int:
    raise RuntimeError("no")


@pipeline
def broken(n: int = 1) -> int:
    return use(data=loose(n=fails(n=n).output).outputs["out"]).output


def test_a_step_that_never_got_its_inputs_has_nothing_to_explain(run: Any, store: Path) -> None:
    result = run(broken)
    found = _explained(store, result.run_id, "use")
    assert found["outcome"] == "unrecorded" and found["parts"] is None
    assert found["lines"] == [
        "step use (upstream failed) has no cache key parts recorded: it was not given its "
        "inputs, or an older dagwright ran it"
    ]
    # the step that failed was given its inputs: its parts are there
    assert _explained(store, result.run_id, "fails")["parts"]["parameters"] == {"n": 1}


def _parts(digest: str, version: str | None = None, **parameters: Any) -> dict[str, Any]:
    return {
        "key": digest * 2,
        "component": {"name": "train", "digest": digest},
        "cache_version": version,
        "parameters": parameters,
        "masked": [],
        "artifacts": {},
    }


def test_a_changed_component_is_told_apart_by_what_changed_in_its_ir() -> None:
    from dagwright.engine.explain_diff import differences

    old = {"name": "train", "source": "def train(): ...", "image": "py:3.11", "cache": True}
    image = {**old, "image": "py:3.12"}
    code = {**old, "source": "def train(): return 1", "cache_version": "2"}
    texts = lambda *a: [d["text"] for d in differences(*a)]  # noqa: E731
    assert texts(_parts("a" * 32), _parts("b" * 32), old, image) == [
        "component option image: py:3.11 -> py:3.12"
    ]
    assert texts(_parts("a" * 32), _parts("b" * 32, "2"), old, code) == [
        f"component code changed (digest {'a' * 12}… -> {'b' * 12}…)",
        "cache_version none -> 2",
    ]
    # without the IRs, the digest alone: never a guess at what changed
    assert texts(_parts("a" * 32), _parts("b" * 32), None, None) == [
        f"component changed (digest {'a' * 12}… -> {'b' * 12}…)"
    ]


def test_another_pipeline_s_step_of_the_same_component_is_the_nearest_without_one_of_its_own(
    run: Any, store: Path
) -> None:
    first = run(made, n=1, scale=2)  # its use reads make's output, "1"
    other = run(fed, n=2)  # a pipeline of its own: its use reads loose's output, "2"
    found = _explained(store, other.run_id, "use")
    assert found["nearest"]["run_id"] == first.run_id
    assert found["nearest"]["chosen"] == "the latest step with the same component digest"
    # fed leaves scale to the function's default: not a part of its key
    assert [d["text"] for d in found["differences"]][
        0
    ] == "parameter scale: 2 -> (not given: the default)"
    assert [d["part"] for d in found["differences"]] == ["parameter", "input"]
