"""Shapes met in KFP's own SDK test pipelines that imported steps got wrong, each in a small
pipeline written here: compiled with kfp, run through ``dagwright.run``, the values checked."""

# no `from __future__ import annotations`: kfp reads the components' annotations as types
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kfp")

from kfp import compiler, dsl  # noqa: E402
from kfp.dsl import Dataset, Input, Output  # noqa: E402

import dagwright  # noqa: E402


def _run(pipeline: Any, tmp_path: Path, **kwargs: Any) -> Any:
    path = tmp_path / "pipeline.yaml"
    compiler.Compiler().compile(pipeline, str(path))
    return dagwright.run(str(path), root=tmp_path / "store", echo=False, **kwargs)


@dsl.component
def stamp(n: int) -> Dataset:
    import time

    time.sleep(0.3)  # every iteration has built its executor before any asks for its URI
    made = Dataset(uri=dsl.get_uri(suffix="stamp"), metadata={"n": n})
    with open(made.path, "w") as f:
        f.write(str(n))
    return made


@dsl.component
def read_all(stamps: list[Dataset]) -> str:
    texts = []
    for each in stamps:
        with open(each.path) as f:
            texts.append(f.read())
    return ",".join(texts)


@dsl.pipeline
def one_stamp() -> Dataset:
    return stamp(n=7).output


def test_an_artifact_the_function_returns_at_its_own_uri_becomes_the_step_output(
    tmp_path: Path,
) -> None:
    """A function returning Dataset(uri=dsl.get_uri(...)) writes its file where it chose; the
    step's output is that file, with the metadata the function gave it."""
    result = _run(one_stamp, tmp_path)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    made = result.outputs["Output"]
    assert Path(made.path).read_text() == "7"
    assert made.metadata == {"n": 7}


@dsl.pipeline
def stamps_side_by_side() -> str:
    with dsl.ParallelFor([1, 2, 3]) as n:
        t = stamp(n=n)
    return read_all(stamps=dsl.Collected(t.output)).output


def test_get_uri_in_steps_running_side_by_side_gives_each_its_own_task_folder(
    tmp_path: Path,
) -> None:
    """kfp keeps the task root of dsl.get_uri() in a module global: three iterations in
    threads used to write into one folder, and two of the three files were missing."""
    result = _run(stamps_side_by_side, tmp_path, parallelism=3)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    assert result.outputs["Output"] == "1,2,3"
    folders = {Path(s.outputs["Output"].path).parent for s in result.steps if s.task == "stamp"}
    assert len(folders) == 3


@dsl.component
def say(label: str, value: str) -> str:
    return f"{label}={value}"


@dsl.pipeline
def job_names() -> str:
    say(label="job", value=dsl.PIPELINE_JOB_NAME_PLACEHOLDER)
    return say(label="resource", value=dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER).output


def test_the_job_resource_name_placeholder_is_the_run(tmp_path: Path) -> None:
    """kfp.local's placeholder resolver does not know {{$.pipeline_job_resource_name}} and
    fails with an IndexError; it names the run, as the job name does."""
    result = _run(job_names, tmp_path)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    assert result.outputs["Output"] == f"resource={result.run_id}"
    assert result.step("say").outputs["Output"] == f"job={result.run_id}"


@dsl.component
def number_file(n: int, out: Output[Dataset]):
    with open(out.path, "w") as f:
        f.write(str(n))


SUM_URIS = """
import json, sys
total = sum(int(open(a["uri"]).read()) for a in json.loads(sys.argv[1]))
open(sys.argv[2], "w").write(str(total))
"""


@dsl.container_component
def sum_files(parts: Input[list[Dataset]], total: dsl.OutputPath(int)):
    return dsl.ContainerSpec(image="python:3.11", command=["python3", "-c", SUM_URIS, parts, total])


@dsl.pipeline
def whole_list_to_a_container() -> int:
    with dsl.ParallelFor([4, 5, 6]) as n:
        t = number_file(n=n)
    return sum_files(parts=dsl.Collected(t.outputs["out"])).outputs["total"]


def test_a_collected_artifact_list_given_whole_to_a_container_is_its_json(
    tmp_path: Path,
) -> None:
    """{{$.inputs.artifacts['parts']}} (a list of artifacts as one argument) is the JSON of the
    runtime artifacts, each with its uri; kfp.local fails on it with an IndexError."""
    result = _run(whole_list_to_a_container, tmp_path, host_containers=True)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    assert result.outputs["Output"] == 15


@dsl.component
def joined(words: list, table: dict) -> str:
    return "|".join(words) + "|" + ",".join(f"{k}:{v}" for k, v in sorted(table.items()))


@dsl.pipeline
def placeholders_inside_containers(name: str = "Ada") -> str:
    return joined(words=[f"Hi {name}", "plain"], table={"who": f"{name}!"}).output


def test_f_strings_inside_a_list_or_dict_argument_are_resolved(tmp_path: Path) -> None:
    """An f-string naming a pipeline parameter inside a list or dict argument arrived as the
    literal placeholder text; kfp.local resolves it."""
    result = _run(placeholders_inside_containers, tmp_path, name="Bob")
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    assert result.outputs["Output"] == "Hi Bob|plain|who:Bob!"


