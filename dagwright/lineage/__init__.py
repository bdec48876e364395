"""Provenance of runs and artifacts: a networkx graph in W3C PROV terms (``graph.py``),
recorded by the engine (``recorder.py``), kept in MLflow (``tracking.py``), merged across local
runs (``store.py``) and queried (``query.py``).

The functions here take the names people type (a run id or prefix, ``RUN/TASK``, an artifact's
digest or path) and read the lineage under ``root`` (``$DAGWRIGHT_HOME`` or ``./.dagwright``).
networkx is imported on first use: the engine imports this package for every run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagwright.lineage.graph import Lineage
    from dagwright.lineage.query import LineageDiff, Reached

__all__ = ["diff", "downstream", "load", "show", "upstream"]


def load(root: str | Path | None = None) -> Lineage:
    """Every local run's lineage merged into one graph (shared and cached: do not change it)."""
    from dagwright.lineage import store

    return store.load(root)


def upstream(name: str, depth: int | None = None, root: str | Path | None = None) -> list[Reached]:
    """What a run, step or artifact came from, nearest first.

    Args:
        name: A run id or prefix, ``RUN/TASK[i]``, an artifact digest (8+ hex digits) or path,
            or a node id.
        depth: At most this many ``used``/``wasGeneratedBy`` edges away (None: no limit).
        root: The store folder.

    Raises:
        ValidationError: when ``name`` matches nothing or more than one node.
    """
    from dagwright.lineage import query, store

    lineage = store.load(root)
    return query.upstream(lineage, store.resolve(lineage, name), depth)


def downstream(
    name: str, depth: int | None = None, root: str | Path | None = None
) -> list[Reached]:
    """What a run, step or artifact fed, nearest first (arguments as for ``upstream``)."""
    from dagwright.lineage import query, store

    lineage = store.load(root)
    return query.downstream(lineage, store.resolve(lineage, name), depth)


def show(run: str, format: str = "json", root: str | Path | None = None) -> str | bytes:
    """One run's provenance graph: node-link JSON text, DOT text or PNG bytes (needs Graphviz)."""
    from dagwright.lineage import query, store

    lineage = store.load(root)
    return query.show(lineage, store.resolve_run(lineage, run, "RUN"), format)


def diff(run_a: str, run_b: str, root: str | Path | None = None) -> LineageDiff:
    """What changed from run A to run B: parameters, component digests, step inputs, steps."""
    from dagwright.lineage import query, store

    lineage = store.load(root)
    return query.diff(
        lineage,
        store.resolve_run(lineage, run_a, "RUN_A"),
        store.resolve_run(lineage, run_b, "RUN_B"),
    )
