"""The Dask runtime on real ``distributed.LocalCluster``s, and the DaskJob it compiles to.

Most tests share one cluster that the module starts and reaches through ``Dask(address=...)``;
the lifecycle tests start their own. No Kubernetes API or Dask operator runs here: the DaskJob
is checked against the fields the operator documents and requires (its CRD ships no schema,
it keeps unknown fields), and its pod specs are read back through the kubernetes client's own
``V1PodSpec`` model, so a misspelled or misplaced key fails the round trip.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from dagwright import Dataset, Input, Output, Pipeline, component
from dagwright.errors import ValidationError
from dagwright.executor import Step, run_step
from dagwright.runtimes import Dask, PodStep, Session, runtime_for
from dagwright.runtimes.dask import CLOSED, MAX_JOB_NAME, DaskRuntime, k8s_memory
from dagwright.runtimes.fragments import INSTANCE, INSTANCE_LABEL


@dataclass
class Owned:
    """A cluster the test module started, with its own client."""

    address: str
    client: Any

    def workers(self) -> set[str]:
        return set(self.client.scheduler_info()["workers"])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Owned]:
    """Two single-threaded worker processes, shared by the tests not about lifecycle."""
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as started:
        with Client(started, set_as_default=False) as client:
            yield Owned(started.scheduler_address, client)


def refuses_connections(address: str, wait: float = 10.0) -> bool:
    """Whether nothing listens at a ``tcp://host:port`` address any more (polled a while)."""
    url = urlparse(address)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            socket.create_connection((url.hostname, url.port), timeout=0.5).close()
        except OSError:
            return True
        time.sleep(0.1)
    return False


