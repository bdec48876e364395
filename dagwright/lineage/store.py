"""The local lineage store: every run's graph under ``<root>/lineage``, merged into one, and the
names people type (run ids, ``RUN/TASK``, digests, paths) resolved to its nodes.

Merging is what ties pipelines together: an artifact is one node per content digest, so the
file one pipeline wrote and another read is a single node with both pipelines around it.
The merged graph is kept for the process, keyed on the files' names, mtimes and sizes: the
same files give it back at the cost of listing them, and runs recorded since are merged into
it; only a file that changed or went (a resumed run rewrites its file) means reading all again.
"""

from __future__ import annotations

import bisect
import json
import os
import re
import threading
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path

from dagwright.errors import ValidationError
from dagwright.lineage.graph import STARTED_BY, Lineage, run_node, step_node

_MIN_DIGEST = 8
_HEX = re.compile(r"^[0-9a-f]+$")

Signature = frozenset[tuple[str, int, int]]
_loaded: dict[Path, tuple[Signature, Lineage]] = {}
_loading = threading.Lock()  # two threads must not merge the same files into one graph twice


def folder_of(root: str | Path | None) -> Path:
    """``<root>/lineage``, root defaulting as for runs (``$DAGWRIGHT_HOME``, ``./.dagwright``)."""
    from dagwright.store.local import default_root

    return (Path(root) if root is not None else default_root()) / "lineage"


def load(root: str | Path | None = None) -> Lineage:
    """Every local run's lineage, merged (one node per artifact digest).

    The graph returned is shared with later calls, which merge newly recorded runs into it:
    read it, do not change it (``Lineage(load().graph.copy())`` gives one to change).

    Raises:
        ValidationError: when no run has recorded lineage under ``root``.
    """
    folder = folder_of(root).absolute()
    signature: Signature = frozenset(_files(folder))
    if not signature:
        raise ValidationError(
            f"no lineage recorded in '{folder}'",
            field="--root",
            fix="run a pipeline first, or point --root (root=) at its store",
        )
    with _loading:
        return _merged(folder, signature)


