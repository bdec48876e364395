"""Issue 14, item 4: every pipeline of the test corpus, the examples and the README tour
compiles to specs that pass both checks, and runs under the stricter Argo stand-in with the
outputs and steps of ``dagwright run``.

For each pipeline: the KFP spec passes ``kfp_backend_checks`` (what KFP's backend,
``backend/src/v2/driver`` and ``backend/src/v2/compiler/argocompiler``, does otherwise than
kfp.local); the Argo Workflow validates against Argo v4.1.2's ``api/jsonschema/schema.json`` and
dagwright's strict check; and ``argo_controller.ArgoControllerStandIn`` runs it as Argo's
controller (``workflow/controller/operator.go``) would. No KFP backend and no Argo controller run
here: both are modelled from their source, as each of those modules says.

A case marked ``xfail(strict=True)`` fails today because the fix it needs is another item of
issue 14, not merged yet: once it lands the case passes, the mark turns the test red and is
removed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fidelity_helpers import ROOT, argo_manifest, kfp_spec, readme_tour, run_both

from dagwright.errors import ValidationError
from dagwright.pipelines.decorator import Pipeline, PipelineDefinition

pytest.importorskip("hera")

Arguments = Callable[[Path], dict[str, Any]]


def _none(_: Path) -> dict[str, Any]:
    return {}


def _given(**values: Any) -> Arguments:
    return lambda _: values


def _greeting(folder: Path) -> dict[str, Any]:
    """The README's ``greeting`` reads a file it is given; the tour writes "hello" to it."""
    path = folder / "greeting.txt"
    path.write_text("hello", encoding="utf-8")
    return {"path": str(path)}


# (case id, where the pipeline is defined, its name there, arguments, whether the run succeeds)
# corpus: kfp_corpus.py; edges: kfp_edge_cases.py; checked: fidelity_corpus.py (the issue's
# "Checked by" list and more); readme: the README tour; example: examples/; fixture:
# tests/fixtures/
CASES: list[tuple[str, str, str, Arguments, bool]] = [
    *[(name, "corpus", name, _none, True) for name in importlib.import_module("kfp_corpus").NAMES],
    ("branches-n3", "corpus", "branches", _given(n=3), True),
    ("exit_handler-fail", "corpus", "exit_handler", _given(fail=True), False),
    ("inner_stats", "corpus", "inner_stats", _given(values=[5, 1, 3]), True),
    ("loop_over_output-empty", "corpus", "loop_over_output", _given(n=0), True),
    ("prep_pipe", "edges", "prep_pipe", _given(x=1), True),
    ("name_clash", "edges", "name_clash", _none, True),
    ("untyped_nested", "edges", "untyped_nested", _none, True),
    ("field_condition", "edges", "field_condition", _none, True),
    ("fixed_condition", "edges", "fixed_condition", _none, True),
    ("explicit_none", "edges", "explicit_none", _none, True),
    ("empty_block", "edges", "empty_block", _none, True),
    ("collected_through_if", "edges", "collected_through_if", _none, True),
    ("text_outputs", "edges", "text_outputs", _none, True),
    ("exit_reads_a_sibling", "edges", "exit_reads_a_sibling", _none, True),
    ("ints_fan_out", "checked", "ints_fan_out", _none, True),
    ("empty_collected_artifact", "checked", "empty_collected_artifact", _none, True),
    ("tiny_threshold", "checked", "tiny_threshold", _none, True),
    ("tiny_threshold-below", "checked", "tiny_threshold", _given(eps=2e-06), True),
    ("quoted_strings", "checked", "quoted_strings", _none, True),
    ("quoted_condition", "checked", "quoted_condition", _none, True),
    ("non_ascii_items", "checked", "non_ascii_items", _none, True),
    ("retried_with_backoff", "checked", "retried_with_backoff", _none, True),
    ("exit_after_a_task", "checked", "exit_after_a_task", _none, True),
    ("timed", "checked", "timed", _none, True),
    ("nested_collected", "checked", "nested_collected", _none, True),
    ("nested_collected_output", "checked", "nested_collected_output", _none, True),
    ("key_with_space", "checked", "key_with_space", _none, True),
    ("after_a_false_branch", "checked", "after_a_false_branch", _none, True),
    ("optional_in_block", "checked", "optional_in_block", _none, True),
    ("optional_in_block-given", "checked", "optional_in_block", _given(extra=3), True),
    ("braces_at_run_time", "checked", "braces_at_run_time", _none, True),
    ("untyped_comparison", "checked", "untyped_comparison", _none, True),
    ("escaped_items", "checked", "escaped_items", _none, True),
    ("readme-numbers", "readme", "numbers", _given(n=4), True),
    ("readme-branches", "readme", "branches", _none, True),
    ("readme-fan_out", "readme", "fan_out", _none, True),
    ("readme-guarded", "readme", "guarded", _given(fail=True), False),
    ("readme-guarded-ok", "readme", "guarded", _none, True),
    ("readme-nested", "readme", "nested", _none, True),
    ("readme-built", "readme", "p", _none, True),
    ("readme-partly_broken", "readme", "partly_broken", _none, False),
    ("readme-greeting", "readme", "greeting", _greeting, True),
    ("example-iris", "example", "iris_training.py", _none, True),
    # the CLI and engine tests' own pipelines (typed_values.py's is left out: its pods import
    # scikit-learn, some 20 s, for what value_files already covers)
    ("fixture-uses_helpers", "fixture", "helpers_pipeline.py:uses_helpers", _none, True),
    ("fixture-greet", "fixture", "pipelines.py:greet", _none, True),
    ("fixture-failing", "fixture", "pipelines.py:failing", _none, False),
]

