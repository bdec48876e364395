"""What the raw artifact route serves a file as when its name says nothing (dagwright's
artifact files have no extension): an SVG must be an image in its sandboxed frame, not text;
and never a JavaScript or WebAssembly type, whatever the name says."""

import pytest

pytest.importorskip("starlette")

from dagwright.ui import raw_files  # noqa: E402


@pytest.mark.parametrize(
    ("content", "media"),
    [
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "image/svg+xml"),
        (b"<svg viewBox='0 0 1 1'/>", "image/svg+xml"),
        (b"a,b\n1,2\n", "text/plain; charset=utf-8"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe", "application/octet-stream"),
    ],
)
def test_a_file_without_an_extension_is_served_as_its_content_says(
    content: bytes, media: str
) -> None:
    assert raw_files.sniffed(content) == media
    assert raw_files.media_type("chart", None, content) == media


@pytest.mark.parametrize(
    "name", ["app.js", "app.mjs", "lib.cjs", "module.wasm", "APP.JS", "x.es", "old.jsm"]
)
def test_a_script_or_module_by_its_name_is_plain_text(name: str) -> None:
    assert raw_files.media_type(name, None, b"alert(1)") == raw_files.PLAIN


@pytest.mark.parametrize(
    "media",
    [
        "text/javascript",
        "application/javascript",
        "application/ecmascript",
        "application/x-javascript",
        "text/x-ecmascript",
        "text/javascript1.5",
        "TEXT/JavaScript; charset=utf-8",
        "text/jscript",
        "text/livescript",
        "application/wasm",
    ],
)
def test_no_script_media_type_is_ever_served(media: str) -> None:
    assert raw_files.safe_media(media) == raw_files.PLAIN


def test_other_types_are_kept() -> None:
    for media in ("text/html", "image/png", "text/css", "application/json", "text/csv"):
        assert raw_files.safe_media(media) == media
    assert raw_files.media_type("page", "HTML", b"<p>") == "text/html"
