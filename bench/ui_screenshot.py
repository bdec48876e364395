"""``python -m bench.ui_screenshot [OUT]``: the README's picture of the run page, from a real run.

Runs ``examples/iris_training.py`` into a temporary store (``dagwright run``, as the README's
first command does), serves that store with ``dagwright ui``, opens the run's page in headless
Chromium (the system's), clicks the ``evaluate`` step and scrolls its panel to the metrics it
wrote, and saves a screenshot to OUT (default ``docs/images/run-page.png``). The temporary
store's folder is shown as ``.dagwright`` (the default store of a project), so the picture
carries no path of the machine that took it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.ui import launch, ui_server

REPO = Path(__file__).resolve().parents[1]
RUN_ID = "iris-training-example"
# every text node naming the temporary store names the default one instead
SHOWN_AS_DEFAULT = """root => {
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode())
    if (n.nodeValue.includes(root)) n.nodeValue = n.nodeValue.split(root).join(".dagwright"); }"""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else REPO / "docs" / "images" / "run-page.png"
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        env = {**os.environ, "DAGWRIGHT_TRACKING": "off"}
        example = str(REPO / "examples" / "iris_training.py")
        command = [sys.executable, "-m", "dagwright.cli", "run", example, "--root", str(root)]
        subprocess.run([*command, "--run-id", RUN_ID, "-q"], check=True, env=env)
        with ui_server(root) as url, sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 760})
                page.goto(f"{url}/#/runs/{RUN_ID}")
                page.click("svg#graph g.node[data-task=evaluate]")
                chart = page.locator("#step-panel .artifact[data-name=metrics] svg.metric-chart")
                chart.wait_for()
                # down to the chart, never sideways (the dataset's wide table scrolls the panel)
                chart.evaluate(
                    "c => { c.scrollIntoView({block: 'center'}); let e = c;"
                    " while ((e = e.parentElement)) e.scrollLeft = 0; window.scrollTo(0, 0); }"
                )
                page.evaluate(SHOWN_AS_DEFAULT, str(root))
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out))
            finally:
                browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
