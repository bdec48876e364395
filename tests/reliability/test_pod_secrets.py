"""Secrets, ConfigMaps, env and volumes in local runs: each step gets its variables (Local and
Process steps alike), Secret values come from a secrets file or the environment and never
reach the run database, a live log, lineage or anything shown; volumes are store folders.

Real ``dagwright`` processes against a store in ``tmp_path``; every file the store holds is
searched for the secret afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

SECRET = "pod-Pa55w0rd-7f3c9e"
PIPELINES = """
import os
import sys

from dagwright import ConfigMapEnv, Secret, Volume, component, mounted, pipeline
from dagwright.runtimes import Process

POD = dict(
    secrets=[Secret("db", "password", env="DB_PASSWORD")],
    config_maps=[ConfigMapEnv("settings", "mode", env="MODE")],
    env={"PLAIN": "yes"},
    volumes=[Volume.pvc("shared", "/data"), Volume.empty_dir("/scratch")],
)


def report(tag: str) -> str:
    password = os.environ["DB_PASSWORD"]
    print(f"connecting with {password}")
    print(f"also on stderr: {password}", file=sys.stderr)
    (mounted("/data") / f"{tag}.txt").write_text(tag)
    scratch = mounted("/scratch/x")
    return "|".join(
        [os.environ["MODE"], os.environ["PLAIN"], str(len(password)), str(scratch.parent.is_dir())]
    )


@component(name="in-thread", **POD)
def in_thread(tag: str) -> str:
    return report(tag)


@component(name="in-process", runtime=Process(), **POD)
def in_process(tag: str) -> str:
    return report(tag)


@component(secrets=[Secret("db", "password", env="DB_PASSWORD")])
def refuse() -> int:
    raise ValueError(f"the database refused {os.environ['DB_PASSWORD']}")


@component
def plain() -> str:
    return os.environ.get("DB_PASSWORD", "unset")


@pipeline
def ok() -> str:
    in_thread(tag="a")
    in_process(tag="b")
    return plain().after(in_thread(tag="c")).output


@pipeline
def failing():
    refuse()
"""


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "pod_pipes.py"
    path.write_text(textwrap.dedent(PIPELINES), encoding="utf-8")
    return path


def _cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")}
    for name in ("MLFLOW_TRACKING_URI", "DAGWRIGHT_SECRETS_FILE", "DB_PASSWORD", "MODE"):
        base.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=tmp_path,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def _secrets_file(tmp_path: Path) -> Path:
    path = tmp_path / "local.env"
    path.write_text(f"DB_PASSWORD={SECRET}\nsettings.mode=fast\n", encoding="utf-8")
    return path


def _no_secret_under(folder: Path, *forms: str) -> None:
    """No file under ``folder`` holds the secret (or each of ``forms`` of it)."""
    for path in folder.rglob("*"):
        if path.is_file():
            for form in forms or (SECRET,):
                assert form.encode() not in path.read_bytes(), path.relative_to(folder)


def _failed_with_logs(
    tmp_path: Path, source: str, name: str, step: str, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Run pipeline ``name`` of ``source``, which fails; the run and ``logs`` of ``step``."""
    pipes = tmp_path / f"{name}.py"
    pipes.write_text(textwrap.dedent(source), encoding="utf-8")
    ran = _cli(tmp_path, "run", f"{pipes}:{name}", env=env)
    assert ran.returncode == 1
    run_id = (ran.stdout + ran.stderr).split("run ", 1)[1].split()[0]
    return ran, _cli(tmp_path, "logs", run_id, step)


def _nowhere(tmp_path: Path, forms: list[str], *procs: subprocess.CompletedProcess[str]) -> None:
    """None of ``forms`` in what ``procs`` printed or in any file of the store."""
    for proc in procs:
        for form in forms:
            assert form not in proc.stdout + proc.stderr
    _no_secret_under(tmp_path / "home", *forms)


