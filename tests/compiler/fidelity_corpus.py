"""Small pipelines for what issue 14 says real KFP and Argo run otherwise than ``dagwright run``:
a fan-out over ints, a Collected artifact over an empty loop, conditions on ``1e-05``, strings
with quotes, non-ASCII dict items, retries with a backoff, exit tasks with a dependency and a
timeout. ``test_fidelity_corpus.py`` compiles and checks each on both targets.

Pipelines whose effect is which steps ran leave a mark per step in a ``journal`` folder, as in
``kfp_corpus``.
"""

from __future__ import annotations

import os

from kfp_corpus import join_parts, make_items, mark, note, square, total, write_part

from dagwright import Collected, ExitHandler, If, ParallelFor, Retry, component, pipeline

# quotes of both kinds, a backslash and what govaluate would read as an escape or a date
QUOTED = 'it\'s "quoted" \\n 2024-01-02'
ACCENTED = [{"name": "café", "n": 1}, {"name": 'naïve ☕ "x"', "n": 2}]


@component
def plus(x: int, y: int = 1) -> int:
    return x + y


@pipeline
def ints_fan_out(xs: list[int] = [3, 1, 2]) -> dict:  # noqa: B006
    """Each iteration makes an int; Argo aggregates them as texts."""
    with ParallelFor(xs) as x:
        bigger = plus(x=x)
    summed = total(values=Collected(bigger.output))
    return {"total": summed.output, "each": Collected(bigger.output)}


@pipeline
def empty_collected_artifact(n: int = 0) -> str:
    """A loop over an empty list of items: the consumer of its artifacts gets none."""
    items = make_items(n=n)
    with ParallelFor(items.output) as item:
        written = write_part(name=item["name"], size=item["size"])
    return join_parts(parts=Collected(written.outputs["part"])).output


@component
def halve(x: float) -> float:
    return x / 2


@pipeline
def tiny_threshold(journal: str, eps: float = 1e-05) -> float:
    """``1e-05`` as a constant, as a parameter and (``5e-06``) as a value made at run time."""
    half = halve(x=eps)
    with If(half.output < 1e-05):
        note(journal=journal, text="below").named("below")
    with If(eps >= 1e-05):
        note(journal=journal, text="at-least").named("at-least")
    with If(half.output > 0.001):
        note(journal=journal, text="above").named("above")
    return half.output


@component
def echo(text: str) -> str:
    return text


@pipeline
def quoted_strings(journal: str, text: str = QUOTED) -> dict:
    """Quotes and a backslash in a parameter, a constant and a value made at run time, the
    value compared in conditions with strings that have no single quote."""
    said = echo(text=text)
    constant = echo(text='say "hi", it\'s me').named("constant")
    with If(said.output != "plain"):
        note(journal=journal, text="differs").named("differs")
    with If(said.output == "plain"):
        note(journal=journal, text="equal").named("equal")
    return {"said": said.output, "constant": constant.output}


@pipeline
def quoted_condition(journal: str, text: str = QUOTED) -> None:
    """A condition comparing with a string that has both kinds of quotes."""
    said = echo(text=text)
    with If(said.output == QUOTED):
        note(journal=journal, text="equal").named("equal")


@component
def accents() -> list:
    return [{"name": "crème brûlée", "n": 3}, {"name": "日本", "n": 4}]


@component
def tag(name: str, n: int) -> str:
    return f"{name}:{n}"


@pipeline
def non_ascii_items(items: list[dict] = ACCENTED) -> dict:  # noqa: B006
    """Dict items with non-ASCII text, from a parameter (withItems-like) and from an output
    (withParam), their fields picked by key."""
    with ParallelFor(items) as item:
        given = tag(name=item["name"], n=item["n"])
    with ParallelFor(accents().output) as item:
        made = tag(name=item["name"], n=item["n"]).named("tag-made")
    return {"given": Collected(given.output), "made": Collected(made.output)}


