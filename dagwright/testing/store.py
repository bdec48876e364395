"""The store a test's runs go to: set by the ``dagwright_store`` fixture (or ``use_store``),
read by ``run_with_mocks`` when it is given no ``root``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# a plain global, not a context variable: a test may call run_with_mocks from a thread it
# starts, and must still find its store
_ACTIVE: list[Path] = []

# what the fixture sets for dagwright.run and the command line: the store, artifacts under it
# (not a shared $DAGWRIGHT_ARTIFACTS bucket) and lineage kept local (no MLflow server written
# to, nor a background upload outliving the test)
ENVIRONMENT = {
    "DAGWRIGHT_HOME": None,  # the store folder, set by use_store
    "DAGWRIGHT_ARTIFACTS": "",  # removed
    "MLFLOW_TRACKING_URI": "",  # removed
    "DAGWRIGHT_TRACKING": "off",
}


def active_store() -> Path | None:
    """The store of the test running now (``dagwright_store``, ``use_store``), or None."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextmanager
def use_store(root: str | Path) -> Iterator[Path]:
    """Run pipelines into ``root`` while the block lasts: ``run_with_mocks`` without ``root``,
    and ``dagwright.run`` and the command line through ``$DAGWRIGHT_HOME`` (with
    ``$DAGWRIGHT_ARTIFACTS`` and ``$MLFLOW_TRACKING_URI`` unset and ``DAGWRIGHT_TRACKING=off``,
    so a test writes nothing outside it). The variables are put back afterwards."""
    path = Path(root)
    saved = {name: os.environ.get(name) for name in ENVIRONMENT}
    for name, value in ENVIRONMENT.items():
        if value is None:
            os.environ[name] = str(path)
        elif value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    _ACTIVE.append(path)
    try:
        yield path
    finally:
        _ACTIVE.remove(path)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
