"""Markdown artifacts rendered and sanitized (dagwright/ui/markdown.py): Markdown keeps its
formatting, hostile input runs nothing."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from dagwright.ui.markdown import ATTRIBUTES, TAGS, document, render, to_html

HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "![i](javascript:alert(1))",
    '![i](x.png "a" onerror=alert(1))',
    "<svg onload=alert(1)>",
    "<object data=x.swf></object>",
    "<form action=https://evil.example><input></form>",
    '<div style="position:fixed">x</div>',
    "<!-- <script>alert(1)</script> -->",
    "`<script>` in code and ```\n<script>alert(1)</script>\n```",
    '<a href="https://ok.example" onclick="alert(1)">ok</a>',
    "<<script>script>alert(1)<</script>/script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


class _Elements(HTMLParser):
    """Every element and attribute of a fragment, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def _elements(fragment: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(fragment)
    parser.close()
    return parser.elements


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_keeps_no_active_content(text: str) -> None:
    out = to_html(text)
    for tag, attrs in _elements(out):
        assert tag in TAGS, out
        assert set(attrs) <= ATTRIBUTES.get(tag, set()), out
        for name in ("href", "src"):
            url = (attrs.get(name) or "").strip().lower()
            assert not url or re.match(r"^(https?:|mailto:|[^:]*$)", url), out
    assert not re.search(r"<\s*(script|style|iframe|object|form|svg)", out, re.IGNORECASE)


def test_markdown_keeps_its_formatting() -> None:
    out = to_html(
        "# Title\n\nSome **bold**, *em*, `code` and ~~gone~~.\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n- one\n- two\n\n"
        '[site](https://example.org "home") ![chart](chart.png)\n\n```python\nx = 1 < 2\n```\n'
    )
    assert "<h1>Title</h1>" in out and "<strong>bold</strong>" in out and "<s>gone</s>" in out
    assert "<table>" in out and "<td>1</td>" in out  # alignment styles dropped
    assert "style=" not in out
    assert '<a href="https://example.org" title="home" rel="noopener noreferrer">site</a>' in out
    assert '<img src="chart.png" alt="chart">' in out
    assert "<pre><code>x = 1 &lt; 2\n</code></pre>" in out


def test_document_is_a_whole_page_with_the_title_escaped() -> None:
    page = document("hello", title="</title><script>alert(1)</script>")
    assert page.startswith("<!DOCTYPE html>") and "<p>hello</p>" in page
    assert "<script>" not in page and "&lt;/title&gt;" in page


def test_render_is_the_sanitized_page_the_raw_route_serves() -> None:
    page = render("# x\n\n<script>alert(1)</script>")
    assert page == document("# x\n\n<script>alert(1)</script>")
    assert "<h1>x</h1>" in page and "<script>" not in page