@component(retries=Retry(limit=2, backoff=1, factor=2))
def fails_twice(journal: str) -> int:
    path = os.path.join(journal, "attempts")
    with open(path, "a", encoding="utf-8") as f:
        f.write("x")
    with open(path, encoding="utf-8") as f:
        attempts = len(f.read())
    if attempts < 3:
        raise RuntimeError(f"attempt {attempts} fails")
    return attempts


@pipeline
def retried_with_backoff(journal: str) -> int:
    """Two retries with a backoff: the third attempt succeeds."""
    return fails_twice(journal=journal).output


@pipeline
def exit_after_a_task(journal: str) -> None:
    """The exit task waits for a task outside its block (``.after``): the KFP SDK refuses an
    exit task with dependencies."""
    first = note(journal=journal, text="first").named("first")
    cleanup = note(journal=journal, text="cleanup").named("cleanup").after(first)
    with ExitHandler(cleanup):
        note(journal=journal, text="body").named("body")


@component(timeout=60)
def within_time(x: int) -> int:
    return x * 2


@pipeline
def timed(x: int = 21) -> int:
    """A step with a timeout it keeps."""
    return within_time(x=x).output


# Beyond the checked-by list: one pipeline for each other construct issue 14 names.


@pipeline
def nested_collected(rows: list[list[int]] = [[1, 2], [3]]) -> int:  # noqa: B006
    """An output collected over two nested loops is one flat list to a reader declaring
    ``list[int]``."""
    with ParallelFor(rows) as row:
        with ParallelFor(row) as x:
            sq = square(x=x)
    return total(values=Collected(sq.output)).output


@pipeline
def nested_collected_output(rows: list[list[int]] = [[1, 2], [3]]) -> list:  # noqa: B006
    """The same, as the pipeline's output: a list of lists, as KFP nests them."""
    with ParallelFor(rows) as row:
        with ParallelFor(row) as x:
            sq = square(x=x)
    return Collected(sq.output)


@pipeline
def key_with_space(xs: list[dict] = [{"my key": "a"}, {"my key": "b"}]) -> list:  # noqa: B006
    """An item field whose key is not a valid Argo parameter name."""
    with ParallelFor(xs) as item:
        shown = echo(text=item["my key"])
    return Collected(shown.output)


@pipeline
def after_a_false_branch(journal: str, n: int = 1) -> None:
    """A task waiting (``.after``) for a task inside an If that is not taken still runs."""
    with If(n > 5):
        inside = note(journal=journal, text="inside").named("inside")
    note(journal=journal, text="waiting").named("waiting").after(inside)


@component
def maybe_add(x: int, extra: int | None = None) -> int:
    return x if extra is None else x + extra


@pipeline
def optional_in_block(journal: str, n: int = 2, extra: int | None = None) -> None:
    """An Optional parameter left None, used inside a block."""
    with If(n > 1):
        added = maybe_add(x=n, extra=extra)
        mark(journal=journal, n=added.output)


@component
def braces() -> str:
    return "{{workflow.name}}"


@pipeline
def braces_at_run_time() -> str:
    """A value made at run time that looks like an Argo variable is passed on as it is."""
    return echo(text=braces().output).output


@pipeline
def untyped_comparison(journal: str, xs: list[dict] = [{"a": 10, "b": 9}]) -> None:  # noqa: B006
    """Two untyped values (dict fields) compared: 10 > 9 as numbers, not as texts."""
    with ParallelFor(xs) as item:
        with If(item["a"] > item["b"]):
            note(journal=journal, text="greater").named("greater")


@pipeline
def escaped_items(journal: str) -> None:
    """String items Argo hands on with JSON escapes (``q\\"x``), compared with constants."""
    with ParallelFor(['q"x', "back\\slash", "a<b", "plain"]) as s:
        with If(s == 'q"x'):
            note(journal=journal, text="quote").named("quote")
        with If(s == "back\\slash"):
            note(journal=journal, text="backslash").named("backslash")
        with If(s != "plain"):
            note(journal=journal, text="not-plain").named("not-plain")
    with ParallelFor([{"k": 'q"x'}, {"k": "cafe"}]) as it:
        with If(it["k"] == 'q"x'):
            note(journal=journal, text="field-quote").named("field-quote")
