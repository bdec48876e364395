"""Real object-store servers on 127.0.0.1 for the whole session: moto's S3 API and
gcp-storage-emulator. Each points the clients (and child processes) at itself through the
environment, and puts the environment back when it stops."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server; yields its endpoint URL."""
    moto_server = pytest.importorskip("moto.server")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # a client another test's moto server left cached (s3fs keeps one per constructor
    # arguments) would still point at that server's endpoint
    s3fs = pytest.importorskip("s3fs")
    s3fs.S3FileSystem.clear_instance_cache()
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    try:
        with _environment(env):
            yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def gcs_bucket() -> Iterator[str]:
    """gcp-storage-emulator with one bucket; yields the bucket name."""
    emulator = pytest.importorskip("gcp_storage_emulator.server")
    pytest.importorskip("gcsfs")
    port = _free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket="arts")
    server.start()
    env = {
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",  # else gcsfs probes over gRPC for 60 s
        "FSSPEC_GCS_TOKEN": "anon",
        "FSSPEC_GCS_PROJECT": "test",
    }
    try:
        with _environment(env):
            yield "arts"
    finally:
        server.stop()
