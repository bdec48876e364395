"""Artifact previews (dagwright/ui/previews.py) of artifacts written by a real run, and of
broken, hostile and out-of-store files: a preview never raises."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from artifact_runs import CSV_ROWS, PARQUET_ROWS, png_bytes, run_store

from dagwright.ui.previews import preview


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    root = tmp_path_factory.mktemp("ui-previews") / "store"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGWRIGHT_TRACKING", "off")
        _, found = run_store(root)
    return root, found


def _uri_of(raw_url: str) -> str:
    return parse_qs(urlsplit(raw_url).query)["uri"][0]


def test_metrics_are_the_logged_scalars_in_order(store: tuple[Path, dict]) -> None:
    root, found = store
    assert preview(found["scores"], root) == {
        "kind": "metrics",
        "rows": [["accuracy", 0.92], ["loss", 0.25]],
    }


def test_classification_metrics_read_kfps_own_layout(store: tuple[Path, dict]) -> None:
    root, found = store
    shown = preview(found["classes"], root)
    assert shown["confusion_matrix"] == {"labels": ["cat", "dog"], "rows": [[8, 2], [1, 9]]}
    assert shown["roc"][1] == {"fpr": 0.3, "tpr": 0.9, "threshold": 0.5}
    # the keys are the ones kfp's own ClassificationMetrics writes
    dsl = pytest.importorskip("kfp.dsl")
    kfp_metrics = dsl.ClassificationMetrics(name="m", uri="", metadata={})
    kfp_metrics.log_confusion_matrix(["a", "b"], [[3, 1], [0, 4]])
    kfp_metrics.log_roc_curve([0.0, 0.5], [0.2, 1.0], [0.8, 0.1])
    record = {"type": "ClassificationMetrics", "uri": "", "metadata": kfp_metrics.metadata}
    assert preview(record, root) == {
        "kind": "classification",
        "confusion_matrix": {"labels": ["a", "b"], "rows": [[3, 1], [0, 4]]},
        "roc": [
            {"fpr": 0.0, "tpr": 0.2, "threshold": 0.8},
            {"fpr": 0.5, "tpr": 1.0, "threshold": 0.1},
        ],
    }


def test_csv_dataset_shows_its_first_20_rows_and_the_count(store: tuple[Path, dict]) -> None:
    root, found = store
    shown = preview(found["csv_data"], root)
    assert shown["kind"] == "dataset" and shown["columns"] == ["id", "name"]
    assert len(shown["rows"]) == 20 and shown["rows"][19] == ["19", "row 19"]
    assert shown["total_rows"] == CSV_ROWS


def test_parquet_dataset_shows_typed_rows_and_the_footers_count(store: tuple[Path, dict]) -> None:
    root, found = store
    shown = preview(found["parquet_data"], root)
    assert shown["columns"] == ["id", "score"]
    assert shown["rows"][:2] == [[0, 0.0], [1, 0.5]] and len(shown["rows"]) == 20
    assert shown["total_rows"] == PARQUET_ROWS


def test_parquet_without_pyarrow_says_what_to_install(
    store: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, found = store
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    shown = preview(found["parquet_data"], root)
    assert shown["kind"] == "error" and "pip install pyarrow" in shown["error"]


def test_images_are_told_by_their_bytes_and_svg_is_never_an_image(
    store: tuple[Path, dict],
) -> None:
    root, found = store
    png = preview(found["picture"], root)
    assert png["kind"] == "image" and png["mime"] == "image/png"
    assert _uri_of(png["raw_url"]) == found["picture"]["uri"]
    svg = preview(found["drawing"], root)  # may hold script: a sandboxed frame, not an <img>
    assert svg["kind"] == "html" and svg["mime"] == "image/svg+xml"


@pytest.mark.parametrize(
    "head, mime",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_other_image_formats(tmp_path: Path, head: bytes, mime: str) -> None:
    (tmp_path / "img").write_bytes(head + b"\x00" * 32)
    shown = preview({"type": "Artifact", "uri": str(tmp_path / "img")}, tmp_path)
    assert shown["kind"] == "image" and shown["mime"] == mime


def test_html_and_markdown_point_at_the_sandboxed_raw_route(store: tuple[Path, dict]) -> None:
    root, found = store
    page, notes = preview(found["page"], root), preview(found["notes"], root)
    assert page["kind"] == "html" and _uri_of(page["raw_url"]) == found["page"]["uri"]
    assert notes["kind"] == "markdown" and notes["raw_url"].endswith("&render=md")
    assert _uri_of(notes["raw_url"]) == found["notes"]["uri"]
    assert "<script" not in json.dumps([page, notes])  # nothing of the file in the preview


def test_model_shows_metadata_masked_and_its_files(store: tuple[Path, dict]) -> None:
    root, found = store
    shown = preview(found["model"], root)
    assert shown["kind"] == "model" and shown["truncated"] is False
    assert shown["metadata"]["framework"] == "sklearn"
    assert shown["metadata"]["api_token"] == "***"
    assert shown["files"] == [
        {"path": "config.json", "size": 2},
        {"path": os.path.join("weights", "w.bin"), "size": 10},
    ]


def test_other_files_show_size_and_the_first_4_kb_of_text(tmp_path: Path) -> None:
    (tmp_path / "log").write_text("é" * 5000, encoding="utf-8")  # 2-byte characters
    shown = preview({"type": "Artifact", "uri": str(tmp_path / "log")}, tmp_path)
    assert shown["kind"] == "other" and shown["size"] == 10000
    assert shown["text"] == "é" * 2048  # cut on a character boundary
    (tmp_path / "bin").write_bytes(b"\x01\x00\x02" * 10)
    binary = preview({"type": "Artifact", "uri": str(tmp_path / "bin")}, tmp_path)
    assert binary == {"kind": "other", "size": 30, "text": None}
    # a Dataset that is neither CSV nor parquet is shown as a file, not misread as a table
    dataset = preview({"type": "Dataset", "uri": str(tmp_path / "bin")}, tmp_path)
    assert dataset == {"kind": "other", "size": 30, "text": None}


def test_a_large_csv_is_streamed_and_its_count_left_unknown(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("a;b\n")
        for i in range(200_000):
            out.write(f"{i};{'x' * 8}\n")
    shown = preview({"type": "Dataset", "uri": str(path)}, tmp_path)
    assert shown["columns"] == ["a", "b"]  # the delimiter sniffed
    assert shown["rows"][0] == ["0", "x" * 8] and shown["total_rows"] is None


def test_a_csv_of_numbers_only_has_no_header_row(tmp_path: Path) -> None:
    """A file written by np.savetxt (the iris example's) starts with data: its first row is a
    row, not the column names."""
    path = tmp_path / "train"
    path.write_text("5.1,3.5,0\n4.9,3.0,0\n6.2,2.9,1\n", encoding="utf-8")
    shown = preview({"type": "Dataset", "uri": str(path)}, tmp_path)
    assert shown["columns"] == ["column 1", "column 2", "column 3"]
    assert shown["rows"][0] == ["5.1", "3.5", "0"] and shown["total_rows"] == 3


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("quote.csv", b'a,b\n1,"unclosed\n', "cannot read"),
        ("huge-field.csv", b'a,b\n1,"' + b"x" * 200_000 + b'"\n', "field larger"),
        ("latin.csv", b"a,b\n\xe9,\xff\xfe\n", "not UTF-8"),
        ("cut.parquet", b"PAR1" + b"\x00" * 40, "cannot read"),
    ],
)
def test_malformed_datasets_give_an_error_preview(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    (tmp_path / name).write_bytes(content)
    shown = preview({"type": "Dataset", "uri": str(tmp_path / name)}, tmp_path)
    assert shown["kind"] == "error" and expected in shown["error"]


def test_missing_files_and_bad_records_give_an_error_preview(tmp_path: Path) -> None:
    for record in (
        {"type": "HTML", "uri": str(tmp_path / "gone.html")},
        {"type": "Dataset", "uri": ""},
        {"type": "Metrics", "uri": str(tmp_path / "gone"), "metadata": {}},
        {"type": "Model", "uri": str(tmp_path / "gone"), "metadata": "not a mapping"},
        {"type": "ClassificationMetrics", "uri": "", "metadata": {"confusionMatrix": {}}},
        {"type": "ClassificationMetrics", "uri": "", "metadata": {"confidenceMetrics": [{}]}},
        {
            "type": "ClassificationMetrics",
            "uri": "",
            "metadata": {
                "confusionMatrix": {"annotationSpecs": [{"displayName": "a"}], "rows": []}
            },
        },
    ):
        shown = preview(record, tmp_path)
        assert shown["kind"] == "error" and shown["error"], record


def test_files_outside_the_store_are_never_read(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (root / "artifacts").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("the password")
    (root / "artifacts" / "link").symlink_to(secret)
    for uri in (
        str(secret),
        f"file://{secret}",
        str(root / "artifacts" / ".." / ".." / "secret.txt"),
        str(root / "artifacts" / "link"),  # a symlink planted inside, leading out
        "secret.txt",  # relative: resolved against the working folder, not the store
    ):
        shown = preview({"type": "Artifact", "uri": uri}, root)
        assert shown == {"kind": "error", "error": f"'{uri}' is not inside the store"}
    # a folder the run recorded for its artifacts is allowed when named
    allowed = preview({"type": "Artifact", "uri": str(secret)}, root, [str(tmp_path)])
    assert allowed["text"] == "the password"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_remote_store_that_does_not_answer_gives_an_error_preview(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("s3fs")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    record = {"type": "Dataset", "uri": "s3://bucket/runs/r1/t/data"}
    started = time.monotonic()
    shown = preview(record, tmp_path, ["s3://bucket/runs/r1"])
    assert shown["kind"] == "error" and "cannot reach" in shown["error"]
    assert time.monotonic() - started < 30  # one connect, not s3fs's retries
    # a remote URI outside the run's location is refused before any connection
    elsewhere = preview({"type": "Dataset", "uri": "s3://other/x"}, tmp_path, ["s3://bucket/r"])
    assert elsewhere == {"kind": "error", "error": "'s3://other/x' is not inside the store"}


def test_a_remote_artifact_is_previewed_through_fsspec(tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/ui-test/run/data.csv", b"x,y\n1,2\n3,4\n")
    fs.pipe("/ui-test/run/pic", png_bytes())
    try:
        table = preview({"type": "Dataset", "uri": "memory://ui-test/run/data.csv"}, tmp_path,
                        ["memory://ui-test/run"])  # fmt: skip
        image = preview({"type": "Artifact", "uri": "memory://ui-test/run/pic"}, tmp_path,
                        ["memory://ui-test/run"])  # fmt: skip
    finally:
        fs.rm("/ui-test", recursive=True)
    assert table["rows"] == [["1", "2"], ["3", "4"]] and table["total_rows"] == 2
    assert image["kind"] == "image" and image["mime"] == "image/png"


def test_a_folder_of_parquet_parts_is_one_table(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder = tmp_path / "frame"
    folder.mkdir()
    (folder / "_SUCCESS").write_bytes(b"")  # what Spark leaves beside its parts
    pq.write_table(pa.table({"n": list(range(15))}), folder / "part-00000.parquet")
    pq.write_table(pa.table({"n": list(range(15, 27))}), folder / "part-00001.parquet")
    shown = preview({"type": "Dataset", "uri": str(folder)}, tmp_path)
    assert shown["columns"] == ["n"] and shown["total_rows"] == 27
    assert [row[0] for row in shown["rows"]] == list(range(20))  # across the two parts


def test_a_symlink_inside_a_folder_artifact_is_not_followed_out_of_the_store(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    folder = root / "artifacts" / "run1" / "prep" / "data"
    folder.mkdir(parents=True)
    secret = tmp_path / "secret.csv"
    secret.write_text("user,password\nroot,hunter2\n")
    (folder / "part.csv").symlink_to(secret)  # a part of the dataset leading out of the store
    shown = preview({"type": "Dataset", "uri": str(folder)}, root)
    assert "hunter2" not in json.dumps(shown)
    assert shown["kind"] == "error" and "not inside the store" in shown["error"]
    # a link that stays inside the artifact folder is still read
    (folder / "part.csv").unlink()
    (folder / "real.csv").write_text("a,b\n1,2\n")
    (folder / "part.csv").symlink_to(folder / "real.csv")
    inside = preview({"type": "Dataset", "uri": str(folder)}, root)
    assert inside["kind"] == "dataset" and inside["rows"] == [["1", "2"]]


@pytest.mark.parametrize("kind", ["Dataset", "Artifact", "Model"])
def test_a_fifo_as_an_artifact_file_gives_an_error_preview_at_once(
    tmp_path: Path, kind: str
) -> None:
    # a step may leave a named pipe where its output goes: opening it for reading would wait
    # for a writer forever, and hold one of the server's threads with it
    import threading

    folder = tmp_path / "artifacts" / "run1" / "make"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "data")
    (folder / "parts").mkdir()
    (folder / "parts" / "a.csv").write_text("x\n1\n")
    os.mkfifo(folder / "parts" / "b.csv")
    for uri in (folder / "data", folder / "parts"):
        shown: list[dict[str, Any]] = []
        worker = threading.Thread(
            target=lambda u=uri, into=shown: into.append(
                preview({"type": kind, "uri": str(u)}, tmp_path)
            ),
            daemon=True,
        )
        worker.start()
        worker.join(10)
        if worker.is_alive():  # unblock the reader, so the test leaves no thread behind
            for fifo in (folder / "data", folder / "parts" / "b.csv"):
                with contextlib.suppress(OSError):
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        assert shown, f"the preview of {uri} waited on the pipe"
        if uri.name == "data" and kind != "Model":  # a model's files are listed, not read
            assert shown[0]["kind"] == "error" and "not a regular file" in shown[0]["error"]