def gone(pid: int, wait: float = 10.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@component(runtime=Dask(workers=2))
def scheduler_of(client: Any, tag: str) -> str:
    """Two of these in one run must see the same scheduler."""
    return json.dumps(
        {
            "address": client.scheduler.address,
            "workers": len(client.scheduler_info()["workers"]),
            "pids": sorted(client.run(os.getpid).values()),
        }
    )


@pytest.mark.integration
def test_the_steps_of_a_run_share_one_local_cluster_closed_when_the_run_ends(run: Any) -> None:
    p = Pipeline("shared")
    p.output("a", p.add(scheduler_of, tag="a").output)  # independent: they may start together
    p.output("b", p.add(scheduler_of, tag="b").output)
    result = run(p, lineage=False)
    assert result.succeeded, [s.error for s in result.steps]
    a, b = json.loads(result.outputs["a"]), json.loads(result.outputs["b"])
    assert a == b  # one scheduler, the same worker processes
    assert a["workers"] == 2 and len(a["pids"]) == 2 and os.getpid() not in a["pids"]
    assert refuses_connections(a["address"]), "the scheduler still listens after the run"
    assert all(gone(pid) for pid in a["pids"]), "a worker process outlived the run"


@pytest.mark.integration
def test_a_session_kept_by_the_caller_keeps_the_cluster_until_it_closes(run: Any) -> None:
    @component(runtime=Dask(workers=1))
    def address(client: Any) -> str:
        return str(client.scheduler.address)

    p = Pipeline("kept")
    p.output("out", p.add(address).output)
    session = Session()
    first = run(p, lineage=False, session=session).outputs["out"]
    second = run(p, lineage=False, session=session).outputs["out"]
    assert first == second
    assert not refuses_connections(first, wait=0.2)
    session.close()
    assert refuses_connections(first)


@pytest.mark.integration
def test_address_uses_the_given_cluster_and_leaves_it_running(cluster: Owned, run: Any) -> None:
    @component(runtime=Dask(address=cluster.address))
    def count(client: Any, n: int) -> int:
        return int(client.submit(sum, range(n)).result())

    p = Pipeline("external")
    p.output("out", p.add(count, n=10).output)
    result = run(p, lineage=False)
    assert result.outputs == {"out": 45}
    assert cluster.client.submit(lambda: 7).result(timeout=10) == 7  # still serving
    assert len(cluster.workers()) == 2


def test_client_is_injected_and_is_not_an_input() -> None:
    @component(runtime=Dask())
    def total(client: Any, n: int) -> int:
        return n

    @component(runtime=Dask())
    def plain(n: int) -> int:
        return n

    assert [i.name for i in total.spec.inputs] == ["n"]
    assert total.spec.injected == ["client"]
    assert plain.spec.injected == [] and [i.name for i in plain.spec.inputs] == ["n"]
    assert isinstance(runtime_for(Dask()), DaskRuntime)


@pytest.mark.integration
def test_a_function_without_client_runs_on_a_worker_and_its_artifacts_flow_on(
    cluster: Owned, run: Any
) -> None:
    @component(runtime=Dask(address=cluster.address))
    def where(data: Output[Dataset]) -> str:
        from distributed import get_worker

        print("working on", get_worker().address)
        with open(data.path, "w") as f:
            f.write(str(os.getpid()))
        return str(get_worker().address)

    @component
    def read(data: Input[Dataset]) -> int:
        with open(data.path) as f:
            return int(f.read())

    p = Pipeline("on-worker")
    task = p.add(where)
    p.output("worker", task.output)
    p.output("pid", p.add(read, data=task.outputs["data"]).output)
    result = run(p, lineage=False)
    assert result.succeeded, [s.error for s in result.steps]
    assert result.outputs["worker"] in cluster.workers()
    assert result.outputs["pid"] != os.getpid()
    assert f"working on {result.outputs['worker']}" in (result.step("where").stdout or "")


@pytest.mark.integration
def test_a_failing_step_is_reported_with_its_error_and_traceback(cluster: Owned, run: Any) -> None:
    address = cluster.address

    @component(runtime=Dask(address=address))
    def broken_on_worker(n: int) -> int:
        print("about to fail")
        raise ValueError(f"bad row {n}")

    @component(runtime=Dask(address=address))
    def broken_with_client(client: Any, n: int) -> int:
        return int(client.submit(lambda: 1 / 0).result())

    p = Pipeline("failing")
    p.add(broken_on_worker, n=7)
    p.add(broken_with_client, n=1)
    result = run(p, lineage=False, keep_going=True)
    assert result.status == "failed"
    worker = result.step("broken-on-worker")
    assert worker.status == "failed" and worker.error == "ValueError: bad row 7"
    assert "broken_on_worker" in (worker.traceback or "")
    assert "about to fail" in (worker.stdout or "")
    with_client = result.step("broken-with-client")
    assert with_client.status == "failed"
    assert (with_client.error or "").startswith("ZeroDivisionError")


@pytest.mark.integration
def test_a_late_step_times_out_and_publishes_nothing_when_it_finishes(
    cluster: Owned, tmp_path: Path
) -> None:
    marker = tmp_path / "finished"

    @component(runtime=Dask(address=cluster.address), timeout=0.5)
    def slow(marker: str, data: Output[Dataset]) -> None:
        time.sleep(2)
        with open(data.path, "w") as f:
            f.write("late")
        with open(marker, "w") as f:
            f.write("done")

    target = tmp_path / "out" / "data"
    step = Step(slow.spec, "slow", {"marker": str(marker)}, outputs={"data": str(target)})
    with Session() as session:
        started = time.monotonic()
        attempt = DaskRuntime().run(step, 0.5, session)
        waited = time.monotonic() - started
    assert not attempt.ok
    assert (attempt.error or "").startswith("TimeoutError: step 'slow' did not finish within 0.5 s")
    assert waited < 1.8
    deadline = time.monotonic() + 15
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "the abandoned task never ran to its end"
    time.sleep(0.5)  # past the moment it would publish
    assert not target.exists()
    assert not list(target.parent.glob("*")), "a partial output was left behind"


@pytest.mark.integration
def test_a_timed_out_steps_flag_is_dropped_once_its_task_has_read_it(
    cluster: Owned, tmp_path: Path
) -> None:
    marker = tmp_path / "finished"

    @component(runtime=Dask(address=cluster.address), timeout=0.5)
    def late(marker: str) -> None:
        time.sleep(1.5)
        with open(marker, "w") as f:
            f.write("done")

    def flags(dask_scheduler: Any) -> list[str]:
        events = dask_scheduler.extensions["events"]._events
        return [str(name) for name in events if str(name).startswith("dagwright-abandoned-")]

    step = Step(late.spec, "late", {"marker": str(marker)})
    with Session() as session:
        attempt = DaskRuntime().run(step, 0.5, session)
    assert (attempt.error or "").startswith("TimeoutError")
    assert cluster.client.run_on_scheduler(flags), "the timeout raised no flag"
    deadline = time.monotonic() + 15
    while cluster.client.run_on_scheduler(flags) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists()
    assert cluster.client.run_on_scheduler(flags) == []


@pytest.mark.integration
def test_a_step_that_closes_the_runs_client_fails_the_next_steps_not_the_run(
    cluster: Owned, run: Any
) -> None:
    @component(runtime=Dask(address=cluster.address))
    def closer(client: Any) -> int:
        client.close()
        return 1

    @component(runtime=Dask(address=cluster.address))
    def on_worker(n: int) -> int:
        return n + 1

    @component(runtime=Dask(address=cluster.address))
    def with_client(client: Any, n: int) -> int:
        return n

    p = Pipeline("closed")
    first = p.add(closer)
    p.output("a", p.add(on_worker, n=first.output).output)
    p.output("b", p.add(with_client, n=first.output).output)
    result = run(p, lineage=False)  # returns: no exception escapes the run
    assert result.step("closer").status == "succeeded"
    for task in ("on-worker", "with-client"):
        record = result.step(task)
        assert record.status == "failed"
        assert record.error == CLOSED
        assert "closed by a step" in CLOSED


@pytest.mark.integration
def test_an_unreachable_scheduler_fails_the_step_not_the_run(run: Any) -> None:
    import dask

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    @component(runtime=Dask(address=f"tcp://127.0.0.1:{port}"))
    def lost(n: int) -> int:
        return n

    p = Pipeline("unreachable")
    p.output("out", p.add(lost, n=1).output)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = run(p, lineage=False)
    record = result.step("lost")
    assert record.status == "failed"
    assert f"could not reach Dask (tcp://127.0.0.1:{port})" in (record.error or "")


@pytest.mark.integration
def test_in_a_pod_the_client_comes_from_the_operators_address(
    cluster: Owned, monkeypatch: pytest.MonkeyPatch
) -> None:
    @component(runtime=Dask())
    def address(client: Any) -> str:
        return str(client.scheduler.address)

    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.address)
    step = Step(address.spec, "address")
    assert run_step(step).values == {"output": cluster.address}  # provided=None: a pod


