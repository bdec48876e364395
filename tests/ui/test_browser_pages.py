"""The UI's pages in a real browser, over a store made by real runs.

One store for the module (two runs of ``showcase``, a failed ``breaks``, a schedule), one
``dagwright ui`` server and one headless Chromium; each test clicks through a page and checks
what it shows, with the DOM of the contract (ids, classes, data- attributes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import PIPELINES, UiServer, dagwright, run_pipeline, ui_server

pytestmark = pytest.mark.integration

SHOWCASE_TASKS = {"prepare", "train", "publish", "square"}


@dataclass
class Store:
    root: Path
    folder: Path
    dataset_digest: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("ui-pages")
    root = folder / "store"
    run_pipeline(root, "showcase", "show-a")
    run_pipeline(root, "showcase", "show-b", "n=5")
    run_pipeline(root, "breaks", "breaks-a", f"marker={folder / 'never'}", ok=False)
    dagwright(
        "schedule", "add", f"{PIPELINES}:showcase", "--cron", "0 3 * * *",
        "--name", "nightly", "--root", str(root),
    )  # fmt: skip
    shown = json.loads(dagwright("runs", "show", "show-a", "--root", str(root), "--json").stdout)
    prepare = next(step for step in shown["steps"] if step["task"] == "prepare")
    return Store(root, folder, prepare["outputs"]["data"]["digest"])


@pytest.fixture(scope="module")
def ui(store: Store) -> Iterator[UiServer]:
    with ui_server(store.root) as server:
        yield server


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _fill(element: Any) -> str:
    """The computed fill of a graph node's shape (its colour comes from CSS)."""
    return str(
        element.evaluate(
            "g => getComputedStyle(g.querySelector('rect, path, circle, ellipse, polygon')).fill"
        )
    )


def _numbers(row: Any) -> set[float]:
    """The cells of a table row that are numbers, as numbers (however many digits shown)."""
    found = set()
    for cell in row.locator("td").all_inner_texts():
        try:
            found.add(round(float(cell.strip()), 6))
        except ValueError:
            pass
    return found


