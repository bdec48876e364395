"""The web page itself (dagwright/ui/static/) in headless Chromium, without dagwright's server.

Static mode: index.html with its stylesheet and scripts inlined and a hand-written
``#dagwright-data`` (a run in the contract's shapes), opened as ``file://``: graph nodes and
their colours, the step panel, artifact views, and hostile names and HTML kept inert. Then a
canned API from a stdlib ``http.server`` (only here, in a thread) for the runs table, its
filters, live updates and the Cancel button's POST.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

STATIC = Path(__file__).resolve().parents[2] / "dagwright" / "ui" / "static"
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs the chromium executable")

HOSTILE_TASK = "<img src=x onerror=window.pwned=1>"
HOSTILE_HTML = (
    "<script>try { parent.window.pwned = 1 } catch (e) {} try { top.pwned = 1 } catch (e) {}"
    '</script><img src=x onerror="try { parent.pwned = 1 } catch (e) {}"><p>report</p>'
)
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'"
)
RUN_ID = "demo-20261205-100000-abcdef"


def inlined_page(data: dict[str, Any] | None) -> str:
    """index.html with app.css and the scripts inlined in the order index.html loads them
    (what the report builder does), and the data embedded as the report embeds it."""
    html = (STATIC / "index.html").read_text()
    css = (STATIC / "app.css").read_text()
    html = html.replace('<link rel="stylesheet" href="/static/app.css">', f"<style>{css}</style>")
    scripts = re.findall(r'<script src="/static/([\w.-]+\.js)"></script>', html)
    assert scripts[-1] == "app.js" and len(scripts) == len(set(scripts)) >= 2
    for name in scripts:
        source = (STATIC / name).read_text()
        assert "</" not in source, f"{name} must stay inlinable in a <script> element"
        html = html.replace(f'<script src="/static/{name}"></script>', f"<script>{source}</script>")
    if data is not None:
        embedded = json.dumps(data).replace("</", "<\\/")
        tag = f'<script type="application/json" id="dagwright-data">{embedded}</script>\n'
        html = html.replace("<script>", tag + "<script>", 1)
    return html


def node(id_: str, x: float, y: float, status: str | None, **more: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "kind": "task",
        "label": id_,
        "task": id_,
        "block": None,
        "parent": None,
        "status": status,
        "iterations": None,
        "x": x,
        "y": y,
        "w": 160,
        "h": 40,
        **more,
    }


def step(task: str, status: str, iteration: str = "", **more: Any) -> dict[str, Any]:
    row = {
        "run_id": RUN_ID,
        "task": task,
        "iteration": iteration,
        "status": status,
        "attempts": 1,
        "started": 1796464700.0,
        "ended": 1796464702.5,
        "error": None,
        "traceback": None,
        "outputs": None,
        "cache_key": None,
        "cached": False,
        "stdout": "",
        "stderr": "",
        "note": None,
    }
    row.update(more)
    return row


def artifact(name: str, type_: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": type_,
        "name": name,
        "uri": f"store/artifacts/{RUN_ID}/evaluate/{name}",
        "metadata": metadata or {},
        "digest": "69ac9e61b6ed75e4ba367514b4d85f5e55f1e1f245376a7064e3bbee482f2612",
    }


def canned_run(status: str = "failed") -> dict[str, Any]:
    """A run as /api/runs/{id} answers: a loop in a ParallelFor block, a failed step, an
    evaluation with metrics, classification metrics and a hostile HTML report."""
    loop = {"total": 3, "by_status": {"succeeded": 2, "failed": 1}}
    graph = {
        "nodes": [
            node("prepare", 100, 10, "succeeded"),
            {
                **node("parallel-for-1", 20, 80, "failed"),
                "kind": "block",
                "block": "parallel_for",
                "task": None,
                "label": "for x in prepare.output",
                "w": 220,
                "h": 100,
            },
            node("square", 50, 120, "failed", parent="parallel-for-1", iterations=loop),
            node("train", 300, 120, "failed"),
            node("evaluate", 300, 200, "succeeded"),
            {**node(HOSTILE_TASK, 100, 280, "succeeded"), "label": HOSTILE_TASK},
            node("notify", 300, 280, "some_new_status"),
        ],
        "edges": [
            {"source": "prepare", "target": "square", "kind": "data"},
            {"source": "prepare", "target": "train", "kind": "data"},
            {"source": "train", "target": "evaluate", "kind": "data"},
            {"source": "evaluate", "target": HOSTILE_TASK, "kind": "after"},
        ],
        "width": 480,
        "height": 330,
    }
    outputs = {
        "metrics": artifact("metrics", "Metrics", {"accuracy": 0.91, "loss": 0.27, "f1": 0.88}),
        "classes": artifact("classes", "ClassificationMetrics"),
        "report": artifact("report", "HTML"),
        "model": artifact("model", "Model", {"framework": "sklearn"}),
    }
    steps = [
        step("prepare", "succeeded", outputs={"output": [0, 1, 2]}),
        step("square", "succeeded", "0", stdout="x 0\n"),
        step("square", "succeeded", "1", stdout="x 1\n"),
        step("square", "failed", "2", error="ValueError: 2 is odd"),
        step(
            "train",
            "failed",
            error="RuntimeError: loss diverged",
            traceback='Traceback (most recent call last):\n  File "train.py", line 3\n'
            "RuntimeError: loss diverged",
            stdout="epoch 1\nepoch 2\n",
            stderr="warning: lr high\n",
            attempts=2,
        ),
        step("evaluate", "succeeded", outputs=outputs),
        step(HOSTILE_TASK, "succeeded"),
        step("notify", "some_new_status"),
    ]
    return {
        "run_id": RUN_ID,
        "pipeline": "demo",
        "status": status,
        "params": {"lr": 0.1, "note": "<script>window.pwned=1</script>"},
        "outputs": {},
        "started": 1796464700.0,
        "ended": 1796464705.0,
        "reason": None,
        "duration": 5.0,
        "steps": steps,
        "graph": graph,
    }


def canned_report() -> dict[str, Any]:
    run = canned_run()
    evaluate = next(s for s in run["steps"] if s["task"] == "evaluate")
    uri = {name: a["uri"] for name, a in evaluate["outputs"].items()}
    return {
        "kind": "run",
        "run": run,
        "steps_detail": {
            "train": {
                "component": "train",
                "parameters": {"lr": 0.1},
                "inputs": {"data": [0, 1, 2]},
            },
            "evaluate": {"component": "evaluate", "parameters": {}, "inputs": {}},
        },
        "previews": {
            uri["metrics"]: {
                "kind": "metrics",
                "rows": [["accuracy", 0.91], ["loss", 0.27], ["f1", 0.88], ["note", "n/a"]],
            },
            uri["classes"]: {
                "kind": "classification",
                "confusion_matrix": {"labels": ["cat", "dog"], "rows": [[8, 2], [1, 9]]},
                "roc": [
                    {"fpr": 0.0, "tpr": 0.0, "threshold": 1.0},
                    {"fpr": 0.1, "tpr": 0.7, "threshold": 0.6},
                    {"fpr": 1.0, "tpr": 1.0, "threshold": 0.0},
                ],
            },
            uri["model"]: {
                "kind": "model",
                "metadata": {"framework": "sklearn"},
                "files": [{"path": "model.pkl", "size": 1536}, {"path": "README", "size": 12}],
            },
            uri["report"]: {
                "kind": "html",
                "raw_url": "/api/artifacts/raw?uri=report",
                "html": HOSTILE_HTML,
            },
        },
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


class Watched:
    """A page, the requests it made and the errors it raised."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(5000)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def watched(browser: Any) -> Iterator[Watched]:
    w = Watched(browser)
    yield w
    w.close()