def _merged(folder: Path, signature: Signature) -> Lineage:
    known, lineage = _loaded.get(folder, (frozenset(), Lineage()))
    if known == signature:
        return lineage
    if not known <= signature:
        known, lineage = frozenset(), Lineage()  # a file changed or went: read all again
    for name in sorted(entry[0] for entry in signature - known):
        try:
            lineage.merge(Lineage.from_json(json.loads((folder / name).read_text("utf-8"))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # one damaged file should not hide every other run's lineage
            warnings.warn(f"skipped lineage file {folder / name}: {exc}", stacklevel=3)
    _indexes.pop(lineage, None)  # merging adds URIs to known artifacts, not only nodes
    _loaded[folder] = (signature, lineage)
    return lineage


def _files(folder: Path) -> list[tuple[str, int, int]]:
    """The run graphs in a folder, each with what says it changed (name, mtime, size)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        if entry.name.endswith(".json") and entry.is_file():
            stat = entry.stat()
            found.append((entry.name, stat.st_mtime_ns, stat.st_size))
    return found


@dataclass
class _Index:
    """Sorted run ids and digests (prefix lookups by bisection) and artifacts by URI."""

    runs: list[str]
    digests: list[str]
    uris: dict[str, str]


_indexes: weakref.WeakKeyDictionary[Lineage, tuple[int, _Index]] = weakref.WeakKeyDictionary()


def _index(lineage: Lineage) -> _Index:
    size = len(lineage.graph)
    known = _indexes.get(lineage)
    if known is not None and known[0] == size:
        return known[1]
    runs, digests, uris = [], [], {}
    for node, attrs in lineage.graph.nodes(data=True):
        kind = attrs.get("kind")
        if kind == "run":
            runs.append(attrs.get("run_id") or node.removeprefix("run:"))
        elif kind == "artifact":
            if attrs.get("digest"):
                digests.append(attrs["digest"])
            for uri in attrs.get("uris") or ():
                uris[uri] = node
    index = _Index(sorted(runs), sorted(digests), uris)
    _indexes[lineage] = (size, index)
    return index


def _prefixed(items: list[str], prefix: str) -> list[str]:
    start = end = bisect.bisect_left(items, prefix)
    # by index, not items[start:]: a slice would copy the rest of 100,000 digests
    while end < len(items) and items[end].startswith(prefix):
        end += 1
    return items[start:end]


def resolve(lineage: Lineage, name: str, field: str = "NAME") -> str:
    """The node a user means by ``name``.

    Tried in order: a node id as is; an artifact by one of its URIs or local paths; an artifact
    digest or a prefix of at least 8 hex digits (``sha256:`` allowed); a run id or a prefix of
    one; a step as ``RUN/TASK`` or ``RUN/TASK[i]`` (``[i,j]`` or ``[i.j]`` in nested loops).

    Raises:
        ValidationError: naming ``field`` when nothing, or more than one node, matches.
    """
    graph = lineage.graph
    for node in (name, run_node(name)):
        if node in graph:
            return node
    index = _index(lineage)
    artifact = _by_uri(index, name)
    if artifact is not None:
        return artifact
    digest = name.lower().removeprefix("sha256:")
    digests = _prefixed(index.digests, digest) if len(digest) >= _MIN_DIGEST else []
    if not _HEX.match(digest):
        digests = []
    runs = _prefixed(index.runs, name)
    matches = [f"artifact:{d}" for d in digests[:3]] + [run_node(r) for r in runs[:3]]
    if len(digests) + len(runs) == 1:
        return matches[0]
    if matches:
        raise _ambiguous(name, field, matches)
    run_part, slash, label = name.partition("/")
    if slash and label:
        return _step(lineage, _run(lineage, run_part, field), label, name, field)
    raise ValidationError(
        f"no run, step or artifact '{name}' in the lineage",
        field=field,
        fix="give a run id or prefix ('dagwright runs ls'), RUN/TASK, an artifact's path, "
        f"or at least {_MIN_DIGEST} hex digits of its sha256",
    )


def resolve_run(lineage: Lineage, name: str, field: str = "RUN") -> str:
    """The run node ``name`` names (an id, a prefix, or a node id ``run:<id>``)."""
    node = resolve(lineage, name, field)
    kind = lineage.graph.nodes[node].get("kind")
    if kind != "run":
        raise ValidationError(
            f"'{name}' is a{'n' if kind == 'artifact' else ''} {kind}, not a run",
            field=field,
            fix="give a run id or prefix ('dagwright runs ls')",
        )
    return node


def _by_uri(index: _Index, name: str) -> str | None:
    if name in index.uris:
        return index.uris[name]
    if "://" in name and not name.startswith("file://"):
        return None
    # recorded URIs of local artifacts are absolute paths: match a relative one typed here too
    path = Path(name.removeprefix("file://")).expanduser()
    for candidate in (str(path.absolute()), os.path.realpath(path)):
        if candidate in index.uris:
            return index.uris[candidate]
    return None


def _run(lineage: Lineage, name: str, field: str) -> str:
    runs = _index(lineage).runs
    found = [name] if name in runs else _prefixed(runs, name)
    if len(found) == 1:
        return run_node(found[0])
    if found:
        raise _ambiguous(name, field, [run_node(r) for r in found[:3]])
    raise ValidationError(
        f"no run '{name}' in the lineage", field=field, fix="list runs with 'dagwright runs ls'"
    )


def _step(lineage: Lineage, run: str, label: str, name: str, field: str) -> str:
    """A step of a run by label, or by task when the task ran once."""
    graph = lineage.graph
    run_id = graph.nodes[run].get("run_id", run.removeprefix("run:"))
    node = step_node(run_id, label.replace(",", "."))  # progress lines print train[0,1]
    if node in graph:
        return node
    steps = [s for s, _, key in graph.in_edges(run, keys=True) if key == STARTED_BY]
    same_task = sorted(s for s in steps if graph.nodes[s].get("task") == label)
    if len(same_task) == 1:
        return same_task[0]
    if same_task:
        labels = ", ".join(graph.nodes[s].get("label", s) for s in same_task[:4])
        raise ValidationError(
            f"task '{label}' of run '{run_id}' ran more than once ({labels}...)",
            field=field,
            fix=f"name one iteration, e.g. {run_id}/{graph.nodes[same_task[0]].get('label')}",
        )
    known = ", ".join(sorted(graph.nodes[s].get("label", s) for s in steps)[:8])
    raise ValidationError(
        f"run '{run_id}' has no step '{label}' (it has: {known or 'none'})",
        field=field,
        fix="write RUN/TASK or RUN/TASK[i] with a step of that run",
    )


def _ambiguous(name: str, field: str, matches: list[str]) -> ValidationError:
    return ValidationError(
        f"'{name}' names more than one node ({', '.join(matches)}, ...)",
        field=field,
        fix="give more of the id",
    )