def test_runs_table_lists_the_runs_and_filters_them(ui: UiServer, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/runs")
    rows = page.locator("table#runs tbody tr[data-run-id]")
    expect(rows).to_have_count(3)
    statuses = {
        rows.nth(i).get_attribute("data-run-id"): rows.nth(i).get_attribute("data-status")
        for i in range(3)
    }
    assert statuses == {"show-a": "succeeded", "show-b": "succeeded", "breaks-a": "failed"}
    assert "showcase" in page.locator("table#runs tr[data-run-id=show-a]").inner_text()

    page.select_option("#filter-status", "failed")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", "breaks-a")

    page.select_option("#filter-status", "")
    page.fill("#filter-pipeline", "showcase")
    page.press("#filter-pipeline", "Enter")
    expect(rows).to_have_count(2)
    assert {rows.nth(i).get_attribute("data-run-id") for i in range(2)} == {"show-a", "show-b"}

    page.fill("#filter-since", "2999-01-01")
    page.press("#filter-since", "Enter")
    expect(rows).to_have_count(0)

    # a row leads to its run
    page.goto(f"{ui.url}/#/runs")
    page.click('table#runs tr[data-run-id=breaks-a] a[href="#/runs/breaks-a"]')
    expect(page.locator("#run-header")).to_have_attribute("data-run-status", "failed")
    assert page.js_errors == []


def test_run_graph_has_a_node_per_task_coloured_by_status(ui: UiServer, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/runs/show-a")
    nodes = page.locator("svg#graph g.node[data-task]")
    expect(nodes).to_have_count(len(SHOWCASE_TASKS))
    tasks = {nodes.nth(i).get_attribute("data-task") for i in range(len(SHOWCASE_TASKS))}
    assert tasks == SHOWCASE_TASKS
    for i in range(len(SHOWCASE_TASKS)):
        expect(nodes.nth(i)).to_have_attribute("data-status", "succeeded")
        assert "status-succeeded" in (nodes.nth(i).get_attribute("class") or "").split()
    # the If and the ParallelFor are boxes around their tasks
    blocks = {b.get_attribute("data-block") for b in page.locator("svg#graph g.block").all()}
    assert {"if", "parallel_for"} <= blocks
    # each box is labelled once with its kind and what it tests or loops over
    labels = page.locator("svg#graph g.block[data-block=parallel_for] text.block-label")
    expect(labels.first).to_have_text(re.compile(r"^ParallelFor "))
    succeeded = _fill(nodes.first)

    page.goto(f"{ui.url}/#/runs/breaks-a")
    failed = page.locator("svg#graph g.node[data-task=check]")
    expect(failed).to_have_attribute("data-status", "failed")
    assert "status-failed" in (failed.get_attribute("class") or "").split()
    expect(page.locator("svg#graph g.node[data-task=prepare]")).to_have_attribute(
        "data-status", "succeeded"
    )
    # colours come from the status: a failed node is not drawn as a succeeded one
    assert _fill(failed) != succeeded
    assert _fill(page.locator("svg#graph g.node[data-task=prepare]")) == succeeded
    assert page.js_errors == []


def test_step_panel_shows_error_traceback_and_stdout(ui: UiServer, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/runs/breaks-a")
    page.click("svg#graph g.node[data-task=check]")
    panel = page.locator("#step-panel")
    expect(panel.locator("[data-field=status]")).to_have_text("failed")
    expect(panel.locator("[data-field=error]")).to_contain_text("the marker file is missing")
    expect(panel).to_contain_text("Traceback (most recent call last)")
    expect(panel).to_contain_text('raise RuntimeError("the marker file is missing")')
    expect(panel.locator("pre#stdout")).to_contain_text("looking for the marker")
    assert page.js_errors == []


def test_metrics_chart_and_confusion_matrix(ui: UiServer, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/runs/show-a")
    page.click("svg#graph g.node[data-task=train]")
    panel = page.locator("#step-panel")
    expect(panel.locator("pre#stdout")).to_contain_text("training on 3 rows")
    metrics = panel.locator(".artifact[data-name=metrics]")
    table = metrics.locator("table.metrics")
    expect(table).to_contain_text("accuracy")
    expect(table).to_contain_text("0.9")
    expect(table).to_contain_text("loss")
    chart = metrics.locator("svg.metric-chart")
    expect(chart).to_be_visible()
    assert chart.locator("rect, path, line, circle").count() >= 2  # one mark per metric at least

    scores = panel.locator(".artifact[data-name=scores]")
    matrix = scores.locator("table.confusion-matrix")
    expect(matrix).to_contain_text("cat")
    expect(matrix).to_contain_text("dog")
    cells = [c.strip() for c in matrix.locator("td").all_inner_texts()]
    assert [c for c in cells if c.isdigit()] == ["7", "2", "1", "9"]
    expect(scores.locator("svg.roc-chart")).to_be_visible()
    assert page.js_errors == []


def test_a_hostile_html_artifact_cannot_reach_the_ui_origin(ui: UiServer, page: Any) -> None:
    expect = _expect()
    from_frames: list[str] = []
    page.on(
        "request",
        lambda r: from_frames.append(r.url) if r.frame != page.main_frame else None,
    )

    page.goto(f"{ui.url}/#/runs/show-a")
    title = page.title()
    page.click("svg#graph g.node[data-task=publish]")
    frame_element = page.locator("#step-panel .artifact[data-name=page] iframe.artifact-frame")
    expect(frame_element).to_have_attribute("sandbox", "allow-scripts")
    src = frame_element.get_attribute("src") or ""
    assert "/api/artifacts/raw" in src

    frame = frame_element.element_handle().content_frame()
    frame.locator("h1#hello").wait_for()
    frame.wait_for_load_state("load")
    # its script runs (an interactive chart must), in an opaque origin with no network:
    # everything it tried was refused
    ran = frame.locator("body[data-ran='1']")
    ran.wait_for(state="attached")
    frame.locator("body[data-fetched]").wait_for(state="attached")
    tried = json.loads(ran.get_attribute("data-tried") or "{}")
    assert tried["parent"] == "blocked"
    assert tried["top"] == "blocked"
    assert tried["cookie"] in ("blocked", "none")
    assert ran.get_attribute("data-fetched") == "blocked"

    # and from the page: nothing changed, no cookie, no request to the API from the frame
    assert page.evaluate("document.body.hasAttribute('data-pwned')") is False
    assert page.title() == title
    assert "pwned" not in page.url
    assert page.context.cookies() == []
    assert page.evaluate("document.cookie") == ""
    assert [url for url in from_frames if "/api/" in url and "/api/artifacts/raw" not in url] == []

    # the raw route itself makes any document an opaque origin
    status, headers, _ = ui.get(src if src.startswith("/") else src[len(ui.url) :])
    assert status == 200
    policy = {k.lower(): v for k, v in headers.items()}
    assert policy["content-security-policy"].startswith("sandbox allow-scripts")
    assert "default-src 'none'" in policy["content-security-policy"]
    assert policy["x-content-type-options"] == "nosniff"


def test_markdown_is_rendered_and_its_script_dropped(ui: UiServer, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/runs/show-a")
    page.click("svg#graph g.node[data-task=publish]")
    frame_element = page.locator("#step-panel .artifact[data-name=note] iframe.artifact-frame")
    expect(frame_element).to_have_attribute("sandbox", "allow-scripts")
    assert "render=md" in (frame_element.get_attribute("src") or "")
    frame = frame_element.element_handle().content_frame()
    frame.wait_for_selector("h1")
    assert frame.inner_text("h1") == "Release notes"
    assert frame.inner_text("strong") == "up"
    assert frame.evaluate("document.querySelectorAll('script').length") == 0
    assert frame.evaluate("document.querySelectorAll('[onerror]').length") == 0
    assert page.evaluate("document.body.hasAttribute('data-pwned')") is False


def test_compare_shows_parameters_and_metrics_side_by_side(ui: UiServer, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/compare?runs=show-a,show-b")
    params = page.locator("table#compare-params")
    expect(params).to_contain_text("show-a")
    expect(params).to_contain_text("show-b")
    named = params.locator("tbody tr").filter(has=page.locator("th", has_text=re.compile("^n$")))
    assert _numbers(named) == {3.0, 5.0}
    metrics = page.locator("table#compare-metrics")
    accuracy = page.locator("th", has_text=re.compile("accuracy$"))
    assert _numbers(metrics.locator("tbody tr").filter(has=accuracy)) == {0.9, 0.8}
    expect(page.locator("#lineage-diff")).not_to_be_empty()
    assert page.js_errors == []


def test_lineage_search_by_digest_draws_the_graph(ui: UiServer, store: Store, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/lineage")
    page.fill("input#lineage-search", store.dataset_digest[:12])
    page.press("input#lineage-search", "Enter")
    nodes = page.locator("svg#lineage-graph g.node")
    expect(nodes.first).to_be_visible()
    # the dataset, the step that made it and the step that read it, at least
    assert nodes.count() >= 3
    text = " ".join(nodes.all_text_contents())
    assert "prepare" in text and "train" in text
    assert page.js_errors == []


def test_schedules_pause_and_resume(ui: UiServer, store: Store, page: Any) -> None:
    expect = _expect()

    def paused() -> bool:
        listed = json.loads(dagwright("schedule", "ls", "--root", str(store.root), "--json").stdout)
        found = listed if isinstance(listed, list) else listed["schedules"]
        return next(s for s in found if s["name"] == "nightly")["state"] == "paused"

    page.goto(f"{ui.url}/#/schedules")
    row = page.locator("table#schedules tr[data-schedule=nightly]")
    expect(row).to_contain_text("0 3 * * *")
    row.locator("button.pause").click()
    expect(row.locator("button.resume")).to_be_visible()
    assert paused()
    row.locator("button.resume").click()
    expect(row.locator("button.pause")).to_be_visible()
    assert not paused()
    assert page.js_errors == []


def test_a_run_report_draws_its_graph_from_a_file_with_no_network(
    store: Store, browser: Any
) -> None:
    expect = _expect()
    report = store.folder / "show-a.html"
    dagwright("runs", "show", "show-a", "--root", str(store.root), "--html", str(report))
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(report.as_uri())
        nodes = page.locator("svg#graph g.node[data-task]")
        expect(nodes).to_have_count(len(SHOWCASE_TASKS))
        assert {n.get_attribute("data-task") for n in nodes.all()} == SHOWCASE_TASKS
        expect(page.locator("#run-header")).to_have_attribute("data-run-status", "succeeded")
        assert [u for u in requested if not u.startswith(("file:", "data:", "blob:"))] == []
    finally:
        context.close()


def test_the_pipeline_page_draws_the_dag_without_statuses(ui: UiServer, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/pipeline?run=breaks-a")
    nodes = page.locator("svg#graph g.node[data-task]")
    expect(nodes).to_have_count(2)
    assert {n.get_attribute("data-task") for n in nodes.all()} == {"prepare", "check"}
    # the pipeline as written, not as it ran: no node says how a run of it went
    assert page.locator("svg#graph g.node[data-status=failed]").count() == 0
    assert page.locator("svg#graph g.node[data-status=succeeded]").count() == 0
    assert page.js_errors == []


def test_inspect_html_draws_a_pipeline_from_a_file_with_no_network(
    store: Store, browser: Any
) -> None:
    expect = _expect()
    report = store.folder / "showcase-dag.html"
    dagwright("inspect", f"{PIPELINES}:showcase", "--html", str(report))
    context = browser.new_context(offline=True)
    try:
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(report.as_uri())
        nodes = page.locator("svg#graph g.node[data-task]")
        expect(nodes).to_have_count(len(SHOWCASE_TASKS))
        blocks = {b.get_attribute("data-block") for b in page.locator("svg#graph g.block").all()}
        assert {"if", "parallel_for"} <= blocks
        assert [u for u in requested if not u.startswith(("file:", "data:", "blob:"))] == []
    finally:
        context.close()


def test_the_pipeline_page_draws_a_kfp_yaml_given_in_its_file_input(
    ui: UiServer, store: Store, page: Any
) -> None:
    from kfp_pipeline import KFP_SECRET, KFP_TASKS, write_kfp_yaml

    expect = _expect()
    path = write_kfp_yaml(store.folder / "small-kfp.yaml")
    page.goto(f"{ui.url}/#/pipeline")
    page.set_input_files("input#pipeline-file", str(path))
    nodes = page.locator("svg#graph g.node[data-task]")
    expect(nodes).to_have_count(len(KFP_TASKS))
    assert {n.get_attribute("data-task") for n in nodes.all()} == KFP_TASKS
    # drawn as the run page draws, but no run: no node has a status
    assert {n.get_attribute("data-status") for n in nodes.all()} == {"unknown"}
    blocks = {b.get_attribute("data-block") for b in page.locator("svg#graph g.block").all()}
    assert blocks == {"if", "parallel_for"}
    assert KFP_SECRET not in page.content()

    # a file that is no pipeline: the server's reason shows, the old drawing goes
    broken = store.folder / "broken.yaml"
    broken.write_text("key: [unclosed\n")
    page.set_input_files("input#pipeline-file", str(broken))
    expect(page.locator(".error-box")).to_contain_text("neither JSON nor YAML")
    expect(nodes).to_have_count(0)
    assert page.js_errors == []
