"""Shapes met in public KFP pipelines beyond KFP's own test set, each rewritten here as a small
pipeline of its own, imported and run through dagwright.

No ``from __future__ import annotations``: kfp reads the components' annotations as types.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("kfp")
from kfp import dsl  # noqa: E402

import dagwright  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@dsl.component(base_image="python:3.11")
def label(job: str, task: str) -> str:
    return f"{job}/{task}"


@dsl.container_component
def echo_job(job: str, out: dsl.OutputPath(str)):
    return dsl.ContainerSpec(
        image="alpine",
        command=["sh", "-c", 'printf "%s|%s" "$0" "$1" > "$2"'],
        args=[job, dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER, out],
    )


@dsl.pipeline(name="run-names")
def run_names() -> str:
    named = label(
        job=dsl.PIPELINE_JOB_RESOURCE_NAME_PLACEHOLDER, task=dsl.PIPELINE_TASK_NAME_PLACEHOLDER
    )
    return echo_job(job=named.output).outputs["out"]


def test_the_job_resource_name_placeholder_is_the_run_id(tmp_path: Path) -> None:
    # kfp.local's resolver knows the job name but not the job's resource name (it fails on it);
    # both in a parameter and in a container's command it is the run id here.
    result = dagwright.run(
        run_names, root=tmp_path / "store", echo=False, host_containers=True, run_id="names-1"
    )
    assert result.succeeded, [s.error for s in result.steps]
    assert result.outputs == {"Output": "names-1/label|names-1"}


@dsl.component(base_image="python:3.11")
def note(word: str) -> dsl.Dataset:
    made = dsl.Dataset(uri=dsl.get_uri(suffix="note"))
    with open(made.path, "w") as f:
        f.write(word)
    made.metadata["length"] = len(word)
    return made


@dsl.component(base_image="python:3.11")
def join_notes(notes: list[dsl.Dataset]) -> str:
    parts = []
    for item in notes:
        with open(item.path) as f:
            parts.append(f"{f.read()}:{item.metadata['length']}")
    return ",".join(sorted(parts))


@dsl.pipeline(name="returned-artifacts")
def returned_artifacts() -> str:
    with dsl.ParallelFor(["ab", "cde", "f", "ghij"]) as word:
        made = note(word=word)
    return join_notes(notes=dsl.Collected(made.output)).output


def test_an_artifact_returned_at_a_uri_of_its_own_reaches_the_next_step(tmp_path: Path) -> None:
    # A returned artifact made with dsl.get_uri() is written under the task root kfp's executor
    # keeps in a module global: side by side, each step still writes and passes its own.
    result = dagwright.run(returned_artifacts, root=tmp_path / "store", echo=False)
    assert result.succeeded, [s.error for s in result.steps]
    assert result.outputs == {"Output": "ab:2,cde:3,f:1,ghij:4"}


@dsl.component(base_image="python:3.11")
def flaky(marker: str, fails: int) -> int:
    # fails its first `fails` attempts: each attempt leaves a line in the marker file
    with open(marker, "a") as f:
        f.write("x\n")
    with open(marker) as f:
        attempts = len(f.readlines())
    if attempts <= fails:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


@dsl.pipeline
def inner_flaky(marker: str, own: str) -> int:
    flaky(marker=own, fails=3).set_retry(num_retries=3, backoff_duration="0s")
    return flaky(marker=marker, fails=1).output


@dsl.pipeline
def outer_flaky(marker: str, own: str) -> int:
    return inner_flaky(marker=marker, own=own).output


@dsl.pipeline(name="nested-retry")
def nested_retry(marker: str, own: str) -> int:
    outer = outer_flaky(marker=marker, own=own).set_retry(num_retries=1, backoff_duration="0s")
    return outer.output


def test_a_retry_set_on_a_nested_pipeline_retries_its_tasks(tmp_path: Path) -> None:
    # KFP's backend gives a pipeline task's retry policy to the tasks inside it (at any depth)
    # that set none of their own; one that sets its own keeps it.
    marker, own = tmp_path / "inner", tmp_path / "own"
    result = dagwright.run(
        nested_retry,
        {"marker": str(marker), "own": str(own)},
        root=tmp_path / "store",
        echo=False,
    )
    assert result.succeeded, [s.error for s in result.steps]
    assert result.outputs == {"Output": 2}
    assert own.read_text() == "x\n" * 4  # its own three retries, not the pipeline's one


LONE_COMPONENTS = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.container_component
    def greet(who: str, mood: str):
        return dsl.ContainerSpec(image="alpine", command=["echo"], args=[f"{mood} {who}"])

    @dsl.component(base_image="python:3.11")
    def total(values: dict) -> int:
        return sum(values.values())
    """
)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "DAGWRIGHT_TRACKING": "off"}
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=180,
    )


