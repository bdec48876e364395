"""A Dask step on a worker gets its variables in the task's arguments (``dask.on_worker``): a
Secret among them travels to the scheduler and workers. Over ``tcp://`` that is cleartext on
the network, so a local run refuses it before anything runs; ``tls://``, ``inproc://``, the
run's own LocalCluster and a step that takes ``client`` (it runs here) are let through."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import dagwright
from dagwright import Secret, ValidationError, component, pipeline
from dagwright._run_checks import check_secrets_sent
from dagwright.runtimes import Dask

VAR = "DW_TRANSPORT_TOKEN"
VALUE = "transport-Tok3n-value-5d1e"


def _closed_port() -> int:
    """A loopback port nothing listens on: a run that got past the check fails to connect."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pipeline(runtime: Dask, *, takes_client: bool = False, secret: bool = True) -> object:
    secrets = [Secret("api", "token", env=VAR)] if secret else []
    if takes_client:

        @component(runtime=runtime, secrets=secrets)
        def step(client: object = None) -> int:
            return 1

    else:

        @component(runtime=runtime, secrets=secrets)
        def step() -> int:
            return 1

    @pipeline
    def p() -> int:
        return step().output

    return p


def test_a_secret_for_a_tcp_dask_scheduler_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VAR, VALUE)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(ValidationError) as caught:
        dagwright.run(_pipeline(Dask(address=address)), echo=False, root=tmp_path, lineage=False)
    assert caught.value.field == "runtime.address"
    assert address in str(caught.value) and "api/token" in str(caught.value)
    assert caught.value.fix is not None
    assert "tls://" in caught.value.fix and "runtime=Process()" in caught.value.fix
    assert VALUE not in str(caught.value)


@pytest.mark.parametrize(
    ("runtime", "takes_client", "secret"),
    [
        (Dask(address="tls://scheduler.example:8786"), False, True),
        (Dask(address="wss://scheduler.example:8786"), False, True),
        (Dask(address="inproc://10.1.2.3/1234/1"), False, True),
        (Dask(workers=1), False, True),  # the run's own LocalCluster
        (Dask(address="tcp://scheduler.example:8786"), True, True),  # runs here, with client
        (Dask(address="tcp://scheduler.example:8786"), False, False),  # no Secret to send
    ],
    ids=["tls", "wss", "inproc", "local-cluster", "client", "no-secret"],
)
def test_what_keeps_a_secret_off_the_network_is_let_through(
    runtime: Dask, takes_client: bool, secret: bool
) -> None:
    p = _pipeline(runtime, takes_client=takes_client, secret=secret)
    check_secrets_sent(p.build())  # type: ignore[attr-defined]


@pytest.mark.parametrize("scheme", ["tcp", "ws", "ucx"])
def test_an_unencrypted_address_is_refused_by_the_check_itself(scheme: str) -> None:
    p = _pipeline(Dask(address=f"{scheme}://scheduler.example:8786"))
    with pytest.raises(ValidationError, match="unencrypted"):
        check_secrets_sent(p.build())  # type: ignore[attr-defined]


def test_a_real_tcp_cluster_runs_the_step_only_without_its_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A LocalCluster of worker processes listening on tcp:// (as a remote one would): the step
    with a Secret is refused before anything is sent; the same step without one runs there."""
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    monkeypatch.setenv(VAR, VALUE)
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=":0",
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        with pytest.raises(ValidationError) as caught:
            dagwright.run(
                _pipeline(Dask(address=address)), echo=False, root=tmp_path, lineage=False
            )
        assert caught.value.field == "runtime.address"
        result = dagwright.run(
            _pipeline(Dask(address=address), secret=False),
            echo=False,
            root=tmp_path,
            lineage=False,
        )
        assert result.status == "succeeded", result.steps[0].error
