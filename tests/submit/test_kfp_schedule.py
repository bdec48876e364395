"""Recurring runs on Kubeflow Pipelines: ``dagwright schedule add --target kfp`` and ``kfp_cron``.

No KFP backend can run here. These tests talk to a real HTTP stand-in on 127.0.0.1
(``kfp_api_server.py``) that checks every request kfp.Client sends against the upstream KFP
v2beta1 swagger (``tests/schemas/kfp-api-v2beta1.swagger.json.gz``) and, as KFP's scheduler
reads cron with a seconds field first, refuses a cron that is not six fields.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from kfp_api_server import KfpApiServer

from dagwright.cli import cli
from dagwright.errors import ValidationError
from dagwright.remote import kfp as kfp_submit

NIGHTLY = str(Path(__file__).with_name("nightly.py"))


def dagwright(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def recurring_run(server: KfpApiServer) -> dict:
    (call,) = server.calls("RecurringRunService_CreateRecurringRun")
    assert call.status == 200
    return dict(call.body)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("0 3 * * *", "0 0 3 * * *"),
        ("*/15  9-17 * * MON-FRI", "0 */15 9-17 * * MON-FRI"),
        ("@daily", "0 0 0 * * *"),
        ("30 0 3 * * *", "30 0 3 * * *"),  # six fields: KFP's own form, kept
        ("0 0 3 ? * *", "0 0 3 ? * *"),
    ],
)
def test_kfp_cron_puts_seconds_first(given: str, sent: str) -> None:
    assert kfp_submit.kfp_cron(given) == sent


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("0 3 * *", "has 4 fields"),
        ("", "has 0 fields"),
        ("0 25 * * *", "not a valid cron"),
        ("61 0 3 * * *", "not a valid cron"),
        ("0 3 L * *", "uses 'L'"),  # croniter takes it, KFP's robfig/cron does not
        ("0 3 * * 1#2", "uses '1#2'"),
        ("@every 1h", "has 2 fields"),
    ],
)
def test_kfp_cron_refuses_what_kfp_cannot_read(given: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as raised:
        kfp_submit.kfp_cron(given)
    assert raised.value.field == "cron"


def test_schedule_sends_a_six_field_cron_and_the_schedule_options(
    kfp_server: KfpApiServer,
) -> None:
    out = dagwright(
        "schedule",
        "add",
        NIGHTLY + ":nightly",
        "--target",
        "kfp",
        "--host",
        kfp_server.url,
        "--cron",
        "0 3 * * *",
        "--max-concurrency",
        "3",
        "--catchup",
        "all",
        "--name",
        "nightly-3am",
        "-p",
        "rows=7",
    )
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    body = recurring_run(kfp_server)
    assert body["trigger"] == {"cron_schedule": {"cron": "0 0 3 * * *"}}
    assert body["max_concurrency"] == "3"  # int64 travels as a JSON string
    assert body["no_catchup"] is False
    assert body["mode"] == "ENABLE"
    assert body["display_name"] == "nightly-3am"
    assert body["runtime_config"]["parameters"] == {"rows": 7}
    assert body["pipeline_spec"]["pipelineInfo"]["name"] == "nightly"
    (made,) = kfp_server.recurring_runs
    assert f"scheduled recurring run {made} 'nightly-3am': cron '0 0 3 * * *'" in out.output
    assert "KFP's six fields, seconds first, for '0 3 * * *'" in out.output
    assert "max concurrency 3, catch-up on" in out.output


def test_schedule_defaults_to_the_pipelines_own_cron_without_catchup(
    kfp_server: KfpApiServer,
) -> None:
    out = dagwright(
        "schedule",
        "add",
        NIGHTLY + ":nightly",
        "--target",
        "kfp",
        "--host",
        kfp_server.url,
        "--upload",
    )
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    body = recurring_run(kfp_server)
    assert body["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"  # @pipeline(schedule=...)
    assert (body["max_concurrency"], body["no_catchup"]) == ("1", True)
    (pipeline_id,) = kfp_server.pipelines
    (version_id,) = kfp_server.versions
    assert body["pipeline_version_reference"] == {
        "pipeline_id": pipeline_id,
        "pipeline_version_id": version_id,
    }
    assert "pipeline_spec" not in body


def test_python_schedule_of_an_sdk_package(kfp_server: KfpApiServer, sdk_package: Path) -> None:
    made = kfp_submit.schedule(
        sdk_package,
        cron="15 2 * * 0",
        host=kfp_server.url,
        namespace="team-a",
        experiment="weekly",
        max_concurrency=10,
        enabled=False,
        echo=None,
    )
    assert kfp_server.violations == []
    body = recurring_run(kfp_server)
    assert body["trigger"]["cron_schedule"]["cron"] == "0 15 2 * * 0"
    assert (body["max_concurrency"], body["mode"]) == ("10", "DISABLE")
    (experiment_id,) = kfp_server.experiments
    assert body["experiment_id"] == made.experiment_id == experiment_id
    assert kfp_server.experiments[experiment_id]["namespace"] == "team-a"
    assert (made.cron, made.status, made.name) == ("0 15 2 * * 0", "DISABLED", "tiny")


@pytest.mark.parametrize("cron", ["0 3 * *", "0 25 * * *", "0 3 L * *"])
def test_a_bad_cron_exits_2_naming_cron_and_sends_nothing(
    kfp_server: KfpApiServer, cron: str
) -> None:
    out = dagwright(
        "schedule",
        "add",
        NIGHTLY + ":nightly",
        "--target",
        "kfp",
        "--host",
        kfp_server.url,
        "--cron",
        cron,
    )
    assert out.exit_code == 2
    assert "error: field '--cron':" in out.output
    assert kfp_server.requests == []


def test_a_pipeline_without_schedule_needs_cron(kfp_server: KfpApiServer) -> None:
    out = dagwright(
        "schedule", "add", NIGHTLY + ":adhoc", "--target", "kfp", "--host", kfp_server.url
    )
    assert out.exit_code == 2
    assert "field '--cron': pipeline 'adhoc' has no schedule" in out.output
    assert kfp_server.requests == []


@pytest.mark.parametrize("concurrency", ["0", "11"])
def test_max_concurrency_stays_in_kfps_range(kfp_server: KfpApiServer, concurrency: str) -> None:
    out = dagwright(
        "schedule",
        "add",
        NIGHTLY + ":nightly",
        "--target",
        "kfp",
        "--host",
        kfp_server.url,
        "--max-concurrency",
        concurrency,
    )
    assert out.exit_code == 2
    assert "--max-concurrency" in out.output
    with pytest.raises(ValidationError, match="KFP accepts 1 to 10"):
        kfp_submit.schedule(NIGHTLY, cron="0 3 * * *", max_concurrency=int(concurrency))
    assert kfp_server.requests == []


@pytest.mark.parametrize(
    ("args", "sent"),
    [
        (("--concurrency", "allow", "--catchup", "latest"), ("10", True)),
        (("--concurrency", "forbid", "--catchup", "all"), ("1", False)),
        (("--catchup", "all", "--max-concurrency", "4"), ("4", False)),
        (("--timezone", "UTC"), ("1", True)),  # what KFP did before the policies
    ],
)
def test_the_local_policies_become_kfps_own(
    kfp_server: KfpApiServer, args: tuple[str, ...], sent: tuple[str, bool]
) -> None:
    out = dagwright(
        "schedule", "add", NIGHTLY + ":nightly", "--target", "kfp", "--host", kfp_server.url, *args
    )
    assert out.exit_code == 0, out.output
    assert kfp_server.violations == []
    body = recurring_run(kfp_server)
    assert (body["max_concurrency"], body["no_catchup"]) == sent


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("--concurrency", "replace"), "--concurrency"),  # KFP never stops a run
        (("--catchup", "none"), "--catchup"),  # KFP always starts the newest missed run
        (("--timezone", "Europe/Paris"), "--timezone"),  # KFP reads cron in UTC
        (("--concurrency", "forbid", "--max-concurrency", "2"), "--max-concurrency"),
        (("--replace",), "--replace"),  # local only
    ],
)
def test_policies_kfp_cannot_express_exit_2_and_send_nothing(
    kfp_server: KfpApiServer, args: tuple[str, ...], field: str
) -> None:
    out = dagwright(
        "schedule", "add", NIGHTLY + ":nightly", "--target", "kfp", "--host", kfp_server.url, *args
    )
    assert out.exit_code == 2, out.output
    assert f"field '{field}'" in out.output
    assert kfp_server.requests == []
