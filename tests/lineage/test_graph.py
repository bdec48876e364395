"""The provenance graph the engine records: PROV relations, one node per artifact content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from query_corpus import chain, make, shout

import dagwright
from dagwright import Dataset, Input, Output, component, pipeline
from dagwright.lineage.graph import (
    DERIVED_FROM,
    GENERATED_BY,
    INFORMED_BY,
    STARTED_BY,
    USED,
    Lineage,
    run_node,
    step_node,
)
from dagwright.lineage.recorder import load


@pipeline
def other(word: str = "hi") -> None:
    make(text=word)


def edges(lineage: Lineage) -> set[tuple[str, str, str]]:
    return {(u, v, k) for u, v, k in lineage.graph.edges(keys=True)}


def graph_of(result: Any, root: Path) -> Lineage:
    return load(root / "lineage" / f"{result.run_id}.json")


def test_a_run_records_prov_relations(tmp_path: Path) -> None:
    result = dagwright.run(chain, echo=False, root=tmp_path)
    lineage = graph_of(result, tmp_path)
    run, made, shouted = (
        run_node(result.run_id),
        step_node(result.run_id, "make"),
        step_node(result.run_id, "shout"),
    )
    data = f"artifact:{result.step('make').outputs['data'].digest}"
    loud = f"artifact:{result.step('shout').outputs['loud'].digest}"
    found = edges(lineage)
    assert {
        (made, run, STARTED_BY),
        (shouted, run, STARTED_BY),
        (data, made, GENERATED_BY),
        (shouted, data, USED),
        (shouted, made, INFORMED_BY),
        (loud, shouted, GENERATED_BY),
        (loud, data, DERIVED_FROM),
    } <= found
    params = [v for u, v, k in found if u in (run, made) and k == USED]
    values = {lineage.graph.nodes[p]["name"]: lineage.graph.nodes[p]["value"] for p in params}
    assert values == {"text": '"hi"'}
    node = lineage.graph.nodes[shouted]
    assert (node["status"], node["component_digest"]) == ("succeeded", shout.digest)
    assert lineage.graph.nodes[run]["status"] == "succeeded"
    assert lineage.graph.nodes[data]["type"] == "Dataset"


def test_a_cached_step_links_the_artifact_it_reuses(tmp_path: Path) -> None:
    first = dagwright.run(chain, echo=False, root=tmp_path)
    again = dagwright.run(chain, echo=False, root=tmp_path)
    assert again.step("shout").cached
    lineage = graph_of(again, tmp_path)
    loud = f"artifact:{first.step('shout').outputs['loud'].digest}"
    assert (loud, step_node(again.run_id, "shout"), GENERATED_BY) in edges(lineage)
    assert lineage.graph.nodes[step_node(again.run_id, "shout")]["cached"] is True
    assert sum(1 for _, a in lineage.graph.nodes(data=True) if a["kind"] == "artifact") == 2


def test_the_same_content_in_two_pipelines_is_one_node(tmp_path: Path) -> None:
    a = dagwright.run(chain, echo=False, root=tmp_path)
    b = dagwright.run(other, echo=False, root=tmp_path)
    merged = Lineage()
    merged.merge(graph_of(a, tmp_path))
    merged.merge(graph_of(b, tmp_path))
    data = f"artifact:{a.step('make').outputs['data'].digest}"
    makers = {v for u, v, k in edges(merged) if u == data and k == GENERATED_BY}
    assert makers == {step_node(a.run_id, "make"), step_node(b.run_id, "make")}
    assert len(merged.graph.nodes[data]["uris"]) == 2  # both places it was written


def test_a_failed_step_is_recorded_with_its_status(tmp_path: Path) -> None:
    @component
    def boom(x: int) -> int:
        raise ValueError("no")

    @pipeline
    def failing(x: int = 1) -> int:
        return boom(x=x).output

    result = dagwright.run(failing, echo=False, root=tmp_path)
    lineage = graph_of(result, tmp_path)
    assert lineage.graph.nodes[step_node(result.run_id, "boom")]["status"] == "failed"
    assert lineage.graph.nodes[run_node(result.run_id)]["status"] == "failed"


def test_node_link_json_round_trips_and_lineage_can_be_off(tmp_path: Path) -> None:
    result = dagwright.run(chain, echo=False, root=tmp_path)
    lineage = graph_of(result, tmp_path)
    again = Lineage.from_json(lineage.to_json())
    assert set(again.graph.nodes) == set(lineage.graph.nodes)
    assert edges(again) == edges(lineage)
    quiet = dagwright.run(chain, echo=False, root=tmp_path / "off", lineage=False)
    assert not (tmp_path / "off" / "lineage" / f"{quiet.run_id}.json").exists()


@pytest.mark.parametrize("items", [[1, 2, 3]])
def test_loop_iterations_are_separate_steps(tmp_path: Path, items: list[int]) -> None:
    @component
    def sq(x: int) -> int:
        return x * x

    @pipeline
    def loop(xs: list[int] = items) -> None:  # noqa: B006
        with dagwright.ParallelFor(xs) as x:
            sq(x=x)

    result = dagwright.run(loop, echo=False, root=tmp_path)
    steps = {n for n, a in graph_of(result, tmp_path).graph.nodes(data=True) if a["kind"] == "step"}
    assert steps == {step_node(result.run_id, f"sq[{i}]") for i in range(3)}


def test_a_step_is_informed_by_the_step_whose_output_it_read(tmp_path: Path) -> None:
    @component
    def blank(data: Output[Dataset]) -> None:
        open(data.path, "w").close()  # the same (empty) content as blank2's

    @component
    def blank2(data: Output[Dataset]) -> None:
        open(data.path, "w").close()

    @component
    def consume(data: Input[Dataset]) -> int:
        return len(open(data.path).read())

    @pipeline
    def twins() -> int:
        blank()
        return consume(data=blank2().outputs["data"]).output

    result = dagwright.run(twins, echo=False, root=tmp_path)
    found = edges(graph_of(result, tmp_path))
    informed = {
        v for u, v, k in found if u == step_node(result.run_id, "consume") and k == INFORMED_BY
    }
    assert informed == {step_node(result.run_id, "blank2")}


def test_a_failing_observer_does_not_fail_the_run(tmp_path: Path) -> None:
    (tmp_path / "lineage").write_text("a file where the lineage folder goes")
    result = dagwright.run(chain, echo=False, root=tmp_path)
    assert result.succeeded and result.outputs == {"output": 2}
