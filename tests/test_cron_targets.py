"""One schedule, three readings: the local scheduler, the compiled Argo CronWorkflow and the KFP
recurring run dagwright sends, compared fire time by fire time over a year.

No Argo or KFP controller can run here. What they would fire is computed from what dagwright
hands them: the ``spec.schedules`` and ``spec.timezone`` of the CronWorkflow YAML it compiles,
and the cron of the create-recurring-run request it sends to the KFP API stand-in
(``submit/kfp_api_server.py``, which checks every request against the upstream v2beta1
swagger). Both controllers read cron with robfig/cron: Argo with the five-field standard parser
in the CronWorkflow's time zone, KFP with seconds first in its controller's zone (UTC). Those
rules are written out in ``robfig_reading.py`` without croniter, which the local scheduler
uses, so that the comparison is not croniter against itself; that reading is checked first
against examples from robfig/cron's own tests and from Argo's CronWorkflow documentation.
"""

from __future__ import annotations

import os
from calendar import timegm
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from daemon_doubles import FakeClock, RecordingLauncher
from robfig_reading import Robfig

import dagwright
from dagwright import Pipeline, component
from dagwright.errors import ValidationError
from dagwright.remote import kfp as kfp_submit
from dagwright.remote.argo_policies import argo_policy
from dagwright.remote.kfp_policies import kfp_policy
from dagwright.schedules import cron
from dagwright.schedules.daemon import CronDaemon
from dagwright.store.rundb import RunDatabase
from dagwright.store.schedules import Schedule, ScheduleBook

SUBMIT = Path(__file__).with_name("submit")
YEAR = (float(timegm((2026, 1, 1, 0, 0, 0))), float(timegm((2027, 1, 1, 0, 0, 0))))
EXPRESSIONS = [
    "*/15 * * * *",  # every quarter hour, also through both clock changes
    "0 3 * * *",
    "30 2 * * 1-5",
    "0 9 1 * MON",  # both day fields restricted: the 1st or a Monday
    "0 0 28-31 * *",  # month ends, February's 28th included
]
# a local time that does not exist once a year (02:30 when clocks go forward) and one that
# happens twice (02:30 in Paris, 01:30 in New York when clocks go back)
DST_PROBES = ["30 2 * * *", "30 1 * * *"]
ZONES = ["Europe/Paris", "America/New_York"]
SECONDS = "30 */20 9-17 * * MON-FRI"  # six fields, seconds first: local and KFP only
EVERY_TEN_SECONDS = "*/10 * * * * *"


