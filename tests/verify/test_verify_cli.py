"""``dagwright verify``, run as a real subprocess: the pipeline here and its compiled KFP spec
under kfp.local (KFP's own local runner, each step a subprocess), every output compared.

A few small pipelines only: kfp.local takes about half a second a step.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytest.importorskip("kfp.local")

pytestmark = pytest.mark.integration

AGREE = """
from dagwright import Collected, Dataset, Input, Metrics, Output, ParallelFor, component, pipeline


@component
def make(n: int, data: Output[Dataset]) -> float:
    with open(data.path, "w") as f:
        f.write("x" * n)
    return n / 3


@component
def measure(data: Input[Dataset], m: Output[Metrics]) -> int:
    size = len(open(data.path).read())
    m.log_metric("size", size)
    return size


@component
def square(x: int) -> int:
    return x * x


@component
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def agree(n: int = 4) -> int:
    made = make(n=n)
    measure(data=made.outputs["data"])
    with ParallelFor([1, 2]) as x:
        sq = square(x=x)
    square(x=n)  # a second task of one component: its own row (kfp.local shares their folder)
    return total(xs=Collected(sq.output)).output
"""

# one step's output differs on every run: a value drawn at random, kept in a file and returned
DIFFER = """
import uuid

from dagwright import Dataset, Output, component, pipeline


@component
def fixed(n: int) -> int:
    return n + 1


@component
def drawn(token: Output[Dataset]) -> str:
    value = uuid.uuid4().hex
    with open(token.path, "w") as f:
        f.write(value)
    return value


@pipeline
def differ(n: int = 1) -> int:
    drawn()
    return fixed(n=n).output
"""

# kfp.local reads the unset default of an Optional parameter as a value and stops
# (kfp/local/orchestrator/orchestrator_utils.py): dagwright runs it
CANNOT = """
from typing import Optional

from dagwright import component, pipeline


@component
def echo(x: Optional[str] = None) -> str:
    return str(x)


@pipeline
def cannot(opt: Optional[str] = None) -> str:
    return echo(x=opt).output
"""

SLOW = """
import time

from dagwright import component, pipeline


@component
def hang(pid_file: str) -> int:
    with open(pid_file, "w") as f:
        f.write(str(__import__("os").getpid()))
    time.sleep(120)
    return 0


@pipeline
def slow(pid_file: str) -> int:
    return hang(pid_file=pid_file).output
"""


# a step reading a file of the working folder: there for dagwright run, not in a pod (nor in
# kfp.local's folder)
HERE_ONLY = """
from dagwright import component, pipeline


@component
def read_local() -> str:
    return open("settings.txt").read()


@component
def fine() -> int:
    return 1


@pipeline
def here_only() -> int:
    # read-local after fine: kfp.local stops at a task's failure, so with the two side by
    # side whether fine ran under it depended on their order
    done = fine()
    read_local().after(done)
    return done.output
"""


# steps returning where their run wrote: an artifact's URI (the same artifact on both sides
# when text is fixed), a card naming it, and with folder=true the task's own folder (no artifact)
URIS = """
import os
import uuid

from dagwright import Dataset, Input, Markdown, Output, component, pipeline


@component
def make(text: str, data: Output[Dataset]) -> str:
    with open(data.path, "w") as f:
        f.write(uuid.uuid4().hex if text == "random" else text)
    return data.uri


@component
def card(data: Input[Dataset], folder: bool, note: Output[Markdown]) -> str:
    with open(note.path, "w") as f:
        f.write(f"# card\\n\\ndata: {data.uri}\\n")
    return os.path.dirname(data.uri) if folder else "fixed"


