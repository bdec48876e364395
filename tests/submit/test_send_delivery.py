"""Sending refuses pods that would install a dagwright that is not this code.

``compile`` only warns when the running dagwright is not a release from an index (an editable
or direct-URL install, a source folder): a private index may hold the version. A run sent
that way fails in every pod (``pip install dagwright==<version>`` finds no such release), so
``submit`` and ``schedule add`` refuse it before contacting the server, unless a delivery was
chosen (``--dagwright``, ``--code image``, ``--index-url``). An editable install is made as
pip leaves one (a ``.dist-info`` with PEP 610's ``direct_url.json``) and put first on the path,
ahead of the suite's stand-in release (``tests/conftest.py``); the command line runs in a real
subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from argo_server import ArgoServer
from kfp_api_server import KfpApiServer

import dagwright
from dagwright.errors import ValidationError

NIGHTLY = str(Path(__file__).with_name("nightly.py")) + ":nightly"
CHECKOUT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def editable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This dagwright as an editable install: first on this process's path and in ``cli``'s."""
    folder = tmp_path / "site"
    info = folder / f"dagwright-{dagwright.__version__}.dist-info"
    info.mkdir(parents=True)
    meta = f"Metadata-Version: 2.1\nName: dagwright\nVersion: {dagwright.__version__}\n"
    (info / "METADATA").write_text(meta)
    (info / "INSTALLER").write_text("pip\n")
    where = {"url": Path(CHECKOUT).as_uri(), "dir_info": {"editable": True}}
    (info / "direct_url.json").write_text(json.dumps(where))
    monkeypatch.syspath_prepend(str(folder))
    return folder


def cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m dagwright.cli ARGS`` running this checkout's code, with ``site``'s
    distributions found first. It runs in ``site``'s parent, not in the checkout: ``python -m``
    puts the working folder first on the path, and an installed checkout holds the
    ``dagwright.egg-info`` that ``pip install -e`` leaves there (a source tree's metadata, which
    would be found before ``site``'s)."""
    paths = os.pathsep.join([str(site), CHECKOUT])
    env = {**os.environ, "PYTHONPATH": paths, "DAGWRIGHT_TRACKING": "off"}
    for name in ("ARGO_SERVER", "ARGO_TOKEN", "KF_PIPELINES_ENDPOINT", "KFP_TOKEN"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=site.parent,
        timeout=120,
    )


def assert_refused(out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "field '--dagwright'" in out.stderr
    assert "is an editable install, not a release from a package index" in out.stderr
    for fix in ("give --dagwright '", "--code image --image IMAGE", "--index-url URL"):
        assert fix in out.stderr
    assert "nothing was sent" in out.stderr
    # a real release from a wheel file or conda leaves a direct_url.json: the index is its way out
    assert "downloaded wheel file or a conda build" in out.stderr


def test_submit_from_a_checkout_is_refused_before_the_server_is_asked(editable: Path) -> None:
    with ArgoServer() as server:
        where = ("--target", "argo", "--host", server.url, "--namespace", "team-a")
        out = cli(editable, "submit", NIGHTLY, *where)
        assert_refused(out)
        assert server.requests == []
        # the same command with a delivery the user chose goes through
        wheel = "dagwright @ https://example.com/dagwright-0.1-py3-none-any.whl"
        sent = cli(editable, "submit", NIGHTLY, *where, "--dagwright", wheel)
        assert sent.returncode == 0, sent.stderr
        (created,) = [c.body for c in server.calls("CreateWorkflow") if c.status == 200]
        assert wheel in str(created)


@pytest.mark.parametrize(
    "chosen",
    [
        ("--code", "image", "--image", "registry.example.com/team/project:1"),
        ("--index-url", "https://pypi.example.com/simple"),
    ],
)
def test_schedule_from_a_checkout_is_refused_unless_a_delivery_is_chosen(
    chosen: tuple[str, ...], editable: Path
) -> None:
    with KfpApiServer(running_polls=0) as server:
        where = ("--target", "kfp", "--host", server.url)
        out = cli(editable, "schedule", "add", NIGHTLY, *where)
        assert_refused(out)
        assert server.requests == []
        sent = cli(editable, "schedule", "add", NIGHTLY, *where, *chosen)
        assert sent.returncode == 0, sent.stderr
        assert server.calls("RecurringRunService_CreateRecurringRun")
        assert server.violations == []


def test_compile_still_only_warns_and_strict_refuses(tmp_path: Path, editable: Path) -> None:
    spec = tmp_path / "nightly.yaml"
    out = cli(editable, "compile", NIGHTLY, "--target", "argo", "-o", str(spec))
    assert out.returncode == 0, out.stderr
    assert "warning:" in out.stderr and "--dagwright" in out.stderr
    assert spec.exists()
    strict = cli(
        editable, "compile", NIGHTLY, "--target", "argo", "-o", str(tmp_path / "s.yaml"), "--strict"
    )
    assert strict.returncode == 2 and "Traceback" not in strict.stderr
    assert not (tmp_path / "s.yaml").exists()


def test_python_submit_and_schedule_refuse_naming_the_compile_option(editable: Path) -> None:
    from nightly import nightly

    with ArgoServer() as server:
        for send in (dagwright.submit, dagwright.schedule):
            with pytest.raises(ValidationError) as caught:
                send(nightly, "argo", host=server.url, namespace="team-a")
            assert caught.value.field == "compile_options['dagwright']"
            assert caught.value.fix is not None
            for fix in ("{'dagwright': ", "{'code': 'image'", "{'index_url': URL}"):
                assert fix in caught.value.fix
            assert "downloaded wheel file or a conda build" in caught.value.fix
        assert server.requests == []
        wheel = "dagwright @ https://example.com/dagwright-0.1-py3-none-any.whl"
        options = {"dagwright": wheel}
        dagwright.submit(
            nightly, "argo", host=server.url, namespace="team-a", compile_options=options
        )
        assert [c for c in server.calls("CreateWorkflow") if c.status == 200]


def test_a_chosen_uploaded_version_is_run_from_a_checkout_without_a_delivery(
    editable: Path,
) -> None:
    """``--version NAME`` without ``--upload`` runs a version the server holds, as it was
    uploaded (its pods install what its own spec says): nothing compiled here is sent, so
    nothing is refused; uploading a version from a checkout still is."""
    wheel = "dagwright @ https://example.com/dagwright-0.1-py3-none-any.whl"
    with KfpApiServer(running_polls=0) as server:
        where = ("--target", "kfp", "--host", server.url)
        made = cli(editable, "submit", NIGHTLY, *where, "--upload", "--version", "v1")
        assert_refused(made)
        made = cli(
            editable, "submit", NIGHTLY, *where, "--upload", "--version", "v1", "--dagwright", wheel
        )
        assert made.returncode == 0, made.stderr
        again = cli(editable, "submit", NIGHTLY, *where, "--version", "v1")
        assert again.returncode == 0, again.stderr
        assert len(server.calls("UploadPipelineVersion")) == 1
        assert len(server.calls("RunService_CreateRun")) == 2
        scheduled = cli(editable, "schedule", "add", NIGHTLY, *where, "--version", "v1")
        assert scheduled.returncode == 0, scheduled.stderr
        assert server.calls("RecurringRunService_CreateRecurringRun")
        from nightly import nightly  # and from Python, where the checkout is this process

        dagwright.submit(nightly, "kfp", host=server.url, version_name="v1")
        assert len(server.calls("RunService_CreateRun")) == 3
        with pytest.raises(ValidationError):
            dagwright.submit(nightly, "kfp", host=server.url, version_name="v2", upload=True)
        assert len(server.calls("UploadPipelineVersion")) == 1
        assert server.violations == []
