"""The Horovod runtime: N real rank processes here, an MPIJob on Kubernetes.

horovod 0.28.1 (its last release) does not build against PyTorch >= 2.1, so the rank tests start
local rank processes with torch.distributed's environment and all-reduce over real gloo. No
Kubernetes API or MPI operator runs here: the MPIJob is checked against the operator's own CRD
schema (jsonschema over its openAPIV3Schema, plus an unknown-key walk).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from dagwright import Artifact, Output, component, pipeline
from dagwright.errors import ValidationError
from dagwright.executor import Step
from dagwright.runtimes import Horovod, PodStep, Session, crd, runtime_for
from dagwright.runtimes.horovod import (
    FAILURE_CONDITION,
    MASTER_SHIM,
    RANK_SHIM,
    SUCCESS_CONDITION,
    HorovodRuntime,
    find_horovodrun,
    horovodrun_command,
    mpijob,
)
from dagwright.runtimes.ranks import rank_environment, read_outcome


@component(runtime=Horovod(np=2))
def allreduce(out: Output[Artifact]) -> int:
    import os
    import time

    import torch
    import torch.distributed as dist

    dist.init_process_group(backend="gloo")
    value = torch.tensor([dist.get_rank() + 1])
    dist.all_reduce(value)
    print(f"reduced {int(value.item())}")
    if dist.get_rank() != 0:
        time.sleep(0.5)  # were its output published, it would land after rank 0's
    with open(out.path, "w") as f:
        f.write(os.environ["RANK"])
    return int(value.item())


@component(runtime=Horovod(np=2), env={"FROM_COMPONENT": "yes"})
def environment() -> str:
    import os
    import sys

    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR")
    print(" ".join(f"{n}={os.environ[n]}" for n in names), os.environ["FROM_COMPONENT"])
    print(f"port {os.environ['MASTER_PORT']}", file=sys.stderr)
    return os.environ["RANK"]


@component(runtime=Horovod(np=2))
def refuse(folder: str) -> int:
    import os

    import torch
    import torch.distributed as dist

    dist.init_process_group(backend="gloo")
    rank = dist.get_rank()
    with open(os.path.join(folder, f"pid-{rank}"), "w") as f:
        f.write(str(os.getpid()))
    if rank == 1:
        raise ValueError("rank 1 refuses")
    value = torch.tensor([1])
    dist.all_reduce(value)  # waits for rank 1, which never comes
    return int(value.item())


@component(runtime=Horovod(np=2))
def vanish() -> int:
    import os

    import torch
    import torch.distributed as dist

    dist.init_process_group(backend="gloo")
    if dist.get_rank() == 1:
        os._exit(3)  # a crash: no exception, no report
    value = torch.tensor([1])
    dist.all_reduce(value)  # fails in rank 0 when rank 1's connection closes
    return int(value.item())


@component(runtime=Horovod(np=3), timeout=1)
def sleepy(folder: str, out: Output[Artifact]) -> None:
    import os
    import time

    with open(out.path, "w") as f:
        f.write("half")  # left beside the final path when the rank is killed
    with open(os.path.join(folder, f"pid-{os.environ['RANK']}"), "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)


def _gone(folder: Path, count: int) -> bool:
    """Every rank whose pid was written has exited (wait until the files exist)."""
    pids = [int((folder / f"pid-{rank}").read_text()) for rank in range(count)]
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


@pytest.mark.integration
def test_two_ranks_all_reduce_and_only_rank_0_publishes(run: Any) -> None:
    @pipeline
    def p() -> int:
        return allreduce().outputs["output"]

    result = run(p)
    assert result.status == "succeeded", result.step("allreduce").error
    assert result.outputs["output"] == 3  # (0 + 1) + (1 + 1), summed by gloo across processes
    step = result.step("allreduce")
    written = Path(result.run_dir) / "allreduce" / "out"
    assert written.read_text() == "0"  # rank 1 wrote "1" later, into its discarded scratch
    assert sorted(p.name for p in written.parent.iterdir()) == ["out"]
    assert "[0]<stdout>:reduced 3\n" in step.stdout
    assert "[1]<stdout>:reduced 3\n" in step.stdout


@pytest.mark.integration
def test_ranks_get_torch_distributed_environment_and_the_component_env(run: Any) -> None:
    @pipeline
    def p() -> str:
        return environment().output

    result = run(p)
    step = result.step("environment")
    assert result.outputs["output"] == "0"  # rank 0's return value
    for rank in (0, 1):
        assert (
            f"[{rank}]<stdout>:RANK={rank} WORLD_SIZE=2 LOCAL_RANK={rank} LOCAL_WORLD_SIZE=2 "
            "MASTER_ADDR=127.0.0.1 yes\n"
        ) in step.stdout
    ports = set(re.findall(r"^\[[01]\]<stderr>:port (\d+)$", step.stderr, re.M))
    assert len(ports) == 1 and int(ports.pop()) > 0  # one free port, shared by both ranks


@pytest.mark.integration
def test_a_failing_rank_fails_the_step_and_no_rank_is_left_running(
    run: Any, tmp_path: Path
) -> None:
    @pipeline
    def p(folder: str) -> int:
        return refuse(folder=folder).output

    started = time.monotonic()
    result = run(p, folder=str(tmp_path))
    elapsed = time.monotonic() - started
    step = result.step("refuse")
    assert step.status == "failed"
    assert step.error == "ValueError: rank 1 refuses (rank 1 of 2)"
    assert "raise ValueError" in step.traceback
    assert elapsed < 20  # rank 0 was killed in its all_reduce, not waited for (gloo: 30 min)
    assert _gone(tmp_path, 2)


@pytest.mark.integration
def test_a_rank_that_dies_without_an_outcome_is_blamed_not_the_peer_it_left(run: Any) -> None:
    @pipeline
    def p() -> int:
        return vanish().output

    step = run(p).step("vanish")
    assert step.status == "failed"
    assert step.error == "rank 1 of 2 exited with code 3 and no result"


@pytest.mark.integration
def test_a_timeout_kills_every_rank(run: Any, tmp_path: Path) -> None:
    @pipeline
    def p(folder: str) -> None:
        sleepy(folder=folder)

    started = time.monotonic()
    result = run(p, folder=str(tmp_path))
    step = result.step("sleepy")
    assert step.error == (
        "TimeoutError: step 'sleepy' did not finish within 1 s; its 3 ranks were killed"
    )
    assert time.monotonic() - started < 15
    assert _gone(tmp_path, 3)
    folder = Path(result.run_dir) / "sleepy"
    assert not folder.exists() or list(folder.iterdir()) == []  # rank 0's half-written output


def _report(folder: Path, rank: int, error: str, at: int) -> None:
    outcome = {"error": error, "traceback": f"trace {rank}\n", "failed_at": at}
    (folder / f"rank-{rank}.json").write_text(json.dumps(outcome))


def test_the_first_failure_is_the_cause_and_a_crash_beats_the_loss_its_peers_report(
    tmp_path: Path,
) -> None:
    second = 1_000_000_000
    _report(tmp_path, 0, "RuntimeError: connection closed by peer", 5 * second)
    _report(tmp_path, 2, "ValueError: bad shard", 4 * second)
    attempt = read_outcome(str(tmp_path), 3, {0: (1, 6 * second), 2: (1, 5 * second)})
    assert attempt.error == "ValueError: bad shard (rank 2 of 3)"
    assert attempt.traceback is not None and attempt.traceback.startswith("trace 2\n")
    assert "rank 0: RuntimeError: connection closed by peer" in attempt.traceback
    # rank 1 died unreported just after rank 0 reported losing it: rank 1 is the cause
    crash = tmp_path / "crash"
    crash.mkdir()
    _report(crash, 0, "RuntimeError: connection closed by peer", 5 * second)
    crashed = read_outcome(str(crash), 2, {1: (-11, 5 * second + 1000)})
    assert crashed.error == "rank 1 of 2 exited with code -11 and no result"
    # a death long after the first report is a consequence, not the cause
    late = read_outcome(str(crash), 2, {1: (-11, 9 * second)})
    assert late.error == "RuntimeError: connection closed by peer (rank 0 of 2)"


def test_horovodrun_command_runs_the_rank_entry_on_this_machine() -> None:
    command = horovodrun_command("horovodrun", Horovod(np=4), "python", "s.json", "out")
    assert command == [
        "horovodrun",
        "-np",
        "4",
        "-H",
        "localhost:4",
        "--gloo",
        *["python", "-m", "dagwright.runtimes.ranks", "--step", "s.json", "--results", "out"],
    ]
    assert "--mpi" in horovodrun_command("h", Horovod(backend="mpi"), "py", "s", "o")
    nccl = horovodrun_command("h", Horovod(backend="nccl"), "py", "s", "o")
    assert "--gloo" not in nccl and "--mpi" not in nccl


def test_horovodrun_without_an_importable_horovod_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The situation on this machine: a horovodrun script, but horovod does not import."""
    try:
        import horovod  # noqa: F401

        pytest.skip("horovod imports here")
    except ImportError:
        pass
    fake = tmp_path / "horovodrun"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_horovodrun() is None


