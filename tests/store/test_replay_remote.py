"""``dagwright replay`` of a run whose artifacts are in an object store, as a KFP or Argo run's
are: S3 on moto's real server and GCS on gcp-storage-emulator, both on 127.0.0.1. The step's
input is fetched from the bucket, its output compared by digest with the recorded one and
written to a scratch folder here, and the bucket left as it was."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from replay_pipeline import dagwright, run_id, write

pytestmark = pytest.mark.integration


def replays_from(url: str, keys: Callable[[], list[str]], folder: Path) -> None:
    write(folder)
    proc = dagwright(folder, "run", "replayed.py:demo", "-q", "--keep-going", "--store", url)
    assert proc.returncode == 1, proc.stderr  # use[2] fails, as it always does
    run = run_id(proc)
    assert not (folder / "home" / "artifacts").exists()  # the artifacts are in the bucket only
    stored = keys()
    assert f"{run}/make/data" in " ".join(stored)

    proc = dagwright(folder, "replay", run, "use[1]")
    assert proc.returncode == 0, proc.stderr
    assert f"  data <- {url}/{run}/make/data" in proc.stdout
    assert "use read 4 characters" in proc.stdout  # the file, fetched from the bucket
    assert re.search(r'^output +"xx" +"xx" +same$', proc.stdout, re.M), proc.stdout

    proc = dagwright(folder, "replay", run, "make", "-p", "n=6")
    assert proc.returncode == 1, proc.stderr  # an output differs, as diff says it
    found = re.search(r"^data +(sha256:\w+) +(sha256:\w+) +differs$", proc.stdout, re.M)
    assert found and found.group(1) != found.group(2), proc.stdout
    scratch = Path(re.search(r"outputs go to (\S+)", proc.stdout).group(1))
    assert (scratch / "data").read_text() == "x" * 6  # here, not in the bucket
    assert keys() == stored


def test_a_step_replays_from_inputs_in_s3(s3_endpoint: str, tmp_path: Path) -> None:
    import boto3

    bucket = f"arts-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket=bucket)

    def keys() -> list[str]:
        return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])

    replays_from(f"s3://{bucket}/team", keys, tmp_path)


def test_a_step_replays_from_inputs_in_gcs(gcs_bucket: str, tmp_path: Path) -> None:
    import gcsfs

    prefix = f"{gcs_bucket}/replay-{uuid.uuid4().hex[:8]}"

    def keys() -> list[str]:
        fs = gcsfs.GCSFileSystem()
        fs.invalidate_cache()
        return sorted(fs.find(prefix))

    replays_from(f"gs://{prefix}", keys, tmp_path)
