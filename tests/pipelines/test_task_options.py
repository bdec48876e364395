"""KFP's task methods on a task handle: each makes a per-task variant of the component (the
same spec as ``@component`` with those options), stored under ``<name>-<digest[:8]>``; the
display name is the task's own."""

from __future__ import annotations

import pytest

from dagwright import PipelineIR, Resources, Retry, ValidationError, component, pipeline
from dagwright.pipelines.describe import describe
from dagwright.pipelines.task_options import seconds


def add(x: int) -> int:
    return x + 1


plain = component(add)


def _variant(p: object, task: str = "add") -> tuple[str, object]:
    ir = p.ir  # type: ignore[attr-defined]
    cid = ir.task(task).component
    return cid, ir.components[cid]


def test_set_retry_is_the_component_retries_option() -> None:
    @pipeline
    def p() -> int:
        return plain(x=1).set_retry(3, "30s", 3.0, "1h").output

    cid, spec = _variant(p)
    same = component(retries=Retry(limit=3, backoff=30.0, factor=3.0, max_backoff=3600.0))(add)
    assert spec == same.spec and spec.digest == same.digest  # type: ignore[attr-defined]
    assert cid == f"add-{same.digest[:8]}"
    assert list(p.ir.components) == [cid]  # the base, used by no task, is not kept


def test_set_retry_defaults_are_kfps() -> None:
    @pipeline
    def p() -> int:
        return plain(x=1).set_retry(2).output

    assert _variant(p)[1].retry == Retry(limit=2, backoff=0, factor=2.0)  # type: ignore[attr-defined]


def test_resources_env_and_caching_equal_the_component_options() -> None:
    @pipeline
    def p() -> int:
        task = plain(x=1)
        task.set_cpu_request("500m").set_cpu_limit("2").set_memory_request("1Gi")
        task.set_memory_limit("2Gi").set_env_variable("MODE", "fast")
        return task.set_caching_options(True, "v2").output

    same = component(
        cpu="500m",
        cpu_limit="2",
        memory="1Gi",
        memory_limit="2Gi",
        env={"MODE": "fast"},
        cache=True,
        cache_version="v2",
    )(add)
    assert _variant(p)[1].digest == same.digest  # type: ignore[attr-defined]


def test_caching_can_be_turned_off_for_one_task_of_a_cached_component() -> None:
    cached = component(cache=True, name="cached-add")(add)

    @pipeline
    def p() -> None:
        cached(x=1)
        cached(x=2).set_caching_options(False)

    first, second = (p.ir.component_of(t) for t in p.ir.tasks)
    assert first.cache and not second.cache and first.name == second.name == "cached-add"
    assert p.ir.tasks[0].component == "cached-add"
    assert p.ir.tasks[1].component == f"cached-add-{second.digest[:8]}"


def test_tasks_without_settings_keep_sharing_the_component() -> None:
    @pipeline
    def p() -> None:
        plain(x=1)
        plain(x=2).set_cpu_limit("1")
        plain(x=3)

    ids = [t.component for t in p.ir.tasks]
    assert ids[0] == ids[2] == "add" and ids[1].startswith("add-")
    assert p.ir.component_of("add-2").resources == Resources(cpu_limit="1")


def test_equal_settings_share_one_variant_and_setting_back_reuses_the_base() -> None:
    @pipeline
    def p() -> None:
        plain(x=1)
        plain(x=2).set_cpu_limit("1")
        plain(x=3).set_cpu_limit("1")
        plain(x=4).set_retry(2).set_retry(0)

    ids = [t.component for t in p.ir.tasks]
    assert ids[1] == ids[2] and ids[3] == "add"
    assert len(p.ir.components) == 2


def test_display_name_is_the_tasks_own_and_survives_the_ir_file() -> None:
    @pipeline
    def p() -> int:
        first = plain(x=1).set_display_name("First step")
        return plain(x=first.output).output

    ir = p.ir
    assert ir.task("add").display_name == "First step"
    assert ir.task("add").component == ir.task("add-2").component == "add"
    assert "display_name" not in ir.to_dict()["tasks"][1]
    again = PipelineIR.from_yaml(ir.to_yaml())
    assert again.task("add").display_name == "First step"
    assert "add 'First step' (add)" in describe(again)


def test_an_ir_file_with_a_bad_display_name_is_refused_by_path() -> None:
    @pipeline
    def p() -> int:
        return plain(x=1).output

    data = p.ir.to_dict()
    data["tasks"][0]["display_name"] = 3
    with pytest.raises(ValidationError, match=r"tasks\[0\]\.display_name"):
        PipelineIR.from_dict(data)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda t: t.set_cpu_limit("two"), "cpu_limit"),
        (lambda t: t.set_memory_request(512), "memory"),
        (lambda t: t.set_env_variable("1BAD", "x"), "env"),
        (lambda t: t.set_env_variable("GOOD", 1), "env.GOOD"),
        (lambda t: t.set_env_variable(3, "x"), "env"),
        (lambda t: t.set_retry(-1), "retries.limit"),
        (lambda t: t.set_retry(1, backoff_factor=0.5), "retries.factor"),
        (lambda t: t.set_retry(1, "soon"), "backoff_duration"),
        (lambda t: t.set_retry(1, "1s", 2, "10 parsecs"), "backoff_max_duration"),
        (lambda t: t.set_caching_options("yes"), "enable_caching"),
        (lambda t: t.set_display_name(""), "display_name"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(call: object, field: str) -> None:
    @pipeline
    def p() -> None:
        call(plain(x=1))  # type: ignore[operator]

    with pytest.raises(ValidationError) as caught:
        p.build()
    assert caught.value.field == field
    assert caught.value.fix
    assert "task 'add'" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", 30), ("5m", 300), ("1 hour", 3600), ("2 days", 172800), ("1w", 604800), ("7", 7)],
)
def test_kfp_durations(text: str, expected: float) -> None:
    assert seconds(text, "backoff_duration", "here") == expected


def test_outside_a_pipeline_a_component_is_its_function() -> None:
    result = plain(x=1)
    assert result == 2 and not hasattr(result, "set_retry")