# A stand-in for horovodrun's gloo launcher (horovod cannot be installed here): it starts the
# ranks with the HOROVOD_* names horovod/runner/gloo_run.py sets and prefixes lines as it does.
_STAND_IN = """\
    import os, subprocess, sys
    args = sys.argv[1:]
    np = int(args[args.index("-np") + 1])
    command = args[args.index("--gloo") + 1:]
    procs = []
    for rank in range(np):
        env = dict(os.environ, HOROVOD_RANK=str(rank), HOROVOD_SIZE=str(np),
                   HOROVOD_LOCAL_RANK=str(rank), HOROVOD_LOCAL_SIZE=str(np))
        procs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
    codes = []
    for rank, proc in enumerate(procs):
        for line in proc.stdout:
            print(f"[{rank}]<stdout>:{line}", end="")
        codes.append(proc.wait())
    sys.exit(max(codes))
"""


@pytest.mark.integration
def test_under_horovodrun_ranks_read_horovods_names_and_rank_0_answers(tmp_path: Path) -> None:
    script = tmp_path / "horovodrun"
    script.write_text(f"#!{sys.executable}\n" + textwrap.dedent(_STAND_IN))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    step = Step(component=environment.spec, task="environment")
    attempt = HorovodRuntime(horovodrun=str(script)).run(step, 60, Session())
    assert attempt.ok, attempt.error
    assert attempt.outcome is not None and attempt.outcome.values == {"output": "0"}
    assert "[1]<stdout>:RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 LOCAL_WORLD_SIZE=2" in attempt.stdout


