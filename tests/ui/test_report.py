"""Self-contained HTML reports (dagwright/ui/report.py, exports.py, notebook.py): the UI's
page with its files inlined and a real run's data embedded, safe to open anywhere; the
``runs show --html`` and ``inspect --html`` commands; ``_repr_html_`` for notebooks."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from artifact_runs import HOSTILE_HTML, png_bytes, run_store

from dagwright.ui import report
from dagwright.ui.exports import EMBED_LIMIT, run_report, static_preview
from dagwright.ui.report import CSP, ReportError, embedded_json, standalone_html

PIPELINE_FILE = Path(__file__).with_name("artifact_runs.py")
REPOSITORY = Path(__file__).resolve().parents[2]
FAKE_INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>dagwright</title>
<link rel="stylesheet" href="/static/app.css"><link rel="icon" href="/static/icon.svg">
</head><body><div id="app"></div>
<script src="/static/first.js"></script>
<script defer src="/static/later.js"></script>
<script src="static/last.js?v=1"></script>
</body></html>
"""
FAKE_FILES = {
    "app.css": "body{color:red} /* </style><script>alert(1)</script> */",
    "first.js": 'window.order = ["first"]; var s = "<!--<script></script><script>alert(1)";',
    "later.js": 'window.order.push("later");',
    "last.js": 'window.order.push("last");',
}