def at(text: str, tz: str = "UTC") -> float:
    """Epoch seconds of an ISO time; a time without offset is read in ``tz``."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.timestamp()


def shown(stamp: float, tz: str) -> str:
    return datetime.fromtimestamp(stamp, ZoneInfo(tz)).isoformat()


def assert_same(what: str, tz: str, **readings: list[float]) -> None:
    """All readings name the same fire times; else fail at the first that differs."""
    (first_name, first), *others = readings.items()
    for name, other in others:
        if other == first:
            continue
        index = next(
            (i for i, (a, b) in enumerate(zip(first, other, strict=False)) if a != b),
            min(len(first), len(other)),
        )
        mine = shown(first[index], tz) if index < len(first) else "nothing"
        theirs = shown(other[index], tz) if index < len(other) else "nothing"
        pytest.fail(
            f"{what}: fire time #{index} differs: {first_name} {mine}, {name} {theirs} "
            f"({len(first)} and {len(other)} fire times)"
        )


# --- the evaluator against upstream's own examples --------------------------------------------


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        # robfig/cron spec_test.go TestNext, seconds first, in America/New_York
        ("0 30 2 11 Mar ?", "2012-03-11T00:00:00-05:00", "2013-03-11T02:30:00-04:00"),
        ("0 30 2 04 Nov ?", "2012-11-04T00:00:00-04:00", "2012-11-04T02:30:00-05:00"),
        ("0 30 1 04 Nov ?", "2012-11-04T01:45:00-04:00", "2012-11-04T01:30:00-05:00"),
        ("0 0 0 29 Feb ?", "2012-07-09T23:35:00-04:00", "2016-02-29T00:00:00-05:00"),
        ("0 0 0 * Feb Mon/2", "2012-07-09T23:35:00-04:00", "2013-02-01T00:00:00-05:00"),
        ("15/35 20-35/15 * 9-20 Jul *", "2012-07-09T23:35:51-04:00", "2012-07-10T00:20:15-04:00"),
    ],
)
def test_robfig_reading_matches_robfig_cron_tests(spec: str, after: str, expected: str) -> None:
    rule = Robfig.parse(spec, "America/New_York", seconds=True)
    start = at(after)
    assert rule.fire_times(start, start + 4 * 366 * 86400)[0] == at(expected)


@pytest.mark.parametrize(
    ("spec", "moment", "fires"),
    [  # spec_test.go TestActivation: one day field restricted, or both
        ("0 * * 1,15 * Sun", "2012-07-15T00:00:00", True),
        ("0 * * 1,15 * Sun", "2012-06-15T00:00:00", True),
        ("0 * * 1,15 * Sun", "2012-08-01T00:00:00", True),
        ("0 * * * * Mon", "2012-07-15T00:00:00", False),
        ("0 * * 1,15 * *", "2012-07-09T00:00:00", False),
        ("0 * * 1,15 * *", "2012-07-15T00:00:00", True),
        ("0 30 08 ? Jul Sun", "2012-07-15T08:30:00", True),
        ("0 30 08 15 Jul ?", "2012-07-16T08:30:00", False),
    ],
)
def test_robfig_reading_of_the_day_fields(spec: str, moment: str, fires: bool) -> None:
    stamp = at(moment)
    assert (
        Robfig.parse(spec, "UTC", seconds=True).fire_times(stamp - 1, stamp) == [stamp]
    ) is fires


# Argo's cron-workflows.md, "Daylight Saving", America/Los_Angeles in 2020: the first three
# fire times after midnight of the day the clocks change
ARGO_DST_TABLE = [
    (
        "59 1 * * *",
        "2020-03-08",
        ["2020-03-08T01:59-08:00", "2020-03-09T01:59-07:00", "2020-03-10T01:59-07:00"],
    ),
    (
        "0 2 * * *",
        "2020-03-08",
        ["2020-03-09T02:00-07:00", "2020-03-10T02:00-07:00", "2020-03-11T02:00-07:00"],
    ),
    (
        "1 2 * * *",
        "2020-03-08",
        ["2020-03-09T02:01-07:00", "2020-03-10T02:01-07:00", "2020-03-11T02:01-07:00"],
    ),
    (
        "59 1 * * *",
        "2020-11-01",
        ["2020-11-01T01:59-07:00", "2020-11-01T01:59-08:00", "2020-11-02T01:59-08:00"],
    ),
    (
        "0 2 * * *",
        "2020-11-01",
        ["2020-11-01T02:00-08:00", "2020-11-02T02:00-08:00", "2020-11-03T02:00-08:00"],
    ),
    (
        "1 2 * * *",
        "2020-11-01",
        ["2020-11-01T02:01-08:00", "2020-11-02T02:01-08:00", "2020-11-03T02:01-08:00"],
    ),
]


@pytest.mark.parametrize(("spec", "day", "expected"), ARGO_DST_TABLE)
def test_robfig_reading_and_the_local_scheduler_follow_argos_dst_table(
    spec: str, day: str, expected: list[str]
) -> None:
    """Both skip a wall-clock time that does not exist and fire twice on one that repeats."""
    zone = "America/Los_Angeles"
    start = at(day + "T00:00:00", zone)
    end = start + 4 * 86400
    want = [at(e) for e in expected]
    assert Robfig.parse(spec, zone, seconds=False).fire_times(start, end)[:3] == want
    assert cron.slots(spec, zone, start, end)[:3] == want
    assert cron.next_slot(spec, zone, start) == want[0]


# --- what dagwright hands each target -----------------------------------------------------------


@component
def stamp(tag: str) -> str:
    return tag


def _pipeline() -> Pipeline:
    p = Pipeline("ticker")
    p.output("out", p.add(stamp, tag=p.param("tag", str, default="x")).output)
    return p


@cache
def argo_schedule(expr: str, tz: str) -> tuple[str, str]:
    """The ``spec.schedules[0]`` and ``spec.timezone`` of the compiled CronWorkflow."""
    policy = argo_policy("forbid", "none", tz, cron=expr)
    text = dagwright.compile(_pipeline(), target="argo", kind="cron", schedule=expr, **policy)
    spec = yaml.safe_load(text)["spec"]
    assert (spec["concurrencyPolicy"], spec["startingDeadlineSeconds"]) == ("Forbid", 0)
    (schedule,) = spec["schedules"]
    return schedule, spec["timezone"]


def argo_fires(expr: str, tz: str, after: float, until: float) -> list[float]:
    schedule, zone = argo_schedule(expr, tz)
    return Robfig.parse(schedule, zone, seconds=False).fire_times(after, until)


@pytest.fixture(scope="module")
def kfp_sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The cron of each expression's create-recurring-run request, as the stand-in got it."""
    with pytest.MonkeyPatch.context() as patch:
        import kfp

        folder = tmp_path_factory.mktemp("kfp")
        # no token, endpoint or kfp context of the machine running the tests
        for name in list(os.environ):
            if name.startswith("KF_PIPELINES_") or name == "KFP_TOKEN":
                patch.delenv(name)
        patch.setenv("KF_PIPELINES_SA_TOKEN_PATH", str(folder / "no-token-here"))
        patch.setattr(kfp.Client, "_LOCAL_KFP_CONTEXT", str(folder / "kfp-context.json"))
        patch.syspath_prepend(str(SUBMIT))
        from kfp_api_server import KfpApiServer

        package = folder / "ticker.yaml"
        dagwright.compile(_pipeline(), target="kfp", path=package)
        sent: dict[str, str] = {}
        with KfpApiServer() as server:
            for expr in [*EXPRESSIONS, SECONDS, EVERY_TEN_SECONDS]:
                policy = kfp_policy("forbid", "latest", "UTC", cron=expr)
                kfp_submit.schedule(
                    package,
                    cron=expr,
                    host=server.url,
                    max_concurrency=policy["max_concurrency"],
                    catchup=not policy["no_catchup"],
                    timezone="UTC",
                    echo=None,
                )
                body = server.calls("RecurringRunService_CreateRecurringRun")[-1].body
                assert (body["max_concurrency"], body["no_catchup"]) == ("1", True)
                sent[expr] = body["trigger"]["cron_schedule"]["cron"]
            assert server.violations == []
        yield sent