def open_static(w: Watched, tmp_path: Path, data: dict[str, Any]) -> Any:
    page_file = tmp_path / "report.html"
    page_file.write_text(inlined_page(data))
    w.page.goto(page_file.as_uri())
    w.page.wait_for_selector("svg#graph g.node")
    return w.page


def fill_of(page: Any, selector: str) -> str:
    return page.eval_on_selector(selector, "el => getComputedStyle(el).fill")


def test_static_run_page_draws_the_graph_coloured_by_status(
    watched: Watched, tmp_path: Path
) -> None:
    page = open_static(watched, tmp_path, canned_report())
    nodes = page.locator("svg#graph g.node")
    assert nodes.count() == 6
    assert page.locator("svg#graph g.block[data-block=parallel_for]").count() == 1
    train = page.locator('svg#graph g.node[data-task="train"]')
    assert train.get_attribute("data-status") == "failed"
    assert "status-failed" in (train.get_attribute("class") or "")
    failed = fill_of(page, 'g.node[data-task="train"] rect')
    succeeded = fill_of(page, 'g.node[data-task="evaluate"] rect')
    unknown = fill_of(page, 'g.node[data-task="notify"] rect')
    assert len({failed, succeeded, unknown}) == 3, (failed, succeeded, unknown)
    assert unknown == "rgb(229, 231, 235)"  # an unknown status keeps the grey default
    # the loop node shows its counts; the hostile task name is text, not an element
    assert "2/3" in (page.locator('g.node[data-task="square"] text.count').text_content() or "")
    hostile = page.locator("svg#graph g.node").filter(has_text="<img")
    assert hostile.count() == 1
    assert hostile.get_attribute("data-task") == HOSTILE_TASK
    assert page.locator("#app img").count() == 0
    assert "<script>" in page.locator("#run-header").inner_text()
    assert page.locator("#run-header").get_attribute("data-run-status") == "failed"
    # a static page offers no actions and asks nothing of a server
    assert page.locator("#cancel-run, #resume-run").count() == 0
    assert all(u.startswith(("file:", "data:", "about:")) for u in watched.requests), (
        watched.requests
    )
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert watched.errors == []