def test_steps_get_their_variables_and_volumes_and_no_secret_is_kept(tmp_path: Path) -> None:
    pipes = _write(tmp_path)
    ran = _cli(tmp_path, "run", f"{pipes}:ok", "--secrets-file", str(_secrets_file(tmp_path)), "-q")
    assert ran.returncode == 0, ran.stderr
    run_id = ran.stdout.split()[0]
    shows = [
        _cli(tmp_path, "runs", "show", run_id, "--json"),
        _cli(tmp_path, "logs", run_id),
        _cli(tmp_path, "logs", run_id, "in-process", "--json"),
    ]
    for proc in [ran, *shows]:
        assert proc.returncode == 0, proc.stderr
        assert SECRET not in proc.stdout + proc.stderr
    steps = {s["task"]: s for s in json.loads(shows[0].stdout)["steps"]}
    expected = f"fast|yes|{len(SECRET)}|True"
    for task in ("in-thread", "in-process", "in-thread-2"):
        assert steps[task]["outputs"]["output"] == expected
    assert "connecting with ***" in shows[1].stdout
    assert "also on stderr: ***" in shows[1].stdout
    # a step without Secrets of its own, run after the others: the variable is gone again
    assert steps["plain"]["outputs"]["output"] == "unset"
    home = tmp_path / "home"
    assert (home / "lineage").is_dir() and any((home / "logs").rglob("*.stdout"))
    _no_secret_under(home)  # runs.db, live logs, lineage, artifacts, volumes
    # a PVC is one folder of the store, kept across steps and runs
    assert sorted(p.name for p in (home / "volumes" / "pvc" / "shared").iterdir()) == [
        "a.txt",
        "b.txt",
        "c.txt",
    ]
    assert "LocalVolumeWarning" in ran.stderr or "volumes are folders of the store" in ran.stderr


def test_a_failure_quoting_a_secret_is_masked_everywhere(tmp_path: Path) -> None:
    pipes = _write(tmp_path)
    ran = _cli(tmp_path, "run", f"{pipes}:failing", env={"DB_PASSWORD": SECRET})
    assert ran.returncode == 1
    assert "the database refused ***" in ran.stdout + ran.stderr
    assert SECRET not in ran.stdout + ran.stderr
    run_id = (ran.stdout + ran.stderr).split("run ", 1)[1].split()[0]
    shown = _cli(tmp_path, "runs", "show", run_id, "--json")
    assert SECRET not in shown.stdout and "the database refused ***" in shown.stdout
    _no_secret_under(tmp_path / "home")


def test_secrets_file_from_the_environment_variable(tmp_path: Path) -> None:
    pipes = _write(tmp_path)
    env = {"DAGWRIGHT_SECRETS_FILE": str(_secrets_file(tmp_path))}
    ran = _cli(tmp_path, "run", f"{pipes}:ok", "-q", env=env)
    assert ran.returncode == 0, ran.stderr
    _no_secret_under(tmp_path / "home")


def test_bad_missing_secret_is_refused_before_anything_runs(tmp_path: Path) -> None:
    pipes = _write(tmp_path)
    ran = _cli(tmp_path, "run", f"{pipes}:failing")
    assert ran.returncode == 2
    assert "Secret 'db' key 'password' (variable DB_PASSWORD)" in ran.stderr
    assert "--secrets-file" in ran.stderr and "Traceback" not in ran.stderr
    assert not (tmp_path / "home" / "runs.db").exists()
    missing = _cli(tmp_path, "run", f"{pipes}:failing", "--secrets-file", "nowhere.env")
    assert missing.returncode == 2 and "--secrets-file" in missing.stderr


RESUMABLE = """
import os
from pathlib import Path

from dagwright import Secret, component, pipeline


@component(secrets=[Secret("db", "password", env="DB_PASSWORD")])
def flaky(gate: str) -> int:
    if not Path(gate).exists():
        raise RuntimeError(f"not yet, {os.environ['DB_PASSWORD']}")
    return len(os.environ["DB_PASSWORD"])


@pipeline
def once(gate: str) -> int:
    return flaky(gate=gate).output
"""


def test_resume_reads_the_secrets_file_again_and_masks_the_values(tmp_path: Path) -> None:
    pipes = tmp_path / "resumable.py"
    pipes.write_text(textwrap.dedent(RESUMABLE), encoding="utf-8")
    secrets = _secrets_file(tmp_path)
    gate = tmp_path / "gate"
    first = _cli(
        tmp_path, "run", f"{pipes}:once", "-p", f"gate={gate}", "--secrets-file", str(secrets)
    )
    assert first.returncode == 1 and "not yet, ***" in first.stdout + first.stderr
    run_id = (first.stdout + first.stderr).split("run ", 1)[1].split()[0]
    refused = _cli(tmp_path, "resume", run_id)  # without the file: refused, nothing runs
    assert refused.returncode == 2 and "DB_PASSWORD" in refused.stderr
    gate.touch()
    again = _cli(tmp_path, "resume", run_id, "--secrets-file", str(secrets))
    assert again.returncode == 0, again.stderr
    shown = _cli(tmp_path, "runs", "show", run_id, "--json")
    assert json.loads(shown.stdout)["outputs"] == {"output": len(SECRET)}
    for proc in (first, refused, again, shown):
        assert SECRET not in proc.stdout + proc.stderr
    _no_secret_under(tmp_path / "home")


