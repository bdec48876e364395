"""The lineage page's data: a search over the local lineage and the graph around what it found,
and the difference between two runs, as plain JSON.

A search matches artifacts by name or digest prefix, steps by label, task or component, runs
by id prefix, and anything ``dagwright lineage`` takes (a path, ``RUN/TASK``, a node id). The
graph is the upstream and downstream neighbourhood of the first matches (``used`` and
``wasGeneratedBy`` edges, as ``dagwright.lineage.query`` walks them), drawn with data flowing
down: each edge goes from cause to effect, the reverse of PROV's own direction.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.ui.layout import layout

MIN_DIGEST = 6  # hex digits of a digest prefix; shorter ones match too many artifacts
AROUND = 10  # matches whose neighbourhood is drawn
MAX_NODES = 400  # a graph the page can still draw and a person still read
_HEX = re.compile(r"^[0-9a-f]+$")
_KIND_ORDER = {"artifact": 0, "step": 1, "run": 2, "parameter": 3}


def lineage_search(
    root: str | Path | None, q: str, depth: int | None = 2, limit: int = 50
) -> dict[str, Any]:
    """What ``q`` names in the lineage under ``root``, and the graph around it.

    Args:
        root: The store folder.
        q: An artifact's name or digest prefix, a step's label, task or component, a run id
            or prefix, ``RUN/TASK``, an artifact's path.
        depth: How many ``used``/``wasGeneratedBy`` edges up and down the graph goes (None:
            as far as they go, up to ``MAX_NODES`` nodes).
        limit: At most this many matches.

    Returns:
        ``{"matches": [node dicts, best first], "graph": graph JSON}``; no matches (and an
        empty graph) when nothing matches or no run recorded lineage.

    Raises:
        ValidationError: for an empty ``q`` (or one holding a NUL) or a negative ``depth``.
    """
    text = (q or "").strip()
    if not text:
        raise ValidationError(
            "the search is empty",
            field="q",
            fix="type an artifact's name or digest prefix, a step's name or a run id",
        )
    if "\x00" in text:  # no name holds one, and a path with one cannot even be resolved
        raise ValidationError(
            "the search holds a NUL character", field="q", fix="search for printable text"
        )
    if depth is not None and depth < 0:
        raise ValidationError(f"depth {depth} is negative", field="depth", fix="give 0 or more")
    from dagwright.lineage import store

    if not any(Path(store.folder_of(root)).glob("*.json")):
        return {"matches": [], "graph": layout([], [])}
    lineage = store.load(root)
    found = _matches(lineage, store, text)[: max(limit, 0)]
    matches = [_entry(node, lineage.graph.nodes[node]) for node in found]
    return {"matches": matches, "graph": _neighbourhood(lineage, found[:AROUND], depth)}


def lineage_diff(root: str | Path | None, run_a: str, run_b: str) -> dict[str, Any]:
    """What changed from run A to run B (``dagwright.lineage.diff``) as plain JSON.

    Raises:
        ValidationError: naming ``RUN_A`` or ``RUN_B`` when a run is not in the lineage.
    """
    from dagwright import lineage

    data = lineage.diff(run_a, run_b, root=root).to_dict()
    plain: dict[str, Any] = json.loads(json.dumps(data, default=str))  # tuples as lists
    return plain


def _matches(lineage: Any, store: Any, text: str) -> list[str]:
    """Node ids matching ``text``, best first: exact, then prefix, then inside a name."""
    wanted = text.lower()
    digest = wanted.removeprefix("sha256:")
    by_digest = len(digest) >= MIN_DIGEST and _HEX.match(digest) is not None
    scored: dict[str, int] = {}
    try:  # what `dagwright lineage` would take: a path, RUN/TASK, a node id, a run prefix
        scored[store.resolve(lineage, text, "q")] = 0
    except ValidationError:
        pass
    for node, attrs in lineage.graph.nodes(data=True):
        kind = attrs.get("kind")
        if kind == "artifact":
            names = [attrs.get("name")]
            if by_digest and str(attrs.get("digest") or "").startswith(digest):
                scored.setdefault(node, 1)
        elif kind == "step":
            names = [attrs.get("label"), attrs.get("task"), attrs.get("component")]
        elif kind == "run":
            names = [attrs.get("run_id"), attrs.get("pipeline")]
        else:
            continue  # parameters are found through the steps that used them
        scores = [s for s in (_score(str(n).lower(), wanted) for n in names if n) if s is not None]
        if scores:
            score = min(scores)
            scored[node] = min(scored.get(node, score), score)
    nodes = lineage.graph.nodes
    return sorted(
        scored,
        key=lambda n: (
            scored[n],
            _KIND_ORDER.get(nodes[n].get("kind"), 9),
            str(nodes[n].get("run_id") or ""),
            n,
        ),
    )


def _score(name: str, wanted: str) -> int | None:
    if name == wanted:
        return 0
    if name.startswith(wanted):
        return 2
    return 3 if wanted in name else None


def _entry(node: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """A match: its attributes, and ``label`` as ``dagwright lineage`` names it."""
    from dagwright.lineage.query import describe
    from dagwright.redact import redact_uri

    shown = _plain(attrs)
    # recorded redacted already; again here, as every URI the UI shows
    if isinstance(shown.get("uris"), list):
        shown["uris"] = [redact_uri(str(u)) for u in shown["uris"]]
    if isinstance(shown.get("value"), str):
        shown["value"] = redact_uri(shown["value"])
    return {**shown, "id": node, "kind": attrs.get("kind"), "label": describe(node, attrs)}


def _plain(attrs: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(attrs, default=str))
    return plain


def _neighbourhood(lineage: Any, found: list[str], depth: int | None) -> dict[str, Any]:
    """The matches, what they came from and what they fed, laid out top to bottom."""
    from dagwright.lineage import query
    from dagwright.lineage.graph import GENERATED_BY, USED

    graph = lineage.graph
    keep: dict[str, None] = dict.fromkeys(found)
    for node in found:
        for reached in [
            *query.upstream(lineage, node, depth),
            *query.downstream(lineage, node, depth),
        ]:
            if len(keep) >= MAX_NODES:
                break
            keep.setdefault(reached.id)
    nodes = []
    for node in keep:
        attrs = graph.nodes[node]
        status = attrs.get("status")
        if attrs.get("kind") == "step" and attrs.get("cached"):
            status = "cached"
        nodes.append(
            {
                "id": node,
                "kind": attrs.get("kind", ""),
                # a step's run is in run_id: the label alone fits its box
                "label": attrs.get("label")
                if attrs.get("kind") == "step"
                else query.describe(node, attrs),
                "parent": None,
                "status": status,
                "match": node in found,
                "run_id": attrs.get("run_id"),
                "digest": attrs.get("digest"),
            }
        )
    edges = []
    for effect, cause, relation in graph.subgraph(keep).edges(keys=True):
        if relation in (USED, GENERATED_BY):  # PROV points from effect to cause: drawn down
            edges.append({"source": cause, "target": effect, "kind": relation})
    return layout(nodes, edges)
