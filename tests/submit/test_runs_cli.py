"""``dagwright runs ls|show|logs|cancel|retry --target kfp|argo``: the real command against the
KFP API and argo-server stand-ins (``kfp_api_server.py``, ``argo_server.py``), which hold every
request to the upstream swaggers. Without ``--target`` the commands read the store as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from argo_server import ArgoServer
from click.testing import CliRunner, Result
from hera.workflows import Workflow
from kfp_api_server import KfpApiServer

from dagwright.cli import cli
from dagwright.remote import argo
from dagwright.remote import kfp as kfp_submit

NIGHTLY = str(Path(__file__).with_name("nightly.py")) + ":nightly"


def dagwright(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def on_argo(server: ArgoServer, *args: str) -> Result:
    return dagwright(
        "runs", *args, "--target", "argo", "--host", server.url, "--namespace", "team-a"
    )


def workflow(server: ArgoServer, manifest: Path) -> str:
    return argo.submit(manifest, host=server.url, namespace="team-a", echo=None).name


def test_ls_and_show_on_kfp(kfp_server: KfpApiServer, sdk_package: Path) -> None:
    kfp_server.final_state, kfp_server.running_polls = "FAILED", 0
    run_id = kfp_submit.submit(
        sdk_package, host=kfp_server.url, run_name="tiny 1", echo=None
    ).run_id
    listed = dagwright("runs", "ls", "--target", "kfp", "--host", kfp_server.url)
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.splitlines()
    assert header.split() == ["RUN", "STATUS", "CREATED", "DURATION", "NAME"]
    assert row.split()[:2] == [run_id, "PENDING"] and row.endswith("  tiny 1")
    as_json = dagwright("runs", "ls", "--target", "kfp", "--host", kfp_server.url, "--json")
    assert [r["run_id"] for r in json.loads(as_json.output)] == [run_id]
    as_json = dagwright(
        "runs", "show", run_id, "--target", "kfp", "--host", kfp_server.url, "--json"
    )
    found = json.loads(as_json.output)
    assert (found["run_id"], found["status"]) == (run_id, "FAILED")
    assert [(s["name"], s["status"]) for s in found["steps"]] == [
        ("shout", "SUCCEEDED"),
        ("shout-2", "FAILED"),
    ]
    assert found["steps"][1]["pod"].startswith("shout-2-system-container-impl-")
    shown = dagwright("runs", "show", run_id, "--target", "kfp", "--host", kfp_server.url)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith(f"run {run_id} (tiny 1): FAILED, created ")
    assert lines[1] == f"page    {kfp_server.url}/#/runs/details/{run_id}"
    assert lines[2] == "message task shout-2 failed"
    assert lines[4].split()[:2] == ["shout", "SUCCEEDED"]
    assert lines[5].split()[:2] == ["shout-2", "FAILED"]
    assert lines[5].endswith("shout-2: exit code 1")
    assert kfp_server.violations == []


def test_logs_on_kfp_exit_1_saying_where_to_read_them(
    kfp_server: KfpApiServer, sdk_package: Path
) -> None:
    run_id = kfp_submit.submit(sdk_package, host=kfp_server.url, echo=None).run_id
    out = dagwright("runs", "logs", run_id, "shout", "--target", "kfp", "--host", kfp_server.url)
    assert out.exit_code == 1
    assert "error: KFP's API serves no step logs; read them from Kubernetes:" in out.output
    assert "kubectl logs -n kubeflow shout-" in out.output and "Traceback" not in out.output


def test_show_logs_cancel_and_retry_on_argo(
    argo_server: ArgoServer, hera_manifest: Callable[..., Path]
) -> None:
    argo_server.running_polls = 10_000
    name = workflow(argo_server, hera_manifest(Workflow, generate_name="nightly-"))
    assert (
        on_argo(argo_server, "show", name)
        .output.splitlines()[0]
        .startswith(f"run {name} ({name}): Pending, created ")
    )
    shown = on_argo(argo_server, "show", name)
    assert [line.split()[:2] for line in shown.output.splitlines()[3:]] == [
        ["prepare", "Running"],
        ["report", "Running"],
    ]
    logs = on_argo(argo_server, "logs", name, "report")
    assert logs.exit_code == 0, logs.output
    pod = argo_server.pods(("team-a", name))["report"]
    assert logs.output.splitlines() == [
        f"==> report ({pod}) <==",
        "report says hello",
        "report is done",
    ]
    early = on_argo(argo_server, "retry", name)
    assert early.exit_code == 2
    assert f"error: field 'RUN': workflow '{name}' is Running" in early.output
    cancelled = on_argo(argo_server, "cancel", name)
    assert cancelled.exit_code == 0, cancelled.output
    page = f"{argo_server.url}/workflows/team-a/{name}"
    assert cancelled.output.splitlines() == [f"cancelled {name}: Failed ({page})"]
    retried = on_argo(argo_server, "retry", name)
    assert retried.exit_code == 0, retried.output
    assert retried.output.splitlines() == [
        f"retried {name}: Running ({page})",
        "  prepare: Running",
        "  report: Running",
    ]
    assert len(argo_server.calls("RetryWorkflow")) == 1
    assert argo_server.violations == []


def test_a_server_that_refuses_or_is_down_exits_1_without_a_traceback(
    argo_server: ArgoServer,
) -> None:
    argo_server.token = "s3cret"
    refused = on_argo(argo_server, "ls")
    assert refused.exit_code == 1
    assert f"error: {argo_server.url} answered 401: token not valid" in refused.output
    unknown = dagwright(
        "runs", "show", "gone", "--target", "argo", "--host", argo_server.url,
        "--namespace", "team-a", "--token", "s3cret",
    )  # fmt: skip
    assert unknown.exit_code == 1 and "answered 404" in unknown.output
    with ArgoServer() as gone:
        url = gone.url
    down = dagwright("runs", "cancel", "x", "--target", "argo", "--host", url, "--namespace", "a")
    assert down.exit_code == 1 and f"error: cannot reach {url}" in down.output
    for out in (refused, unknown, down):
        assert "Traceback" not in out.output
        assert "s3cret" not in out.output  # the token goes in a header, never in a message


def test_options_of_the_other_side_are_refused_before_anything_is_sent(
    argo_server: ArgoServer, tmp_path: Path
) -> None:
    cases = [
        (("runs", "ls", "--host", argo_server.url), "field '--host': --host is for a cluster's"),
        (("runs", "show", "x", "--target", "argo", "--root", str(tmp_path)), "field '--root'"),
        (("runs", "ls", "--target", "argo", "--since", "2h"), "field '--since'"),
        (("runs", "ls", "--target", "ir"), "cannot manage runs on 'ir'. Fix: use one of kfp, argo"),
        (("runs", "ls", "--target", "argo", "--host", argo_server.url), "no namespace"),
        (("runs", "retry", "abc"), "Fix: give --target kfp or --target argo; for a store's run: "
         "dagwright resume abc"),
    ]  # fmt: skip
    for args, said in cases:
        out = dagwright(*args)
        assert out.exit_code == 2, (args, out.output)
        assert said in out.output, (args, out.output)
    assert argo_server.requests == []


def test_without_target_runs_logs_reads_the_store_as_dagwright_logs_does(tmp_path: Path) -> None:
    root = str(tmp_path / "store")
    env = {"DAGWRIGHT_TRACKING": "off"}
    ran = subprocess.run(
        [sys.executable, "-m", "dagwright.cli", "run", NIGHTLY, "--root", root, "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    run_id = ran.stdout.split()[0]
    logs = dagwright("logs", run_id, "--root", root, "--json")
    same = dagwright("runs", "logs", run_id, "--root", root, "--json")
    assert logs.exit_code == same.exit_code == 0
    assert [s["task"] for s in json.loads(same.output)] == ["prepare", "report"]
    assert same.output == logs.output
    # a step the run does not have: named, with the steps it has, as --target says them
    for command in (("logs",), ("runs", "logs")):
        missing = dagwright(*command, run_id, "nope", "--root", root)
        assert missing.exit_code == 2
        assert f"run '{run_id}' has no step 'nope'" in missing.output
        assert "its steps: prepare, report" in missing.output


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no authority signed, and its key."""
    from datetime import datetime, timedelta, timezone
    from ipaddress import ip_address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "argo-server")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_insecure_reads_an_argo_server_with_a_self_signed_certificate(tmp_path: Path) -> None:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    server = ArgoServer(running_polls=2)
    # argo-server's default: https with a certificate of its own making
    server._http.socket = context.wrap_socket(server._http.socket, server_side=True)
    url = server.url.replace("http://", "https://")
    with server:
        where = ("--target", "argo", "--host", url, "--namespace", "team-a")
        checked = dagwright("runs", "ls", *where)
        assert checked.exit_code == 1 and "CERTIFICATE_VERIFY_FAILED" in checked.output
        assert server.calls("ListWorkflows") == []
        trusted = dagwright("runs", "ls", *where, "--insecure")
        assert trusted.exit_code == 0, trusted.output
        assert trusted.output.split() == ["RUN", "STATUS", "CREATED", "DURATION", "NAME"]
        assert len(server.calls("ListWorkflows")) == 1 and server.violations == []
    to_kfp = dagwright("runs", "ls", "--target", "kfp", "--host", url, "--insecure")
    assert to_kfp.exit_code == 2
    assert "field '--insecure': kfp.Client always checks the server's TLS certificate" in (
        to_kfp.output
    )
    no_target = dagwright("runs", "ls", "--insecure")
    assert no_target.exit_code == 2 and "field '--insecure'" in no_target.output