@pytest.mark.integration
def test_in_a_pod_without_an_address_a_local_cluster_lives_for_the_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @component(runtime=Dask(workers=1))
    def inside(client: Any) -> str:
        return json.dumps([client.scheduler.address, len(client.scheduler_info()["workers"])])

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    address, workers = json.loads(run_step(Step(inside.spec, "inside")).values["output"])
    assert workers == 1
    assert refuses_connections(address)


POD = PodStep(
    name="crunch",
    image="registry.example/project:1",
    command=["python", "-m", "dagwright.executor", "--step", "{{inputs.parameters.step}}"],
    env={"DAGWRIGHT_TRACKING": "off"},
    resources={"requests": {"cpu": "1"}},
)


def test_with_an_address_a_compiled_step_is_a_normal_pod_pointed_at_it() -> None:
    fragments = DaskRuntime().fragments(Dask(address="tcp://dask.example:8786"), POD)
    assert fragments.resource is None and fragments.pod == {}
    assert fragments.container == {
        "env": [{"name": "DASK_SCHEDULER_ADDRESS", "value": "tcp://dask.example:8786"}]
    }


def as_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec read into the kubernetes client's V1PodSpec and written back."""
    from kubernetes.client import ApiClient

    class Response:
        data = json.dumps(spec)

    api = ApiClient()
    return dict(api.sanitize_for_serialization(api.deserialize(Response(), "V1PodSpec")))


