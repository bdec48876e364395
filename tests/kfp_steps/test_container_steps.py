"""KFP container components: on this machine with ``host_containers`` (real ``sh``
subprocesses), refused before the run without it when no Docker or Podman answers (this machine
has Docker's CLI but no daemon: the refusal is real), and in Docker through a fake ``docker``
executable on PATH that answers ``info``, records its argv and runs the container's command
on the host, so the mounts, entrypoint, image and environment it was given can be checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("kfp")

import kfp_step_components as comps  # noqa: E402
from kfp_specs import pipeline_of, spec_of  # noqa: E402

import dagwright  # noqa: E402
from dagwright.errors import ValidationError  # noqa: E402
from dagwright.executor import Step, run_step  # noqa: E402
from dagwright.kfp_steps.containers import container_engine  # noqa: E402
from dagwright.store import remote  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH without any docker or podman that answers (the real CLI has no daemon here)."""
    if container_engine() is not None:  # a machine with a daemon: hide it
        empty = tmp_path / "no-engine"
        empty.mkdir()
        monkeypatch.setenv("PATH", f"{empty}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert container_engine() is None


def _data(tmp_path: Path, text: str) -> dict[str, object]:
    path = tmp_path / "in" / "data"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return {"type": "Dataset", "name": "data", "uri": str(path), "metadata": {}}


def test_a_container_command_runs_on_the_host(tmp_path: Path, no_engine: None) -> None:
    spec = spec_of(comps.echo_to_files, tmp_path)
    page = tmp_path / "run" / "page"
    step = Step(
        spec,
        "echo",
        parameters={"text": "hello there"},
        outputs={"page": str(page)},
        host_containers=True,
    )
    outcome = run_step(step)
    assert outcome.values == {"said": "hello there\n"}
    assert page.read_text() == "page:hello there"
    assert (
        outcome.artifacts["page"].digest and type(outcome.artifacts["page"]).__name__ == "Dataset"
    )
    assert not [p for p in page.parent.iterdir() if ".partial-" in p.name]


def test_concat_and_if_present_placeholders_are_resolved(tmp_path: Path, no_engine: None) -> None:
    spec = spec_of(comps.optional_flags, tmp_path)
    data = _data(tmp_path, "body")
    given = run_step(
        Step(
            spec,
            "flags",
            parameters={"prefix": "p", "extra": "E"},
            artifacts={"data": data},
            host_containers=True,
        )
    )
    assert given.values == {"out": "body p-x --extra E\n"}
    absent = run_step(
        Step(
            spec,
            "flags",
            parameters={"prefix": "q"},
            artifacts={"data": data},
            host_containers=True,
        )
    )
    assert absent.values == {"out": "body q-x --none\n"}


def test_a_failing_command_fails_the_step_with_its_code_and_stderr(
    tmp_path: Path, no_engine: None
) -> None:
    spec = spec_of(comps.exits_badly, tmp_path)
    ir = pipeline_of("bad", [("exits", spec, {"code": {"constant": 3}})])
    result = dagwright.run(ir, root=tmp_path / "s", echo=False, host_containers=True)
    (step,) = result.steps
    assert step.status == "failed"
    assert step.error.startswith("ContainerFailed: the command of task 'exits' (image alpine:3.19)")
    assert "exited with code 3 on this machine" in step.error
    assert step.stderr == "failing\n"


def test_without_an_engine_or_the_flag_the_run_is_refused_before_it_starts(
    tmp_path: Path, no_engine: None
) -> None:
    echo = spec_of(comps.echo_to_files, tmp_path)
    flags = spec_of(comps.optional_flags, tmp_path)
    shout = spec_of(comps.shout, tmp_path)
    ir = pipeline_of(
        "needs-docker",
        [
            ("py", shout, {"word": {"constant": "x"}}),
            ("echo", echo, {"text": {"constant": "x"}}),
            (
                "flags",
                flags,
                {"prefix": {"constant": "x"}, "data": {"task": "echo", "output": "page"}},
            ),
        ],
    )
    store = tmp_path / "store"
    with pytest.raises(ValidationError) as caught:
        dagwright.run(ir, root=store, echo=False)
    message = str(caught.value)
    assert "'echo' (image alpine:3.19), 'flags' (image alpine:3.19)" in message
    assert "'py'" not in message  # a Python component runs in-process
    assert "start Docker or Podman" in message and "--host-containers" in message
    assert not store.exists()  # nothing ran, nothing was recorded


def test_the_cli_refuses_with_exit_2_and_runs_with_host_containers(tmp_path: Path) -> None:
    spec = spec_of(comps.echo_to_files, tmp_path)
    ir = pipeline_of(
        "cli-echo",
        [("echo", spec, {"text": {"constant": "from cli"}})],
        outputs={"said": {"task": "echo", "output": "said"}},
    )
    path = ir.save(tmp_path / "pipeline.yaml")
    empty = tmp_path / "no-engine"
    empty.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PATH": f"{empty}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "DAGWRIGHT_TRACKING": "off",
    }
    command = [sys.executable, "-m", "dagwright.cli", "run", str(path), "--root", str(tmp_path)]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "task 'echo' (image alpine:3.19)" in refused.stderr
    ran = subprocess.run(
        [*command, "--host-containers", "-q"], capture_output=True, text=True, env=env, timeout=120
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split()[1] == "succeeded"


FAKE_DOCKER = """#!{python}
# A stand-in for the docker CLI: answers `info`, records each call's argv, and runs a
# `run`'s command on the host (after --entrypoint and the image), as the container would.
import json, os, subprocess, sys
args = sys.argv[1:]
with open({log!r}, "a") as f:
    f.write(json.dumps(args) + "\\n")
if args[:1] == ["info"]:
    sys.exit(0)
env = dict(os.environ)
i = 1
while i < len(args):
    if args[i] in ("-v", "-e", "--entrypoint"):
        if args[i] == "-e":  # NAME=VALUE, or NAME alone: its value from this environment
            key, eq, value = args[i + 1].partition("=")
            env[key] = value if eq else os.environ.get(key, "")
        if args[i] == "--entrypoint":
            entry = args[i + 1]
        i += 2
    elif args[i].startswith("-"):
        i += 1
    else:
        break
image, rest = args[i], args[i + 1:]
sys.exit(subprocess.run([entry, *rest], env=env).returncode)
"""


def _fake_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> tuple[Path, Path]:
    """A fake ``name`` (docker or podman) first on PATH, and the file its calls go to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / f"{name}-calls.jsonl"
    fake = bin_dir / name
    fake.write_text(FAKE_DOCKER.format(python=sys.executable, log=str(log)))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return fake, log


def test_with_docker_answering_the_image_runs_with_the_folders_mounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, log = _fake_engine(tmp_path, monkeypatch, "docker")
    assert container_engine() == str(fake)
    spec = spec_of(comps.optional_flags, tmp_path)
    spec.kfp["executor"]["container"]["env"] = [{"name": "GREETING", "value": "hi"}]
    data = _data(tmp_path, "dock")
    outcome = run_step(
        Step(spec, "flags", parameters={"prefix": "d", "extra": "X"}, artifacts={"data": data})
    )
    assert outcome.values == {"out": "dock d-x --extra X\n"}
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    run = next(c for c in calls if c[:1] == ["run"])
    assert run[:3] == ["run", "--rm", "-i"]
    mounts = [run[i + 1] for i, a in enumerate(run) if a == "-v"]
    data_folder = os.path.dirname(str(data["uri"]))
    assert f"{data_folder}:{data_folder}:ro" in mounts
    assert any(m.endswith(":rw") and "dagwright-step-" in m for m in mounts)  # the task root
    assert run[run.index("-e") + 1] == "GREETING"  # the value in its environment, not argv
    assert not any("hi" in arg.split("=", 1)[-1] for arg in run if "GREETING" in arg)
    entry = run.index("--entrypoint")
    assert run[entry + 1 : entry + 4] == ["sh", "alpine:3.19", "-c"]


def test_docker_gets_env_values_from_its_environment_never_its_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any local user reads /proc/<pid>/cmdline: `docker run -e NAME` takes the value from the
    docker CLI's own environment, which only the user running it reads."""
    _, log = _fake_engine(tmp_path, monkeypatch, "docker")
    secret = "s3cr3t-" + os.urandom(8).hex()
    spec = spec_of(comps.echo_to_files, tmp_path)
    spec.kfp["executor"]["container"]["env"] = [{"name": "TOKEN", "value": secret}]
    spec.kfp["executor"]["container"]["command"] = ["sh", "-c", 'echo "$TOKEN" > "$1"; : > "$2"']
    ir = pipeline_of(
        "env-off-argv",
        [("echo", spec, {"text": {"constant": "x"}})],
        outputs={"said": {"task": "echo", "output": "said"}},
    )
    result = dagwright.run(ir, root=tmp_path / "s", echo=False)
    assert result.outputs == {"said": secret + "\n"}  # reached the container's command
    run = next(json.loads(c) for c in log.read_text().splitlines() if c.startswith('["run"'))
    assert run[run.index("-e") + 1] == "TOKEN"
    assert not any(secret in arg for arg in run)


def test_resume_reruns_a_failed_container_step_with_the_flag(
    tmp_path: Path, no_engine: None
) -> None:
    spec = spec_of(comps.echo_to_files, tmp_path)
    flag_file = tmp_path / "go"
    spec.kfp["executor"]["container"]["command"] = [
        "sh",
        "-c",
        f'test -e {flag_file} && echo "$0" > "$1" && echo p > "$2"',
    ]
    ir = pipeline_of(
        "resumable",
        [("echo", spec, {"text": {"constant": "again"}})],
        outputs={"said": {"task": "echo", "output": "said"}},
    )
    first = dagwright.run(ir, root=tmp_path / "s", echo=False, host_containers=True)
    assert first.status == "failed"
    with pytest.raises(ValidationError, match="--host-containers"):
        dagwright.resume(first.run_id, root=tmp_path / "s", echo=False)
    flag_file.write_text("")
    second = dagwright.resume(first.run_id, root=tmp_path / "s", echo=False, host_containers=True)
    assert second.succeeded and second.outputs == {"said": "again\n"}
    page = next(s for s in second.steps if s.task == "echo").outputs["page"]
    assert Path(remote.local_path(page.uri)).read_text() == "p\n"


def test_a_container_step_runs_on_the_host_under_the_process_runtime(
    tmp_path: Path, no_engine: None
) -> None:
    from dagwright.runtimes.registry import Process

    spec = spec_of(comps.echo_to_files, tmp_path)
    spec.runtime = Process()
    ir = pipeline_of(
        "apart",
        [("echo", spec, {"text": {"constant": "in a process"}})],
        outputs={"said": {"task": "echo", "output": "said"}},
    )
    result = dagwright.run(ir, root=tmp_path / "s", echo=False, host_containers=True)
    assert result.outputs == {"said": "in a process\n"}, result.steps[0].traceback
    (step,) = result.steps
    assert step.stdout == "done\n"
    assert Path(remote.local_path(step.outputs["page"].uri)).read_text() == "page:in a process"


def test_podman_is_used_when_docker_does_not_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_engine: None
) -> None:
    """Here Docker's CLI is installed with no daemon: its ``info`` fails, podman's answers."""
    fake, log = _fake_engine(tmp_path, monkeypatch, "podman")
    assert container_engine() == str(fake)
    spec = spec_of(comps.echo_to_files, tmp_path)
    ir = pipeline_of(
        "in-podman",
        [("echo", spec, {"text": {"constant": "pod"}})],
        outputs={"said": {"task": "echo", "output": "said"}},
    )
    result = dagwright.run(ir, root=tmp_path / "s", echo=False)  # no refusal: podman answers
    assert result.outputs == {"said": "pod\n"}
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[0] for c in calls] == ["info", "run"]
