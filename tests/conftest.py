"""Shared fixtures: every run goes to a fresh store folder; lineage stays local.

With mlflow installed, tracking is on by default and each fresh store would get its own MLflow
database; only tests/lineage (which turns it back on where it tests it) needs that.
"""

from __future__ import annotations

import builtins
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright.engine.result import RunResult


@pytest.fixture(autouse=True)
def _lineage_stays_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGWRIGHT_TRACKING", "off")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


# A suite started as a background job of a non-interactive shell (`cmd &` in a script) inherits
# SIGINT ignored, and so would every command a test starts: Python leaves an ignored SIGINT
# ignored, and the tests that press Ctrl-C would wait on a run that never hears it. A user's
# terminal delivers it; so the suite takes it back, and the commands it starts inherit the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_REAL_PRINT = builtins.print


@pytest.fixture(autouse=True)
def _print_restored() -> Iterator[None]:
    """kfp.local indents ``builtins.print`` while it runs a task and puts back what it saved;
    two of its loop workers in threads interleave those saves, so a run can leave ``print``
    indented for the rest of the process (kfp/local/logging_utils.py, indented_print). Each
    test gets the real ``print`` back, so what a later step prints is what it wrote: the one
    saved when this file was imported, since a module-scoped fixture running kfp.local leaves
    its ``print`` before any test's own setup could save it."""
    builtins.print = _REAL_PRINT
    yield
    builtins.print = _REAL_PRINT


@pytest.fixture(autouse=True)
def _no_fork_server_left() -> Iterator[None]:
    """A Process() step's fork server (dagwright/runtimes/warm.py) ends with its test."""
    yield
    import sys

    warm = sys.modules.get("dagwright.runtimes.warm")
    if warm is not None:
        warm.stop()


@pytest.fixture(autouse=True)
def _kfp_backend_check(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every KFP spec a test compiles in this process passes ``kfp_backend_checks`` (what KFP's
    backend does otherwise than kfp.local), unless the test is marked ``kfp_old_form``: it
    compiles a form dagwright no longer writes, to show the check finds it."""
    if request.node.get_closest_marker("kfp_old_form"):
        return
    from dagwright.compiler import kfp as target

    original = target.write

    def checked(ir: Any, options: Any = None) -> str:
        text = original(ir, options)
        _backend_checks().assert_runs_as_compiled(text)
        return text

    monkeypatch.setattr(target, "write", checked)


def _backend_checks() -> Any:
    """``tests/compiler/kfp_backend_checks.py`` (with its sibling models) as a module."""
    import importlib
    import sys

    folder = str(Path(__file__).parent / "compiler")
    if folder not in sys.path:
        sys.path.append(folder)
    return importlib.import_module("kfp_backend_checks")


@pytest.fixture(autouse=True, scope="session")
def _dagwright_released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compile as a user with the dagwright release from an index does.

    Inline delivery pins ``dagwright==<version>`` only for a release installed from an index
    (``compiler/release.py``); the suite runs a source checkout. So this puts a dist-info of
    this version, as pip leaves one for an index install (no ``direct_url.json``), first on the
    path of this process and of the subprocesses it starts. Tests of the refusal make their
    own distributions.
    """
    folder = tmp_path_factory.mktemp("released")
    info = folder / f"dagwright-{dagwright.__version__}.dist-info"
    info.mkdir()
    meta = f"Metadata-Version: 2.1\nName: dagwright\nVersion: {dagwright.__version__}\n"
    (info / "METADATA").write_text(meta)
    (info / "INSTALLER").write_text("pip\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        paths = [str(folder), os.environ.get("PYTHONPATH", "")]
        patch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
        yield


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def run(store: Path):  # type: ignore[no-untyped-def]
    """dagwright.run into the test's own store, quietly."""

    def _run(pipeline: Any, *arguments: Any, **kwargs: Any) -> RunResult:
        kwargs.setdefault("echo", False)
        return dagwright.run(pipeline, *arguments, root=store, **kwargs)

    return _run
