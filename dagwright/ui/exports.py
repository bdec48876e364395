"""The data a standalone report of a recorded run embeds (``report.standalone_html``), read
from the store for ``runs show RUN --html`` (a pipeline before it runs: ``notebook.py``).

A run's data is what the UI's run page fetches, gathered at once: ``run`` (the ``runs show
--json`` shape with ``graph``), ``steps_detail`` (each step's panel, keyed ``task`` or
``task[iteration]``) and ``previews`` (each artifact's preview by URI). Previews travel
without pointing back at a server: an image becomes a ``data:`` URL when under 1 MB, an HTML,
Markdown (rendered and sanitized) or SVG file the ``html`` document the page loads into a
sandboxed iframe's ``srcdoc``. Secrets are masked as ``runs show`` masks them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dagwright.redact import shown_run
from dagwright.ui.markdown import document
from dagwright.ui.notebook import EMPTY_GRAPH, shown_outputs, steps_detail
from dagwright.ui.previews import preview
from dagwright.ui.reading import locate

# what a report embeds of one artifact file at most (an image, an HTML or Markdown page)
EMBED_LIMIT = 1 << 20


def run_report(root: str | Path, run_id: str) -> dict[str, Any]:
    """The report data of the run ``run_id`` (an unambiguous prefix will do) in the store.

    Raises:
        ValidationError: when the store has no run database or no such run.
    """
    from dagwright.lineage.tracking import state
    from dagwright.store.local import LocalStore

    store = LocalStore(root)
    if not (store.root / "runs.db").exists():
        from dagwright.errors import ValidationError

        raise ValidationError(
            f"no run database in '{store.root}'",
            field="--root",
            fix="run a pipeline first, or point --root at its store",
        )
    db = store.database()
    row = db.find_run(run_id)
    found, steps = shown_run(row, db.steps)
    found["outputs"] = shown_outputs(found.get("outputs"))
    for step in steps:
        step["outputs"] = shown_outputs(step.get("outputs"))
    ir = _ir(found.pop("ir", None))
    run = {**found, "lineage": state(store.root, found["run_id"]), "steps": steps}
    run["graph"] = _run_graph(ir, steps)
    locations = [row["artifacts"]] if row.get("artifacts") else []
    previews = {
        artifact["uri"]: static_preview(artifact, store.root, locations)
        for step in steps
        for artifact in artifacts_in(step.get("outputs"))
    }
    details = steps_detail(ir, steps, found["params"])
    return {"run": run, "steps_detail": details, "previews": previews}


def _ir(text: Any) -> dict[str, Any] | None:
    try:
        ir = json.loads(text) if isinstance(text, str) else None
    except ValueError:  # an IR this version cannot read: the report has no graph
        return None
    return ir if isinstance(ir, dict) else None


def _run_graph(ir: dict[str, Any] | None, steps: list[dict[str, Any]]) -> dict[str, Any]:
    from dagwright.ui.graph import run_graph

    return dict(run_graph(ir, steps)) if ir is not None else dict(EMPTY_GRAPH)


def artifacts_in(outputs: Any) -> Iterator[dict[str, Any]]:
    """The artifact records among a step's outputs (a Collected output holds a list)."""
    values = outputs.values() if isinstance(outputs, dict) else outputs or ()
    for value in values:
        if isinstance(value, dict) and isinstance(value.get("uri"), str) and "type" in value:
            yield value
        elif isinstance(value, list):
            yield from artifacts_in(value)


def static_preview(
    artifact: dict[str, Any], root: str | Path, locations: Sequence[str] = ()
) -> dict[str, Any]:
    """An artifact's preview with its file embedded instead of a server URL: images as
    ``data:`` URLs, HTML, Markdown and SVG as the ``html`` of a sandboxed iframe."""
    shown_preview = preview(artifact, root, locations)
    kind = shown_preview["kind"]
    if kind not in ("image", "html", "markdown"):
        return shown_preview
    shown_preview.pop("raw_url", None)
    try:
        file = locate(artifact["uri"], root, locations)
        size = file.size()
        if size > EMBED_LIMIT:
            return {
                "kind": "error",
                "error": f"{size} bytes: too large to embed in a report (at most {EMBED_LIMIT})",
            }
        content = file.head(EMBED_LIMIT)
    except OSError as exc:
        return {"kind": "error", "error": str(exc)}
    if kind == "image":
        encoded = base64.b64encode(content).decode("ascii")
        return {**shown_preview, "data_url": f"data:{shown_preview['mime']};base64,{encoded}"}
    text = content.decode("utf-8", errors="replace")
    if kind == "markdown":
        try:
            text = document(text, title=str(artifact.get("name") or ""))
        except ImportError as exc:  # the ui extra is not installed
            return {
                "kind": "error",
                "error": f"rendering Markdown needs {exc.name}: pip install 'dagwright[ui]'",
            }
    return {**shown_preview, "html": text}
