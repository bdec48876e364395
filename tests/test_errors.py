"""One error family: every error dagwright raises on purpose is a ``dagwright.DagwrightError``,
and keeps the built-in base code already catches."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import dagwright
from dagwright import DagwrightError
from dagwright.errors import (
    NotFound,
    OutsidePipeline,
    RunFailed,
    ToolFailed,
    UnknownKey,
    UsageError,
    ValidationError,
)

PACKAGE = Path(dagwright.__file__).parent

# Where dagwright may still raise a bare built-in exception, and why. Anything else a user or a
# caller can cause raises a DagwrightError (that keeps its built-in base): add here only what a
# user cannot cause, or what must keep its built-in name, and say why.
ALLOWED_BUILTIN_RAISES: dict[tuple[str, str], str] = {
    # the module __getattr__ protocol: hasattr() and the import machinery expect AttributeError
    ("__init__.py", "AttributeError"): "the lazy root package's __getattr__",
    ("engine/__init__.py", "AttributeError"): "the lazy engine package's __getattr__",
    ("runtimes/__init__.py", "AttributeError"): "the lazy runtimes package's __getattr__",
    ("ui/__init__.py", "AttributeError"): "the lazy ui package's __getattr__ (serve, make_app)",
    ("compiler/__init__.py", "AttributeError"): "the compiler package's __getattr__ (TARGETS)",
    ("compiler/kfp/proto.py", "AttributeError"): "the __getattr__ given to kfp in runtime mode",
    ("pipelines/__init__.py", "AttributeError"): "the pipelines package's __getattr__ (notifiers)",
    ("pipelines/refs.py", "AttributeError"): "LoopItem.__getattr__ of private names (copy)",
    ("cli/run.py", "KeyboardInterrupt"): "the first Ctrl-C, which the engine records",
    ("engine/attempts.py", "AssertionError"): "unreachable: the last attempt returns",
    ("lineage/uploader.py", "AssertionError"): "unreachable: the last attempt returns",
    # raised inside a step: the step's record reads "TypeError: ..." (users read that name,
    # tests/engine/test_local.py checks it); another class would rename it
    ("executor.py", "TypeError"): "a step returned a value of the wrong type (its record)",
    ("step_outputs.py", "TypeError"): "a step returned a value of the wrong type (its record)",
    ("executor.py", "TimeoutError"): "a step finished after its timeout (its record)",
    ("kfp_steps/step.py", "TimeoutError"): "a KFP step finished after its timeout (its record)",
    ("components/serializers.py", "RuntimeError"): "a step's Spark session stopped (its record)",
    ("components/serializers.py", "TypeError"): "a step's Spark input without a session",
    ("components/serializers.py", "ValueError"): "a step's value file cannot be read",
    ("runtimes/nuclio_deploy.py", "TimeoutError"): "a Nuclio step not ready in time (its record)",
    ("compiler/argo/entry.py", "ValueError"): "an input read in an Argo step's pod (its record)",
    ("compiler/argo/values.py", "ValueError"): "an input read in an Argo step's pod (its record)",
    # a parser with int()'s contract: its callers catch ValueError and name the field
    ("components/types.py", "ValueError"): "from_text; pipelines/arguments.py names the field",
    # OSErrors with an errno, turned into a ValidationError naming the folder by their callers
    ("store/preflight.py", "NotADirectoryError"): "writable_folder's ValidationError",
    ("writes.py", "FileExistsError"): "write_file's ValidationError (_unwritable)",
    ("lineage/uploader.py", "ConnectionError"): "transient: the writer marks the run for sync",
    # dagwright's own bugs: a state its other code does not produce
    ("compiler/kfp/channels.py", "ValueError"): "a validated IR's DAG output has a producer",
    ("runtimes/crd.py", "LookupError"): "a bundled CRD schema without the version it pins",
    ("runtimes/dask.py", "ValueError"): "the Dask config checked memory_limit already",
    ("runtimes/horovod.py", "TypeError"): "the registry gave a runtime another's config",
    ("runtimes/job.py", "TypeError"): "the registry gave a runtime another's config",
    ("runtimes/spark.py", "TypeError"): "the registry gave a runtime another's config",
    ("runtimes/session.py", "RuntimeError"): "a step used its run's session after the run",
}

NEW_CLASSES = [
    (UsageError, TypeError),
    (OutsidePipeline, RuntimeError),
    (NotFound, LookupError),
    (UnknownKey, KeyError),
    (ToolFailed, RuntimeError),
]


def _error_classes() -> list[type[BaseException]]:
    """Every public exception class defined in a dagwright module. Warnings are no errors, and
    neither are the interrupts (``Terminated`` is a KeyboardInterrupt, ``ExitCalled`` a
    SystemExit): ``except Exception`` must not catch those."""
    found = []
    for info in pkgutil.walk_packages(dagwright.__path__, "dagwright."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an extra that is not installed: its errors are not reachable
            continue
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                cls.__module__ == module.__name__
                and issubclass(cls, Exception)
                and not issubclass(cls, Warning)
                and not name.startswith("_")
            ):
                found.append(cls)
    return found


def test_every_public_dagwright_error_is_a_dagwright_error() -> None:
    classes = _error_classes()
    assert len(classes) >= 14  # ValidationError, RunFailed, SubmitError, SyncError, ...
    outside = [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, DagwrightError)]
    assert outside == []


@pytest.mark.parametrize(
    ("error", "builtin"),
    [(ValidationError("x"), ValueError), (RunFailed("x"), RuntimeError)],
)
def test_errors_keep_the_builtin_base_they_had(error: Exception, builtin: type) -> None:
    assert isinstance(error, builtin) and isinstance(error, DagwrightError)


def test_one_except_clause_catches_a_users_mistake(tmp_path: object) -> None:
    """A pipeline called with an argument it does not take: caught as a DagwrightError."""

    @dagwright.component
    def one(x: int) -> int:
        return x

    @dagwright.pipeline
    def flow(x: int = 1) -> int:
        return one(x=x).output

    with pytest.raises(DagwrightError) as caught:
        dagwright.run(flow, {"nope": 1}, echo=False, root=tmp_path)
    assert isinstance(caught.value, ValidationError)


def _builtin_raises() -> set[tuple[str, str]]:
    """(file, exception) of every ``raise Builtin(...)`` / ``raise Builtin`` in dagwright."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if not isinstance(raised, ast.Name):
                continue
            cls = getattr(builtins, raised.id, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found.add((path.relative_to(PACKAGE).as_posix(), raised.id))
    return found


def test_no_bare_builtin_raise_outside_the_allow_list() -> None:
    found = _builtin_raises()
    assert ("executor.py", "TypeError") in found  # the scan sees what it must
    assert sorted(found - ALLOWED_BUILTIN_RAISES.keys()) == []
    assert sorted(ALLOWED_BUILTIN_RAISES.keys() - found) == []  # no stale entry


@pytest.mark.parametrize(("cls", "builtin"), NEW_CLASSES)
def test_each_error_class_is_a_dagwright_error_and_its_builtin(cls: type, builtin: type) -> None:
    assert issubclass(cls, DagwrightError) and issubclass(cls, builtin)
    assert str(cls("the message")) == str(builtin("the message"))  # messages read as before


def test_a_misused_api_raises_dagwright_errors_that_keep_their_builtin_base() -> None:
    with pytest.raises(UsageError, match="expected a pipeline") as caught:
        dagwright.run(42)
    assert isinstance(caught.value, TypeError)

    @dagwright.component
    def one(x: int) -> int:
        return x

    @dagwright.pipeline
    def flow(x: int = 1) -> int:
        return one(x=x).output

    with pytest.raises(UsageError, match="calling it directly"):
        flow()
    with pytest.raises(OutsidePipeline, match="only be used inside"):
        dagwright.ParallelFor([1])
    with pytest.raises(UnknownKey) as missing:
        flow.build().task("nope")
    assert isinstance(missing.value, KeyError)
    assert str(missing.value) == str(KeyError("pipeline 'flow' has no task 'nope'"))


def test_lineage_sync_of_an_unknown_run_exits_2_naming_run(tmp_path: Path) -> None:
    pytest.importorskip("mlflow")
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "lineage", "sync", "nope", "--root", "store"],
        cwd=tmp_path,
        env={**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: field 'RUN': no local lineage for run nope")
    assert "Fix: give the id of a run recorded in this store" in proc.stderr


def test_a_failing_dot_program_is_a_tool_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A planted ``dot`` that fails: a DagwrightError that is still the RuntimeError it was."""
    from dagwright.lineage.query import render_png

    program = tmp_path / "bin" / "dot"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(program.parent))
    with pytest.raises(ToolFailed) as caught:
        render_png("digraph {")
    assert isinstance(caught.value, RuntimeError)
    assert str(caught.value) == "dot -Tpng failed: syntax error in line 1"


def test_a_runtime_config_without_a_runtime_is_not_found() -> None:
    from dataclasses import dataclass

    from dagwright.runtimes import registry, runtime_for

    @dataclass(frozen=True)
    class Stray(registry.RuntimeConfig):
        kind = "test-stray"

    try:
        with pytest.raises(NotFound, match="no runtime registered for runtime config 'test-st"):
            runtime_for(Stray())
    finally:  # defining it registered its kind: other tests list the known kinds
        registry._CONFIGS.pop("test-stray")
