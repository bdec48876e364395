"""What the UI shows while runs go, and what its buttons do to them, in a real browser.

The runs are ``dagwright run`` processes of their own, beside the ``dagwright ui`` server:
``gated`` waits in a step until the test creates its gate file, so the test decides when a
step that the page shows ``running`` ends; a failed ``breaks`` run succeeds once its marker
file exists, so the page's resume button can be seen to rerun it.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import UiServer, kill_group, run_pipeline, start_run, ui_server

pytestmark = pytest.mark.integration


@dataclass
class Store:
    root: Path
    folder: Path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    folder = tmp_path_factory.mktemp("ui-live")
    root = folder / "store"
    run_pipeline(root, "breaks", "broken", f"marker={folder / 'marker'}", ok=False)
    return Store(root, folder)


@pytest.fixture(scope="module")
def ui(store: Store) -> Iterator[UiServer]:
    with ui_server(store.root) as server:
        yield server


@pytest.fixture
def runs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The background runs a test starts: none outlives it."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        kill_group(proc)


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _wait_running(ui: UiServer, run_id: str, task: str) -> None:
    """Until the run database has the step running (the run's process starts it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            step = ui.get_json(f"/api/runs/{run_id}/steps/{task}")
            if step.get("status") == "running":
                return
        except OSError:
            pass  # the run is not recorded yet: 404
        time.sleep(0.1)
    pytest.fail(f"{run_id}/{task} never ran")


def test_a_running_step_turns_succeeded_on_the_page_without_a_reload(
    ui: UiServer, store: Store, page: Any, runs: list[subprocess.Popen[bytes]]
) -> None:
    expect = _expect()
    gate = store.folder / "gate-live"
    runs.append(start_run(store.root, "gated", "live", f"gate={gate}"))
    _wait_running(ui, "live", "wait-for")

    page.goto(f"{ui.url}/#/runs/live")
    node = page.locator("svg#graph g.node[data-task=wait-for]")
    expect(node).to_have_attribute("data-status", "running")
    expect(page.locator("#run-header")).to_have_attribute("data-run-status", "running")
    # the step's stdout tails while it runs
    page.click("svg#graph g.node[data-task=wait-for]")
    expect(page.locator("#step-panel pre#stdout")).to_contain_text("waiting for the gate")
    page.evaluate("window.notReloaded = true")

    gate.touch()
    expect(node).to_have_attribute("data-status", "succeeded", timeout=10_000)
    expect(page.locator("#run-header")).to_have_attribute(
        "data-run-status", "succeeded", timeout=10_000
    )
    assert "status-succeeded" in (node.get_attribute("class") or "").split()
    assert page.evaluate("window.notReloaded") is True  # the same page, updated in place
    assert runs[0].wait(timeout=30) == 0
    assert page.js_errors == []


def test_the_cancel_button_cancels_a_running_run(
    ui: UiServer, store: Store, page: Any, runs: list[subprocess.Popen[bytes]]
) -> None:
    expect = _expect()
    gate = store.folder / "gate-never"  # never created: only a cancel ends this run
    runs.append(start_run(store.root, "gated", "to-cancel", f"gate={gate}"))
    _wait_running(ui, "to-cancel", "wait-for")

    page.goto(f"{ui.url}/#/runs/to-cancel")
    expect(page.locator("#run-header")).to_have_attribute("data-run-status", "running")
    expect(page.locator("button#resume-run")).to_be_hidden()  # a running run is not resumed
    page.click("button#cancel-run")
    expect(page.locator("#run-header")).to_have_attribute(
        "data-run-status", "cancelled", timeout=15_000
    )
    # the run's own process ended it: it does not go on in the background
    runs[0].wait(timeout=15)
    assert ui.get_json("/api/runs/to-cancel")["status"] == "cancelled"
    expect(page.locator("button#cancel-run")).to_be_hidden()
    assert page.js_errors == []


def test_the_resume_button_reruns_a_failed_run(ui: UiServer, store: Store, page: Any) -> None:
    expect = _expect()
    page.goto(f"{ui.url}/#/runs/broken")
    expect(page.locator("#run-header")).to_have_attribute("data-run-status", "failed")
    check = page.locator("svg#graph g.node[data-task=check]")
    expect(check).to_have_attribute("data-status", "failed")
    expect(page.locator("button#cancel-run")).to_be_hidden()  # it is not running

    (store.folder / "marker").touch()  # now the step that failed can succeed
    clicked = time.time()
    page.click("button#resume-run")
    expect(page.locator("#run-header")).to_have_attribute(
        "data-run-status", "succeeded", timeout=30_000
    )
    expect(check).to_have_attribute("data-status", "succeeded")
    # the step ran again after the click (the resume's own run of it)
    step = ui.get_json("/api/runs/broken/steps/check")
    assert step["status"] == "succeeded"
    assert step["started"] > clicked
    assert page.js_errors == []