def test_launcher_rank_names_become_torch_names() -> None:
    ompi = {"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "4"}
    assert rank_environment(ompi) == {"RANK": "3", "WORLD_SIZE": "4"}
    assert rank_environment({"HOROVOD_RANK": "1", "HOROVOD_LOCAL_SIZE": "2"}) == {
        "RANK": "1",
        "LOCAL_WORLD_SIZE": "2",
    }
    assert rank_environment({"RANK": "0", "OMPI_COMM_WORLD_RANK": "5"}) == {}


def test_the_mpijob_rank_shim_gives_each_rank_torch_names() -> None:
    """The launcher wraps the step's command in this shell snippet, run here by a real sh."""
    env = {
        **os.environ,
        "OMPI_COMM_WORLD_RANK": "2",
        "OMPI_COMM_WORLD_SIZE": "4",
        "OMPI_COMM_WORLD_LOCAL_RANK": "0",
        "OMPI_COMM_WORLD_LOCAL_SIZE": "2",
    }
    show = "import os; print([os.environ[n] for n in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', " + (
        "'LOCAL_WORLD_SIZE')], os.sys.argv[1:])"
    )
    out = subprocess.run(
        ["sh", "-c", RANK_SHIM, "dagwright-rank", sys.executable, "-c", show, "a b"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == "['2', '4', '0', '2'] ['a b']\n"


def _launch(hostfile: Path | None) -> subprocess.CompletedProcess[str]:
    """The compiled launcher command up to mpirun, with ``python`` standing in for mpirun."""
    env = {k: v for k, v in os.environ.items() if k != "MASTER_ADDR"}
    if hostfile is not None:
        env["OMPI_MCA_orte_default_hostfile"] = str(hostfile)
    show = "import os, sys; print(os.environ['MASTER_ADDR'], sys.argv[1:])"
    return subprocess.run(
        ["sh", "-c", MASTER_SHIM, "dagwright-launcher", sys.executable, "-c", show, "x"],
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_launcher_reads_master_addr_from_the_operators_hostfile(tmp_path: Path) -> None:
    """The MPI operator (v2beta1) writes ``<job>-worker-i.<job>.<ns>.svc slots=N`` lines to
    /etc/mpi/hostfile and names it in OMPI_MCA_orte_default_hostfile; the job's name there is
    the one the target gave it (Argo's generateName, the KFP launcher's suffix)."""
    hostfile = tmp_path / "hostfile"
    hostfile.write_text(
        "# written by the operator\n\n"
        "train-x7k2p-worker-0.train-x7k2p.ns.svc slots=2\n"
        "train-x7k2p-worker-1.train-x7k2p.ns.svc slots=2\n"
    )
    done = _launch(hostfile)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "train-x7k2p-worker-0.train-x7k2p.ns.svc ['x']\n"
    hostfile.write_text("")
    empty = _launch(hostfile)
    assert empty.returncode == 1 and "no host in the MPI hostfile" in empty.stderr
    missing = _launch(tmp_path / "absent")
    assert missing.returncode != 0 and missing.stdout == ""


def test_a_horovodrun_that_cannot_start_fails_the_step(tmp_path: Path) -> None:
    step = Step(component=environment.spec, task="environment")
    attempt = HorovodRuntime(horovodrun=str(tmp_path / "no-horovodrun")).run(step, 10, Session())
    assert not attempt.ok
    assert (attempt.error or "").startswith("FileNotFoundError: could not start horovodrun")


def test_ranks_that_cannot_start_fail_the_step_not_the_run(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Popen OSError (here: the rank's python is missing) used to escape the run."""
    if find_horovodrun() is not None:
        pytest.skip("horovodrun runs the ranks here")

    @pipeline
    def p() -> str:
        return environment().output

    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    result = run(p)  # returns: nothing escapes the run
    record = result.step("environment")
    assert result.status == "failed" and record.status == "failed"
    assert (record.error or "").startswith("FileNotFoundError: could not start rank 0")


POD = PodStep(
    name="train",
    image="registry.example/train:1",
    command=["python", "-m", "dagwright.executor", "--step", "{{inputs.parameters.step}}"],
    env={"DAGWRIGHT_TRACKING": "off"},
    resources={"limits": {"cpu": "2", "memory": "4Gi"}},
)


def test_the_mpijob_fragment_matches_the_operators_crd() -> None:
    fragments = runtime_for(Horovod(np=3, slots_per_worker=2)).fragments(
        Horovod(np=3, slots_per_worker=2), POD
    )
    manifest = fragments.resource
    assert manifest is not None
    crd.validate(manifest, crd.MPI)
    assert manifest["apiVersion"] == "kubeflow.org/v2beta1" and manifest["kind"] == "MPIJob"
    assert manifest["metadata"] == {"name": "train"}
    spec = manifest["spec"]
    assert spec["slotsPerWorker"] == 2 and spec["runPolicy"]["cleanPodPolicy"] == "Running"
    launcher = spec["mpiReplicaSpecs"]["Launcher"]
    worker = spec["mpiReplicaSpecs"]["Worker"]
    assert launcher["replicas"] == 1 and worker["replicas"] == 2  # ceil(3 ranks / 2 slots)
    command = launcher["template"]["spec"]["containers"][0]["command"]
    mpirun = command.index("mpirun")
    assert command[mpirun : mpirun + 4] == ["mpirun", "--allow-run-as-root", "-np", "3"]
    assert command[-len(POD.command) :] == POD.command
    # MASTER_ADDR is read from the operator's hostfile when the launcher runs, whatever name
    # the target gave the MPIJob; mpirun forwards it from the launcher's environment
    assert command[:4] == ["sh", "-c", MASTER_SHIM, "dagwright-launcher"]
    assert "-x" in command and "MASTER_ADDR" in command and "DAGWRIGHT_TRACKING" in command
    assert not any("train-worker" in part for part in command)
    (box,) = worker["template"]["spec"]["containers"]
    assert box["image"] == POD.image and box["resources"] == POD.resources
    assert box["env"] == [{"name": "DAGWRIGHT_TRACKING", "value": "off"}]
    assert fragments.success_condition == "status.replicaStatuses.Launcher.succeeded > 0"
    assert fragments.failure_condition == "status.replicaStatuses.Launcher.failed > 0"
    assert fragments.container == {} and fragments.pod == {}


def test_one_rank_per_worker_by_default() -> None:
    manifest = mpijob(Horovod(np=4), POD)
    assert manifest["spec"]["mpiReplicaSpecs"]["Worker"]["replicas"] == 4


@pytest.mark.parametrize(
    "path, value, field",
    [
        (("spec", "slotsPerWorker"), "two", "spec.slotsPerWorker"),
        (
            ("spec", "mpiReplicaSpecs", "Worker", "replica"),
            2,
            "spec.mpiReplicaSpecs.Worker.replica",
        ),
    ],
    ids=["wrong-type", "unknown-key"],
)
def test_a_broken_mpijob_is_refused(path: tuple[str, ...], value: Any, field: str) -> None:
    manifest = json.loads(json.dumps(mpijob(Horovod(), POD)))
    node = manifest
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError) as caught:
        crd.validate(manifest, crd.MPI)
    assert caught.value.field == field


# k8s.io/apimachinery's label-selector grammar, which Argo parses the conditions with
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


@pytest.mark.parametrize("condition", [SUCCESS_CONDITION, FAILURE_CONDITION])
def test_conditions_name_integer_status_fields_of_the_crd(condition: str) -> None:
    """Argo reads each key as a gjson path into the resource and compares it as an integer."""
    key, operator, value = condition.split(" ")
    assert operator == ">" and value.isdigit()
    assert len(key) <= 63 and _QUALIFIED_NAME.fullmatch(key)
    node = crd.schema_of(crd.MPI, "v2beta1")
    for part in key.split("."):  # "Launcher" is a key of the replicaStatuses map
        properties = node.get("properties", {})
        node = properties[part] if part in properties else node["additionalProperties"]
    assert node["type"] == "integer"


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"np": 0}, "np"),
        ({"backend": "tcp"}, "backend"),
        ({"slots_per_worker": -1}, "slots_per_worker"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Horovod(**settings)
    assert caught.value.field == field and caught.value.fix


def test_in_pod_provides_nothing() -> None:
    with HorovodRuntime().in_pod(Horovod()) as provided:
        assert provided == {}
    assert isinstance(runtime_for(Horovod()), HorovodRuntime)
