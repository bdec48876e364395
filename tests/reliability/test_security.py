"""Security: files written safely, secrets kept out of what is shown and stored, pods that
refuse pickles, and Argo ``when`` expressions that Argo cannot rewrite.

Each case recreates the condition: special files and planted symlinks on disk, a crafted
joblib artifact fed to the real pod command, an MLflow server that does not answer, real
``dagwright`` processes. ``test_bad_*`` cases are bad inputs, ``test_fault_*`` faults.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import dagwright
from dagwright.errors import ValidationError
from dagwright.redact import SecretWarning, redact_text, redact_uri

pytestmark = pytest.mark.integration

PASSWORD = "s3cr3t-Pa55w0rd"
PIPELINES = """
from dagwright import If, ParallelFor, component, pipeline


@component
def add(a: int, b: int = 1) -> int:
    return a + b


@component
def login(password: str, user: str) -> str:
    print(f"logging in {user} with {password}")
    return "ok"


@component
def label(word: str) -> str:
    return word


@pipeline
def demo(x: int = 1, password: str = "", user: str = "bob"):
    add(a=x)
    login(password=password, user=user)


@component
def check(db_password: str) -> int:
    raise ValueError(f"the database refused {db_password}")


@pipeline
def refused(db_password: str):
    check(db_password=db_password)


@pipeline
def braces(word: str = "a"):
    with If(label(word=word).output == "{{workflow.name}}"):
        add(a=1)


@pipeline
def braces_ne(n: int = 1):
    with If(label(word="x").output != "{{inputs.parameters.word}}"):
        add(a=n)


@pipeline
def braces_default(word: str = "{{workflow.name}}"):
    with If(label(word="x").output == word):
        add(a=1)


@pipeline
def braces_item():
    with ParallelFor(["a", "{{item}}"]) as item:
        with If(label(word="x").output == item):
            add(a=1)


@pipeline
def braces_and(n: int = 1):
    made = label(word="x").output
    with If((made == "plain") & (made != "x{{y}}")):
        add(a=n)
"""


def _write(tmp_path: Path, text: str = PIPELINES) -> Path:
    path = tmp_path / "security_pipes.py"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home"), "DAGWRIGHT_TRACKING": "off"}
    base.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "dagwright.cli", *args],
        cwd=tmp_path,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- 5. files are written safely -------------------------------------------------------------


def _fifo(path: Path) -> Callable[[], bool]:
    os.mkfifo(path)
    return lambda: stat.S_ISFIFO(os.lstat(path).st_mode)


def _folder(path: Path) -> Callable[[], bool]:
    path.mkdir()
    (path / "kept.txt").write_text("kept", encoding="utf-8")
    return lambda: path.is_dir() and (path / "kept.txt").read_text(encoding="utf-8") == "kept"


def _link_to(make: Callable[[Path], Callable[[], bool]]) -> Callable[[Path], Callable[[], bool]]:
    def planted(path: Path) -> Callable[[], bool]:
        intact = make(path.with_name("real-" + path.name))
        path.symlink_to(path.with_name("real-" + path.name))
        return lambda: intact() and path.is_symlink()

    return planted


def _device(path: Path) -> Callable[[], bool]:
    """A character device like /dev/full (1, 7), made here so a regression cannot replace the
    machine's own."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    return lambda: stat.S_ISCHR(os.lstat(path).st_mode)


SPECIAL = {
    "fifo": _fifo,
    "folder": _folder,
    "link-to-fifo": _link_to(_fifo),
    "link-to-folder": _link_to(_folder),
    "device": _device,
}


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_bad_compile_output_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    pipes = _write(tmp_path)
    target = tmp_path / "out.yaml"
    intact = SPECIAL[kind](target)
    before = _listing(tmp_path)
    proc = _cli(tmp_path, "compile", f"{pipes}:demo", "-o", str(target))
    assert proc.returncode == 2, proc.stderr
    # click itself refuses a folder for a dir_okay=False path, also naming -o
    assert "field '-o'" in proc.stderr or "'-o' / '--output'" in proc.stderr
    assert "not a regular file" in proc.stderr or "is a directory" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert intact(), f"the {kind} at -o was replaced"
    assert _listing(tmp_path) == before  # no temporary file left behind


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_bad_dockerfile_output_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    pipes = _write(tmp_path)
    target = tmp_path / "Dockerfile"
    intact = SPECIAL[kind](target)
    proc = _cli(tmp_path, "dockerfile", f"{pipes}:demo", "-o", str(target))
    assert proc.returncode == 2, proc.stderr
    assert "field '-o'" in proc.stderr or "'-o' / '--output'" in proc.stderr
    assert intact()


