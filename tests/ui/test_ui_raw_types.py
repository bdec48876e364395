"""What the raw artifact route serves a file as when its name says nothing (dagwright's
artifact files have no extension): an SVG must be an image in its sandboxed frame, not text."""

from pathlib import Path

import pytest

pytest.importorskip("starlette")

from dagwright.ui import api  # noqa: E402


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
    tmp_path: Path, content: bytes, media: str
) -> None:
    path = tmp_path / "chart"
    path.write_bytes(content)
    assert api._sniffed(path) == media