def kfp_fires(sent: dict[str, str], expr: str, after: float, until: float) -> list[float]:
    return Robfig.parse(sent[expr], "UTC", seconds=True).fire_times(after, until)


# --- a year of fire times ---------------------------------------------------------------------


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_a_year_in_utc_is_the_same_locally_on_argo_and_on_kfp(
    expr: str, kfp_sent: dict[str, str]
) -> None:
    local = cron.slots(expr, "UTC", *YEAR)
    assert local, "no fire time at all would prove nothing"
    assert_same(
        f"'{expr}' in UTC",
        "UTC",
        local=local,
        argo=argo_fires(expr, "UTC", *YEAR),
        kfp=kfp_fires(kfp_sent, expr, *YEAR),
    )


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("expr", EXPRESSIONS + DST_PROBES)
def test_a_year_in_a_zone_with_daylight_saving_is_the_same_locally_and_on_argo(
    expr: str, tz: str
) -> None:
    local = cron.slots(expr, tz, *YEAR)
    assert local
    assert_same(f"'{expr}' in {tz}", tz, local=local, argo=argo_fires(expr, tz, *YEAR))


def test_every_quarter_hour_in_a_zone_is_the_same_on_kfp_in_utc(kfp_sent: dict[str, str]) -> None:
    """KFP reads crons in UTC; this one fires at the same instants in any whole-hour zone, so
    it is taken with ``--timezone Europe/Paris`` and sent unchanged."""
    expr = "*/15 * * * *"
    assert kfp_policy("forbid", "latest", "Europe/Paris", cron=expr)["no_catchup"] is True
    assert_same(
        f"'{expr}' in Europe/Paris",
        "Europe/Paris",
        local=cron.slots(expr, "Europe/Paris", *YEAR),
        kfp=kfp_fires(kfp_sent, expr, *YEAR),
    )


