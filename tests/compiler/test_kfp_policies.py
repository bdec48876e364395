"""Retries and timeouts on the KFP target, as KFP's backend (not kfp.local) runs them.

No KFP backend runs here; ``kfp_backend_checks`` models what it does with a ``retryPolicy``
(see its docstring for the upstream files), and these tests assert both the emitted fields and
that the check finds the specs dagwright used to write.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import kfp_corpus as corpus
import pytest
import yaml
from click.testing import CliRunner
from kfp_backend_checks import argo_parameters, problems, retry_problems
from kfp_platform_proto import parse_executor_config

import dagwright
from dagwright import Retry, component, pipeline
from dagwright.cli import cli
from dagwright.compiler.deadline import BOOTSTRAP_SECONDS
from dagwright.compiler.kfp.policy import RETRY_WINDOW, KfpPolicyWarning
from dagwright.errors import ValidationError
from dagwright.loader import load_pipeline
from dagwright.verify.kfp_local import init

pytest.importorskip("kfp")
ROOT = Path(__file__).resolve().parents[2]


def _documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def _one_task(**options: Any) -> Any:
    @component(**options)
    def step() -> None:
        print("x")

    @pipeline
    def one() -> None:
        step()

    return one


def test_iris_example_retries_on_the_backend() -> None:
    iris = load_pipeline(str(ROOT / "examples" / "iris_training.py"))
    spec = _documents(dagwright.compile(iris, target="kfp"))[0]
    policy = spec["root"]["dag"]["tasks"]["train-model"]["retryPolicy"]
    assert policy["maxRetryCount"] == 1
    assert policy["backoffMaxDuration"] == f"{RETRY_WINDOW}s"
    assert argo_parameters(policy) == {
        "retry-max-count": "1",
        "retry-backoff-duration": "0",
        "retry-backoff-factor": "2",
        "retry-backoff-max-duration": "3600",
    }
    assert retry_problems(policy) == []


def test_retried_component_carries_a_window_and_an_integer_factor() -> None:
    spec = _documents(dagwright.compile(corpus.retried, target="kfp"))[0]
    policy = spec["root"]["dag"]["tasks"]["flaky"]["retryPolicy"]
    assert policy == {
        "backoffDuration": "0s",
        "backoffFactor": 2.0,
        "backoffMaxDuration": "3600s",
        "maxRetryCount": 2,
    }
    long_waits = _one_task(retries=Retry(limit=4, backoff=600, factor=2))
    policy = _documents(dagwright.compile(long_waits, target="kfp"))[0]["root"]["dag"]["tasks"][
        "step"
    ]["retryPolicy"]
    # 600 + 1200 + 2400 + 4800 s of waiting would use up a bare hour before the last retry
    assert policy["backoffMaxDuration"] == f"{RETRY_WINDOW + 9000}s"
    assert retry_problems(policy) == []


def test_the_backend_check_finds_the_policies_dagwright_used_to_write() -> None:
    # what the compiler wrote before: no window, so the backend passes "0" and Argo never retries
    found = retry_problems({"backoffDuration": "0s", "backoffFactor": 2.0, "maxRetryCount": 2})
    assert any("'0'" in p for p in found)
    assert any("factor '1.5'" in p for p in retry_problems({**_GOOD, "backoffFactor": 1.5}))
    assert any("fraction" in p for p in retry_problems({**_GOOD, "backoffDuration": "1.500s"}))
    assert any("window 10s" in p for p in retry_problems({**_GOOD, "backoffMaxDuration": "10s"}))
    spec = _documents(dagwright.compile(corpus.retried, target="kfp"))[0]
    del spec["root"]["dag"]["tasks"]["flaky"]["retryPolicy"]["backoffMaxDuration"]
    assert [p for p in problems(spec) if p.startswith("<root>/flaky:")]
    platform = {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {"exec-x": {}}}}}}
    platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-x"] = {
        "activeDeadlineSeconds": "0"
    }
    assert problems(spec | {"root": {"dag": {"tasks": {}}}}, platform) == [
        "exec-x: activeDeadlineSeconds '0' sets no deadline"
    ]


_GOOD = {"backoffDuration": "5s", "backoffFactor": 2.0, "backoffMaxDuration": "3600s"} | {
    "maxRetryCount": 3
}


def test_bad_fractional_backoff_factor_is_refused_for_kfp(tmp_path: Path) -> None:
    halting = _one_task(retries=Retry(limit=2, backoff=1, factor=1.5))
    with pytest.raises(ValidationError) as err:
        dagwright.compile(halting, target="kfp")
    assert err.value.field == "retries.factor"
    assert "1.5" in str(err.value) and "integer" in str(err.value)
    assert "factor=2" in str(err.value)  # the fix
    assert "Argo" in str(err.value)


def test_bad_fractional_factor_exits_2_from_the_cli_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "halting.py"
    source.write_text(
        "from dagwright import Retry, component, pipeline\n\n\n"
        "@component(retries=Retry(limit=2, factor=1.5))\n"
        "def step() -> None:\n    print('x')\n\n\n"
        "@pipeline\ndef halting() -> None:\n    step()\n",
        encoding="utf-8",
    )
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(cli, ["compile", str(source), "-t", "kfp", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "retries.factor" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_a_cap_on_each_wait_kfp_cannot_carry_is_warned_about() -> None:
    capped = _one_task(retries=Retry(limit=4, backoff=10, factor=3, max_backoff=30))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dagwright.compile(capped, target="kfp")
    messages = [str(w.message) for w in caught if issubclass(w.category, KfpPolicyWarning)]
    assert len(messages) == 1
    assert "'step'" in messages[0] and "max_backoff=30" in messages[0]
    unbitten = _one_task(retries=Retry(limit=2, backoff=10, factor=2, max_backoff=60))
    with warnings.catch_warnings():
        warnings.simplefilter("error", KfpPolicyWarning)
        dagwright.compile(unbitten, target="kfp")  # 10s, 20s: the cap never applies


def test_timeout_becomes_the_pods_active_deadline() -> None:
    timed = _one_task(timeout=90.5)
    spec, platform = _documents(dagwright.compile(timed, target="kfp"))
    config = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-step"]
    # rounded up: never cut a step short; the entry times the step, and the pod's deadline
    # also covers image pull and the pip bootstrap
    deadline = 91 + BOOTSTRAP_SECONDS
    assert config == {"activeDeadlineSeconds": str(deadline)}
    assert parse_executor_config(config).active_deadline_seconds == deadline
    assert problems(spec, platform) == []
    untimed = _documents(dagwright.compile(_one_task(), target="kfp"))
    assert len(untimed) == 1  # no platform spec without a setting that needs one


@component(timeout=120, retries=2)
def timed_double(x: int) -> int:
    return 2 * x


@pipeline
def timed(x: int = 4) -> int:
    return timed_double(x=x).output


def test_a_timed_and_retried_step_still_runs_under_kfp_local(tmp_path: Path) -> None:
    """kfp.local reads the spec with its platform document and runs it as dagwright does."""
    pytest.importorskip("kfp.local")
    from kfp import components

    path = tmp_path / "timed.yaml"
    dagwright.compile(timed, target="kfp", path=path)
    spec, platform = _documents(path.read_text(encoding="utf-8"))
    assert problems(spec, platform) == []
    init(tmp_path / "root")
    assert components.load_component_from_file(str(path))(x=5).output == 10
    assert dagwright.run(timed, {"x": 5}, echo=False, root=tmp_path / "store").outputs == {
        "output": 10
    }
