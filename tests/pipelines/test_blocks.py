"""The per-block dependency graph that validation, the engine and the KFP target share."""

from __future__ import annotations

from dagwright import If, component, pipeline
from dagwright.pipelines.blocks import blocks


@component
def num(n: int) -> int:
    return n


def test_a_block_waits_for_what_its_condition_reads_even_when_empty() -> None:
    @pipeline
    def p(n: int = 2) -> None:
        s = num(n=n)
        with If(s.output > 1):
            pass

    graph = blocks(p.build())
    assert graph[None].upstream["condition-1"] == {"num"}
    assert graph[None].downstream["num"] == ["condition-1"]