@pytest.mark.parametrize("tz", ZONES)
def test_the_clock_changes_as_all_three_read_them(tz: str) -> None:
    """Stated outright: 02:30 does not fire the day clocks go forward; the wall-clock time
    that repeats when they go back fires twice, an hour apart."""
    spring, autumn = (
        ("2026-03-29", "2026-10-25") if tz == "Europe/Paris" else ("2026-03-08", "2026-11-01")
    )
    repeated = "30 2 * * *" if tz == "Europe/Paris" else "30 1 * * *"
    start = at(spring + "T00:00:00", tz)
    local = cron.slots("30 2 * * *", tz, start, start + 86400)
    assert local == argo_fires("30 2 * * *", tz, start, start + 86400) == []
    start = at(autumn + "T00:00:00", tz)
    local = cron.slots(repeated, tz, start, start + 86400)
    assert len(local) == 2 and local[1] - local[0] == 3600
    assert local == argo_fires(repeated, tz, start, start + 86400)


def test_seconds_fire_the_same_locally_and_on_kfp(kfp_sent: dict[str, str]) -> None:
    assert kfp_sent[SECONDS] == SECONDS  # six fields go as they are
    assert_same(
        f"'{SECONDS}' in UTC",
        "UTC",
        local=cron.slots(SECONDS, "UTC", *YEAR),
        kfp=kfp_fires(kfp_sent, SECONDS, *YEAR),
    )
    day = (YEAR[0], YEAR[0] + 86400)
    local = cron.slots(EVERY_TEN_SECONDS, "UTC", *day)
    assert len(local) == 8640
    assert_same(
        f"'{EVERY_TEN_SECONDS}' in UTC",
        "UTC",
        local=local,
        kfp=kfp_fires(kfp_sent, EVERY_TEN_SECONDS, *day),
    )


def test_five_fields_reach_kfp_with_seconds_first(kfp_sent: dict[str, str]) -> None:
    assert kfp_sent["0 3 * * *"] == "0 0 3 * * *"
    assert kfp_sent["*/15 * * * *"] == "0 */15 * * * *"


def test_argo_refuses_a_seconds_field_at_every_door() -> None:
    with pytest.raises(ValidationError, match="seconds field") as raised:
        argo_policy("forbid", "none", "UTC", cron=SECONDS)
    assert raised.value.field == "--cron"
    with pytest.raises(ValidationError, match="five-field") as raised:
        dagwright.compile(_pipeline(), target="argo", kind="cron", schedule=SECONDS)
    assert raised.value.field == "cron"


@pytest.mark.parametrize("expr", ["0 3 * * 7", "0 3 * * 5-7", "0 3 * * 1,7", "0 3 * * 7/2"])
def test_day_of_week_7_is_refused_at_every_door(expr: str, tmp_path: Path) -> None:
    """croniter (the local scheduler) reads 7 as Sunday; robfig/cron, which Argo and KFP
    read the schedule with, has days 0-6 and refuses it at the cluster: so it is refused
    here, locally too, before anything is stored, compiled or sent."""
    with pytest.raises(ValueError, match="out of range"):
        Robfig.parse(expr, "UTC", seconds=False)  # the independent reading agrees
    with pytest.raises(ValueError, match="out of range"):
        Robfig.parse("0 " + expr, "UTC", seconds=True)
    doors = [
        ("--cron", lambda: cron.check(expr)),
        ("--cron", lambda: argo_policy("forbid", "none", "UTC", cron=expr)),
        ("cron", lambda: dagwright.compile(_pipeline(), target="argo", kind="cron", schedule=expr)),
        (
            "cron",
            lambda: kfp_submit.schedule(
                tmp_path / "never-read.yaml",
                cron=expr,
                host="http://127.0.0.1:9",  # nothing listens: a request would fail differently
                echo=None,
            ),
        ),
        ("--cron", lambda: kfp_submit.kfp_cron("0 " + expr, field="--cron")),
    ]
    for field, door in doors:
        with pytest.raises(ValidationError, match="0-6") as raised:
            door()
        assert raised.value.field == field
        assert "use 0 for Sunday" in (raised.value.fix or "")


