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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dagwright.ui.data import shown_run_data
from dagwright.ui.markdown import document
from dagwright.ui.notebook import EMPTY_GRAPH, steps_detail
from dagwright.ui.previews import preview
from dagwright.ui.reading import locate

# what a report embeds of one artifact file at most (an image, an HTML or Markdown page)
EMBED_LIMIT = 1 << 20


def run_report(root: str | Path, run_id: str) -> dict[str, Any]:
    """The report data of the run ``run_id`` (an unambiguous prefix will do) in the store: the
    run as the UI's run page gets it (``data.shown_run_data``), each step's panel and each
    artifact's preview.

    Raises:
        ValidationError: when the store has no run database or no such run.
    """
    from dagwright.store.local import LocalStore

    store = LocalStore(root)
    db = store.existing_database(run_id)
    row = db.find_run(run_id)
    run, ir = shown_run_data(store.root, db, row)
    if run["graph"] is None:  # an IR this version cannot read: the report has no graph
        run["graph"] = dict(EMPTY_GRAPH)
    locations = [row["artifacts"]] if row.get("artifacts") else []
    previews = {
        artifact["uri"]: static_preview(artifact, store.root, locations)
        for step in run["steps"]
        for artifact in artifacts_in(step.get("outputs"))
    }
    details = steps_detail(ir, run["steps"], run["params"])
    return {"run": run, "steps_detail": details, "previews": previews}


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