def test_a_lone_component_named_in_a_file_runs_as_kfp_compiles_it(tmp_path: Path) -> None:
    # kfp's compiler takes a component alone as a one-task pipeline; files holding only
    # components are run that way on KFP
    (tmp_path / "parts.py").write_text(LONE_COMPONENTS)
    done = _cli(
        "run", "parts.py:greet", "--param", "who=world", "--param", "mood=hello",
        "--host-containers", "--root", "store", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[1]
    logs = _cli("logs", run_id, "--root", "store", cwd=tmp_path)
    assert "hello world" in logs.stdout
    unnamed = _cli("run", "parts.py", "--root", "store", cwd=tmp_path)
    assert unnamed.returncode == 2
    assert "parts.py:greet" in unnamed.stderr and "Traceback" not in unnamed.stderr


def test_dagwright_run_takes_a_lone_kfp_component(tmp_path: Path) -> None:
    @dsl.component(base_image="python:3.11")
    def total(values: dict) -> int:
        return sum(values.values())

    result = dagwright.run(total, {"values": {"a": 2, "b": 5}}, root=tmp_path / "store", echo=False)
    assert result.succeeded, [s.error for s in result.steps]
    assert result.outputs == {"Output": 7}


SNAKE_CASE = textwrap.dedent(
    """
    from kfp import dsl

    @dsl.component(base_image="python:3.11")
    def split_words(text: str) -> list:
        return text.split()

    @dsl.component(base_image="python:3.11")
    def count_letters(word: str) -> int:
        return len(word)

    @dsl.pipeline(name="letters")
    def letters(text: str = "a bb ccc") -> list:
        with dsl.ParallelFor(split_words(text=text).output) as word:
            counted = count_letters(word=word)
        return dsl.Collected(counted.output)
    """
)


def test_python_components_named_in_snake_case_compile_to_argo(tmp_path: Path) -> None:
    # the IR keeps KFP's function names (split_words); Argo's template names must be DNS-1123,
    # so the compiler names the templates split-words (every KFP sample with a Python component
    # used to stop here)
    (tmp_path / "letters.py").write_text(SNAKE_CASE)
    wheel = "dagwright @ https://example.com/dagwright-0.1.0-py3-none-any.whl"
    done = _cli(
        "compile", "letters.py", "--target", "argo", "--dagwright", wheel, "-o", "wf.yaml",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    import yaml

    workflow = yaml.safe_load((tmp_path / "wf.yaml").read_text())
    names = {t["name"] for t in workflow["spec"]["templates"]}
    assert {"split-words", "count-letters"} <= names
    from dagwright.loader import load_pipeline

    result = dagwright.run(
        load_pipeline(str(tmp_path / "letters.py")), root=tmp_path / "store", echo=False
    )
    assert result.outputs == {"Output": [1, 2, 3]}


@dsl.component(base_image="python:3.11")
def word(text: str, out: dsl.Output[dsl.Dataset]):
    with open(out.path, "w") as f:
        f.write(text)
    out.metadata["size"] = len(text)


@dsl.container_component
def glue(parts: dsl.Input[list[dsl.Dataset]], joined: dsl.OutputPath(str)):
    program = (
        "import json, sys\n"
        "items = json.loads(sys.argv[1])\n"
        "texts = sorted(open(i['uri']).read() + str(i['metadata']['size']) for i in items)\n"
        "open(sys.argv[2], 'w').write('+'.join(texts))\n"
    )
    return dsl.ContainerSpec(image="python:3.11", command=["python3", "-c", program, parts, joined])


@dsl.pipeline(name="glued")
def glued() -> str:
    with dsl.ParallelFor(["ab", "c"]) as text:
        made = word(text=text)
    return glue(parts=dsl.Collected(made.outputs["out"])).outputs["joined"]


def test_a_container_gets_a_list_of_artifacts_as_their_json(tmp_path: Path) -> None:
    # a whole list-of-artifacts input in a container's command ({{$.inputs.artifacts['x']}})
    # is the JSON list of those artifacts (uri, metadata); kfp.local's resolver fails on it
    result = dagwright.run(glued, root=tmp_path / "store", echo=False, host_containers=True)
    assert result.succeeded, [s.error for s in result.steps]
    assert result.outputs == {"Output": "ab2+c1"}


@dsl.component(base_image="python:3.11")
def leave(code: int):
    import sys

    print(f"leaving with {code}")
    sys.exit(code)


@dsl.pipeline(name="exits")
def exits():
    leave(code=0)
    leave(code=3)


def test_sys_exit_zero_in_a_component_is_success_and_nonzero_a_failure(tmp_path: Path) -> None:
    # in its pod, sys.exit(0) ends the process well; in-process it raised SystemExit(0),
    # which failed the step
    result = dagwright.run(exits, root=tmp_path / "store", echo=False)
    states = {s.task: s.status for s in result.steps}
    assert states == {"leave": "succeeded", "leave-2": "failed"}
    assert "SystemExit: 3" in (result.step("leave-2").error or "")