class _Page(HTMLParser):
    """What a browser's tokenizer finds in a page: elements with attributes, and the text of
    each script and style element."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: list[tuple[str, str]] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._open = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts.append((self._open, data))

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def _parse(page: str) -> _Page:
    parsed = _Page()
    parsed.feed(page)
    parsed.close()
    return parsed


def _data(page: str) -> Any:
    found = re.search(r'<script type="application/json" id="dagwright-data">(.*?)</script>', page)
    assert found, "no embedded data"
    return json.loads(found.group(1))


@pytest.fixture
def fake_static(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text(FAKE_INDEX)
    for name, text in FAKE_FILES.items():
        (static / name).write_text(text)
    monkeypatch.setattr(report, "STATIC", static)
    return static


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    root = tmp_path_factory.mktemp("ui-report") / "store"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGWRIGHT_TRACKING", "off")
        result, _ = run_store(root)
    yield root, result


def test_static_files_are_inlined_in_order_and_the_data_comes_first(fake_static: Path) -> None:
    page = standalone_html("pipeline", {"pipeline": {"name": "p", "graph": {"nodes": []}}})
    parsed = _parse(page)
    tags = [tag for tag, _ in parsed.elements]
    head = tags[tags.index("head") + 1 : tags.index("body")]
    # the policy before anything else; the data after the charset and the styles
    assert head == ["meta", "meta", "title", "style", "script"]
    assert parsed.elements[tags.index("head") + 1][1] == {
        "http-equiv": "Content-Security-Policy",
        "content": CSP,
    }
    assert not any("src" in a or a.get("rel") in ("stylesheet", "icon") for _, a in parsed.elements)
    scripts = [text for kind, text in parsed.texts if kind == "script"]
    assert len(scripts) == 4  # the data, and three files: no "</script>" inside ended one
    assert scripts[1] == FAKE_FILES["first.js"].replace("<!--", "<\\!--").replace("</", "<\\/")
    # a deferred script runs after the others in the page; inline, it goes last in <body>
    assert [s.split(";")[0] for s in scripts[2:]] == ['window.order.push("last")'] + [
        'window.order.push("later")'
    ]
    styles = [text for kind, text in parsed.texts if kind == "style"]
    assert styles == [FAKE_FILES["app.css"].replace("</style", "<\\/style")]
    assert _data(page) == {"kind": "pipeline", "pipeline": {"name": "p", "graph": {"nodes": []}}}


def test_embedded_data_cannot_end_its_element() -> None:
    hostile = {"text": "</script><script>alert(1)</script><!-- & </SCRIPT >", "nan": float("nan")}
    text = embedded_json(hostile)
    assert "<" not in text and ">" not in text and "&" not in text
    assert embedded_json({"name": "café ✓"}) == '{"name": "caf\\u00e9 \\u2713"}'
    assert json.loads(text) == {**hostile, "nan": "nan"}


def test_a_page_file_outside_static_or_missing_is_refused(fake_static: Path) -> None:
    # a name leading out of static/ (the parent folder's file)
    outside = f"{os.pardir}/secret.js"
    (fake_static / "index.html").write_text(FAKE_INDEX.replace("first.js", outside))
    (fake_static.parent / "secret.js").write_text("alert(1)")
    with pytest.raises(ReportError, match="not a file of the UI's package"):
        standalone_html("run", {})
    (fake_static / "index.html").unlink()
    with pytest.raises(ReportError, match="missing from the package"):
        standalone_html("run", {})
    with pytest.raises(ReportError, match="not 'table'"):
        standalone_html("table", {})


def test_run_report_holds_the_run_its_steps_and_embedded_previews(store: tuple[Path, Any]) -> None:
    root, result = store
    page = standalone_html("run", run_report(root, result.run_id[:12]))
    parsed = _parse(page)
    for _, attrs in parsed.elements:  # nothing the page would fetch
        for name in ("src", "href", "action", "srcdoc"):
            assert name not in attrs or not re.match(r"\s*(https?:)?//", attrs[name]), attrs
    assert not any(tag == "iframe" for tag, _ in parsed.elements)  # artifacts are data only
    # the hostile page's text is in the data only (its script inside an escaped string)
    inside = re.search(r'id="dagwright-data">(.*?)</script>', page)
    assert inside and "window.parent" in inside.group(1)
    assert "window.parent" not in page[: inside.start()] + page[inside.end() :]
    data = _data(page)
    assert data["kind"] == "run" and data["run"]["run_id"] == result.run_id
    assert {s["task"] for s in data["run"]["steps"]} == {"evaluate", "tables", "documents", "train"}
    assert {n["task"]: n["status"] for n in data["run"]["graph"]["nodes"] if n["task"]} == {
        "evaluate": "succeeded",
        "tables": "succeeded",
        "documents": "succeeded",
        "train": "succeeded",
    }
    assert data["steps_detail"]["documents"]["component"] == "documents"
    outputs = {s["task"]: s["outputs"] for s in data["run"]["steps"]}
    previews = data["previews"]

    def shown(task: str, name: str) -> dict[str, Any]:
        return previews[outputs[task][name]["uri"]]

    assert shown("evaluate", "scores")["rows"] == [["accuracy", 0.92], ["loss", 0.25]]
    assert shown("tables", "csv_data")["total_rows"] == 25
    page_preview = shown("documents", "page")
    assert page_preview == {"kind": "html", "size": len(HOSTILE_HTML), "html": HOSTILE_HTML}
    notes = shown("documents", "notes")["html"]
    assert "<h1>Results</h1>" in notes
    elements = _parse(notes).elements
    assert "script" not in {tag for tag, _ in elements}
    assert not any(name.startswith("on") for _, attrs in elements for name in attrs)
    picture = shown("documents", "picture")
    assert "raw_url" not in picture
    assert picture["data_url"] == "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert shown("train", "drawing")["html"].startswith("<?xml")
    assert shown("train", "model")["metadata"]["api_token"] == "***"
    assert "hunter2-secret-value" not in page


def test_artifacts_kept_outside_the_store_are_previewed_for_their_run(tmp_path: Path) -> None:
    from artifact_runs import tables

    import dagwright

    pipeline = dagwright.Pipeline("elsewhere")
    pipeline.add(tables)
    elsewhere = tmp_path / "bucket"
    result = dagwright.run(
        pipeline.ir, root=tmp_path / "store", artifacts=str(elsewhere), echo=False
    )
    data = run_report(tmp_path / "store", result.run_id)
    (step,) = data["run"]["steps"]
    assert step["outputs"]["csv_data"]["uri"].startswith(str(elsewhere))
    assert data["previews"][step["outputs"]["csv_data"]["uri"]]["total_rows"] == 25
    # the run's folder, not the whole location: another run's files there stay out
    (elsewhere / "other-run").mkdir()
    (elsewhere / "other-run" / "x.csv").write_text("a\n1\n")
    shown = static_preview({"type": "Dataset", "uri": str(elsewhere / "other-run" / "x.csv")},
                           tmp_path / "store", [result.artifacts])  # fmt: skip
    assert shown["kind"] == "error" and "not inside the store" in shown["error"]


def test_a_large_image_is_not_embedded(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(png_bytes() + b"\x00" * EMBED_LIMIT)
    shown = static_preview({"type": "Artifact", "uri": str(big)}, tmp_path)
    assert shown["kind"] == "error" and "too large to embed" in shown["error"]


@dataclass
class _Done:
    exit_code: int
    output: str


def _invoke(*args: str) -> _Done:
    """The command run as a real subprocess."""
    proc = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return _Done(proc.returncode, proc.stdout + proc.stderr)


def test_runs_show_html_writes_the_report(store: tuple[Path, Any], tmp_path: Path) -> None:
    root, result = store
    out = tmp_path / "reports" / "run.html"
    done = _invoke("runs", "show", result.run_id, "--root", str(root), "--html", str(out))
    assert done.exit_code == 0, done.output
    assert f"wrote {out}" in done.output
    assert _data(out.read_text(encoding="utf-8"))["run"]["run_id"] == result.run_id


def test_runs_show_html_refuses_a_path_it_cannot_write(
    store: tuple[Path, Any], tmp_path: Path
) -> None:
    root, result = store
    (tmp_path / "a-file").write_text("x")
    for out in (tmp_path / "a-file" / "run.html", tmp_path):  # under a file; a folder
        done = _invoke("runs", "show", result.run_id, "--root", str(root), "--html", str(out))
        assert done.exit_code == 2, done.output
        assert "--html" in done.output and "Traceback" not in done.output
    missing = _invoke("runs", "show", "nope", "--root", str(root), "--html", str(tmp_path / "x"))
    assert missing.exit_code == 2 and not (tmp_path / "x").exists()


def test_inspect_html_writes_the_pipeline_graph(tmp_path: Path) -> None:
    out = tmp_path / "pipeline.html"
    done = _invoke("inspect", f"{PIPELINE_FILE}:artifacts_pipeline", "--html", str(out))
    assert done.exit_code == 0, done.output
    data = _data(out.read_text(encoding="utf-8"))
    assert data["kind"] == "pipeline" and data["pipeline"]["name"] == "artifacts-pipeline"
    tasks = {n["task"] for n in data["pipeline"]["graph"]["nodes"] if n["task"]}
    assert tasks == {"evaluate", "tables", "documents", "train"}
    refused = _invoke("inspect", f"{PIPELINE_FILE}:artifacts_pipeline", "--html", str(tmp_path))
    assert refused.exit_code == 2 and "--html" in refused.output


def _srcdoc(frame: str) -> str:
    found = re.fullmatch(r'<iframe sandbox="allow-scripts" srcdoc="([^"]*)" [^>]*></iframe>', frame)
    assert found, frame[:200]
    return html.unescape(found.group(1))


def test_pipeline_and_run_result_show_as_graphs_in_notebooks(store: tuple[Path, Any]) -> None:
    from artifact_runs import artifacts_pipeline

    pipeline_data = _data(_srcdoc(artifacts_pipeline._repr_html_()))
    assert pipeline_data["kind"] == "pipeline"
    assert len([n for n in pipeline_data["pipeline"]["graph"]["nodes"] if n["task"]]) == 4
    _, result = store
    run_data = _data(_srcdoc(result._repr_html_()))
    assert run_data["run"]["run_id"] == result.run_id and run_data["run"]["status"] == "succeeded"
    statuses = {n["task"]: n["status"] for n in run_data["run"]["graph"]["nodes"] if n["task"]}
    assert set(statuses.values()) == {"succeeded"} and len(statuses) == 4
    assert "hunter2-secret-value" not in json.dumps(run_data)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (report.STATIC / "index.html").is_file():
        pytest.skip("the UI's page files are not in this checkout")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on PATH")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def test_the_report_opens_offline_and_user_html_stays_sandboxed(
    store: tuple[Path, Any], browser: Any, tmp_path: Path
) -> None:
    root, result = store
    out = tmp_path / "run.html"
    out.write_text(standalone_html("run", run_report(root, result.run_id)), encoding="utf-8")
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(out.as_uri() + f"#/runs/{result.run_id}/steps/documents")
        page.wait_for_selector("svg#graph g.node[data-task=documents][data-status=succeeded]")
        frame = page.wait_for_selector("iframe.artifact-frame")
        assert frame.get_attribute("sandbox") == "allow-scripts"
        assert "window.parent" in (frame.get_attribute("srcdoc") or "")
        page.wait_for_timeout(300)  # the artifact's script had its chance to run
        assert page.title() != "owned"
        assert page.locator("img.artifact-image").get_attribute("src").startswith("data:image/png")
    finally:
        page.close()
    assert requests and all(r.startswith(("file:", "data:", "about:")) for r in requests)