@pytest.mark.parametrize("kind", ["fifo", "link-to-fifo"])
def test_bad_lineage_show_output_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    pipes = _write(tmp_path)
    ran = _cli(tmp_path, "run", f"{pipes}:demo", "-q")
    assert ran.returncode == 0, ran.stderr
    target = tmp_path / "graph.json"
    intact = SPECIAL[kind](target)
    proc = _cli(tmp_path, "lineage", "show", ran.stdout.split()[0], "-o", str(target))
    assert proc.returncode == 2, proc.stderr
    assert "field '--output'" in proc.stderr and "a FIFO" in proc.stderr
    assert intact()


def test_bad_compile_path_from_python_is_a_folder(tmp_path: Path) -> None:
    from dagwright.compiler import compile_ir

    ir = dagwright.api.to_ir(_load(tmp_path, "demo"))
    (tmp_path / "out").mkdir()
    with pytest.raises(ValidationError, match="field 'path'.*a folder"):
        compile_ir(ir, "ir", tmp_path / "out")
    assert _listing(tmp_path / "out") == []


def test_fault_planted_tmp_symlink_is_not_followed(tmp_path: Path) -> None:
    """The old temporary name, OUT.tmp, is a symlink to a file the attacker wants
    overwritten: the compile writes OUT and leaves the victim alone."""
    pipes = _write(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    (tmp_path / "out.yaml.tmp").symlink_to(victim)
    proc = _cli(tmp_path, "compile", f"{pipes}:demo", "-o", "out.yaml")
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text(encoding="utf-8") == "precious"
    assert (tmp_path / "out.yaml").read_text(encoding="utf-8").startswith("apiVersion")
    assert not (tmp_path / "out.yaml").is_symlink()


def test_fault_guessed_temporary_name_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even a symlink planted at the exact random name dagwright picks first is not followed:
    the name is created with O_EXCL, so dagwright takes another one."""
    from dagwright import writes

    names = iter(["guessed", "guessed", "fresh"])
    monkeypatch.setattr(writes.secrets, "token_hex", lambda n: next(names))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    (tmp_path / ".out.yaml.guessed.tmp").symlink_to(victim)
    writes.write_file(tmp_path / "out.yaml", "new text")
    assert victim.read_text(encoding="utf-8") == "precious"
    assert (tmp_path / "out.yaml").read_text(encoding="utf-8") == "new text"
    assert (tmp_path / ".out.yaml.guessed.tmp").is_symlink()  # left as it was
    assert not (tmp_path / ".out.yaml.fresh.tmp").exists()


def test_fault_disk_full_mid_write_keeps_the_old_output(tmp_path: Path) -> None:
    """The file size limit (as a full disk does) stops the write half way: the previous
    output is still whole and no temporary file is left."""
    pipes = _write(tmp_path)
    target = tmp_path / "out.yaml"
    target.write_text("the previous spec\n", encoding="utf-8")
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200)); "
        "from dagwright.cli import main; sys.argv = ['dagwright', *sys.argv[1:]]; main()"
    )
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home"), "DAGWRIGHT_TRACKING": "off"}
    proc = subprocess.run(
        [sys.executable, "-c", code, "compile", f"{pipes}:demo", "-o", str(target)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 2, proc.stderr
    assert "field '-o'" in proc.stderr and "File too large" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert target.read_text(encoding="utf-8") == "the previous spec\n"
    assert _listing(tmp_path) == ["out.yaml", "security_pipes.py"]


def _load(tmp_path: Path, name: str) -> Any:
    from dagwright.loader import load_pipeline

    path = tmp_path / "security_pipes.py"
    if not path.exists():
        _write(tmp_path)
    return load_pipeline(f"{path}:{name}")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(
    ("umask", "file_mode", "dir_mode"),
    [(0o022, 0o600, 0o700), (0o000, 0o600, 0o700), (0o077, 0o600, 0o700), (0o277, 0o400, 0o500)],
)
def test_store_files_are_private_unless_the_umask_asks_for_less(
    tmp_path: Path, umask: int, file_mode: int, dir_mode: int
) -> None:
    """A real `dagwright run` under each umask. 0o277 leaves even the owner without write
    permission, which only root can run with: what counts is what is created."""
    if umask == 0o277 and os.geteuid() != 0:
        pytest.skip("a read-only store folder is writable by root only")
    pipes = _write(tmp_path)
    code = (
        "import os, sys; os.umask(int(sys.argv[1], 8)); "
        "from dagwright.cli import main; sys.argv = ['dagwright', *sys.argv[2:]]; main()"
    )
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home"), "DAGWRIGHT_TRACKING": "off"}
    subprocess.run(
        [sys.executable, "-c", code, oct(umask), "run", f"{pipes}:demo", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    home = tmp_path / "home"
    assert _mode(home) == dir_mode
    assert _mode(home / "runs.db") == file_mode
    if umask != 0o277:
        assert _mode(home / "lineage") == dir_mode
        (graph,) = (home / "lineage").glob("*.json")
        assert _mode(graph) == file_mode


# -- 6. secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "flag", "uri"),
    [
        ("kfp", "--tracking-uri", f"https://alice:{PASSWORD}@mlflow.example.com/"),
        ("argo", "--tracking-uri", f"https://alice:{PASSWORD}@mlflow.example.com/"),
        ("argo", "--tracking-uri", "https://ghp_0123456789abcdefghijKLMNOPqrstuv@mlflow.x/"),
        ("kfp", "--index-url", f"https://bob:{PASSWORD}@pypi.example.com/simple"),
        ("argo", "--dagwright", f"dagwright @ https://bob:{PASSWORD}@files.example.com/d.whl"),
        ("kfp", "--pipeline-root", f"minio://bob:{PASSWORD}@minio:9000/pipelines"),
        ("argo", "--artifact-endpoint", f"https://bob:{PASSWORD}@minio.example.com"),
    ],
)
def test_bad_url_with_credentials_is_not_compiled_in(
    tmp_path: Path, target: str, flag: str, uri: str
) -> None:
    pipes = _write(tmp_path)
    proc = _cli(tmp_path, "compile", f"{pipes}:demo", "-t", target, flag, uri, "-o", "x.yaml")
    assert proc.returncode == 2, proc.stderr
    field = flag.removeprefix("--").replace("-", "_")
    assert f"field '{field}'" in proc.stderr and "credentials" in proc.stderr
    assert PASSWORD not in proc.stderr + proc.stdout and "ghp_" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "x.yaml").exists()


SECRET_LITERALS = {
    "param-named-password": (
        "@pipeline\ndef p(password: str = 'letmein'):\n    echo(v=password)\n",
        "the default of parameter 'password'",
    ),
    "input-named-token": (
        "@component\ndef c(api_token: str = 'abc') -> str:\n    return api_token\n\n"
        "@pipeline\ndef p():\n    c()\n",
        "the default of input 'api_token' of component 'c'",
    ),
    "env-named-secret": (
        "@component(env={'DB_SECRET': 'hunter2'})\ndef c() -> int:\n    return 1\n\n"
        "@pipeline\ndef p():\n    c()\n",
        "env DB_SECRET of component 'c'",
    ),
    "github-token-argument": (
        "@pipeline\ndef p():\n    echo(v='ghp_0123456789abcdefghijKLMNOPqrstuv')\n",
        "the argument 'v' of task 'echo'",
    ),
    "aws-key-in-env": (
        "@component(env={'ID': 'AKIAIOSFODNN7EXAMPLE'})\ndef c() -> int:\n    return 1\n\n"
        "@pipeline\ndef p():\n    c()\n",
        "env ID of component 'c'",
    ),
    "random-default": (
        "@pipeline\ndef p(setting: str = 'q8Xz2LmV9rT4wYb7Kp3Nc6Hd'):\n    echo(v=setting)\n",
        "the default of parameter 'setting'",
    ),
}
_HEADER = (
    "from dagwright import component, pipeline\n\n"
    "@component\ndef echo(v: str) -> str:\n    return v\n\n"
)


@pytest.mark.parametrize("case", sorted(SECRET_LITERALS))
def test_bad_literal_secret_warns_at_compile_time(tmp_path: Path, case: str) -> None:
    body, where = SECRET_LITERALS[case]
    pipes = _write(tmp_path, _HEADER + body)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dagwright.compile(_load(tmp_path, "p"), target="ir")
    found = [w for w in caught if issubclass(w.category, SecretWarning)]
    assert len(found) == 1 and where in str(found[0].message)
    assert "Kubernetes Secret" in str(found[0].message)
    proc = _cli(tmp_path, "compile", f"{pipes}:p")  # the CLI says it on stderr, and goes on
    assert proc.returncode == 0, proc.stderr
    assert f"warning: pipeline 'p': {where}" in proc.stderr


def test_plain_literals_do_not_warn(tmp_path: Path) -> None:
    _write(
        tmp_path,
        _HEADER + "@pipeline\ndef p(path: str = '/data/iris/2026-12-04/train.csv', "
        "name: str = 'nightly-training-run-2026', sort_key: str = 'species', "
        "max_tokens: str = '512', model: str = 'sha256:9f86d081884c7d659a2feaa0c55ad015'):\n"
        "    echo(v=path)\n",
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dagwright.compile(_load(tmp_path, "p"), target="ir")
    assert not [w for w in caught if issubclass(w.category, SecretWarning)]


def test_secret_parameters_are_masked_in_runs_show_logs_and_lineage(tmp_path: Path) -> None:
    pipes = _write(tmp_path)
    ran = _cli(tmp_path, "run", f"{pipes}:demo", "-p", f"password={PASSWORD}", "-q")
    assert ran.returncode == 0, ran.stderr
    run_id = ran.stdout.split()[0]
    home = tmp_path / "home"
    shows = [
        _cli(tmp_path, "runs", "show", run_id),
        _cli(tmp_path, "runs", "show", run_id, "--json"),
        _cli(tmp_path, "runs", "ls", "--json"),
        _cli(tmp_path, "logs", run_id),
        _cli(tmp_path, "logs", run_id, "login", "--json"),
    ]
    for proc in shows:
        assert proc.returncode == 0, proc.stderr
        assert PASSWORD not in proc.stdout + proc.stderr
    assert '"password": "***"' in shows[0].stdout
    assert "logging in bob with ***" in shows[3].stdout
    assert json.loads(shows[1].stdout)["params"]["user"] == "bob"  # others are shown
    (graph,) = (home / "lineage").glob("*.json")
    assert PASSWORD not in graph.read_text(encoding="utf-8")
    # the run database keeps the real value (resume needs it), readable by its owner only
    assert _mode(home / "runs.db") == 0o600


def test_failed_step_quoting_its_secret_shows_it_masked(tmp_path: Path) -> None:
    pipes = _write(tmp_path)
    ran = _cli(tmp_path, "run", f"{pipes}:refused", "-p", f"db_password={PASSWORD}")
    assert ran.returncode == 1
    assert "the database refused ***" in ran.stdout + ran.stderr
    run_id = (ran.stdout + ran.stderr).split("run ", 1)[1].split()[0]
    shown = [_cli(tmp_path, "runs", "show", run_id), _cli(tmp_path, "logs", run_id, "--json")]
    for proc in [ran, *shown]:
        assert PASSWORD not in proc.stdout + proc.stderr
    assert "the database refused ***" in shown[0].stdout


def test_fault_unreachable_mlflow_keeps_no_password(tmp_path: Path) -> None:
    """MLflow does not answer (a closed port): the run finishes, its .pending marker (as the
    run left it, then as its syncer and sync rewrote it with the reason) and everything
    printed name the server without the password."""
    pytest.importorskip("mlflow")
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://alice:{PASSWORD}@127.0.0.1:{port}/"
    pipes = _write(tmp_path)
    log = tmp_path / "syncer.log"  # what the background syncer says
    env = {
        "DAGWRIGHT_TRACKING": "on",
        "DAGWRIGHT_TRACKING_FLUSH_TIMEOUT": "2",
        "DAGWRIGHT_TRACKING_LOG": str(log),
    }
    proc = _cli(tmp_path, "run", f"{pipes}:demo", "--tracking-uri", uri, env=env)
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    (marker,) = (tmp_path / "home" / "lineage").glob("*.pending")
    assert PASSWORD not in marker.read_text(encoding="utf-8")
    # sync finds the full URI again where the user keeps it, and still prints no password
    synced = _cli(tmp_path, "lineage", "sync", "--wait", env={**env, "MLFLOW_TRACKING_URI": uri})
    assert synced.returncode != 0
    assert PASSWORD not in synced.stdout + synced.stderr
    assert f"127.0.0.1:{port}" in synced.stderr
    kept = json.loads(marker.read_text(encoding="utf-8"))
    assert kept["tracking_uri"] == f"http://alice:***@127.0.0.1:{port}/"
    assert "Connection" in kept["reason"]  # it was tried, with the password, and refused
    assert PASSWORD not in marker.read_text(encoding="utf-8")
    assert _mode(marker) == 0o600
    assert PASSWORD not in (log.read_text() if log.exists() else "")


def test_sync_takes_the_password_back_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagwright.lineage.tracking import sync_uri

    full = f"https://alice:{PASSWORD}@mlflow.example.com/"
    kept = redact_uri(full)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", full)
    assert sync_uri(kept, None, tmp_path) == full
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://elsewhere/")
    assert sync_uri(kept, None, tmp_path) == "https://mlflow.example.com/"
    assert sync_uri(kept, "https://given/", tmp_path) == "https://given/"


def test_mlflow_gets_secret_parameters_masked(tmp_path: Path) -> None:
    mlflow = pytest.importorskip("mlflow")
    pipes = _write(tmp_path)
    env = {"DAGWRIGHT_TRACKING": "on"}
    args = ("run", f"{pipes}:demo", "-p", f"password={PASSWORD}", "--wait-lineage")
    proc = _cli(tmp_path, *args, env=env)
    assert proc.returncode == 0, proc.stderr
    database = tmp_path / "home" / "mlflow.db"
    assert _mode(database) == 0o600
    client = mlflow.tracking.MlflowClient(f"sqlite:///{database}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    params = [r.data.params for r in runs if "password" in r.data.params]
    assert params and all(p["password"] == "***" for p in params)
    assert all(PASSWORD not in json.dumps(r.data.to_dictionary()) for r in runs)


def test_step_payload_for_mlflow_masks_secret_parameters_and_errors() -> None:
    from dagwright.engine.result import FAILED, StepRecord
    from dagwright.lineage.payload import step_payload

    record = StepRecord(
        "login",
        status=FAILED,
        error=f"ValueError: login refused for {PASSWORD}",
        inputs={"parameters": {"password": PASSWORD, "user": "bob"}},
        outputs={"model": {"uri": f"s3://k:{PASSWORD}@bucket/m", "type": "Model"}},
    )
    node = {"id": "step:r/login", "label": "login", "status": FAILED, "task": "login"}
    sent = step_payload("r", node, record)
    assert sent["params"] == {"password": "***", "user": "bob"}
    assert PASSWORD not in json.dumps(sent)
    assert sent["tags"]["dagwright.error"] == "ValueError: login refused for ***"


def test_redaction_of_uris_in_text() -> None:
    assert redact_uri("postgresql://u:p%40ss@db:5432/m") == "postgresql://u:***@db:5432/m"
    assert redact_uri("https://h/x?token=abc&a=1") == "https://h/x?token=***&a=1"
    assert redact_uri("sqlite:////srv/mlflow.db") == "sqlite:////srv/mlflow.db"
    said = "GET https://bob:hunter2@h/api failed; see ssh://git@github.com"
    assert redact_text(said) == "GET https://bob:***@h/api failed; see ssh://git@github.com"


# -- 7. pickle -------------------------------------------------------------------------------

MODEL_STEP = """
from sklearn.base import BaseEstimator
from dagwright import component


@component
def use_model(model: BaseEstimator) -> int:
    return 1
"""


class _Crafted:
    """Unpickling this creates the marker file: a stand-in for any command."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.marker, "w"))


def _crafted_artifact(tmp_path: Path) -> tuple[Path, Path]:
    joblib = pytest.importorskip("joblib")
    pytest.importorskip("sklearn")
    marker = tmp_path / "PWNED"
    artifact = tmp_path / "inputs" / "model"
    artifact.parent.mkdir()
    with open(artifact, "wb") as f:
        joblib.dump(_Crafted(marker), f)
    return artifact, marker


def _model_component(tmp_path: Path) -> Any:
    (tmp_path / "model_step.py").write_text(MODEL_STEP, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        from model_step import use_model  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("model_step", None)
    return use_model.spec


def _argo_pod(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    artifact, _ = _crafted_artifact(tmp_path)
    spec = _model_component(tmp_path)
    meta = json.dumps({"metadata": {"format": "joblib"}})  # what -meta claims
    command = [
        sys.executable, "-m", "dagwright.compiler.argo.entry",
        "--component", json.dumps(spec.to_dict()), "--digest", spec.digest,
        "--artifact", f"model={artifact}", "--artifact-meta", f"model={meta}",
        "--output-param", f"output={tmp_path / 'out' / 'output'}", *extra,
    ]  # fmt: skip
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_fault_crafted_joblib_artifact_is_refused_by_the_argo_pod(tmp_path: Path) -> None:
    proc = _argo_pod(tmp_path)
    assert proc.returncode == 1
    assert "refusing to unpickle a joblib artifact" in proc.stderr
    assert "--allow-pickle" in proc.stderr
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "out" / "output").exists()


def test_argo_pod_compiled_with_allow_pickle_does_unpickle(tmp_path: Path) -> None:
    """The control: the crafted artifact really runs its code once pickle is allowed."""
    proc = _argo_pod(tmp_path, "--allow-pickle")
    assert (tmp_path / "PWNED").exists()
    assert proc.returncode != 0 or (tmp_path / "out" / "output").exists()


KFP_POD = """
import json, sys, types
from dagwright.compiler.kfp.entry import entry

spec, digest, path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
run = entry(spec, digest)
try:
    run(model=types.SimpleNamespace(uri=path, path=path, metadata={"format": "joblib"}))
except PermissionError as exc:
    print(f"refused: {exc}", file=sys.stderr)
    sys.exit(3)
"""


@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed"])
def test_fault_crafted_joblib_artifact_in_a_kfp_pod(tmp_path: Path, allowed: bool) -> None:
    pytest.importorskip("kfp")
    artifact, marker = _crafted_artifact(tmp_path)
    spec = _model_component(tmp_path)
    flag = ["--dagwright-allow-pickle"] if allowed else []
    proc = subprocess.run(
        [sys.executable, "-c", KFP_POD, json.dumps(spec.to_dict()), spec.digest, str(artifact)]
        + flag,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if allowed:
        assert marker.exists()
    else:
        assert proc.returncode == 3, proc.stderr
        assert "refusing to unpickle a joblib artifact" in proc.stderr
        assert not marker.exists()


@pytest.mark.parametrize("target", ["kfp", "argo"])
def test_allow_pickle_reaches_the_pods_only_when_given(tmp_path: Path, target: str) -> None:
    pytest.importorskip("kfp" if target == "kfp" else "hera")
    flag = "--dagwright-allow-pickle" if target == "kfp" else "--allow-pickle"
    ir = dagwright.api.to_ir(_load(tmp_path, "demo"))
    assert flag not in dagwright.compile(ir, target=target)
    assert flag in dagwright.compile(ir, target=target, allow_pickle=True)
    pipes = tmp_path / "security_pipes.py"
    proc = _cli(tmp_path, "compile", f"{pipes}:demo", "-t", target, "--allow-pickle")
    assert proc.returncode == 0, proc.stderr
    assert flag in proc.stdout


def test_bad_allow_pickle_for_the_ir_target(tmp_path: Path) -> None:
    pipes = _write(tmp_path)
    proc = _cli(tmp_path, "compile", f"{pipes}:demo", "--allow-pickle", "-o", "x.yaml")
    assert proc.returncode == 2
    assert "field 'allow_pickle'" in proc.stderr
    assert not (tmp_path / "x.yaml").exists()


# -- 8. Argo when ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "user_text"),
    [
        ("braces", "workflow.name"),
        ("braces_ne", "inputs.parameters.word"),
        ("braces_and", "{{y}}"),
        ("braces_item", "{{item}}"),
    ],
)
def test_braces_in_a_when_constant_or_item_never_reach_argo_as_braces(
    tmp_path: Path, name: str, user_text: str
) -> None:
    """A constant or literal loop item holding ``{{`` that a condition compares: Argo would
    substitute it into the ``when`` (workflow/controller/dag.go, resolveDependencyReferences).
    The when is one expression tag whose constants are base64 (``sprig.b64dec``) and the items
    travel protected, so no user text reaches Argo's substitution; the stand-in runs of the same
    values are in tests/compiler/test_conditions_fidelity.py."""
    pytest.importorskip("hera")
    pipes = _write(tmp_path)
    proc = _cli(tmp_path, "compile", f"{pipes}:{name}", "-t", "argo", "-o", "wf.yaml")
    assert proc.returncode == 0, proc.stderr
    manifest = yaml.safe_load((tmp_path / "wf.yaml").read_text(encoding="utf-8"))
    tasks = [
        task
        for template in manifest["spec"]["templates"]
        for task in (template.get("dag") or {}).get("tasks", [])
    ]
    whens = [task["when"] for task in tasks if "when" in task]
    assert whens
    for when in whens:
        assert when.startswith("{{=") and when.endswith("}}")
        assert when.count("{{") == 1 and when.count("}}") == 1, when
    assert user_text not in yaml.safe_dump(whens)
    items = [item for task in tasks for item in task.get("withItems", [])]
    assert all("{{" not in str(item) for item in items)


@pytest.mark.parametrize(("name", "named"), [("braces_default", "the default of 'word'")])
def test_bad_braces_in_a_parameter_default_a_when_reads(
    tmp_path: Path, name: str, named: str
) -> None:
    """A parameter default reaches the workflow's arguments, which Argo substitutes (and a
    value given at submit could replace it): refused where it is written."""
    pytest.importorskip("hera")
    pipes = _write(tmp_path)
    proc = _cli(tmp_path, "compile", f"{pipes}:{name}", "-t", "argo", "-o", "wf.yaml")
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr and "'{{'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "wf.yaml").exists()


@pytest.mark.parametrize("kind", ["workflow", "template"])
def test_bad_braces_in_a_submitted_argument(tmp_path: Path, kind: str) -> None:
    """A value given at submit reaches the workflow's arguments, which Argo substitutes into
    every expression that reads them: refused before any request (the host is a closed port,
    so a request would fail with another message)."""
    pytest.importorskip("hera")
    pipes = _write(tmp_path)
    proc = _cli(
        tmp_path,
        "submit",
        f"{pipes}:refused",
        "-t",
        "argo",
        "--host",
        "http://127.0.0.1:9",
        "--namespace",
        "ns",
        "-p",
        "db_password=x{{workflow.name}}",
        "--kind",
        kind,
    )
    assert proc.returncode == 2, proc.stderr
    assert "field 'db_password'" in proc.stderr and "'{{'" in proc.stderr
    assert "workflow.name" not in proc.stderr  # the value itself is never echoed
    assert "Traceback" not in proc.stderr and "127.0.0.1" not in proc.stderr


_MODEL_WITH_A_TOKEN = """
from dagwright import Model, Output, component, pipeline


@component
def publish(model: Output[Model]):
    model.metadata["api_token"] = "tok-9f8e7d6c5b4a"
    model.metadata["framework"] = "sklearn"
    with open(model.path, "w") as f:
        f.write("m")


@pipeline
def ships():
    publish()
"""


def test_an_artifacts_secret_named_metadata_is_masked_in_runs_show_json(tmp_path: Path) -> None:
    """``runs show --json`` (and the UI, which answers the same shape) masked outputs by name
    only: a Model's ``api_token`` metadata was shown in clear."""
    pipes = _write(tmp_path, _MODEL_WITH_A_TOKEN)
    ran = _cli(tmp_path, "run", f"{pipes}:ships", "-q")
    assert ran.returncode == 0, ran.stderr
    shown = _cli(tmp_path, "runs", "show", ran.stdout.split()[0], "--json")
    assert shown.returncode == 0, shown.stderr
    assert "tok-9f8e7d6c5b4a" not in shown.stdout
    (step,) = json.loads(shown.stdout)["steps"]
    assert step["outputs"]["model"]["metadata"] == {"api_token": "***", "framework": "sklearn"}