QUOTED = """
import json
import os

from dagwright import Secret, component, pipeline


@component(secrets=[Secret("db", "password", env="DB_PASSWORD")])
def quote() -> int:
    password = os.environ["DB_PASSWORD"]
    print(json.dumps({"password": password}))
    raise KeyError(password)


@pipeline
def quoting():
    quote()
"""


def test_a_secret_quoted_by_repr_or_json_is_masked_too(tmp_path: Path) -> None:
    # a backslash and a quote: repr (a KeyError's message, a traceback) and JSON escape them,
    # so the value as written is not in the text, its escaped form is
    secret = 'Pa\\55"w0rd-7f3c9e'
    ran, logs = _failed_with_logs(tmp_path, QUOTED, "quoting", "quote", {"DB_PASSWORD": secret})
    assert '{"password": "***"}' in logs.stdout and "KeyError: '***'" in logs.stdout
    _nowhere(tmp_path, [repr(secret)[1:-1], json.dumps(secret)[1:-1]], ran, logs)


ENCODED = """
import os
from urllib.parse import quote, quote_plus

from dagwright import Secret, component, pipeline


@component(secrets=[Secret("api", "token", env="API_TOKEN")])
def call() -> int:
    token = os.environ["API_TOKEN"]
    print(f"GET https://api.example.com/v1/items?token={quote(token, safe='')}")
    print(f"POST body: token={quote_plus(token)}")
    raise ConnectionError(f"refused: https://api.example.com/{quote(token)}/items")


@pipeline
def encoding():
    call()
"""


def test_a_secret_percent_encoded_in_a_url_is_masked_too(tmp_path: Path) -> None:
    # a base64-like token has "/", "+" and "=": in a URL's query, a form body or a path it is
    # written percent-encoded, and HTTP clients log those URLs, so that form must go too
    secret = "tok/3n+Ab9=="
    ran, logs = _failed_with_logs(tmp_path, ENCODED, "encoding", "call", {"API_TOKEN": secret})
    assert "items?token=***" in logs.stdout and "POST body: token=***" in logs.stdout
    assert "refused: https://api.example.com/***/items" in logs.stdout
    encoded = ["tok%2F3n%2BAb9%3D%3D", "tok/3n%2BAb9%3D%3D"]  # query and form; path
    _nowhere(tmp_path, encoded, ran, logs)


def test_bad_line_of_the_secrets_file_is_refused_by_its_number_not_its_text(
    tmp_path: Path,
) -> None:
    # python-dotenv skips a line it cannot parse: the Secret would be read from the
    # environment instead (another value) or said to have none, the file's mistake unnamed
    pipes = _write(tmp_path)
    secrets = tmp_path / "local.env"
    secrets.write_text(f'settings.mode=fast\nDB_PASSWORD="{SECRET}\n', encoding="utf-8")
    env = {"DB_PASSWORD": "the-value-exported-for-another-use"}
    ran = _cli(tmp_path, "run", f"{pipes}:ok", "--secrets-file", str(secrets), env=env)
    assert ran.returncode == 2
    assert "field '--secrets-file'" in ran.stderr and "line 2" in ran.stderr
    assert "Traceback" not in ran.stderr and SECRET not in ran.stdout + ran.stderr
    assert not (tmp_path / "home" / "runs.db").exists()


def test_a_secrets_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    # Windows editors save UTF-8 with a BOM: read as text it glues itself to the first name
    pipes = _write(tmp_path)
    secrets = tmp_path / "local.env"
    secrets.write_text(f"DB_PASSWORD={SECRET}\nsettings.mode=fast\n", encoding="utf-8-sig")
    ran = _cli(tmp_path, "run", f"{pipes}:ok", "--secrets-file", str(secrets), "-q")
    assert ran.returncode == 0, ran.stderr
    _no_secret_under(tmp_path / "home")


def test_bad_secrets_file_given_is_refused_when_no_step_reads_it(tmp_path: Path) -> None:
    # a misspelled path is a mistake whether or not this pipeline has Secrets
    pipes = tmp_path / "plain.py"
    pipes.write_text(
        "from dagwright import component, pipeline\n\n\n"
        "@component\ndef one() -> int:\n    return 1\n\n\n"
        "@pipeline\ndef plain() -> int:\n    return one().output\n",
        encoding="utf-8",
    )
    ran = _cli(tmp_path, "run", f"{pipes}:plain", "--secrets-file", "nowhere.env")
    assert ran.returncode == 2 and "field '--secrets-file'" in ran.stderr
    assert not (tmp_path / "home" / "runs.db").exists()
