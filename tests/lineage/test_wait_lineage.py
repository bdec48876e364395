"""``--wait-lineage`` / ``wait_lineage=True`` when no lineage would go to MLflow (tracking
off, mlflow not installed, ``--no-lineage``): refused before the run, naming the option."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import dagwright
from dagwright.errors import ValidationError
from dagwright.lineage import tracking

REPO = Path(__file__).resolve().parents[2]
FLOW = """
from dagwright import component, pipeline


@component
def inc(x: int) -> int:
    return x + 1


@pipeline
def flow(x: int = 1) -> int:
    return inc(x=x).output
"""
# the command as it is where mlflow is not installed
NO_MLFLOW = """
import sys
from dagwright.lineage import tracking
tracking.mlflow_installed = lambda: False
from dagwright.cli import main
sys.argv[0] = "dagwright"
main()
"""


def cli(folder: Path, *args: str, env: dict[str, str], code: str | None = None) -> Any:
    (folder / "flow.py").write_text(FLOW)
    start = ["-c", code] if code else ["-m", "dagwright.cli"]
    return subprocess.run(
        [sys.executable, *start, *args, "--root", str(folder / "store")],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def nothing_ran(folder: Path) -> bool:
    return not list((folder / "store").glob("lineage/*.json")) and not list(
        (folder / "store").glob("artifacts/*")
    )


@pytest.mark.parametrize(
    ("env", "extra", "code", "fix"),
    [
        ({"DAGWRIGHT_TRACKING": "off"}, (), None, "unset DAGWRIGHT_TRACKING"),
        ({"DAGWRIGHT_TRACKING": "on"}, (), NO_MLFLOW, 'pip install "dagwright[mlflow]"'),
        ({"DAGWRIGHT_TRACKING": "on"}, ("--no-lineage",), None, "drop --no-lineage"),
    ],
    ids=["tracking-off", "no-mlflow", "no-lineage"],
)
def test_run_wait_lineage_with_nothing_to_wait_for_exits_2_before_the_run(
    tmp_path: Path, env: dict[str, str], extra: tuple[str, ...], code: str | None, fix: str
) -> None:
    args = ("run", "flow.py:flow", "-q", "--wait-lineage", *extra)
    proc = cli(tmp_path, *args, env=env, code=code)
    assert proc.returncode == 2, proc.stderr
    assert "field '--wait-lineage'" in proc.stderr and fix in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert nothing_ran(tmp_path)


def test_run_wait_lineage_with_tracking_off_but_a_uri_given_is_not_refused(
    tmp_path: Path,
) -> None:
    pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ("run", "flow.py:flow", "-q", "--wait-lineage", "--tracking-uri", uri)
    proc = cli(tmp_path, *args, env={"DAGWRIGHT_TRACKING": "off"})
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.split()[0]
    assert tracking.state(tmp_path / "store", run_id)["state"] == "in_mlflow"


def test_wait_lineage_in_python_with_tracking_off_is_a_validation_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    monkeypatch.syspath_prepend(str(tmp_path))
    from flow import flow  # type: ignore[import-not-found]

    monkeypatch.setenv("DAGWRIGHT_TRACKING", "off")
    with pytest.raises(ValidationError) as caught:
        dagwright.run(flow, root=tmp_path / "store", echo=False, wait_lineage=True)
    assert caught.value.field == "wait_lineage" and "DAGWRIGHT_TRACKING" in str(caught.value)
    monkeypatch.setenv("DAGWRIGHT_TRACKING", "on")
    monkeypatch.setattr(tracking, "mlflow_installed", lambda: False)
    with pytest.raises(ValidationError) as caught:
        dagwright.run(flow, root=tmp_path / "store", echo=False, wait_lineage=True)
    assert caught.value.field == "wait_lineage" and "mlflow" in str(caught.value.fix)
    assert not (tmp_path / "store").exists()  # refused before the store was made


def test_waiting_on_a_fresh_store_prints_nothing_of_mlflows_own(tmp_path: Path) -> None:
    """The first ``--wait-lineage`` on a store creates MLflow's tables in the foreground:
    MLflow's INFO lines about it stay off the user's terminal; the run's line is all."""
    pytest.importorskip("mlflow")
    done = cli(tmp_path, "run", "flow.py", "-q", "--wait-lineage", env={"DAGWRIGHT_TRACKING": "on"})
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    assert done.stdout.split()[1] == "succeeded"
    assert list((tmp_path / "store" / "lineage").glob("*.mlflow"))  # it did land