@pipeline
def uris(text: str = "abc", folder: bool = False) -> str:
    made = make(text=text)
    card(data=made.outputs["data"], folder=folder)
    return made.outputs["output"]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def dagwright(
    tmp_path: Path,
    *args: str,
    prelude: str | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh process; with ``prelude``, that code runs first."""
    env = {**(os.environ if env is None else env), "DAGWRIGHT_HOME": str(tmp_path / "home")}
    if prelude is None:
        command = [sys.executable, "-m", "dagwright.cli", *args]
    else:
        run = "from dagwright.cli import main; sys.argv = ['dagwright', *sys.argv[1:]]; main()"
        command = [sys.executable, "-c", f"import sys; {prelude}; {run}", *args]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )


def ended(pid: int) -> bool:
    """Whether process ``pid`` has ended: gone, or a zombie its new parent has not reaped yet
    (a container's first process may never reap it); a killed process takes a moment."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.1)
    return False


def table(stdout: str) -> dict[tuple[str, str], list[str]]:
    """The table's rows by (task, output): the cells after them (local, kfp.local, verdict)."""
    rows = {}
    for line in stdout.splitlines()[1:]:
        if not line.strip():
            break
        cells = line.split()
        rows[(cells[0], cells[1])] = cells[2:]
    return rows


def test_outputs_that_agree_exit_0_every_row_same(tmp_path: Path) -> None:
    proc = dagwright(tmp_path, "verify", str(write(tmp_path, "agree", AGREE)), "-p", "n=5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = table(proc.stdout)
    assert proc.stdout.split()[:5] == ["task", "output", "local", "kfp.local", "verdict"]
    expected = {
        ("(pipeline)", "output"),
        ("make", "output"),
        ("make", "data"),
        ("measure", "output"),
        ("measure", "m"),
        ("square[0]", "output"),
        ("square[1]", "output"),
        ("square-2", "output"),
        ("total", "output"),
    }
    assert set(rows) == expected
    assert all(cells[-1] == "same" for cells in rows.values()), proc.stdout
    assert rows[("total", "output")][:2] == ["5", "5"]
    assert rows[("square-2", "output")][:2] == ["25", "25"]
    assert rows[("make", "data")][0].startswith("sha256:")  # artifacts by content digest
    assert rows[("measure", "m")][0] == '{"size":'  # metrics by the values logged
    assert "all 9 outputs the same" in proc.stdout
    assert not (tmp_path / ".dagwright").exists()  # the runs went to a temporary folder


def test_a_nondeterministic_step_exit_1_naming_the_task_and_outputs(tmp_path: Path) -> None:
    path = write(tmp_path, "differ", DIFFER)
    proc = dagwright(tmp_path, "verify", str(path), "--json", "--workdir", "kept")  # relative
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "differs"
    verdicts = {(r["task"], r["output"]): r["verdict"] for r in report["rows"]}
    assert verdicts == {
        ("(pipeline)", "output"): "same",
        ("fixed", "output"): "same",
        ("drawn", "output"): "differs",
        ("drawn", "token"): "differs",
    }
    token = next(r for r in report["rows"] if r["output"] == "token")
    assert set(token["local"]) == {"sha256"} and token["local"] != token["kfp_local"]
    # --root keeps both runs: the local store and kfp.local's pipeline root
    assert report["run_id"] and (tmp_path / "kept" / "store").is_dir()
    assert list((tmp_path / "kept" / "kfp-local" / "root").glob("differ-*/drawn/token"))

    proc = dagwright(tmp_path, "verify", str(path))
    assert proc.returncode == 1
    rows = table(proc.stdout)
    assert rows[("drawn", "output")][-1] == rows[("drawn", "token")][-1] == "differs"
    assert "2 of 4 outputs differ" in proc.stdout


def test_a_step_failing_only_under_kfp_local_is_a_difference(tmp_path: Path) -> None:
    (tmp_path / "settings.txt").write_text("local", encoding="utf-8")
    proc = dagwright(tmp_path, "verify", str(write(tmp_path, "here_only", HERE_ONLY)))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = table(proc.stdout)
    assert rows[("read-local", "(status)")] == ["succeeded", "failed", "differs"]
    assert rows[("(pipeline)", "(status)")] == ["succeeded", "failed", "differs"]
    assert rows[("fine", "output")] == ["1", "1", "same"]
    assert "kfp.local: task read-local failed" in proc.stdout
    assert "FileNotFoundError" in proc.stderr  # kfp.local's last lines: the step's error


WHERE = """
import os

from dagwright import component, pipeline


@component
def where() -> str:
    import dagwright

    return os.path.dirname(os.path.abspath(dagwright.__file__))


@pipeline
def which() -> str:
    return where().output
"""


def test_steps_under_kfp_local_import_the_dagwright_running_verify(tmp_path: Path) -> None:
    """This checkout, put on ``sys.path`` by hand (no PYTHONPATH), is what the steps run."""
    checkout = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = dagwright(
        tmp_path,
        "verify",
        str(write(tmp_path, "which", WHERE)),
        "--json",
        prelude=f"sys.path.insert(0, {str(checkout)!r})",
        env=env,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["task"]: r for r in json.loads(proc.stdout)["rows"]}
    assert rows["where"]["kfp_local"] == rows["where"]["local"] == str(checkout / "dagwright")


def test_the_local_run_s_artifacts_stay_in_verify_s_folder(tmp_path: Path) -> None:
    """$DAGWRIGHT_ARTIFACTS (a team's bucket, say) gets nothing from verify's own run."""
    elsewhere = tmp_path / "team-artifacts"
    env = {**os.environ, "DAGWRIGHT_ARTIFACTS": str(elsewhere)}
    path = write(tmp_path, "agree", AGREE)
    proc = dagwright(tmp_path, "verify", str(path), "--workdir", "kept", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not elsewhere.exists()
    made = list((tmp_path / "kept" / "store").rglob("data"))
    assert made and all(p.is_relative_to(tmp_path / "kept" / "store") for p in made)


SECRETS = """
from dagwright import component, pipeline


@component
def connect(password: str) -> str:
    return f"postgres://app:{password}@db:5432/x"


@component
def echo(text: str) -> str:
    return text


@component
def peek(password: str) -> str:
    with open(f"{password}.txt") as f:  # in the working folder here, not under kfp.local
        return f.read()


@pipeline
def sec(password: str = ""):
    said = echo(text=password).after(connect(password=password))
    peek(password=password).after(said)  # last: kfp.local stops at a failure
"""


@pytest.mark.parametrize("as_json", [False, True])
def test_secret_values_in_outputs_are_masked(tmp_path: Path, as_json: bool) -> None:
    """As ``runs show`` masks them: a secret parameter's value wherever an output holds it,
    a URI's password, and in kfp.local's last lines (its executor inputs) shown on a failure."""
    (tmp_path / "s3cr3t-Pa55word.txt").write_text("local", encoding="utf-8")
    path = write(tmp_path, "sec", SECRETS)
    args = ["--json"] if as_json else []
    proc = dagwright(tmp_path, "verify", str(path), "-p", "password=s3cr3t-Pa55word", *args)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # peek failed under kfp.local
    assert as_json or "FileNotFoundError" in proc.stderr  # kfp.local's last lines shown
    assert "s3cr3t-Pa55word" not in proc.stdout + proc.stderr
    assert "postgres://app:***@db" in proc.stdout
    assert proc.stdout.count("***") >= 4  # both sides of connect's and echo's rows


FAILS = """
from dagwright import component, pipeline


@component
def ok(n: int) -> int:
    return n


@component
def broken(n: int) -> int:
    raise ValueError("always")


@pipeline
def fails(n: int = 2):
    broken(n=ok(n=n).output)
"""


def test_a_pipeline_failing_alike_on_both_sides_says_so(tmp_path: Path) -> None:
    proc = dagwright(tmp_path, "verify", str(write(tmp_path, "fails", FAILS)))
    assert proc.returncode == 0, proc.stdout + proc.stderr  # both agree: the compiler is true
    assert table(proc.stdout)[("(pipeline)", "(status)")] == ["failed", "failed", "same"]
    assert "all 3 outputs the same under dagwright run and kfp.local" in proc.stdout
    assert "the pipeline failed under both" in proc.stdout


def test_without_kfp_exit_2_naming_the_extra(tmp_path: Path) -> None:
    # kfp made unimportable in that process only: None in sys.modules stops an import
    path = write(tmp_path, "agree", AGREE)
    proc = dagwright(tmp_path, "verify", str(path), prelude="sys.modules['kfp'] = None")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert 'pip install "dagwright[kfp]"' in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == "" and not (tmp_path / ".dagwright").exists()  # nothing ran


def test_a_pipeline_kfp_local_cannot_run_is_reported_not_a_traceback(tmp_path: Path) -> None:
    proc = dagwright(tmp_path, "verify", f"{write(tmp_path, 'cannot', CANNOT)}:cannot")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout.startswith("cannot: not run under kfp.local: ")
    assert "Traceback" not in proc.stdout + proc.stderr


def test_kfp_local_over_its_timeout_is_stopped_with_its_steps(tmp_path: Path) -> None:
    pid_file = tmp_path / "step.pid"
    started = time.monotonic()
    proc = dagwright(
        tmp_path,
        "verify",
        str(write(tmp_path, "slow", SLOW)),
        "-p",
        f"pid_file={pid_file}",
        "--timeout",
        "4",
        "--json",
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["reason"] == "kfp.local did not finish within 4 s"
    assert time.monotonic() - started < 60
    step = int(pid_file.read_text())  # the step under kfp.local had started, then was killed
    assert ended(step)


def test_ctrl_c_stops_kfp_local_and_its_steps(tmp_path: Path) -> None:
    pid_file = tmp_path / "step.pid"
    path = write(tmp_path, "slow", SLOW)
    env = {**os.environ, "DAGWRIGHT_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "dagwright.cli", "verify", str(path), "-p"]
    proc = subprocess.Popen(
        [*command, f"pid_file={pid_file}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        step = int(pid_file.read_text())
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode != 0
    assert ended(step)


def verdicts(proc: subprocess.CompletedProcess[str]) -> dict[tuple[str, str], str]:
    report = json.loads(proc.stdout)
    return {(r["task"], r["output"]): r["verdict"] for r in report["rows"]}


def test_an_artifact_s_uri_is_compared_by_the_artifact_s_content(tmp_path: Path) -> None:
    path = str(write(tmp_path, "uris", URIS))
    proc = dagwright(tmp_path, "verify", path, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {(r["task"], r["output"]): r for r in json.loads(proc.stdout)["rows"]}
    uri = rows[("make", "output")]
    # the text differs (each runner writes under its own folder), the artifact it names not
    assert uri["local"] != uri["kfp_local"] and uri["local"].endswith("/make/data")
    assert verdicts(proc) == {
        ("(pipeline)", "output"): "same (artifact at the URI)",
        ("make", "output"): "same (artifact at the URI)",
        ("make", "data"): "same",
        ("card", "output"): "same",
        ("card", "note"): "same (its run's URIs aside)",  # its bytes differ by the URI only
    }
    assert rows[("card", "note")]["local"] != rows[("card", "note")]["kfp_local"]

    # the artifact's content differs: so does the URI naming it, and the card; the task's
    # folder, a run-local path naming no artifact, cannot be compared: a difference too
    proc = dagwright(tmp_path, "verify", path, "-p", "text=random", "-p", "folder=true", "--json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert verdicts(proc) == {
        ("(pipeline)", "output"): "differs (artifact at the URI)",
        ("make", "output"): "differs (artifact at the URI)",
        ("make", "data"): "differs",
        ("card", "output"): "differs: run-local URI",
        ("card", "note"): "differs",
    }
    proc = dagwright(tmp_path, "verify", path, "-p", "folder=true")
    assert proc.returncode == 1
    assert "differs: run-local URI" in proc.stdout and "1 of 5 outputs differ" in proc.stdout
    assert "same (artifact at the URI)" in proc.stdout


def test_the_iris_example_verifies(tmp_path: Path) -> None:
    """publish returns the model's URI and writes it into its card: both the same model."""
    pytest.importorskip("sklearn")
    example = Path(__file__).resolve().parents[2] / "examples" / "iris_training.py"
    proc = dagwright(tmp_path, "verify", str(example), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = verdicts(proc)
    assert found[("publish", "output")] == "same (artifact at the URI)"
    assert found[("publish", "card")] == "same (its run's URIs aside)"
    assert found[("train-model", "model")] == "same"
