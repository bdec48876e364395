"""Lineage queries on graphs left by real runs: upstream, downstream, show, diff, names."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from query_corpus import Known, build, chain, polishing_v1, polishing_v2, run

import dagwright.lineage as api
from dagwright.errors import ValidationError
from dagwright.lineage import query, store
from dagwright.lineage.graph import (
    GENERATED_BY,
    USED,
    Lineage,
    param_node,
    run_node,
    step_node,
)


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Known:
    return build(tmp_path_factory.mktemp("store"))


def by_distance(found: list[query.Reached]) -> dict[int, set[str]]:
    layers: dict[int, set[str]] = {}
    for r in found:
        layers.setdefault(r.distance, set()).add(r.id)
    return layers


def test_upstream_of_an_artifact_layer_by_layer(known: Known) -> None:
    found = api.upstream(known.b, root=known.root)
    makes = {known.step(r, "make") for r in (known.first, known.again, known.fan)}
    assert by_distance(found) == {
        # the cached shout of the second run links the B the first one made
        1: {known.step(known.first, "shout"), known.step(known.again, "shout")},
        2: {known.a},
        # A is one node for the same content, whichever run or pipeline wrote it
        3: makes,
        4: {known.text_hi},
    }
    assert {r.kind for r in found if r.distance == 3} == {"step"}


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_upstream_depth_cuts_the_walk(known: Known, depth: int) -> None:
    everything = api.upstream(known.b, root=known.root)
    cut = api.upstream(known.b, depth, root=known.root)
    assert cut == [r for r in everything if r.distance <= depth]
    assert len(cut) < len(everything)


def test_downstream_crosses_pipelines(known: Known) -> None:
    found = by_distance(api.downstream(known.a, root=known.root))
    assert found == {
        1: {
            known.step(known.first, "shout"),
            known.step(known.again, "shout"),
            known.step(known.fan, "combine"),  # the other pipeline read the same content
        },
        2: {known.b, known.d},
    }


def test_a_run_stands_for_its_steps(known: Known) -> None:
    first = known.first
    up = by_distance(api.upstream(first.run_id, root=known.root))
    assert up == {
        1: {known.step(first, "make"), known.step(first, "shout"), known.text_hi},
        2: {known.a},
        3: {known.step(known.again, "make"), known.step(known.fan, "make")},
    }
    down = by_distance(api.downstream(first.run_id, root=known.root))
    assert down == {
        1: {known.step(first, "make"), known.step(first, "shout")},
        2: {known.a, known.b},
        3: {known.step(known.again, "shout"), known.step(known.fan, "combine")},
        4: {known.d},
    }
    assert api.upstream(first.run_id, depth=0, root=known.root) == []


def test_downstream_of_the_cached_step_is_the_existing_artifact(known: Known) -> None:
    cached = known.step(known.again, "shout")
    lineage = api.load(known.root)
    assert lineage.graph.nodes[cached]["cached"] is True
    assert [r.id for r in query.downstream(lineage, cached)] == [known.b]
    assert lineage.graph.has_edge(known.b, cached, key=GENERATED_BY)
    assert lineage.graph.has_edge(cached, known.a, key=USED)
    made = [n for n, k in lineage.graph.nodes(data="kind") if k == "artifact"]
    assert sorted(made) == sorted({known.a, known.b, known.c, known.d})


def test_reached_nodes_carry_their_attributes(known: Known) -> None:
    [step] = [r for r in api.upstream(known.d, 1, root=known.root)]
    assert step.kind == "step" and step.attrs["component"] == "combine"
    assert step.name == f"{known.fan.run_id}/combine"
    assert step.to_dict()["distance"] == 1
    artifact = next(r for r in api.upstream(known.d, 2, root=known.root) if r.id == known.c)
    assert artifact.name == f"data@{known.c.removeprefix('artifact:')[:12]}"


def test_names_resolve_to_nodes(known: Known, monkeypatch: pytest.MonkeyPatch) -> None:
    lineage = api.load(known.root)
    digest = known.d.removeprefix("artifact:")
    uri = known.fan.step("combine").outputs["both"].uri
    monkeypatch.chdir(Path(uri).parent)
    first, fan = known.first.run_id, known.fan.run_id
    for name, node in [
        (known.d, known.d),
        (digest, known.d),
        (digest[:8], known.d),
        (f"sha256:{digest[:10].upper()}", known.d),
        (uri, known.d),
        ("both", known.d),  # a path relative to the working folder
        (first, run_node(first)),
        (fan[: len("fan-in-") + 10], run_node(fan)),
        (f"{first}/shout", step_node(first, "shout")),
        (f"{fan}/make-2", step_node(fan, "make-2")),
        (param_node("text", "hi"), param_node("text", "hi")),
    ]:
        assert store.resolve(lineage, name) == node, name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("nothing-like-this", "no run, step or artifact"),
        ("chain-", "names more than one node"),  # two chain runs
        ("{first}/nope", "has no step 'nope'"),
        ("nope/make", "no run 'nope'"),
        ("{digest7}", "no run, step or artifact"),  # digests need 8 characters
    ],
)
def test_bad_names_name_the_field(known: Known, name: str, problem: str) -> None:
    name = name.format(first=known.first.run_id, digest7=known.d.removeprefix("artifact:")[:7])
    with pytest.raises(ValidationError, match=problem) as caught:
        api.upstream(name, root=known.root)
    assert caught.value.field == "NAME" and caught.value.fix


def test_a_step_that_ran_in_a_loop_needs_its_iteration(tmp_path: Path) -> None:
    from query_corpus import make

    from dagwright import ParallelFor, pipeline

    @pipeline
    def looped() -> None:
        with ParallelFor(["x", "y"]) as text:
            make(text=text)

    result = run(looped, tmp_path)
    lineage = api.load(tmp_path)
    with pytest.raises(ValidationError, match=r"ran more than once \(make\[0\], make\[1\]"):
        store.resolve(lineage, f"{result.run_id}/make")
    assert store.resolve(lineage, f"{result.run_id}/make[1]") == step_node(result.run_id, "make[1]")


def test_show_json_is_the_run_and_what_it_touched(known: Known) -> None:
    first = known.first
    data = json.loads(api.show(first.run_id, "json", known.root))
    assert {n["id"] for n in data["nodes"]} == {
        run_node(first.run_id),
        known.step(first, "make"),
        known.step(first, "shout"),
        known.a,
        known.b,
        known.text_hi,
    }
    # no edge leaves the run's part: the other runs' steps that made A and B are not in it
    ids = {n["id"] for n in data["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in data["edges"])
    assert {"source": known.b, "target": known.step(first, "shout")} in [
        {"source": e["source"], "target": e["target"]}
        for e in data["edges"]
        if e["relation"] == GENERATED_BY
    ]


def test_show_dot_declares_each_node_once_and_labels_edges(known: Known) -> None:
    fan = known.fan
    text = api.show(fan.run_id, "dot", known.root)
    assert isinstance(text, str)
    lines = text.splitlines()
    assert lines[0] == f'digraph "{fan.run_id}" {{' and lines[-1] == "}"
    declared = [line.split('"')[1] for line in lines if "[label=" in line and "->" not in line]
    assert sorted(declared) == sorted(
        # make-2 got text="yo": another node than the pipeline's other="yo"
        {run_node(fan.run_id), known.text_hi, param_node("other", "yo"), param_node("text", "yo")}
        | {known.step(fan, t) for t in ("make", "make-2", "combine")}
        | {known.a, known.c, known.d}
    )
    combine = known.step(fan, "combine")
    assert f'  "{known.d}" -> "{combine}" [label="wasGeneratedBy"];' in lines
    assert f'  "{combine}" -> "{known.c}" [label="used"];' in lines


def test_dot_quotes_what_it_must() -> None:
    lineage = Lineage()
    lineage.add_run("r\\1", 'p"q', {})
    text = query.to_dot(lineage.graph, 'say "hi"')
    assert text.startswith(r'digraph "say \"hi\"" {')
    # a backslash doubled, a quote escaped, the label's line break as DOT's \n
    assert r'"run:r\\1" [label="run r\\1\np\"q None"' in text


def test_png_without_graphviz_says_how_to_get_it(
    known: Known, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")  # no `dot` on an empty PATH, installed or not
    with pytest.raises(ValidationError, match="Graphviz") as caught:
        api.show(known.first.run_id, "png", known.root)
    assert caught.value.field == "--format"
    assert "apt-get install graphviz" in (caught.value.fix or "")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_png_with_graphviz(known: Known) -> None:
    png = api.show(known.first.run_id, "png", known.root)
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG")


def test_show_needs_a_run(known: Known) -> None:
    with pytest.raises(ValidationError, match="is an artifact, not a run") as caught:
        api.show(known.a, root=known.root)
    assert caught.value.field == "RUN"
    with pytest.raises(ValidationError, match="unknown format 'svg'"):
        api.show(known.first.run_id, "svg", known.root)


def test_diff_after_changing_a_parameter(tmp_path: Path) -> None:
    a, b = run(chain, tmp_path), run(chain, tmp_path, text="ho")
    found = api.diff(a.run_id, b.run_id, tmp_path)
    assert (found.run_a, found.run_b) == (a.run_id, b.run_id)
    assert [(c.name, c.before, c.after) for c in found.params] == [("text", '"hi"', '"ho"')]
    assert found.components == [] and found.only_in_a == found.only_in_b == []
    by_step = {i.step: i for i in found.inputs}
    assert set(by_step) == {"make", "shout"}
    assert [(p.name, p.before, p.after) for p in by_step["make"].params] == [
        ("text", '"hi"', '"ho"')
    ]
    shout = by_step["shout"]
    assert shout.removed == (a.step("make").outputs["data"].digest,)
    assert shout.added == (b.step("make").outputs["data"].digest,)
    assert not found.same


def test_diff_after_editing_a_component(tmp_path: Path) -> None:
    a, b = run(polishing_v1, tmp_path), run(polishing_v2, tmp_path)
    found = api.diff(a.run_id, b.run_id, tmp_path)
    [changed] = found.components
    assert changed.name == "polish"
    assert changed.before == polishing_v1.build().components["polish"].digest
    assert changed.after == polishing_v2.build().components["polish"].digest
    assert changed.before != changed.after
    assert found.params == [] and found.inputs == []  # same make output feeds both


def test_diff_of_the_same_work_and_of_other_pipelines(known: Known) -> None:
    same = api.diff(known.first.run_id, known.again.run_id, known.root)
    assert same.same and same.to_dict()["same"] is True
    other = api.diff(known.first.run_id, known.fan.run_id, known.root)
    assert other.only_in_a == ["shout"] and other.only_in_b == ["combine", "make-2"]
    assert [(c.name, c.before, c.after) for c in other.params] == [("other", None, '"yo"')]


def test_load_is_cached_on_the_files(tmp_path: Path) -> None:
    first = run(chain, tmp_path)
    lineage = store.load(tmp_path)
    assert store.load(tmp_path) is lineage
    second = run(chain, tmp_path, text="ho")  # a new file: merged into the same graph
    assert store.load(tmp_path) is lineage and run_node(second.run_id) in lineage.graph
    path = store.folder_of(tmp_path) / f"{first.run_id}.json"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    reloaded = store.load(tmp_path)  # a changed file: everything is read again
    assert reloaded is not lineage and set(reloaded.graph) == set(lineage.graph)


def test_load_skips_a_damaged_file_and_needs_some(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no lineage recorded") as caught:
        store.load(tmp_path)
    assert caught.value.field == "--root"
    result = run(chain, tmp_path)
    (store.folder_of(tmp_path) / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.warns(UserWarning, match="skipped lineage file .*broken.json"):
        lineage = store.load(tmp_path)
    assert run_node(result.run_id) in lineage.graph


def test_negative_depth_is_refused(known: Known) -> None:
    with pytest.raises(ValidationError, match="negative"):
        api.upstream(known.a, -1, root=known.root)
