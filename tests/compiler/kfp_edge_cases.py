"""Pipelines at the edges of the KFP mapping: names that collide, untyped items in nested
blocks, conditions fixed at build time or on dict fields, None passed explicitly, empty blocks."""

from __future__ import annotations

from kfp_corpus import note

from dagwright import Collected, ExitHandler, If, ParallelFor, component, pipeline


@component
def prep(x: int) -> int:
    return x + 1


@pipeline(name="prep")
def prep_pipe(x: int) -> int:
    return prep(x=x).output


@pipeline
def name_clash(x: int = 1) -> int:
    """A nested pipeline whose block id equals a component id ("prep")."""
    return prep(x=prep_pipe(x=x).output).output


@component
def numbers(n: int) -> list:
    return list(range(n))


@component
def square(x: int) -> int:
    return x * x


@component
def total(values: list[int]) -> int:
    return sum(values)


@pipeline
def untyped_nested(n: int = 3) -> int:
    """Items of an untyped list reach an int input through an If inside the loop."""
    with ParallelFor(numbers(n=n).output) as x:
        with If(n > 1):
            sq = square(x=x)
    return total(values=Collected(sq.output)).output


@component
def show(v: str) -> str:
    return v.upper()


@pipeline
def field_condition(xs: list[dict] = [{"a": "x", "b": 1}, {"a": "y", "b": 3}]) -> None:  # noqa: B006
    with ParallelFor(xs) as item:
        with If(item["b"] > 2):
            show(v=item["a"])


@pipeline
def fixed_condition(n: int = 1) -> int:
    with If(True):
        square(x=n)
    return prep(x=n).output


@component
def maybe(x: int, extra: int | None = None) -> int:
    return x if extra is None else x + extra


@pipeline
def explicit_none(x: int = 4) -> int:
    return maybe(x=x, extra=None).output


@pipeline
def empty_block(n: int = 2) -> int:
    s = square(x=n)
    with If(s.output > 1):
        pass
    return prep(x=n).output


@pipeline
def collected_through_if(xs: list[int] = [1, 2, 3]) -> int:  # noqa: B006
    """Only some iterations take the branch whose output is collected."""
    with ParallelFor(xs) as x:
        with If(x > 1):
            sq = square(x=x)
    return total(values=Collected(sq.output)).output


@component
def label(n: int) -> str:
    return f"{n}.0"


@component
def joined(parts: list[str]) -> str:
    return "|".join(parts) + "\n"


@pipeline
def text_outputs(xs: list[int] = [1, 2]) -> str:  # noqa: B006
    """str values that look like JSON collected from a loop; a result ending in a newline."""
    with ParallelFor(xs) as x:
        named = label(n=x)
    return joined(parts=Collected(named.output)).output


@component
def echo(text: str) -> str:
    return text


@pipeline
def exit_reads_a_sibling(journal: str) -> None:
    """The exit task reads an output made before its block."""
    made = echo(text="cleanup")
    cleanup = note(journal=journal, text=made.output).named("cleanup")
    with ExitHandler(cleanup):
        note(journal=journal, text="body")
