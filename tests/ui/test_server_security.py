"""``dagwright ui``'s defences, against a real server: the token off loopback, the Host check
on loopback (DNS rebinding), the POST header, the CSP headers, and raw artifact files served
only from inside the store's artifact folder (``..``, other absolute paths, encodings, a
symlink planted in the store: all refused)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from ui_server_helpers import (
    Server,
    call,
    dagwright,
    lower_headers,
    start,
    write_pipelines,
)

pytestmark = pytest.mark.integration

PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-src 'self'; object-src 'none'; base-uri 'none'"
)
RAW_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "img-src data:; style-src 'unsafe-inline'"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("ui-security")
    home = folder / "store"
    dagwright(home, "run", str(write_pipelines(folder)["demo"]))
    (run,) = json.loads(dagwright(home, "runs", "ls", "--json").stdout)
    outside = folder / "outside.txt"
    outside.write_text("not the store's")
    step = home / "artifacts" / run["run_id"] / "make"
    (step / "escape").symlink_to(outside)
    return {"home": home, "run": run["run_id"], "step": step, "outside": outside}


@pytest.fixture(scope="module")
def server(store: dict[str, Any]) -> Iterator[Server]:
    found = start(store["home"])
    yield found
    found.stop()


def raw(server: Server, uri: str, quoted: bool = True) -> Any:
    return call(server.base + "/api/artifacts/raw?uri=" + (quote(uri, safe="") if quoted else uri))


def test_a_raw_artifact_is_served_sandboxed(server: Server, store: dict[str, Any]) -> None:
    answer = raw(server, str(store["step"] / "page"))
    assert answer.status == 200
    assert answer.text.startswith("<script>")
    headers = lower_headers(answer)
    assert headers["content-security-policy"] == RAW_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"].startswith("text/html")


def test_pages_carry_the_page_csp(server: Server) -> None:
    for path in ("/", "/api/runs", "/api/runs/nope"):
        assert lower_headers(call(server.base + path))["content-security-policy"] == PAGE_CSP
    page = call(server.base + "/")
    assert page.status == 200 and lower_headers(page)["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "attempt",
    [
        "{outside}",  # another absolute path
        "/etc/passwd",
        "{home}/runs.db",  # inside the store, not an artifact: every real parameter value
        "{artifacts}/../runs.db",
        "{step}/../../../runs.db",
        "file://{artifacts}/../runs.db",
        "{step}/escape",  # a symlink in the store that leads out of it
        f"{os.pardir}/runs.db",
        "runs.db",
        "%2e%2e/runs.db",  # encoded once more than the query's own encoding
        "{artifacts}/%2e%2e/runs.db",
        "{step}/page\x00.png",
        "s3://bucket/key",
    ],
)
def test_paths_out_of_the_store_are_refused(
    server: Server, store: dict[str, Any], attempt: str
) -> None:
    uri = attempt.format(
        outside=store["outside"],
        home=store["home"],
        artifacts=store["home"] / "artifacts",
        step=store["step"],
    )
    for answer in (
        raw(server, uri),
        call(server.base + "/api/artifacts/preview?uri=" + quote(uri, safe="")),
    ):
        assert answer.status in (403, 404), answer.text
        assert answer.json["field"] == "uri"
        assert "not the store's" not in answer.text and "SQLite" not in answer.text


def test_a_literal_dot_dot_in_the_query_is_refused(server: Server, store: dict[str, Any]) -> None:
    """Unquoted, as a browser or curl sends a typed URL."""
    uri = f"{store['home']}/artifacts/../runs.db"
    assert raw(server, uri, quoted=False).status == 403
    encoded = quote(uri, safe="").replace("..", "%2E%2E")
    assert raw(server, encoded, quoted=False).status == 403


def test_a_folder_is_not_a_file(server: Server, store: dict[str, Any]) -> None:
    answer = raw(server, str(store["step"]))
    assert answer.status == 404 and answer.json["field"] == "uri"


def test_a_foreign_host_is_refused_on_loopback(server: Server) -> None:
    for host in ("evil.example", "evil.example:80", "127.0.0.1.evil.example"):
        answer = call(server.base + "/api/runs", headers={"Host": host})
        assert answer.status == 403, host
        assert answer.json["field"] == "Host"
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "localhost"):
        assert call(server.base + "/api/runs", headers={"Host": host}).status == 200


def test_a_post_needs_its_header(server: Server, store: dict[str, Any]) -> None:
    path = server.base + f"/api/runs/{store['run']}/resume"
    answer = call(path, method="POST")
    assert answer.status == 403 and answer.json["field"] == "X-Dagwright"
    wrong = call(path, method="POST", headers={"X-Dagwright": "yes"})
    assert wrong.status == 403
    foreign = call(
        path, method="POST", headers={"X-Dagwright": "1", "Origin": "http://evil.example"}
    )
    assert foreign.status == 403 and foreign.json["field"] == "Origin"
    # an Origin that is no URL at all (urlsplit raises on it) is refused the same way
    for origin in ("http://[", "null"):
        odd = call(path, method="POST", headers={"X-Dagwright": "1", "Origin": origin})
        assert odd.status == 403 and odd.json["field"] == "Origin", odd.text


def test_off_loopback_the_token_is_required(store: dict[str, Any]) -> None:
    server = start(store["home"], "--host", "0.0.0.0")
    try:
        url = next(w for w in server.banner.split() if w.startswith("http://"))
        assert url.startswith(f"http://0.0.0.0:{server.port}/?token=")
        token = url.split("?token=", 1)[1]
        assert len(token) >= 24
        api = server.base + "/api/runs"
        missing = call(api)
        assert missing.status == 401 and missing.json["field"] == "token"
        assert call(api + "?token=wrong").status == 401
        assert call(api, headers={"Authorization": "Bearer wrong"}).status == 401
        assert (
            call(api, headers={"Host": "evil.example", "Authorization": f"Bearer {token}"}).status
            == 200
        )
        with_query = call(server.base + f"/?token={token}")
        assert with_query.status == 200
        cookie = lower_headers(with_query)["set-cookie"]
        assert cookie.startswith(f"dagwright_token={token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        by_cookie = call(api, headers={"Cookie": cookie.split(";")[0]})
        assert by_cookie.status == 200 and by_cookie.json["total"] == 1
        assert call(api, headers={"Cookie": "dagwright_token=wrong"}).status == 401
        # a wrong token of non-ASCII characters is as wrong: 401 JSON, not a server error
        for refused in (
            call(api + "?token=%C3%A9t%C3%A9"),
            call(api, headers={"Authorization": "Bearer \u00e9t\u00e9"}),
            call(api, headers={"Cookie": "dagwright_token=\u00e9t\u00e9"}),
        ):
            assert refused.status == 401 and refused.json["field"] == "token", refused.text
    finally:
        server.stop()


def test_a_given_token_applies_on_loopback_too(store: dict[str, Any]) -> None:
    server = start(store["home"], "--token", "given-token-123")
    try:
        assert f"http://127.0.0.1:{server.port}/?token=given-token-123" in server.banner
        assert call(server.base + "/api/runs").status == 401
        bearer = {"Authorization": "Bearer given-token-123"}
        assert call(server.base + "/api/runs", headers=bearer).status == 200
    finally:
        server.stop()


def test_the_token_may_come_from_the_environment(store: dict[str, Any]) -> None:
    server = start(store["home"], "--host", "0.0.0.0", DAGWRIGHT_UI_TOKEN="from-the-env-42")
    try:
        assert "/?token=from-the-env-42" in server.banner
        assert call(server.base + "/api/runs?token=from-the-env-42").status == 200
        assert call(server.base + "/api/runs").status == 401
    finally:
        server.stop()


def test_static_serves_package_files_only(server: Server) -> None:
    assert call(server.base + "/static/app.css").status == 200
    for path in (
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/..%2fserver.py",
        "/static/%2e%2e%2f%2e%2e%2frun_query.py",
        "/static//etc/passwd",
    ):
        answer = call(server.base + path)
        assert answer.status == 404, path
        assert "import" not in answer.text and answer.json["error"]


def test_the_store_is_never_written_through_a_get(server: Server, store: dict[str, Any]) -> None:
    before = sorted(os.listdir(store["home"] / "artifacts" / store["run"]))
    raw(server, str(store["step"] / "page"))
    assert sorted(os.listdir(store["home"] / "artifacts" / store["run"])) == before
    assert Path(store["outside"]).read_text() == "not the store's"


def test_another_loopback_address_opens_at_the_url_it_printed(store: dict[str, Any]) -> None:
    # 127.0.0.0/8 is all loopback: no token, and the URL printed must answer (an IP literal
    # cannot be rebound by DNS, so the Host check lets any loopback address through)
    server = start(store["home"], "--host", "127.0.0.2")
    try:
        assert "token" not in server.banner and f"http://127.0.0.2:{server.port}/" in server.banner
        answer = call(f"http://127.0.0.2:{server.port}/api/runs")
        assert answer.status == 200, answer.text
        foreign = call(f"http://127.0.0.2:{server.port}/api/runs", headers={"Host": "evil.example"})
        assert foreign.status == 403 and foreign.json["field"] == "Host"
    finally:
        server.stop()