def test_sunday_as_0_and_a_step_of_7_still_pass() -> None:
    for expr in ("0 3 * * 0", "0 3 * * 5-6,0", "0 3 * * */7", "0 3 * * SUN"):
        cron.check(expr)
        argo_policy("forbid", "none", "UTC", cron=expr)
        assert kfp_submit.kfp_cron(expr) == "0 " + expr
    assert Robfig.parse("0 3 * * 5-6,0", "UTC", seconds=False).fields[5] == {0, 5, 6}


def test_a_compiled_cron_workflow_is_read_in_utc_unless_told() -> None:
    """Without ``timezone`` Argo would read the cron in its controller's own zone."""
    text = dagwright.compile(_pipeline(), target="argo", kind="cron", schedule="0 3 * * *")
    assert yaml.safe_load(text)["spec"]["timezone"] == "UTC"


def test_kfp_schedule_refuses_a_zone_it_cannot_read_and_sends_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="controller's time zone") as raised:
        kfp_submit.schedule(
            tmp_path / "never-read.yaml",
            cron="0 3 * * *",
            host="http://127.0.0.1:9",  # nothing listens: a request would fail differently
            timezone="Europe/Paris",
            echo=None,
        )
    assert raised.value.field == "timezone"


# --- the scheduler itself, on a clock that jumps -------------------------------------------------


WINDOWS = [  # (zone, start): three days across each clock change, four across February's end
    ("Europe/Paris", "2026-03-28T00:00:00"),
    ("Europe/Paris", "2026-10-24T00:00:00"),
    ("America/New_York", "2026-03-07T00:00:00"),
    ("America/New_York", "2026-10-31T00:00:00"),
    ("UTC", "2026-02-27T00:00:00"),
]


@pytest.mark.parametrize(("tz", "start"), WINDOWS)
def test_the_scheduler_starts_the_runs_argo_would_start(
    tmp_path: Path, tz: str, start: str
) -> None:
    """A real ``CronDaemon`` on its run database, its clock jumping 50 minutes a tick (catch-up
    ``all``, so each tick starts every slot it passed); it starts one run per fire time Argo
    would have, named after that slot, and nothing else."""
    begin = at(start, tz)
    end = begin + (4 if tz == "UTC" else 3) * 86400
    exprs = EXPRESSIONS + DST_PROBES
    db = RunDatabase(tmp_path / "runs.db")
    book = ScheduleBook(db)
    for i, expr in enumerate(exprs):
        book.add(
            Schedule(
                name=f"s{i}",
                pipeline="ticker",
                source="ticker.py",
                ir="{}",
                cron=expr,
                timezone=tz,
                catchup="all",
                created=begin,
                considered=begin,
            )
        )
    db.close()
    clock, starts = FakeClock(begin), RecordingLauncher(end_at_once=True)
    scheduler = CronDaemon(tmp_path, clock=clock, launcher=starts, holder="only", interval=3000)
    events: list[Any] = []
    while clock.t < end:
        clock.t = min(clock.t + 3000, end)
        events += scheduler.tick()
    scheduler.close()
    assert {e.action for e in events} == {"started"}
    for i, expr in enumerate(exprs):
        want = argo_fires(expr, tz, begin, end)
        assert_same(f"'{expr}' in {tz}", tz, scheduler=starts.slots(f"s{i}"), argo=want)
    assert len(starts.started) > 3 * 96  # the quarter hours at least
