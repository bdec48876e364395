"""A Local step's Secret is in this process's environment while it runs: no other in-process
step may run then and read it. Real runs with two worker threads; a step that timed out holding
a Secret does not hold up the steps after it, nor leave its Secret to them."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import dagwright
from dagwright import Secret, component, pipeline

VAR = "DW_ISOLATION_TOKEN"
VALUE = "iso-Tok3n-value-91c2"


@pytest.fixture(autouse=True)
def _no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)


@component(secrets=[Secret("api", "token", env=VAR)])
def holder(log: str) -> int:
    """Hold the Secret for a while, noting when it ran."""
    start = time.time()
    length = len(os.environ[VAR])
    time.sleep(0.8)
    _note(log, "holder", start)
    return length


@component
def reader(log: str) -> str:
    """Look at the environment repeatedly while it runs: what it saw of the Secret."""
    start = time.time()
    seen = set()
    for _ in range(8):
        seen.add(os.environ.get(VAR, "unset"))
        time.sleep(0.1)
    _note(log, "reader", start)
    return ",".join(sorted(seen))


def _note(log: str, who: str, start: float) -> None:
    with open(log, "a", encoding="utf-8") as f:
        f.write(json.dumps([who, start, time.time()]) + "\n")


def _secrets(tmp_path: Path) -> Path:
    path = tmp_path / "secrets.env"
    path.write_text(f"{VAR}={VALUE}\n", encoding="utf-8")
    return path


def test_a_step_beside_a_secret_holder_never_sees_its_secret(tmp_path: Path) -> None:
    @pipeline
    def side_by_side(log: str) -> str:
        holder(log=log)
        return reader(log=log).output

    log = tmp_path / "times.jsonl"
    result = dagwright.run(
        side_by_side,
        {"log": str(log)},
        echo=False,
        root=tmp_path / "store",
        parallelism=2,
        secrets_file=_secrets(tmp_path),
        lineage=False,
    )
    assert result.status == "succeeded"
    assert result.step("holder").outputs == {"output": len(VALUE)}
    assert result.step("reader").outputs == {"output": "unset"}
    spans = {
        who: (start, end) for who, start, end in map(json.loads, log.read_text().split("\n")[:-1])
    }
    (a0, a1), (b0, b1) = spans["holder"], spans["reader"]
    assert a1 <= b0 or b1 <= a0  # one after the other, never side by side
    assert VAR not in os.environ


@component(secrets=[Secret("api", "token", env=VAR)], timeout=0.5)
def stuck(release: str) -> int:
    """Time out holding the Secret; its thread runs on until the test releases it."""
    while not os.path.exists(release):
        time.sleep(0.05)
    return 0


@component
def later() -> str:
    return os.environ.get(VAR, "unset")


def test_an_abandoned_secret_holder_neither_blocks_nor_reaches_later_steps(
    tmp_path: Path,
) -> None:
    @pipeline
    def after_timeout(release: str) -> str:
        first = stuck(release=release)
        return later().after(first).ignore_upstream_failure().output

    release = tmp_path / "release"
    try:
        result = dagwright.run(
            after_timeout,
            {"release": str(release)},
            echo=False,
            root=tmp_path / "store",
            parallelism=2,
            secrets_file=_secrets(tmp_path),
            lineage=False,
        )
        # the stuck thread still runs (not released yet), and yet the later step ran
        assert result.step("stuck").status == "failed"
        assert "TimeoutError" in (result.step("stuck").error or "")
        assert result.step("later").status == "succeeded"
        assert result.step("later").outputs == {"output": "unset"}
        assert VAR not in os.environ
    finally:
        release.write_text("")


def test_a_timed_out_secret_holder_leaves_no_secret_behind_it(tmp_path: Path) -> None:
    """The last step of a run times out holding its Secret: once the engine stops waiting, the
    Secret is out of this process's environment, though the step's thread still runs."""
    from dagwright.executor import Step
    from dagwright.runtimes.local import run_local

    release = tmp_path / "release"
    step = Step(stuck.spec, "stuck", {"release": str(release)}, env={VAR: VALUE})
    try:
        attempt = run_local(step, 0.3)
        assert attempt.error is not None and attempt.error.startswith("TimeoutError")
        assert VAR not in os.environ
    finally:
        release.write_text("")


@component(secrets=[Secret("api", "token", env=VAR)])
def long_holder() -> int:
    time.sleep(3)
    return len(os.environ[VAR])


def test_a_dask_cluster_started_beside_a_secret_holder_does_not_inherit_it(
    tmp_path: Path,
) -> None:
    """The Dask step's LocalCluster starts while a Local step holds its Secret: its worker
    processes would inherit this process's environment, so the start waits for the holder."""
    pytest.importorskip("distributed")
    from dagwright.runtimes import Dask

    @component(runtime=Dask(workers=1))
    def on_a_worker() -> str:
        return os.environ.get(VAR, "unset")

    @pipeline
    def beside() -> str:
        long_holder()
        return on_a_worker().output

    result = dagwright.run(
        beside,
        echo=False,
        root=tmp_path / "store",
        parallelism=2,
        secrets_file=_secrets(tmp_path),
        lineage=False,
    )
    assert result.status == "succeeded"
    assert result.step("on-a-worker").outputs == {"output": "unset"}


def test_a_dask_step_on_a_worker_gets_its_own_variables(tmp_path: Path) -> None:
    """A Dask step without ``client`` runs on a worker process: its Secret and variables go
    with it there (not in its step data), as a Local step's are set here."""
    pytest.importorskip("distributed")
    from dagwright.runtimes import Dask

    @component(
        runtime=Dask(workers=1), secrets=[Secret("api", "token", env=VAR)], env={"DW_M": "1"}
    )
    def uses_it() -> str:
        return f"{len(os.environ[VAR])}:{os.environ['DW_M']}"

    @pipeline
    def on_worker() -> str:
        return uses_it().output

    result = dagwright.run(
        on_worker,
        echo=False,
        root=tmp_path / "store",
        secrets_file=_secrets(tmp_path),
        lineage=False,
    )
    assert result.status == "succeeded", result.steps[0].error
    assert result.step("uses-it").outputs == {"output": f"{len(VALUE)}:1"}
