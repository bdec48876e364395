"""A run's graph is recorded in a draft, not networkx (a run does not import networkx): the
draft gives, operation for operation, the graph and the node-link JSON networkx gives."""

from __future__ import annotations

import random
from typing import Any

import networkx as nx
import pytest

from dagwright.lineage.graph import Lineage


def _artifact(rng: random.Random) -> dict[str, Any]:
    digest = rng.choice(["", "aa11", "bb22", "cc33", "dd44"])  # shared content across steps
    uri = f"file:///store/{rng.choice(['x', 'y', 'z', 'w'])}/{rng.randint(0, 3)}"
    return {"uri": uri, "digest": digest, "type": rng.choice(["Dataset", "Model"]), "name": "o"}


def _record(lineage: Lineage, seed: int) -> Lineage:
    """Random runs and steps: parameters, artifacts used and made, lists, repeats."""
    rng = random.Random(seed)
    for r in range(rng.randint(1, 3)):
        run = f"run-{seed}-{r}"
        lineage.add_run(run, "p", {"n": rng.randint(0, 2)}, started=1.0, status="running")
        for s in range(rng.randint(0, 6)):
            inputs: dict[str, Any] = {
                "parameters": {"k": rng.choice([1, 2, "t"]), "token": "secret-value"},
                "artifacts": {
                    "a": _artifact(rng),
                    "many": [_artifact(rng) for _ in range(rng.randint(0, 3))],
                },
            }
            outputs: dict[str, Any] = {"value": s, "made": _artifact(rng)}
            if rng.random() < 0.3:
                outputs["again"] = _artifact(rng)
            lineage.add_step(
                run,
                f"t{s}[{rng.randint(0, 1)}]",
                task=f"t{s}",
                component="c",
                component_digest="d",
                status=rng.choice(["succeeded", "failed"]),
                inputs=inputs if rng.random() < 0.9 else None,
                outputs=outputs,
                cache_key=rng.choice([None, "key"]),
                cached=rng.random() < 0.2,
                duration=0.5,
            )
        lineage.add_params(f"run:{run}", {"m": rng.random() < 0.5})
        lineage.finish_run(run, status="succeeded", ended=2.0)
    return lineage


@pytest.mark.parametrize("seed", range(60))
def test_the_draft_is_what_networkx_builds(seed: int) -> None:
    drafted = _record(Lineage(), seed)
    direct = _record(Lineage(nx.MultiDiGraph()), seed)
    assert drafted.to_json() == direct.to_json()  # lists in the same order too
    one, two = drafted.graph, direct.graph
    assert list(one.nodes(data=True)) == list(two.nodes(data=True))
    assert list(one.edges(keys=True, data=True)) == list(two.edges(keys=True, data=True))
    for node in two:
        assert list(one.in_edges(node, keys=True)) == list(two.in_edges(node, keys=True))


def test_a_draft_merged_and_read_after_it_became_a_graph() -> None:
    drafted, direct = _record(Lineage(), 1), _record(Lineage(nx.MultiDiGraph()), 1)
    drafted.merge(_record(Lineage(), 2))
    direct.merge(_record(Lineage(nx.MultiDiGraph()), 2))
    assert drafted.to_json() == direct.to_json()
    assert isinstance(drafted.graph, nx.MultiDiGraph)  # now networkx: later steps go into it
    _record(drafted, 3)
    _record(direct, 3)
    assert drafted.to_json() == direct.to_json()
