"""A pipeline whose steps write one artifact of each kind the UI previews, run for real into a
store, and the graph module stand-in the report tests use until ``dagwright.ui.graph`` is
there (its shapes: docs/architecture.md, "UI")."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path
from typing import Any

import dagwright
from dagwright import HTML, Artifact, Dataset, Markdown, Metrics, Model, Output, component, pipeline
from dagwright.components.artifacts import ClassificationMetrics

HOSTILE_HTML = (
    "<h1>report</h1><script>window.parent.document.title = 'owned';</script>"
    "<p>a closing tag in data: </script><!-- and a comment --></p>"
)
HOSTILE_MARKDOWN = (
    "# Results\n\n<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n"
    '<img src=x onerror="alert(3)">\n\n| a | b |\n|---|---|\n| 1 | 2 |\n'
)
CSV_ROWS = 25
PARQUET_ROWS = 30
SVG = (
    '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
)


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real PNG image (white pixels), made with zlib."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


@component
def evaluate(scores: Output[Metrics], classes: Output[ClassificationMetrics]) -> None:
    """Metrics through log_metric; a confusion matrix and ROC in KFP's metadata layout."""
    scores.log_metric("accuracy", 0.92)
    scores.log_metric("loss", 0.25)
    classes.metadata["confusionMatrix"] = {
        "annotationSpecs": [{"displayName": "cat"}, {"displayName": "dog"}],
        "rows": [{"row": [8, 2]}, {"row": [1, 9]}],
    }
    classes.metadata["confidenceMetrics"] = [
        {"confidenceThreshold": 0.9, "recall": 0.5, "falsePositiveRate": 0.1},
        {"confidenceThreshold": 0.5, "recall": 0.9, "falsePositiveRate": 0.3},
    ]
    with open(classes.path, "w", encoding="utf-8") as out:
        out.write("{}")


@component
def tables(csv_data: Output[Dataset], parquet_data: Output[Dataset]) -> None:
    """A CSV and a parquet dataset."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with open(csv_data.path, "w", encoding="utf-8") as out:
        out.write("id,name\n")
        for i in range(25):
            out.write(f"{i},row {i}\n")
    table = pa.table({"id": list(range(30)), "score": [i / 2 for i in range(30)]})
    pq.write_table(table, parquet_data.path)


@component
def documents(page: Output[HTML], notes: Output[Markdown], picture: Output[Artifact]) -> None:
    """An HTML page and a Markdown file that try to run script, and a PNG image."""
    from artifact_runs import HOSTILE_HTML, HOSTILE_MARKDOWN, png_bytes

    with open(page.path, "w", encoding="utf-8") as out:
        out.write(HOSTILE_HTML)
    with open(notes.path, "w", encoding="utf-8") as out:
        out.write(HOSTILE_MARKDOWN)
    with open(picture.path, "wb") as out:
        out.write(png_bytes())


@component
def train(model: Output[Model], drawing: Output[Artifact]) -> None:
    """A model folder with metadata, and an SVG drawing."""
    import os

    from artifact_runs import SVG

    model.metadata["framework"] = "sklearn"
    model.metadata["api_token"] = "hunter2-secret-value"
    os.makedirs(os.path.join(model.path, "weights"))
    with open(os.path.join(model.path, "weights", "w.bin"), "wb") as out:
        out.write(b"\x00" * 10)
    with open(os.path.join(model.path, "config.json"), "w", encoding="utf-8") as out:
        out.write("{}")
    with open(drawing.path, "w", encoding="utf-8") as out:
        out.write(SVG)


@pipeline
def artifacts_pipeline() -> None:
    """One step per group of artifact kinds."""
    evaluate()
    tables()
    documents()
    train()


def run_store(root: Path) -> tuple[Any, dict[str, dict[str, Any]]]:
    """Run the pipeline into the store ``root``; the result and every artifact record (as the
    run database keeps it) by output name."""
    sys.path.insert(0, str(Path(__file__).parent))  # the steps import this module
    result = dagwright.run(artifacts_pipeline, root=root, echo=False, raise_on_error=True)
    from dagwright.store.local import LocalStore

    db = LocalStore(root).database()
    found = {}
    for step in db.steps(result.run_id):
        for name, value in (step["outputs"] or {}).items():
            if isinstance(value, dict):
                found[name] = value
    return result, found
