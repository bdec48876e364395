"""What the UI shows of an artifact, as the KFP UI shows it: ``preview(artifact, root)`` reads
an artifact record as the run database keeps it in a step's outputs (type, name, uri,
metadata, digest) and returns a plain dict whose ``kind`` says how to draw it.

Kinds and their fields:

- ``metrics``: ``{"rows": [[name, value]]}``, the scalar metadata (``Metrics.log_metric``);
- ``classification``: ``{"confusion_matrix": {"labels", "rows"} | None, "roc": [{"fpr",
  "tpr", "threshold"}] | None}`` from KFP's ClassificationMetrics metadata
  (``confusionMatrix``, ``confidenceMetrics``);
- ``html`` and ``markdown``: ``{"raw_url"}`` for a sandboxed iframe (SVG images too: an SVG
  may hold script, so it is never an ``<img>`` of the UI's origin);
- ``dataset``: ``{"columns", "rows" (the first 20), "total_rows" (None when unknown)}``;
- ``image``: ``{"raw_url", "mime"}`` for PNG, JPEG, GIF and WebP, told by their magic bytes;
- ``model``: ``{"metadata", "files": [{"path", "size"}], "truncated"}``;
- ``other``: ``{"size", "text"}``, the first 4 KB when they are UTF-8 text.

A file that is missing, unreadable, outside the store, on a store that does not answer, or
malformed gives ``{"kind": "error", "error": "..."}``; ``preview`` never raises.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dagwright.redact import masked, redact_text
from dagwright.ui.reading import MAX_FILES, ArtifactFile, Unreadable, locate
from dagwright.ui.tables import PARQUET_MAGIC, csv_preview, parquet_preview

RAW_URL = "/api/artifacts/raw?uri="
TEXT_BYTES = 4096
# a Metrics file read back when its metadata is empty (a step that wrote the JSON itself)
METRICS_FILE_LIMIT = 1 << 20
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def preview(
    artifact: dict[str, Any], root: str | Path, locations: Sequence[str] = ()
) -> dict[str, Any]:
    """The preview of one artifact record (see the module's docstring for the shapes).

    Args:
        artifact: The record: ``type``, ``name``, ``uri``, ``metadata``, ``digest``.
        root: The store folder; only files inside it are read.
        locations: Other artifact locations to read from (the run's ``artifacts`` when it
            is a URL or a folder outside the store).
    """
    try:
        return _preview(artifact, root, locations)
    except Exception as exc:  # noqa: BLE001  # a library's own error on a malformed file
        return {"kind": "error", "error": redact_text(_reason(exc))}


def raw_url(uri: str, render: str | None = None) -> str:
    """The UI's URL of an artifact's bytes (``render="md"``: a Markdown file rendered)."""
    return RAW_URL + quote(uri, safe="") + (f"&render={render}" if render else "")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"the file is missing: {exc.filename or exc}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, Unreadable):
        return str(exc)
    return f"cannot read the file ({type(exc).__name__}: {exc})"


def _preview(
    artifact: dict[str, Any], root: str | Path, locations: Sequence[str]
) -> dict[str, Any]:
    kind = artifact.get("type") or "Artifact"
    metadata = artifact.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise Unreadable("the artifact's metadata is not a mapping")
    if kind == "ClassificationMetrics":
        try:
            return _classification(metadata)
        except (KeyError, TypeError, AttributeError) as exc:
            raise Unreadable(
                f"the classification metrics are not in KFP's layout (missing or wrong {exc})"
            ) from None
    uri = str(artifact.get("uri") or "")
    if kind == "Metrics" and metadata:
        return _metrics(metadata)
    file = locate(uri, root, locations)
    if not file.exists():
        raise Unreadable(f"the file is missing: {uri}")
    if kind == "Metrics":  # no metadata: the JSON file the step wrote
        if file.is_dir() or file.size() > METRICS_FILE_LIMIT:
            raise Unreadable("a Metrics artifact without metadata holds no metrics file")
        return _metrics(json.loads(file.head(METRICS_FILE_LIMIT)))
    if kind == "HTML":
        return {"kind": "html", "raw_url": raw_url(uri), "size": file.size()}
    if kind == "Markdown":
        return {"kind": "markdown", "raw_url": raw_url(uri, "md"), "size": file.size()}
    if kind == "Model":
        return _model(file, metadata)
    if kind == "Dataset":
        table = _dataset(file)
        if table is not None:
            return table
    return _by_content(file)


def _metrics(metadata: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics in the order they were logged, as KFP's UI lists them."""
    rows = []
    for name, value in metadata.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # KFP's scalar metrics are numbers; display_name and the like are not
        rows.append([str(name), value if math.isfinite(value) else str(value)])
    return {"kind": "metrics", "rows": rows}


def _classification(metadata: dict[str, Any]) -> dict[str, Any]:
    """KFP's ClassificationMetrics layout (``log_confusion_matrix``, ``log_roc_curve``)."""
    matrix = None
    if "confusionMatrix" in metadata:
        found = metadata["confusionMatrix"]
        labels = [str(spec["displayName"]) for spec in found["annotationSpecs"]]
        rows = [[_number(v) for v in entry["row"]] for entry in found["rows"]]
        if len(rows) != len(labels) or any(len(row) != len(labels) for row in rows):
            raise Unreadable(
                f"the confusion matrix is not {len(labels)}x{len(labels)} for its labels"
            )
        matrix = {"labels": labels, "rows": rows}
    roc = None
    if "confidenceMetrics" in metadata:
        roc = [
            {
                "fpr": _number(point["falsePositiveRate"]),
                "tpr": _number(point["recall"]),
                "threshold": _number(point["confidenceThreshold"]),
            }
            for point in metadata["confidenceMetrics"]
        ]
    return {"kind": "classification", "confusion_matrix": matrix, "roc": roc}


def _number(value: Any) -> float | int | str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unreadable(f"{value!r} in the classification metrics is not a number")
    return value if math.isfinite(value) else str(value)


def _model(file: ArtifactFile, metadata: dict[str, Any]) -> dict[str, Any]:
    listed = list(file.files(limit=MAX_FILES + 1))
    return {
        "kind": "model",
        "metadata": masked(metadata),
        "files": [{"path": path, "size": size} for path, size in listed[:MAX_FILES]],
        "truncated": len(listed) > MAX_FILES,
    }


def _dataset(file: ArtifactFile) -> dict[str, Any] | None:
    """A CSV or parquet file (or a folder of parquet parts) as a table; None for anything
    else (an image, a binary), previewed by its content."""
    if file.is_dir():
        parts = [p for p, _ in file.files() if not p.rsplit("/", 1)[-1].startswith(("_", "."))]
        parquet = [p for p in parts if file.head(4, p) == PARQUET_MAGIC]
        if parquet:
            return parquet_preview(file, parquet)
        csvs = [p for p in parts if p.endswith((".csv", ".tsv"))]
        return csv_preview(file, csvs[0]) if csvs else None
    head = file.head(TEXT_BYTES)
    if head.startswith(PARQUET_MAGIC):
        return parquet_preview(file, [""])
    if _image_mime(head) or _is_svg(head) or b"\x00" in head:
        return None
    return csv_preview(file)


def _by_content(file: ArtifactFile) -> dict[str, Any]:
    if file.is_dir():
        files = [{"path": path, "size": size} for path, size in file.files()]
        return {"kind": "other", "size": file.size(), "text": None, "files": files}
    head = file.head(TEXT_BYTES)
    mime = _image_mime(head)
    if mime:
        return {"kind": "image", "raw_url": raw_url(file.uri), "mime": mime}
    if _is_svg(head):
        return {"kind": "html", "raw_url": raw_url(file.uri), "mime": "image/svg+xml"}
    return {"kind": "other", "size": file.size(), "text": _text(head)}


def _image_mime(head: bytes) -> str | None:
    for magic, mime in _IMAGES:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _is_svg(head: bytes) -> bool:
    text = head[:1024].lstrip().lower()
    return text.startswith(b"<svg") or (
        text.startswith((b"<?xml", b"<!doctype svg")) and b"<svg" in text
    )


def _text(head: bytes) -> str | None:
    """The bytes as UTF-8 text (a character cut at the end dropped); None for a binary."""
    if b"\x00" in head:
        return None
    for cut in range(4):  # a UTF-8 character is at most 4 bytes
        try:
            return head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None