def test_without_an_address_a_compiled_step_becomes_a_daskjob() -> None:
    """Required fields from the operator's docs and templates.yaml: spec.job.spec (a PodSpec),
    spec.cluster.spec.{scheduler: {spec, service}, worker: {replicas, spec}}; status values
    from its controller."""
    config = Dask(workers=3, threads_per_worker=2, memory_limit="2GiB")
    fragments = DaskRuntime().fragments(config, POD)
    job = fragments.resource
    assert job is not None
    assert job["apiVersion"] == "kubernetes.dask.org/v1" and job["kind"] == "DaskJob"
    assert job["metadata"] == {"name": "crunch"}
    assert set(job["spec"]) == {"job", "cluster"}
    assert fragments.success_condition == "status.jobStatus == Successful"
    assert fragments.failure_condition == "status.jobStatus == Failed"

    job_spec = job["spec"]["job"]["spec"]
    assert as_pod_spec(job_spec) == job_spec
    assert job_spec["restartPolicy"] == "Never"  # a failed step fails the DaskJob
    (runner,) = job_spec["containers"]
    assert runner["image"] == POD.image and runner["command"] == POD.command
    assert runner["env"] == [{"name": "DAGWRIGHT_TRACKING", "value": "off"}]
    assert runner["resources"] == POD.resources
    # the operator adds the scheduler's address only when the container does not set one
    assert all(e["name"] != "DASK_SCHEDULER_ADDRESS" for e in runner["env"])

    cluster = job["spec"]["cluster"]["spec"]
    assert set(cluster) == {"scheduler", "worker"}
    worker = cluster["worker"]
    assert worker["replicas"] == 3
    assert as_pod_spec(worker["spec"]) == worker["spec"]
    (container,) = worker["spec"]["containers"]
    assert container["image"] == POD.image
    args = container["args"]
    assert args[:2] == ["dask", "worker"]
    assert args[args.index("--nthreads") + 1] == "2"
    assert args[args.index("--memory-limit") + 1] == "2GiB"
    assert container["resources"]["limits"] == {"memory": "2Gi"}

    scheduler = cluster["scheduler"]
    assert set(scheduler) == {"metadata", "spec", "service"}
    assert as_pod_spec(scheduler["spec"]) == scheduler["spec"]
    assert scheduler["spec"]["containers"][0]["args"] == ["dask", "scheduler"]
    service = scheduler["service"]
    # the target names the DaskJob (hence the operator's cluster) when it creates it, so the
    # selector picks the scheduler by a label the target fills per resource, which the
    # operator copies from scheduler.metadata.labels onto the scheduler's pod
    assert service["selector"] == {INSTANCE_LABEL: INSTANCE, "dask.org/component": "scheduler"}
    assert scheduler["metadata"] == {"labels": {INSTANCE_LABEL: INSTANCE}}
    assert {(p["name"], p["port"]) for p in service["ports"]} == {
        ("tcp-comm", 8786),
        ("http-dashboard", 8787),
    }


def test_a_step_name_too_long_for_the_operator_is_refused() -> None:
    long = PodStep(name="s" * (MAX_JOB_NAME + 1), image="img", command=["true"])
    with pytest.raises(ValidationError, match="at most 53") as info:
        DaskRuntime().fragments(Dask(), long)
    assert info.value.field == "name"
    ok = PodStep(name="s" * MAX_JOB_NAME, image="img", command=["true"])
    assert DaskRuntime().fragments(Dask(), ok).resource is not None


@pytest.mark.parametrize(
    ("dask", "k8s"),
    [("2GiB", "2Gi"), ("2Gi", "2Gi"), ("512 MB", "512M"), ("1.5kB", "1.5k"), ("1000", "1000")],
)
def test_memory_sizes_become_kubernetes_quantities(dask: str, k8s: str) -> None:
    from dask.utils import parse_bytes

    assert k8s_memory(dask) == k8s
    assert parse_bytes(dask) > 0  # and Dask reads the original


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"workers": 0}, "workers"),
        ({"workers": True}, "workers"),
        ({"threads_per_worker": "2"}, "threads_per_worker"),
        ({"address": "localhost:8786"}, "address"),
        ({"address": "foo://"}, "address"),
        ({"address": "http://scheduler:8786"}, "address"),
        ({"address": "tcp://"}, "address"),
        ({"memory_limit": "lots"}, "memory_limit"),
        ({"memory_limit": 2_000_000_000}, "memory_limit"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        Dask(**settings)
    assert info.value.field == field
    assert info.value.fix


@pytest.mark.parametrize(
    "address", ["tcp://scheduler:8786", "tls://10.0.0.1:8786", "ws://h:8786", "inproc://h/1/2"]
)
def test_addresses_of_distributeds_comm_schemes_are_accepted(address: str) -> None:
    from distributed.comm.registry import backends

    assert Dask(address=address).address == address
    assert address.partition("://")[0] in backends
