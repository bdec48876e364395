"""dagwright's pytest plugin (the ``pytest11`` entry point ``dagwright``): the
``dagwright_store`` fixture.

pytest imports this module in every session of an environment where dagwright is installed,
so it imports nothing but pytest at the top: dagwright's engine and its optional libraries
load only when a test uses the fixture (``-p no:dagwright`` turns the plugin off).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def dagwright_store(tmp_path: Path) -> Iterator[Path]:
    """A fresh, empty store under the test's ``tmp_path``, where the test's runs go.

    ``run_with_mocks`` without ``root`` runs in it, and so do ``dagwright.run`` and the
    command line (``$DAGWRIGHT_HOME``); ``$DAGWRIGHT_ARTIFACTS`` and ``$MLFLOW_TRACKING_URI``
    are unset and ``DAGWRIGHT_TRACKING=off`` keeps lineage in the store, so a test writes
    nothing outside it. Everything is put back when the test ends.
    """
    from dagwright.testing.store import use_store

    with use_store(tmp_path / "dagwright") as root:
        yield root
