"""The KFP API stand-in for the submission tests, and a package made by the KFP SDK itself.

No KFP backend can run here: the stand-in (``kfp_api_server.py``) checks every request
against the upstream KFP v2beta1 swagger in ``../shared/schemas``.
"""

# no `from __future__ import annotations`: kfp.dsl reads the component's annotations as types

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
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