def test_static_step_panel_shows_the_failure_and_the_artifacts(
    watched: Watched, tmp_path: Path
) -> None:
    page = open_static(watched, tmp_path, canned_report())
    panel = page.locator("#step-panel")
    assert panel.is_hidden()
    page.click('svg#graph g.node[data-task="train"]')
    panel.locator("[data-field=status]").wait_for()
    assert panel.is_visible()
    assert panel.locator("[data-field=status]").inner_text() == "failed"
    assert "loss diverged" in panel.locator("[data-field=error]").inner_text()
    assert (
        "Traceback (most recent call last)" in panel.locator("[data-field=traceback]").inner_text()
    )
    assert panel.locator("[data-field=attempts]").inner_text() == "2"
    assert panel.locator("pre#stdout").text_content() == "epoch 1\nepoch 2\n"
    assert "lr high" in panel.locator("pre#stderr").inner_text()
    assert "selected" in (page.get_attribute('g.node[data-task="train"]', "class") or "")

    page.click('svg#graph g.node[data-task="evaluate"]')
    metrics = panel.locator('.artifact[data-name="metrics"]')
    metrics.locator("table.metrics").wait_for()
    assert metrics.locator("table.metrics tbody tr").count() == 4
    assert metrics.locator("svg.metric-chart rect.bar").count() == 3  # numbers only
    widths = [
        float(metrics.locator(f'svg.metric-chart rect[data-metric="{m}"]').get_attribute("width"))
        for m in ("accuracy", "loss")
    ]
    assert widths[0] > widths[1] * 3
    cm = panel.locator('.artifact[data-name="classes"] table.confusion-matrix')
    assert cm.locator("tbody td").all_inner_texts() == ["8", "2", "1", "9"]
    assert panel.locator('.artifact[data-name="classes"] svg.roc-chart polyline').count() == 1
    model = panel.locator('.artifact[data-name="model"]')
    expect(model.locator("ul.model-files li")).to_have_count(2)
    assert model.locator("dl.model-meta dd").all_inner_texts() == ["sklearn"]
    assert model.locator("ul.model-files li").all_inner_texts() == [
        "model.pkl (1.5 KB)",
        "README (12 B)",
    ]
    frame = panel.locator('.artifact[data-name="report"] iframe.artifact-frame')
    assert frame.get_attribute("sandbox") == "allow-scripts"
    # the hostile document ran in its sandbox and reached nothing of the page
    assert page.frame_locator("iframe.artifact-frame").locator("p").inner_text() == "report"
    assert page.evaluate("typeof window.pwned") == "undefined"

    # a loop node lists its iterations; one of them opens its own panel
    page.click('svg#graph g.node[data-task="square"]')
    expect(panel.locator("ul.iterations li")).to_have_count(3)  # drawn after the click
    panel.locator('li[data-iteration="2"] a').click()
    panel.locator(".step[data-iteration='2']").wait_for()
    assert "2 is odd" in panel.locator("[data-field=error]").inner_text()
    # the hostile task's panel shows its name as text
    page.click("svg#graph g.node >> nth=4")
    expect(panel.locator("h3")).to_have_text(HOSTILE_TASK)
    assert page.evaluate("typeof window.pwned") == "undefined"
    # only the sandboxed document's own <img src=x> may fail to load
    assert [e for e in watched.errors if "Not allowed to load local resource" not in e] == []


