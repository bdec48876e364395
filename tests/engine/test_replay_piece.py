"""A step recorded by a KFP or Argo pod (``lineage/step_pieces.py``) made again for ``dagwright
replay`` (``engine/replay_piece.py``): what the record keeps of secrets, and what is refused,
by name, before anything runs. The whole path, through a real MLflow server and pods, is in
tests/lineage/test_replay_pods.py."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from dagwright import Dataset, Input, component
from dagwright.engine.replay_piece import from_piece
from dagwright.errors import ValidationError
from dagwright.lineage.step_pieces import piece

TOKEN = "tok-9f8e7d6c5b4a"


@component
def call_api(data: Input[Dataset], api_token: str, k: int) -> str:
    return open(data.path).read()[:k] + api_token[:0]


def _recorded(tmp_path: Path, uri: str | None = None) -> dict[str, Any]:
    data = tmp_path / "data"
    data.write_text("hello")
    artifact = {
        "type": "Dataset",
        "name": "data",
        "uri": "/tmp/inputs/data",  # the pod's path to it
        "stored_at": uri or str(data),  # where KFP's pipeline root keeps it
        "metadata": {"password": "hunter22"},
        "digest": hashlib.sha256(b"hello").hexdigest(),
    }
    inputs = {"parameters": {"api_token": TOKEN, "k": 2}, "artifacts": {"data": artifact}}
    error = f"RuntimeError: the API refused {TOKEN}"
    return piece("call_api", call_api.spec, inputs, {"output": "he"}, error)


def test_the_record_holds_no_secret_and_names_where_the_input_is_kept(tmp_path: Path) -> None:
    record = _recorded(tmp_path, "s3://user:pa55word@bucket/run/data")
    text = json.dumps(record)
    assert TOKEN not in text and "hunter22" not in text and "pa55word" not in text
    assert record["inputs"]["masked"] == ["api_token"]
    assert record["inputs"]["artifacts"]["data"]["uri"] == "s3://user:***@bucket/run/data"
    assert "stored_at" not in record["inputs"]["artifacts"]["data"]
    assert record["component"]["source"]  # the code travels with it


def test_a_masked_parameter_must_be_given(tmp_path: Path) -> None:
    record = _recorded(tmp_path)
    with pytest.raises(ValidationError) as caught:
        from_piece("wf-1", record, root=tmp_path / "home")
    assert caught.value.field == "api_token" and "-p api_token=" in str(caught.value.fix)
    made = from_piece("wf-1", record, {"api_token": TOKEN}, root=tmp_path / "home")
    assert made.step.parameters == {"api_token": TOKEN, "k": 2}
    assert made.step.artifacts["data"]["uri"] == str(tmp_path / "data")
    assert TOKEN in made.secrets  # masked in whatever replay shows
    assert made.recorded == {"output": "he"}


def test_a_record_without_code_needs_code_from(tmp_path: Path) -> None:
    record = _recorded(tmp_path)
    record["component"] = dataclasses.replace(call_api.spec, source="").to_dict()
    with pytest.raises(ValidationError) as caught:
        from_piece("wf-1", record, {"api_token": TOKEN}, root=tmp_path / "home")
    assert caught.value.field == "--code-from" and "holds no code" in str(caught.value)


def test_an_input_that_was_a_file_of_the_pod_alone_is_refused(tmp_path: Path) -> None:
    record = _recorded(tmp_path, str(tmp_path / "gone"))
    with pytest.raises(ValidationError) as caught:
        from_piece("wf-1", record, {"api_token": TOKEN}, root=tmp_path / "home")
    assert caught.value.field == "STEP" and "input 'data'" in str(caught.value)
    assert "not on this machine" in str(caught.value)
    assert "recompile" in str(caught.value.fix)  # its pods then record where inputs are kept


def _keyed(tmp_path: Path, pod_path: str) -> dict[str, Any]:
    """An Argo pod's record whose input was in the cluster's default repository: its key."""
    record = _recorded(tmp_path)
    artifact = record["inputs"]["artifacts"]["data"]
    artifact["uri"] = pod_path
    artifact["repository_key"] = "wf-1/make/data/wf-1-make-7"
    return record


def test_an_input_known_by_its_key_is_fetched_from_the_repository_given(tmp_path: Path) -> None:
    record = _keyed(tmp_path, "/tmp/dagwright/inputs/data")  # the pod's path, not here
    with pytest.raises(ValidationError) as caught:
        from_piece("wf-1", record, {"api_token": TOKEN}, root=tmp_path / "home")
    assert caught.value.field == "--artifact-repository"
    assert "wf-1/make/data/wf-1-make-7" in str(caught.value)
    assert "--artifact-repository s3://BUCKET" in str(caught.value.fix)

    for given in ("s3://bucket/argo/", "gs://bucket"):
        made = from_piece("wf-1", record, {"api_token": TOKEN}, root=tmp_path / "home",
                          artifact_repository=given)  # fmt: skip
        uri = made.step.artifacts["data"]["uri"]
        assert uri == given.rstrip("/") + "/wf-1/make/data/wf-1-make-7"
    assert record["inputs"]["artifacts"]["data"]["uri"] == "/tmp/dagwright/inputs/data"

    here = _keyed(tmp_path, str(tmp_path / "data"))  # replayed where the pod's file is
    made = from_piece("wf-1", here, {"api_token": TOKEN}, root=tmp_path / "home")
    assert made.step.artifacts["data"]["uri"] == str(tmp_path / "data")


@pytest.mark.parametrize(
    "given", ["bucket/argo", "s3://", "minio://bucket", "s3://key:pa55word@bucket/argo"]
)
def test_a_repository_that_is_not_one_is_refused(tmp_path: Path, given: str) -> None:
    with pytest.raises(ValidationError) as caught:
        from_piece("wf-1", _recorded(tmp_path), {"api_token": TOKEN}, root=tmp_path / "home",
                   artifact_repository=given)  # fmt: skip
    assert caught.value.field == "--artifact-repository"
    assert "s3://BUCKET[/PREFIX]" in str(caught.value.fix)
    assert "pa55word" not in str(caught.value)
