"""The pytest plugin, run by pytest itself in a subprocess (pytester): found through its
``pytest11`` entry point, its ``dagwright_store`` fixture, and the assertion helpers' report of
a run's steps when a test fails."""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import re
from pathlib import Path

import pytest

import dagwright

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]

# a user's test file: a pipeline whose heavy step is mocked, the fixture, the helpers; two of
# its tests fail on purpose so that the report of the steps can be read
USER_TESTS = """
import sys

LOADED = sorted(m for m in sys.modules if m.startswith("dagwright"))  # the plugin's doing

import os
import re
from unittest.mock import Mock

import dagwright
from dagwright import If, component, pipeline
from dagwright.runtimes import Process
from dagwright.testing import assert_steps, assert_succeeded, run_with_mocks


@component
def load(n: int) -> int:
    return n * 2


@component(runtime=Process())
def train(rows: int) -> float:
    raise RuntimeError("real training")


@component
def publish(score: float) -> str:
    return "published"


@pipeline
def flow(n: int = 2) -> float:
    score = train(rows=load(n=n).output).output
    with If(score > 0.5):
        publish(score=score)
    return score


def test_the_plugin_loads_no_engine():
    assert "dagwright.testing.pytest_plugin" in LOADED, LOADED
    assert "dagwright.api" not in LOADED and "dagwright.engine" not in LOADED, LOADED


def test_the_store_fixture(dagwright_store):
    assert os.environ["DAGWRIGHT_HOME"] == str(dagwright_store)
    result = run_with_mocks(flow, mocks={"train": lambda rows: 0.25})
    assert_succeeded(result)
    assert_steps(result, ran=["load", "train"], skipped=["publish"], mocked=["train"])
    assert (dagwright_store / "runs.db").is_file()
    real = dagwright.run(flow, echo=False)  # dagwright.run goes there too: train is real
    assert real.status == "failed" and "real training" in real.step("train").error
    assert real.run_dir.is_relative_to(dagwright_store)


def test_a_mock_counts_its_calls(dagwright_store):
    fake = Mock(return_value=0.75)
    result = run_with_mocks(flow, mocks={"train": fake}, n=5)
    assert fake.call_args.kwargs == {"rows": 10}
    assert_steps(result, ran=["load", "train", "publish"], mocked=["train"])
    assert result.outputs == {"output": 0.75}


def test_a_failing_step_is_shown(dagwright_store):
    def broken(rows: int) -> float:
        print("reading shard 7", file=sys.stderr)
        raise OSError("disk full")

    assert_succeeded(run_with_mocks(flow, mocks={"train": broken}))


def test_steps_other_than_expected_are_shown(dagwright_store):
    result = run_with_mocks(flow, mocks={"train": lambda rows: 0.25})
    assert_steps(result, ran=["load", "train", "publish"])


def test_the_environment_is_put_back_after_each_test():
    assert os.environ["DAGWRIGHT_HOME"].endswith("not-the-test-store")
"""


def _entry_point_declared() -> str:
    """setup.cfg's ``pytest11`` entry points, as pip writes them into ``entry_points.txt``."""
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg", encoding="utf-8")
    lines = setup["options.entry_points"]["pytest11"].strip()
    return "[pytest11]\n" + lines + "\n"


@pytest.fixture
def installed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dist-info of dagwright with setup.cfg's entry points, first on the path of the
    pytest subprocess, as an install from this checkout leaves one (the editable install
    of the environment may predate the entry point; the suite's own stand-in has none)."""
    site = pytester.path / "site"
    info = site / f"dagwright-{dagwright.__version__}.dist-info"
    info.mkdir(parents=True)
    meta = f"Metadata-Version: 2.1\nName: dagwright\nVersion: {dagwright.__version__}\n"
    (info / "METADATA").write_text(meta)
    (info / "entry_points.txt").write_text(_entry_point_declared())
    paths = [str(site), str(ROOT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.setenv("DAGWRIGHT_HOME", str(pytester.path / "not-the-test-store"))
    return site


def test_the_entry_point_names_the_plugin_module() -> None:
    assert _entry_point_declared() == "[pytest11]\ndagwright = dagwright.testing.pytest_plugin\n"
    # an installed dagwright declaring it (after `pip install -e .`) names the same module
    for dist in importlib.metadata.distributions():
        if dist.metadata["Name"] == "dagwright":
            for entry in dist.entry_points.select(group="pytest11"):
                assert (entry.name, entry.value) == ("dagwright", "dagwright.testing.pytest_plugin")


def test_a_user_test_file_with_the_fixture_mocks_and_helpers(
    pytester: pytest.Pytester, installed: Path
) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=2)
    # the failing step: its status, that a mock ran, its error and its stderr's last line
    result.stdout.fnmatch_lines(
        [
            "*StepsMismatch: the run did not succeed",
            "*run flow-* of pipeline 'flow': failed",
            "*step*status*error",
            "*load*succeeded",
            "*train*failed (mock)*OSError: disk full",
            "*| reading shard 7",
            "*publish*upstream_failed*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ran: missing [[]publish[]] (got [[]load, train[]])",
            "*run flow-* of pipeline 'flow': succeeded",
            "*publish*skipped",
        ]
    )
    # the helpers hide their own frames: the user's assert line is the one shown
    assert 'assert_succeeded(run_with_mocks(flow, mocks={"train": broken}))' in result.stdout.str()
    assert "raise StepsMismatch" not in result.stdout.str()
    assert not (pytester.path / "not-the-test-store").exists()  # runs went to tmp_path


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester, installed: Path) -> None:
    pytester.makepyfile(
        test_off="def test_uses_it(dagwright_store):\n    pass\n",
    )
    result = pytester.runpytest_subprocess("-p", "no:dagwright", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'dagwright_store' not found*"])
    on = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    on.assert_outcomes(passed=1)


def test_with_autoload_off_the_entry_point_s_name_turns_it_on(
    pytester: pytest.Pytester, installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As docs/testing.md says: ``-p dagwright`` (the entry point's name) turns it on."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_on="def test_uses_it(dagwright_store):\n    pass\n")
    off = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    off.assert_outcomes(errors=1)
    on = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "dagwright")
    on.assert_outcomes(passed=1)


def test_the_documented_test_file_passes(pytester: pytest.Pytester, installed: Path) -> None:
    """docs/testing.md's example is a test file that passes as written."""
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    example = re.findall(r"```python\n(.*?)```", text, flags=re.S)[-1]
    assert "def test_" in example
    pytester.makepyfile(test_documented=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