def test_static_pipeline_page_is_the_graph_only(watched: Watched, tmp_path: Path) -> None:
    graph = canned_run()["graph"]
    for n in graph["nodes"]:
        n["status"] = None
    page = open_static(watched, tmp_path, {"kind": "pipeline", "graph": graph})
    assert page.locator("svg#graph g.node").count() == 6
    assert page.locator("#run-header, #step-panel, table#runs").count() == 0
    assert watched.errors == []


class CannedApi:
    """The routes the page calls, answered from dicts; what it was asked is recorded."""

    def __init__(self) -> None:
        running = canned_run("running")
        for n in running["graph"]["nodes"]:
            if n["task"] == "evaluate":
                n["status"] = "running"
        self.runs = [
            {"run_id": "run-a", "pipeline": "demo", "status": "succeeded", "params": {"n": 1}},
            {"run_id": "run-b", "pipeline": "other", "status": "failed", "params": {}},
            {"run_id": RUN_ID, "pipeline": "demo", "status": "running", "params": {"lr": 0.1}},
        ]
        for r in self.runs:
            r.update(started=1796464700.0, ended=None, duration=3.0)
        self.run = running
        self.paused = {"nightly": False}
        self.asked: list[str] = []
        self.posts: list[tuple[str, str | None]] = []
        self.events: queue.Queue[list[str]] = queue.Queue()
        self.stopping = threading.Event()

    def answer(self, path: str, query: dict[str, list[str]]) -> Any:
        if path == "/api/runs":
            rows = [
                r
                for r in self.runs
                if ("status" not in query or r["status"] in query["status"])
                and ("pipeline" not in query or r["pipeline"] == query["pipeline"][0])
            ]
            return {"runs": rows, "total": len(rows)}
        if path == f"/api/runs/{RUN_ID}":
            return self.run
        if path == f"/api/runs/{RUN_ID}/steps/evaluate":
            row = next(s for s in self.run["steps"] if s["task"] == "evaluate")
            return {**row, "status": "running", "outputs": {}, "parameters": {"k": 3}}
        if path == "/api/schedules":
            return {
                "schedules": [
                    {
                        "name": "nightly",
                        "cron": "0 3 * * *",
                        "paused": self.paused["nightly"],
                        "next": ["2026-12-06T03:00:00+00:00"] if not self.paused["nightly"] else [],
                        "last_runs": [{"run_id": "run-a", "status": "succeeded"}],
                    }
                ]
            }
        if path == "/api/compare":
            return {
                "runs": [
                    {
                        "run_id": "run-a",
                        "status": "succeeded",
                        "params": {"n": 1},
                        "metrics": {"train.accuracy": 0.9},
                    },
                    {
                        "run_id": "run-b",
                        "status": "failed",
                        "params": {"n": 2},
                        "metrics": {"train.accuracy": 0.85},
                    },
                ],
                "params": ["n"],
                "metrics": ["train.accuracy"],
                "lineage_diff": {
                    "run-b": {"components": [{"name": "<b>train</b>", "before": "a1"}]}
                },
            }
        if path == f"/api/runs/{RUN_ID}/logs/evaluate":
            stream = query["stream"][0]
            offset = int(query.get("offset", ["0"])[0])
            text = f"{stream} line\n" if offset == 0 else ""
            return {"text": text, "offset": offset + len(text), "done": offset > 0}
        return None