# What each "Checked by" case gives, so that a run both sides got wrong the same way fails too
EXPECTED: dict[str, tuple[dict[str, Any], list[str]]] = {
    "ints_fan_out": ({"total": 9, "each": [4, 2, 3]}, []),
    "empty_collected_artifact": ({"output": ""}, []),
    "tiny_threshold": ({"output": 5e-06}, ["at-least", "below"]),
    "tiny_threshold-below": ({"output": 1e-06}, ["below"]),
    "quoted_strings": (
        {"said": 'it\'s "quoted" \\n 2024-01-02', "constant": 'say "hi", it\'s me'},
        ["differs"],
    ),
    "quoted_condition": ({}, ["equal"]),
    "non_ascii_items": (
        {"given": ["café:1", 'naïve ☕ "x":2'], "made": ["crème brûlée:3", "日本:4"]},
        [],
    ),
    "retried_with_backoff": ({"output": 3}, ["attempts"]),
    "exit_after_a_task": ({}, ["body", "cleanup", "first"]),
    "timed": ({"output": 42}, []),
    "nested_collected": ({"output": 14}, []),
    "key_with_space": ({"output": ["a", "b"]}, []),
    "after_a_false_branch": ({}, ["waiting"]),
    "optional_in_block": ({}, ["square-2"]),
    "optional_in_block-given": ({}, ["square-5"]),
    "braces_at_run_time": ({"output": "{{workflow.name}}"}, []),
}

# What a target refuses at compile time, naming where and a field, rather than compile
# something it would run otherwise than dagwright run: (case id, "kfp" or "argo") -> (where the
# error points: task=... or block=..., words of its message). The run test skips a case Argo
# refuses.
# - Exit tasks that depend on a task besides their block: the KFP SDK refuses them
#   (kfp/dsl/tasks_group.py, ExitHandler: "exit_task cannot depend on any other tasks"), and the
#   backend would hook the exit task onto each dependency (backend/src/v2/compiler/argocompiler/
#   dag.go), running it early and more than once.
# - Collected over nested loops: KFP's DAG driver gathers a list of lists, and so does Argo's
#   aggregation for a pipeline output (a task taking it flattens it in the pod).
# - Two untyped values compared: both targets pass them as text and compare the texts.
REFUSED: dict[tuple[str, str], tuple[dict[str, str], str]] = {
    ("exit_reads_a_sibling", "kfp"): ({"task": "cleanup"}, "exit"),
    ("exit_after_a_task", "kfp"): ({"task": "cleanup"}, "exit"),
    ("nested_collected", "kfp"): ({"task": "total"}, "nested"),
    ("nested_collected_output", "kfp"): ({"field": "output output"}, "nested"),
    ("nested_collected_output", "argo"): ({"field": "output output"}, "nested"),
    ("untyped_comparison", "kfp"): ({"block": "condition-1", "field": "condition"}, "no type"),
    ("untyped_comparison", "argo"): ({"block": "condition-1", "field": "condition"}, "type"),
}

# (case id, check) -> the issue 14 item it waits for; check is "kfp", "argo" or "run"
WAITING: dict[tuple[str, str], str] = {}


