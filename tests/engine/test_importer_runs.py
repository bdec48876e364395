"""Importer steps in a run: the output artifact is the one at the URI (nothing copied), with
the importer's metadata; readers get it under Local and Process runtimes, from a path, a
file:// URL or a real HTTP server; the cache follows the file's content; lineage records the
artifact as used from outside the run."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import dagwright
from dagwright import Dataset, Input, Model, ValidationError, component, pipeline
from dagwright.runtimes import Process


@component
def read(data: Input[Dataset]) -> str:
    with open(data.path, encoding="utf-8") as f:
        return f"{f.read()} {json.dumps(data.metadata, sort_keys=True)}"


@component(runtime=Process())
def read_apart(data: Input[Dataset]) -> str:
    with open(data.path, encoding="utf-8") as f:
        return f.read()


@component(cache=True)
def count(data: Input[Dataset]) -> int:
    with open(data.path, encoding="utf-8") as f:
        return len(f.read())


@pipeline
def imported(uri: str) -> str:
    found = dagwright.importer(uri, Dataset, metadata={"source": "survey"})
    return read(data=found.output).output


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "rows.csv"
    path.parent.mkdir()
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    return path


def test_a_reader_gets_the_file_and_its_metadata_where_it_is(
    tmp_path: Path, data_file: Path
) -> None:
    result = dagwright.run(imported, {"uri": str(data_file)}, echo=False, root=tmp_path / "s")
    assert result.succeeded
    assert result.outputs == {"output": 'a,b\n1,2\n {"source": "survey"}'}
    artifact = result.step("importer").outputs["artifact"]  # type: ignore[index]
    assert artifact.uri == str(data_file)  # not copied into the store
    assert artifact.digest == hashlib.sha256(data_file.read_bytes()).hexdigest()
    assert type(artifact) is Dataset and artifact.metadata == {"source": "survey"}
    assert not list((tmp_path / "s").rglob("rows.csv"))


def test_metadata_from_pipeline_values_is_filled_in_as_text(
    tmp_path: Path, data_file: Path
) -> None:
    @component
    def stage() -> str:
        return "prod"

    @pipeline
    def tagged(uri: str, version: int = 3) -> str:
        found = dagwright.importer(uri, metadata={"version": version, "stage": stage().output})
        return read(data=found.output).output

    result = dagwright.run(tagged, {"uri": str(data_file)}, echo=False, root=tmp_path / "s")
    # as text, as kfp.local fills KFP's placeholders (test_kfp_task_settings.py runs both)
    assert result.outputs == {"output": 'a,b\n1,2\n {"stage": "prod", "version": "3"}'}


def test_a_file_url_and_a_relative_path_reach_a_process_step(
    tmp_path: Path, data_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @pipeline
    def apart(uri: str) -> str:
        return read_apart(data=dagwright.importer(uri).output).output

    url = dagwright.run(apart, {"uri": f"file://{data_file}"}, echo=False, root=tmp_path / "a")
    assert url.outputs == {"output": "a,b\n1,2\n"}
    monkeypatch.chdir(data_file.parent)  # made absolute, so any process finds the same file
    relative = dagwright.run(apart, {"uri": "rows.csv"}, echo=False, root=tmp_path / "b")
    assert relative.outputs == {"output": "a,b\n1,2\n"}
    assert relative.step("importer").outputs["artifact"].uri == str(data_file)  # type: ignore[index]


def test_nothing_at_the_path_fails_the_importer_and_skips_its_readers(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    result = dagwright.run(imported, {"uri": str(missing)}, echo=False, root=tmp_path / "s")
    assert not result.succeeded
    step = result.step("importer")
    assert step.status == "failed" and "nothing exists at" in (step.error or "")
    assert result.step("read").status == "upstream_failed"


def test_a_parameter_with_a_scheme_no_step_can_read_is_refused_before_the_run(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValidationError) as caught:
        dagwright.run(imported, {"uri": "minio://mlpipeline/x"}, echo=False, root=tmp_path)
    assert caught.value.field == "uri" and "'minio://'" in caught.value.problem
    assert not (tmp_path / "runs.db").exists()  # refused before a run was recorded


def test_the_cache_follows_the_imported_files_content(tmp_path: Path, data_file: Path) -> None:
    @pipeline
    def counted(uri: str) -> int:
        return count(data=dagwright.importer(uri).output).output

    store = tmp_path / "s"
    first = dagwright.run(counted, {"uri": str(data_file)}, echo=False, root=store)
    again = dagwright.run(counted, {"uri": str(data_file)}, echo=False, root=store)
    data_file.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    changed = dagwright.run(counted, {"uri": str(data_file)}, echo=False, root=store)
    assert (first.outputs, again.outputs, changed.outputs) == (
        {"output": 8},
        {"output": 8},
        {"output": 12},
    )
    assert [again.step("count").cached, changed.step("count").cached] == [True, False]


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving a folder; yields its URL and the folder."""
    folder = tmp_path / "served"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_an_http_artifact_is_fetched_for_its_reader(
    tmp_path: Path, http_root: tuple[str, Path]
) -> None:
    url, folder = http_root
    (folder / "weights.txt").write_text("w=1", encoding="utf-8")

    @component
    def weights(model: Input[Model]) -> str:
        with open(model.path, encoding="utf-8") as f:
            return f.read()

    @pipeline
    def fetched() -> str:
        return weights(model=dagwright.importer(f"{url}/weights.txt", Model).output).output

    result = dagwright.run(fetched, echo=False, root=tmp_path / "s")
    assert result.outputs == {"output": "w=1"}
    artifact = result.step("importer").outputs["artifact"]  # type: ignore[index]
    assert artifact.uri == f"{url}/weights.txt" and artifact.digest is None  # keyed by URI


