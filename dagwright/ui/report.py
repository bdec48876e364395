"""One self-contained HTML file of a run or a pipeline: the UI's own page in "static mode".

``standalone_html(kind, data)`` takes ``static/index.html`` and inlines, in their order, the
style sheets (``<link rel=stylesheet href>``) and scripts (``<script src>``) it loads from
``static/``, so the report shows what the UI's run or pipeline page shows, with no server. The
data goes in as JSON in ``<script type="application/json" id="dagwright-data">`` (every ``<``,
``>`` and ``&`` written as a JSON unicode escape, so no ``</script>`` or ``<!--`` in the data
can end the element), and a Content-Security-Policy meta tag forbids any network access: the
file can be opened from a CI job's artifacts or a pull request without calling anywhere.

Artifacts travel inside the data (``exports.static_preview``): images as ``data:`` URLs when small,
HTML and Markdown as the ``srcdoc`` of a sandboxed iframe (which also inherits the policy),
never as markup of the page itself. ``in_iframe`` wraps a report for Jupyter's
``_repr_html_``: the page's script then runs isolated in its own sandboxed frame.
"""

from __future__ import annotations

import html
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from dagwright.errors import DagwrightError

STATIC = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
KINDS = ("run", "pipeline")
# in a script element, "</script" ends it and "<!--" may keep a later one from ending it
_CLOSE_SCRIPT = re.compile(r"<(/script|!--)", re.IGNORECASE)
_CLOSE_STYLE = re.compile(r"</(style)", re.IGNORECASE)
_JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


class ReportError(DagwrightError, RuntimeError):
    """The UI's page files are missing or not as expected (a broken install)."""


def standalone_html(kind: str, data: dict[str, Any]) -> str:
    """The report page: index.html with its static files inlined and ``data`` embedded.

    Args:
        kind: ``"run"`` or ``"pipeline"``; the embedded JSON is ``{"kind": kind, **data}``.
        data: For a run ``{"run", "steps_detail", "previews"}``, for a pipeline
            ``{"pipeline": {"name", "graph"}}`` (see docs/architecture.md, "UI").

    Raises:
        ReportError: when the package's ``static/index.html`` is missing.
    """
    if kind not in KINDS:
        raise ReportError(f"a report is of a run or a pipeline, not {kind!r}")
    index = STATIC / "index.html"
    try:
        page = index.read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"the UI's page is missing from the package ({exc})") from exc
    payload = embedded_json({"kind": kind, **data})
    policy = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    return _inline(
        page, policy, f'<script type="application/json" id="dagwright-data">{payload}</script>'
    )


def embedded_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element (and valid JSON: numbers
    JSON cannot carry, NaN and infinities, become text)."""
    # ASCII only: the page's encoding never matters, even where no charset is declared early
    text = json.dumps(_finite(data), ensure_ascii=True, default=str, allow_nan=False)
    return text.translate(_JSON_ESCAPES)


def in_iframe(page: str, height: float = 480) -> str:
    """A report as a sandboxed iframe's ``srcdoc`` (for ``_repr_html_``: Jupyter shows it inline
    and the page's script runs in the frame, not in the notebook)."""
    height = max(240, min(900, int(height)))
    return (
        f'<iframe sandbox="allow-scripts" srcdoc="{html.escape(page, quote=True)}" '
        f'style="width:100%;height:{height}px;border:0" title="dagwright"></iframe>'
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class _Assets(HTMLParser):
    """The spans of index.html to replace: its external scripts and style sheets, and where
    its ``<head>`` starts, as character offsets."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.lines = [0]
        for line in text.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.found: list[tuple[int, int, str, str, bool]] = []  # start, end, tag, file, defer
        self.head_end: int | None = None
        self.head_close: int | None = None
        self.body_end: int | None = None
        self._script: tuple[int, str, bool] | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start, values = self._offset(), {k: v or "" for k, v in attrs}
        end = start + len(self.get_starttag_text() or "")
        if tag == "head":
            self.head_end = end
        elif tag == "script" and values.get("src"):
            deferred = "defer" in values or values.get("type") == "module"
            self._script = (start, values["src"], deferred)
        elif tag == "link" and "stylesheet" in values.get("rel", "").split():
            self.found.append((start, end, "style", values.get("href", ""), False))
        elif tag == "link" and values.get("href", "").startswith(("/", "http", "//")):
            self.found.append((start, end, "drop", "", False))  # an icon: nothing to fetch

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            start, src, deferred = self._script
            end = self.text.index(">", self._offset()) + 1
            self.found.append((start, end, "script", src, deferred))
            self._script = None
        elif tag == "head":
            self.head_close = self._offset()
        elif tag == "body":
            self.body_end = self._offset()


def _asset(src: str) -> str:
    """A file of ``static/`` named by its URL in index.html (``/static/app.js``)."""
    name = src.split("?", 1)[0].split("#", 1)[0]
    name = name.removeprefix("./").removeprefix("/").removeprefix("static/")
    path = (STATIC / name).resolve()
    if STATIC.resolve() not in path.parents or not path.is_file():
        raise ReportError(f"index.html loads {src!r}, which is not a file of the UI's package")
    return path.read_text(encoding="utf-8")


def _inline(page: str, policy: str, data: str) -> str:
    """The page with ``policy`` first in its head (before anything it governs), ``data`` last
    in it (after the charset, which browsers look for in the first 1024 bytes), and each
    asset inlined."""
    parser = _Assets(page)
    parser.feed(page)
    parser.close()
    if parser.head_end is None:
        raise ReportError("the UI's index.html has no <head>")
    close = parser.head_close if parser.head_close is not None else parser.head_end
    pieces: list[tuple[int, int, str]] = [
        (parser.head_end, parser.head_end, policy),
        (close, close, data),
    ]
    deferred = []
    for start, end, kind, src, defer in parser.found:
        if kind == "style":
            text = _CLOSE_STYLE.sub(r"<\\/\1", _asset(src))
            pieces.append((start, end, f"<style>{text}</style>"))
        elif kind == "script":
            script = "<script>" + _CLOSE_SCRIPT.sub(r"<\\\1", _asset(src)) + "</script>"
            # an inline script cannot be deferred: it goes where a deferred one would run
            pieces.append((start, end, "" if defer else script))
            if defer:
                deferred.append(script)
        else:
            pieces.append((start, end, ""))
    at = parser.body_end if parser.body_end is not None else len(page)
    pieces.append((at, at, "".join(deferred)))
    out, last = [], 0
    for start, end, text in sorted(pieces, key=lambda p: (p[0], p[1])):
        out.append(page[last:start])
        out.append(text)
        last = max(last, end)
    out.append(page[last:])
    return "".join(out)
