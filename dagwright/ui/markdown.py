"""Markdown artifacts as HTML that can run nothing: markdown-it-py renders CommonMark (with
tables and strikethrough) with raw HTML turned off, then nh3 keeps only an allow-list of the
tags and attributes Markdown itself produces.

So no ``<script>``, ``<style>``, ``<iframe>``, ``<object>`` or ``<form>``, no ``on*`` or
``style`` attribute, and links and images only to http(s) and mailto URLs (or relative
ones). The page shows the result in a sandboxed iframe besides (defence in depth).
"""

from __future__ import annotations

import functools
import html
from typing import Any

TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "code", "pre", "blockquote"}
    | {"ul", "ol", "li", "a", "img", "hr", "br", "s", "del"}
    | {"table", "thead", "tbody", "tr", "th", "td"}
)
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# tags whose content goes too, not only the tag (their text is code or style, not prose)
DROPPED_WITH_CONTENT = frozenset({"script", "style", "iframe", "object", "template"})
_STYLE = (
    "body{font:14px/1.5 system-ui,sans-serif;margin:1em;color:#222}"
    "pre{background:#f4f4f4;padding:.5em;overflow:auto}"
    "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:2px 6px}"
    "img{max-width:100%}"
)


@functools.cache
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def to_html(text: str) -> str:
    """Markdown text as a sanitized HTML fragment."""
    import nh3

    rendered = _renderer().render(text)
    return str(
        nh3.clean(
            rendered,
            tags=set(TAGS),
            clean_content_tags=set(DROPPED_WITH_CONTENT),
            attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
            url_schemes=set(URL_SCHEMES),
            link_rel="noopener noreferrer",
        )
    )


def document(text: str, title: str = "") -> str:
    """Markdown text as a whole HTML document (what the sandboxed iframe loads)."""
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{to_html(text)}</body></html>"
    )


def render(text: str) -> str:
    """What the UI's raw route serves for ``?render=md``: the sanitized page (``document``)."""
    return document(text)