def _load(source: str, name: str, folder: Path) -> Any:
    if source == "readme":
        return getattr(readme_tour(folder), name)
    if source in ("example", "fixture"):
        from dagwright.loader import load_pipeline

        folder = ROOT / ("examples" if source == "example" else "tests/fixtures")
        return load_pipeline(str(folder / name))
    module = {"corpus": "kfp_corpus", "edges": "kfp_edge_cases", "checked": "fidelity_corpus"}
    return getattr(importlib.import_module(module[source]), name)


def _cases(check: str) -> list[Any]:
    """The cases for ``check`` ("kfp", "argo" or "run") its target compiles (the run takes the
    ones Argo compiles)."""
    target = "argo" if check == "run" else check
    params = []
    for case in CASES:
        if (case[0], target) in REFUSED:
            continue
        marks = []
        if (case[0], check) in WAITING:
            reason = f"issue 14: {WAITING[case[0], check]} not merged"
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        params.append(pytest.param(*case[1:], id=case[0], marks=marks))
    return params


@pytest.mark.parametrize(("source", "name", "arguments", "succeeds"), _cases("kfp"))
def test_kfp_spec_passes_the_backend_check(
    source: str, name: str, arguments: Arguments, succeeds: bool, tmp_path: Path
) -> None:
    text = kfp_spec(_load(source, name, tmp_path))
    assert "pipelineInfo" in text


@pytest.mark.parametrize(("source", "name", "arguments", "succeeds"), _cases("argo"))
def test_argo_workflow_validates_against_argo_v4(
    source: str, name: str, arguments: Arguments, succeeds: bool, tmp_path: Path
) -> None:
    manifest = argo_manifest(_load(source, name, tmp_path), tmp_path / "stand-in")
    assert manifest["kind"] == "Workflow"


def _refusals() -> list[Any]:
    params = []
    for case_id, source, name, _, _ in CASES:
        for target in ("kfp", "argo"):
            if (case_id, target) not in REFUSED:
                continue
            marks = []
            if (case_id, target) in WAITING:
                reason = f"issue 14: {WAITING[case_id, target]} not merged"
                marks.append(pytest.mark.xfail(strict=True, reason=reason))
            where, words = REFUSED[case_id, target]
            params.append(
                pytest.param(
                    target, source, name, where, words, id=f"{case_id}-{target}", marks=marks
                )
            )
    return params


@pytest.mark.parametrize(("target", "source", "name", "where", "words"), _refusals())
def test_a_target_refuses_what_it_would_run_otherwise(
    target: str, source: str, name: str, where: dict[str, str], words: str, tmp_path: Path
) -> None:
    """Refused at compile time, naming where and a field, as the KFP SDK refuses an exit task
    with dependencies."""
    with pytest.raises(ValidationError, match=f"(?i){words}") as err:
        if target == "kfp":
            kfp_spec(_load(source, name, tmp_path))
        else:
            argo_manifest(_load(source, name, tmp_path), tmp_path / "stand-in")
    assert err.value.field is not None
    assert {key: getattr(err.value, key) for key in where} == where


@pytest.mark.parametrize(("source", "name", "arguments", "succeeds"), _cases("run"))
def test_runs_under_the_stand_in_like_dagwright_run(
    request: pytest.FixtureRequest,
    source: str,
    name: str,
    arguments: Arguments,
    succeeds: bool,
    tmp_path: Path,
) -> None:
    pipeline = _load(source, name, tmp_path / "source")
    node, ours, theirs, mine = run_both(pipeline, tmp_path, **arguments(tmp_path))
    assert (node.phase, ours.succeeded) == ("Succeeded" if succeeds else "Failed", succeeds)
    assert theirs == mine
    case = request.node.callspec.id
    if case in EXPECTED:
        assert theirs == EXPECTED[case]


def test_every_pipeline_of_the_corpus_and_the_readme_is_a_case(tmp_path: Path) -> None:
    """A pipeline added to a corpus module or to the README without a case here fails."""
    covered = {(source, name) for _, source, name, _, _ in CASES}
    modules = {"corpus": "kfp_corpus", "edges": "kfp_edge_cases", "checked": "fidelity_corpus"}
    found = set()
    for source, module in modules.items():
        for name, value in vars(importlib.import_module(module)).items():
            if isinstance(value, PipelineDefinition):
                found.add((source, name))
    for name, value in vars(readme_tour(tmp_path)).items():
        if isinstance(value, (PipelineDefinition, Pipeline)):
            found.add(("readme", name))
    found |= {("example", path.name) for path in (ROOT / "examples").glob("*.py")}
    assert found - covered == set()
    assert len(found) >= 40