def test_lineage_records_the_artifact_as_used_from_outside(tmp_path: Path, data_file: Path) -> None:
    store = tmp_path / "s"
    result = dagwright.run(imported, {"uri": str(data_file)}, echo=False, root=store)
    graph = json.loads((store / "lineage" / f"{result.run_id}.json").read_text())
    steps = {n["id"]: n for n in graph["nodes"] if n.get("kind") == "step"}
    importer = next(i for i, n in steps.items() if n["task"] == "importer")
    reader = next(i for i, n in steps.items() if n["task"] == "read")
    links = graph.get("links") or graph.get("edges")
    relations = {(e["source"], e.get("relation"), e["target"]) for e in links}
    used = {t for s, r, t in relations if s == importer and r == "used"}
    made = {s for s, r, t in relations if t == importer and r == "wasGeneratedBy"}
    read_used = {t for s, r, t in relations if s == reader and r == "used"}
    assert not made  # nothing in the run made it
    assert used & read_used  # the importer and its reader used the same artifact


@component
def fail_once(data: Input[Dataset], flag: str) -> str:
    """Fail while ``flag`` exists (the test removes it before resuming)."""
    if Path(flag).exists():
        raise RuntimeError("flagged")
    with open(data.path, encoding="utf-8") as f:
        return f.read()


def test_resume_reuses_the_import_until_the_file_changes(tmp_path: Path, data_file: Path) -> None:
    @pipeline
    def guarded(uri: str, flag: str) -> str:
        return fail_once(data=dagwright.importer(uri).output, flag=flag).output

    flag = tmp_path / "flag"
    flag.touch()
    store = tmp_path / "s"
    args = {"uri": str(data_file), "flag": str(flag)}
    failed = dagwright.run(guarded, args, echo=False, root=store)
    assert failed.step("importer").status == "succeeded" and not failed.succeeded
    flag.unlink()
    resumed = dagwright.resume(failed.run_id, root=store, echo=False)
    assert resumed.succeeded and resumed.step("importer").reused
    assert resumed.outputs == {"output": "a,b\n1,2\n"}
    flag.touch()  # fail again, then change the imported file before resuming
    second = dagwright.run(guarded, args, echo=False, root=store)
    data_file.write_text("new\n", encoding="utf-8")
    flag.unlink()
    again = dagwright.resume(second.run_id, root=store, echo=False)
    assert not again.step("importer").reused  # its artifact changed: imported anew
    assert again.outputs == {"output": "new\n"}
