"""Which lineage sink a run gets: MLflow when it is installed and tracking is on."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def sink_for(tracking_uri: str | None, root: Path) -> Any:
    """The sink for a run, or None to keep lineage only in ``<root>/lineage``.

    MLflow persistence arrives with the MLflow writer; until then lineage stays local.
    """
    return None
