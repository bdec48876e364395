"""The local policies (``--concurrency``, ``--catchup``, ``--timezone``) as KFP and Argo express
them, and a clear refusal, naming the flag, of what a target cannot express."""

from __future__ import annotations

import pytest

from dagwright.errors import ValidationError
from dagwright.remote.argo_policies import LATEST_DEADLINE, argo_policy
from dagwright.remote.kfp_policies import kfp_policy
from dagwright.schedules.cron import check_policies


@pytest.mark.parametrize(
    ("concurrency", "catchup", "expected"),
    [
        ("forbid", "latest", {"max_concurrency": 1, "no_catchup": True}),
        ("allow", "all", {"max_concurrency": 10, "no_catchup": False}),
    ],
)
def test_kfp_policy(concurrency: str, catchup: str, expected: dict) -> None:
    assert kfp_policy(concurrency, catchup) == expected


@pytest.mark.parametrize(
    ("zone", "cron"),
    [
        ("UTC", "0 3 * * *"),
        ("Etc/UTC", None),
        ("GMT", "0 0 3 * * *"),
        ("Europe/Paris", "*/15 * * * *"),  # fires at the same instants in any whole-hour zone
        ("Europe/Paris", "10 */5 * * * *"),
        ("Asia/Kolkata", "*/15 * * * *"),  # +05:30 maps quarter hours onto quarter hours
        ("Asia/Kathmandu", "0,15,30,45 * * * *"),  # +05:45 too
    ],
)
def test_kfp_takes_a_zone_when_the_cron_fires_the_same_in_utc(zone: str, cron: str | None) -> None:
    assert kfp_policy("forbid", "latest", zone, cron=cron)["max_concurrency"] == 1


@pytest.mark.parametrize(
    ("args", "flag", "problem"),
    [
        (("replace", "latest"), "--concurrency", "no 'replace'"),
        (("sometimes", "latest"), "--concurrency", "not a policy"),
        (("forbid", "none"), "--catchup", "'none' cannot be expressed"),
        (("forbid", "some"), "--catchup", "not a policy"),
        (("forbid", "latest", "Europe/Paris"), "--timezone", "controller's time zone"),
        (("forbid", "latest", "Mars/Olympus"), "--timezone", "not a time zone"),
    ],
)
def test_kfp_refuses(args: tuple[str, ...], flag: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as raised:
        kfp_policy(*args)
    assert raised.value.field == flag
    assert raised.value.fix


@pytest.mark.parametrize(
    ("zone", "cron"),
    [
        ("Europe/Paris", "0 3 * * *"),  # 03:00 in Paris is 01:00 or 02:00 UTC
        ("Asia/Tokyo", "0 3 * * *"),  # no daylight saving, but a different day at 03:00
        ("Asia/Kolkata", "*/20 * * * *"),  # +05:30 moves :00 to :30
        ("Europe/Paris", "0 * * * 1-5"),  # weekdays begin at another instant
    ],
)
def test_kfp_refuses_a_zone_it_would_read_differently(zone: str, cron: str) -> None:
    with pytest.raises(ValidationError, match="UTC") as raised:
        kfp_policy("forbid", "latest", zone, cron=cron)
    assert raised.value.field == "--timezone"


def test_argo_policy() -> None:
    assert argo_policy("allow", "none", "Europe/Paris", cron="0 3 * * *") == {
        "concurrency_policy": "Allow",
        "starting_deadline_seconds": 0,
        "timezone": "Europe/Paris",
    }
    assert argo_policy("replace", "latest", None) == {
        "concurrency_policy": "Replace",
        "starting_deadline_seconds": LATEST_DEADLINE,
        "timezone": "UTC",
    }
    assert argo_policy("forbid", "none")["concurrency_policy"] == "Forbid"
    # a leap-day schedule's fire times are up to eight years apart in the Gregorian calendar,
    # but robfig/cron looks five ahead: the deadline covers the longest gap Argo can have
    assert LATEST_DEADLINE >= 5 * 365 * 86400


@pytest.mark.parametrize(
    ("args", "cron", "flag", "problem"),
    [
        (("forbid", "all"), None, "--catchup", "at most one missed slot"),
        (("forbid", "never"), None, "--catchup", "not a policy"),
        (("queue", "none"), None, "--concurrency", "not a policy"),
        (("forbid", "none", "Mars/Olympus"), None, "--timezone", "not a time zone"),
        (("forbid", "none"), "*/10 * * * * *", "--cron", "seconds field"),
        (("forbid", "none"), "0 3 L * *", "--cron", "uses 'L'"),
        (("forbid", "none"), "0 3 * *", "--cron", "has 4 fields"),
        (("forbid", "none"), "0 3 * * 7", "--cron", "days of the week are 0-6"),
        (("forbid", "none"), "0 3 * * 5-7", "--cron", "day of the week 7"),
    ],
)
def test_argo_refuses(args: tuple[str, ...], cron: str | None, flag: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as raised:
        argo_policy(*args, cron=cron)
    assert raised.value.field == flag
    assert raised.value.fix


def test_one_check_of_the_policy_names_serves_every_flag_form() -> None:
    """``cron.check_policies`` is what both the local check and the target mappings use."""
    with pytest.raises(ValidationError, match="concurrency 'queue' is not a policy") as raised:
        check_policies("queue", "none", prefix="")
    assert raised.value.field == "concurrency"
    with pytest.raises(ValidationError) as raised:
        argo_policy("allow", "sometimes")
    assert raised.value.field == "--catchup"