@dsl.container_component
def entrypoint_args(text: str):
    return dsl.ContainerSpec(image="registry.example/tool:1", args=["--text", text])


@dsl.pipeline
def entrypoint_only():
    entrypoint_args(text="a")


def test_a_container_giving_only_entrypoint_arguments_is_refused_on_the_host_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no command the image's entrypoint runs; on this machine there is none, and its
    first argument used to be run as a program ('--text: not found')."""
    from dagwright.errors import ValidationError

    monkeypatch.setenv("PATH", str(tmp_path))  # no docker or podman answers
    with pytest.raises(ValidationError) as refused:
        _run(entrypoint_only, tmp_path, host_containers=True)
    message = str(refused.value)
    assert "'entrypoint-args' (image registry.example/tool:1)" in message
    assert "no command" in message and "Docker or Podman" in message
    assert not (tmp_path / "store" / "artifacts").exists()  # nothing ran


FAKE_DOCKER = """#!{python}
import json, sys
with open({log!r}, "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def test_a_container_giving_only_entrypoint_arguments_runs_its_image_entrypoint_in_docker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In Docker the image's own entrypoint gets the arguments; the first argument used to be
    passed as --entrypoint."""
    import os
    import sys

    bin_dir, log = tmp_path / "bin", tmp_path / "docker-calls.jsonl"
    bin_dir.mkdir()
    fake = bin_dir / "docker"
    fake.write_text(FAKE_DOCKER.format(python=sys.executable, log=str(log)))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = _run(entrypoint_only, tmp_path)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    run = next(c for c in calls if c[:1] == ["run"])
    assert "--entrypoint" not in run
    assert run[-3:] == ["registry.example/tool:1", "--text", "a"]


@dsl.component
def echo(value: str) -> str:
    return value


@dsl.container_component
def echo_in_a_container(value: str, out: dsl.OutputPath(str)):
    return dsl.ContainerSpec(
        image="python:3.11",
        command=["python3", "-c", "import sys; open(sys.argv[2], 'w').write(sys.argv[1])"],
        args=[value, out],
    )


@dsl.pipeline
def job_times() -> str:
    echo(value=dsl.PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER).set_caching_options(False)
    echo_in_a_container(value=dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER)
    return echo(value=dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER).output


def test_the_job_time_placeholders_are_the_runs_start(tmp_path: Path) -> None:
    """kfp.local has no value for {{$.pipeline_job_create_time_utc}} nor
    {{$.pipeline_job_schedule_time_utc}} and fails with an IndexError; KFP's backend gives the
    job's creation time (and, for a run no schedule made, the same as schedule time) in
    RFC 3339 UTC to the second. dagwright gives the run's start, the same in every step."""
    import datetime
    import sqlite3

    result = _run(job_times, tmp_path, host_containers=True)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    created = result.outputs["Output"]
    with sqlite3.connect(tmp_path / "store" / "runs.db") as db:
        (started,) = db.execute(
            "SELECT started FROM runs WHERE run_id=?", (result.run_id,)
        ).fetchone()
    expected = datetime.datetime.fromtimestamp(int(started), datetime.timezone.utc)
    assert created == expected.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result.step("echo").outputs["Output"] == created
    assert result.step("echo-in-a-container").outputs["out"] == created


def test_the_runs_start_travels_with_the_step_to_another_process() -> None:
    """A Process() step is rebuilt from step.json in the child: the run's start goes with it
    (else the child would give its own clock's time, different in every step)."""
    from dagwright.components.spec import ComponentSpec
    from dagwright.executor import Step

    step = Step(
        ComponentSpec(name="c", inputs=[], outputs=[], source="", function="c"),
        "c",
        run_started=1767962096.5,
    )
    assert Step.from_dict(json.loads(json.dumps(step.to_dict()))).run_started == 1767962096.5


@dsl.component
def named(kept: Input[Dataset]) -> str:
    return f"[{kept.name}]"


@dsl.component
def stamp_named(n: int) -> Dataset:
    made = Dataset(uri=dsl.get_uri(suffix="named"), metadata={"n": n})
    made.name = "mine"
    with open(made.path, "w") as f:
        f.write(str(n))
    return made


@dsl.pipeline
def artifact_names() -> str:
    named(kept=stamp(n=1).output).set_display_name("returned")
    named(kept=stamp_named(n=2).output).set_display_name("renamed")
    return named(kept=number_file(n=3).outputs["out"]).output


def test_a_returned_artifact_hands_on_its_own_name_and_an_output_parameter_its_outputs(
    tmp_path: Path,
) -> None:
    """The name downstream is the one in the step's executor output, as kfp.local reads it:
    '' for an artifact the function made and returned without naming, the name it set, and
    the output's name for an ``Output[...]`` parameter (the executor input's)."""
    result = _run(artifact_names, tmp_path)
    assert result.status == "succeeded", [s.error for s in result.steps if s.error]
    shown = sorted(s.outputs["Output"] for s in result.steps if s.task.startswith("named"))
    assert shown == ["[]", "[mine]", "[out]"]
