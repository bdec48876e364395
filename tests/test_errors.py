"""One error family: every error dagwright raises on purpose is a ``dagwright.DagwrightError``,
and keeps the built-in base code already catches."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import dagwright
from dagwright import DagwrightError
from dagwright.errors import RunFailed, ValidationError


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
