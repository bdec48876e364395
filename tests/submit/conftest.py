"""The KFP API and argo-server stand-ins for the submission tests, a package made by the KFP
SDK itself and Argo manifests made by Hera itself.

No KFP backend and no Argo server can run here: the stand-ins (``kfp_api_server.py``,
``argo_server.py``) check every request against the upstream KFP v2beta1 and Argo Workflows
v4.1.2 swaggers in ``tests/schemas``.
"""

# no `from __future__ import annotations`: kfp.dsl reads the component's annotations as types

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argo_server import ArgoServer
from kfp_api_server import KfpApiServer


@pytest.fixture
def kfp_server() -> Iterator[KfpApiServer]:
    """A fresh stand-in per test: runs report RUNNING twice, then SUCCEEDED."""
    with KfpApiServer(running_polls=2) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_outside_kfp_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No token, endpoint, OAuth client or kfp context of the machine running the tests."""
    import kfp

    for name in list(os.environ):
        if name.startswith("KF_PIPELINES_") or name == "KFP_TOKEN":
            monkeypatch.delenv(name)
    # a pod's projected service-account token would otherwise be sent
    monkeypatch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(tmp_path / "no-token-here"))
    monkeypatch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(tmp_path / "kfp-context.json"))


@pytest.fixture(scope="session")
def sdk_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KFP package compiled by the KFP SDK from a tiny ``kfp.dsl`` pipeline."""
    from kfp import compiler, dsl

    @dsl.component(base_image="python:3.11")
    def shout(word: str, times: int) -> str:
        return word.upper() * times

    @dsl.pipeline(name="tiny")
    def tiny(word: str = "hi", times: int = 2) -> None:
        first = shout(word=word, times=times)
        shout(word=first.output, times=1)

    path = tmp_path_factory.mktemp("sdk") / "tiny.yaml"
    compiler.Compiler().compile(tiny, str(path))
    return path


# --- Argo Workflows -----------------------------------------------------------------------------


@pytest.fixture
def argo_server() -> Iterator[ArgoServer]:
    """A fresh argo-server stand-in per test: workflows report Pending, Running twice, then
    Succeeded."""
    with ArgoServer(running_polls=2) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_outside_argo_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No argo-server, namespace or token of the machine running the tests."""
    for name in ("ARGO_SERVER", "ARGO_SECURE", "ARGO_NAMESPACE", "ARGO_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def hera_manifest(tmp_path: Path) -> Callable[..., Path]:
    """Writes an Argo manifest built with Hera itself (not by dagwright's compiler): a DAG of
    two container steps, ``prepare`` then ``report``, with parameters ``rows`` and ``label``.

    Call it with the Hera class (Workflow, WorkflowTemplate, CronWorkflow) and its fields;
    ``edit`` may change the manifest's dict before it is written.
    """
    import yaml
    from hera.workflows import DAG, Container, Parameter

    def write(cls: type, edit: Callable[[dict], None] | None = None, **fields: object) -> Path:
        params = [Parameter(name="rows", value="10"), Parameter(name="label", value="nightly")]
        with cls(entrypoint="main", arguments=params, **fields) as built:
            step = Container(name="step", image="python:3.11-slim", command=["true"])
            with DAG(name="main"):
                step(name="prepare") >> step(name="report")
        manifest = built.to_dict()
        if edit is not None:
            edit(manifest)
        path = tmp_path / f"{cls.__name__}.yaml"
        path.write_text(yaml.safe_dump(manifest), encoding="utf-8")
        return path

    return write
