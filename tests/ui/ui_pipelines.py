"""The pipelines whose real runs fill the store the browser tests look at.

``showcase`` has an If block, a ParallelFor, a step that prints, scalar and classification
metrics, a hostile HTML page (its script tries to reach the UI's origin) and a Markdown note
with a script; ``breaks`` fails at ``check`` until its marker file exists (so a resume from
the page succeeds once the test creates it); ``gated`` waits in a step until its gate file
exists (a running step the test lets finish, or a run it cancels).
"""

from __future__ import annotations

import json
import os
import time

from dagwright import (
    HTML,
    Dataset,
    If,
    Input,
    Markdown,
    Metrics,
    Output,
    ParallelFor,
    component,
    pipeline,
)
from dagwright.components.artifacts import ClassificationMetrics

# the frame's script records in its own body what it could do: the test reads it from there
HOSTILE_HTML = """<!doctype html>
<html><head><title>hostile</title></head>
<body><h1 id="hello">report</h1>
<script>
var tried = {};
try { parent.document.body.setAttribute("data-pwned", "1"); tried.parent = "reached"; }
catch (e) { tried.parent = "blocked"; }
try { document.cookie = "pwned=1; path=/"; tried.cookie = document.cookie || "none"; }
catch (e) { tried.cookie = "blocked"; }
try { top.location.hash = "#/pwned"; tried.top = "reached"; } catch (e) { tried.top = "blocked"; }
document.body.setAttribute("data-tried", JSON.stringify(tried));
fetch("/api/runs").then(function (r) { return r.text(); })
  .then(function (t) { document.body.setAttribute("data-fetched", t.slice(0, 40)); })
  .catch(function () { document.body.setAttribute("data-fetched", "blocked"); });
document.body.setAttribute("data-ran", "1");
</script>
</body></html>
"""

MARKDOWN_NOTE = """# Release notes

Accuracy went **up**.

<script>parent.document.body.setAttribute("data-pwned", "markdown");</script>

<img src="x" onerror="parent.document.body.setAttribute('data-pwned', 'img')">
"""


@component
def prepare(n: int, data: Output[Dataset]) -> int:
    with open(data.path, "w") as out:
        out.write("x,y\n" + "\n".join(f"{i},{i * i}" for i in range(n)))
    data.metadata["rows"] = n
    return n


@component
def train(
    data: Input[Dataset], metrics: Output[Metrics], scores: Output[ClassificationMetrics]
) -> float:
    with open(data.path) as f:
        rows = len(f.read().splitlines()) - 1
    print(f"training on {rows} rows")
    accuracy = 0.9 if rows == 3 else 0.8
    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("loss", round(1 - accuracy, 2))
    # KFP's ClassificationMetrics metadata, as its log_confusion_matrix / log_roc_data_point
    scores.metadata["confusionMatrix"] = {
        "annotationSpecs": [{"displayName": "cat"}, {"displayName": "dog"}],
        "rows": [{"row": [7, 2]}, {"row": [1, 9]}],
    }
    scores.metadata["confidenceMetrics"] = [
        {"confidenceThreshold": t, "recall": r, "falsePositiveRate": f}
        for t, r, f in ((0.9, 0.4, 0.05), (0.5, 0.8, 0.2), (0.1, 1.0, 0.7))
    ]
    with open(scores.path, "w") as out:
        json.dump(scores.metadata, out)
    return accuracy


@component
def publish(page: Output[HTML], note: Output[Markdown]) -> str:
    with open(page.path, "w") as out:
        out.write(HOSTILE_HTML)
    with open(note.path, "w") as out:
        out.write(MARKDOWN_NOTE)
    return "published"


@component
def square(x: int) -> int:
    return x * x


@component
def check(marker: str) -> str:
    print("looking for the marker")
    if not os.path.exists(marker):
        raise RuntimeError("the marker file is missing")
    return "found"


@component
def wait_for(gate: str) -> str:
    print("waiting for the gate")
    deadline = time.monotonic() + 120
    while not os.path.exists(gate):
        if time.monotonic() > deadline:
            raise TimeoutError("the gate never opened")
        time.sleep(0.05)
    return "opened"


@pipeline
def showcase(n: int = 3, xs: list[int] = [1, 2, 3]) -> float:  # noqa: B006 (a default as KFP)
    made = prepare(n=n)
    trained = train(data=made.outputs["data"])
    with If(trained.output > 0.5):
        publish()
    with ParallelFor(xs) as x:
        square(x=x)
    return trained.output


@pipeline
def breaks(marker: str = "marker", n: int = 2):
    made = prepare(n=n)
    check(marker=marker).after(made)


@pipeline
def gated(gate: str = "gate"):
    wait_for(gate=gate)
