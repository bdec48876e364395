"""The cycle check names the same cycle networkx's ``find_cycle`` named before it was replaced
by the standard library's ``graphlib`` (networkx is no longer imported to validate)."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from dagwright import If, Pipeline, ValidationError, component
from dagwright.pipelines.blocks import blocks
from dagwright.pipelines.ir import PipelineIR
from dagwright.pipelines.validate import validate_ir


@component
def step(n: int = 1) -> int:
    return n


def _random_ir(seed: int) -> PipelineIR:
    """Tasks, some inside nested If blocks, with random ``after`` edges (cycles likely)."""
    rng = random.Random(seed)
    p = Pipeline("cycles")
    x = p.param("x", int, default=1)
    handles = []
    count = rng.randint(2, 9)

    def add(i: int) -> None:
        handles.append(p.add(step, n=i).named(f"t{i}"))

    with p:
        i = 0
        while i < count:
            if rng.random() < 0.3:
                with If(x > i):
                    add(i)
                    i += 1
                    if i < count and rng.random() < 0.5:
                        with If(x > -i):
                            add(i)
                            i += 1
            else:
                add(i)
                i += 1
    ir_data = p.build().to_dict()
    for task in ir_data["tasks"]:
        others = [t["name"] for t in ir_data["tasks"] if t["name"] != task["name"]]
        picked = rng.sample(others, k=min(len(others), rng.randint(0, 2)))
        if picked:
            task["after"] = sorted(set(task.get("after", [])) | set(picked))
    return PipelineIR.from_dict(ir_data)


def _networkx_message(ir: PipelineIR) -> str | None:
    """What the check said when it used networkx."""
    graph = nx.DiGraph()
    for block in blocks(ir).values():
        graph.add_nodes_from(block.nodes)
        graph.add_edges_from((up, node) for node in block.nodes for up in block.upstream[node])
    if nx.is_directed_acyclic_graph(graph):
        return None
    cycle = nx.find_cycle(graph)
    return "tasks form a cycle: " + " -> ".join([e[0] for e in cycle] + [cycle[0][0]])


@pytest.mark.parametrize("seed", range(300))
def test_the_cycle_named_is_the_one_networkx_named(seed: int) -> None:
    ir = _random_ir(seed)
    expected = _networkx_message(ir)
    if expected is None:
        validate_ir(ir)
        return
    with pytest.raises(ValidationError) as refused:
        validate_ir(ir)
    assert expected in str(refused.value)
    first = expected.split(": ", 1)[1].split(" -> ")[0]
    assert first in (refused.value.task, refused.value.block)


def test_validation_does_not_import_networkx(tmp_path: Path) -> None:
    script = tmp_path / "chain.py"
    script.write_text(
        "import sys\n"
        "from dagwright import Pipeline, component\n"
        "from dagwright.pipelines.validate import validate_ir\n"
        "@component\n"
        "def inc(x: int) -> int:\n"
        "    return x + 1\n"
        "p = Pipeline('chain')\n"
        "a = p.add(inc, x=1)\n"
        "b = p.add(inc, x=a.output).after(a)\n"
        "validate_ir(p.build())\n"
        "print('networkx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