def serve(api: CannedApi) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def send(self, code: int, body: bytes, kind: str, csp: bool = False) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if csp:
                self.send_header("Content-Security-Policy", CSP)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            api.asked.append(self.path)
            if url.path == "/":
                self.send(200, (STATIC / "index.html").read_bytes(), "text/html", csp=True)
            elif url.path.startswith("/static/"):
                name = unquote(url.path[len("/static/") :])
                kind = "text/css" if name.endswith(".css") else "text/javascript"
                self.send(200, (STATIC / Path(name).name).read_bytes(), kind)
            elif url.path == "/api/events":
                self.events_stream()
            else:
                found = api.answer(url.path, parse_qs(url.query))
                code = 404 if found is None else 200
                body = found if found is not None else {"error": "no route", "field": None}
                self.send(code, json.dumps(body).encode(), "application/json")

        def events_stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.flush()
            while not api.stopping.is_set():
                try:
                    ids = api.events.get(timeout=0.1)
                except queue.Empty:
                    continue
                try:
                    payload = json.dumps({"runs": ids})
                    self.wfile.write(f"event: change\ndata: {payload}\n\n".encode())
                    self.wfile.flush()
                except OSError:
                    return

        def do_POST(self) -> None:  # noqa: N802
            api.posts.append((self.path, self.headers.get("X-Dagwright")))
            if self.path.startswith("/api/schedules/nightly/"):
                api.paused["nightly"] = self.path.endswith("/pause")
            body = json.dumps({"run_id": RUN_ID, "status": "running"}).encode()
            self.send(202, body, "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


@pytest.fixture()
def canned() -> Iterator[tuple[CannedApi, str]]:
    api = CannedApi()
    server = serve(api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api, f"http://127.0.0.1:{server.server_address[1]}"
    api.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_runs_table_filters_and_live_updates(
    watched: Watched, canned: tuple[CannedApi, str]
) -> None:
    api, base = canned
    page = watched.page
    page.goto(base + "/#/runs")
    rows = page.locator("table#runs tbody tr[data-run-id]")
    rows.first.wait_for()
    assert rows.count() == 3
    statuses = {r.get_attribute("data-run-id"): r.get_attribute("data-status") for r in rows.all()}
    assert statuses == {"run-a": "succeeded", "run-b": "failed", RUN_ID: "running"}

    page.select_option("#filter-status", "failed")
    expect(rows).to_have_count(1)
    assert rows.first.get_attribute("data-run-id") == "run-b"
    assert any(a.startswith("/api/runs?") and "status=failed" in a for a in api.asked)
    page.select_option("#filter-status", "")
    page.fill("#filter-pipeline", "demo")
    page.press("#filter-pipeline", "Enter")
    expect(rows).to_have_count(2)
    assert any("pipeline=demo" in a for a in api.asked)
    assert "pipeline=demo" in page.evaluate("location.hash")

    # a change event: the page refetches and the running run's row turns succeeded
    api.runs[2]["status"] = "succeeded"
    api.events.put([RUN_ID])
    page.wait_for_selector(f'table#runs tr[data-run-id="{RUN_ID}"][data-status="succeeded"]')
    assert watched.errors == []


def test_run_page_cancel_posts_with_the_header_and_tails_logs(
    watched: Watched, canned: tuple[CannedApi, str]
) -> None:
    api, base = canned
    page = watched.page
    page.goto(f"{base}/#/runs/{RUN_ID}")
    page.wait_for_selector("svg#graph g.node")
    assert page.get_attribute("#run-header", "data-run-status") == "running"
    assert page.locator("button#resume-run").count() == 0
    page.click("button#cancel-run")
    expect(page.locator("#action-message")).to_have_text("cancel requested")
    assert (f"/api/runs/{RUN_ID}/cancel", "1") in api.posts

    # the running step's panel follows its live log through the logs route
    page.click('svg#graph g.node[data-task="evaluate"]')
    expect(page.locator("pre#stdout")).to_have_text("stdout line\n")
    expect(page.locator("pre#stderr")).to_have_text("stderr line\n")
    assert any("/logs/evaluate?" in a and "offset=0" in a for a in api.asked)

    # live: the step ends, an event arrives, the node changes colour in place
    for n in api.run["graph"]["nodes"]:
        if n["task"] == "evaluate":
            n["status"] = "succeeded"
    api.run["status"] = "cancelled"
    api.events.put([RUN_ID])
    page.wait_for_selector('svg#graph g.node[data-task="evaluate"][data-status="succeeded"]')
    assert page.get_attribute("#run-header", "data-run-status") == "cancelled"
    assert page.locator("button#resume-run").count() == 1
    assert page.locator("button#cancel-run").count() == 0
    assert watched.errors == []


def test_compare_and_schedules_pages(watched: Watched, canned: tuple[CannedApi, str]) -> None:
    api, base = canned
    page = watched.page
    page.goto(f"{base}/#/runs")
    page.locator("table#runs tbody tr[data-run-id]").first.wait_for()
    page.check('input.pick[value="run-a"]')
    page.check('input.pick[value="run-b"]')
    page.click("#compare-selected")
    metrics = page.locator("table#compare-metrics")
    expect(metrics.locator('tr[data-name="train.accuracy"] td')).to_have_text(["0.9", "0.85"])
    expect(page.locator('table#compare-params tr[data-name="n"] td')).to_have_text(["1", "2"])
    assert "runs=run-a%2Crun-b" in page.evaluate("location.hash") or "runs=run-a,run-b" in (
        page.evaluate("location.hash")
    )
    # the diff's fields are shown as text, markup in them too
    expect(page.locator("#lineage-diff")).to_contain_text("<b>train</b>")
    assert page.locator("#lineage-diff b").count() == 0

    page.goto(f"{base}/#/schedules")
    row = page.locator('table#schedules tr[data-schedule="nightly"]')
    expect(row).to_contain_text("2026-12-06T03:00:00+00:00")
    row.locator("button.pause").click()
    expect(row.locator("button.resume")).to_be_visible()
    assert ("/api/schedules/nightly/pause", "1") in api.posts
    row.locator("button.resume").click()
    expect(row.locator("button.pause")).to_be_visible()
    assert ("/api/schedules/nightly/resume", "1") in api.posts
    assert watched.errors == []


PNG_1PX = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
    "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_static_dataset_image_and_model_views(watched: Watched, tmp_path: Path) -> None:
    """The issue's other artifact kinds: a dataset's first rows as a table, an image inline,
    a model's metadata; an image URL that is no data: image or same-site path is not loaded."""
    data = canned_report()
    evaluate = next(s for s in data["run"]["steps"] if s["task"] == "evaluate")
    kinds = {
        "table": ("Dataset", {"kind": "dataset", "columns": ["x", "<b>y</b>"],
                              "rows": [[1, "a"], [2, "b"]], "total_rows": 40}),
        "picture": ("Artifact", {"kind": "image", "mime": "image/png", "data_url": PNG_1PX}),
        "hostile": ("Artifact", {"kind": "image", "mime": "image/png",
                                 "data_url": "javascript:window.pwned=1"}),
        "model": ("Model", {"kind": "model", "metadata": {"framework": "sklearn",
                                                          "api_token": "***"},
                            "files": [{"path": "model.joblib", "size": 10}]}),
    }  # fmt: skip
    evaluate["outputs"] = {name: artifact(name, type_) for name, (type_, _) in kinds.items()}
    data["previews"] = {
        evaluate["outputs"][name]["uri"]: shown for name, (_, shown) in kinds.items()
    }
    page = open_static(watched, tmp_path, data)
    page.click('svg#graph g.node[data-task="evaluate"]')
    panel = page.locator("#step-panel")
    table = panel.locator('.artifact[data-name="table"] table.dataset-preview')
    table.wait_for()
    assert table.locator("thead th").all_inner_texts() == ["x", "<b>y</b>"]
    assert table.locator("tbody td").all_inner_texts() == ["1", "a", "2", "b"]
    assert "first 2 of 40 rows" in panel.locator('.artifact[data-name="table"]').inner_text()
    image = panel.locator('.artifact[data-name="picture"] img.artifact-image')
    assert image.get_attribute("src") == PNG_1PX
    page.wait_for_function("document.querySelector('img.artifact-image').naturalWidth === 1")
    assert panel.locator('.artifact[data-name="hostile"] img').count() == 0
    model = panel.locator('.artifact[data-name="model"] dl.model-meta')
    assert model.locator("dt").all_inner_texts() == ["api_token", "framework"]
    assert model.locator("dd").all_inner_texts() == ["***", "sklearn"]
    assert "model.joblib" in panel.locator('.artifact[data-name="model"]').inner_text()
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert watched.errors == []
