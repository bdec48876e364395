"""What every target's spec shares: its YAML text, the size check, artifact kinds, run summaries.

A leaf: the IR (``pipelines/ir.py``), the compilers and the remote clients all use it, so it
imports nothing of theirs (PyYAML at import; the component serializers when first asked).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import yaml

from dagwright.errors import ValidationError


class SpecSizeWarning(UserWarning):
    """A compiled spec is larger than its cluster will store (or keep uncompressed)."""


def _literal_blocks(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    """Multi-line strings (component source, the module a step writes) as literal blocks, so a
    reviewer can read them; the emitter falls back to quotes where a block cannot hold one."""
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


class Inline(dict):
    """A small mapping written in YAML's flow style (``{name: x, value: '...'}``, folded past
    80 columns like any line): what a spec repeats for each of a thousand tasks, without the
    indentation of a line per key. The same data either way."""


class InlineList(list):
    """A short list written in YAML's flow style (``[a, b]``), as ``Inline``."""


def _inline(dumper: yaml.SafeDumper, value: Inline) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=True)


def _inline_list(dumper: yaml.SafeDumper, value: InlineList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


def _dumper(base: Any) -> Any:
    """The dumper dagwright writes with, on ``base``: safe YAML, every value written out in
    full (no anchors or aliases, even where the data shares a dict), multi-line strings as
    literal blocks (quoted inside an ``Inline``), ``Inline`` and ``InlineList`` in flow style."""

    class Dumper(base):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    Dumper.add_representer(str, _literal_blocks)
    Dumper.add_representer(Inline, _inline)
    Dumper.add_representer(InlineList, _inline_list)
    return Dumper


# libyaml's emitter when PyYAML has it: the Python one is most of the time of a large spec.
# The IR, which people read, keeps the Python emitter: libyaml escapes every character outside
# the Basic Multilingual Plane, so an emoji in a component's source would become \U0001F600.
_FAST = _dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper))
_READABLE = _dumper(yaml.SafeDumper)


def yaml_text(*documents: Any, sort_keys: bool = False, fast: bool = True) -> str:
    """One YAML text of one or more documents (``---`` between them), as dagwright writes specs.

    Args:
        *documents: Plain data (dicts, lists, strings, numbers).
        sort_keys: Keys in sorted order (KFP's way) instead of insertion order.
        fast: libyaml's emitter when installed; False keeps every character as it is.
    """
    dumper = _FAST if fast else _READABLE
    if len(documents) == 1:
        return yaml.dump(documents[0], Dumper=dumper, sort_keys=sort_keys, allow_unicode=True)
    return yaml.dump_all(documents, Dumper=dumper, sort_keys=sort_keys, allow_unicode=True)


def check_size(
    text: str,
    limit: int,
    *,
    spec: str,
    over: str,
    fix: str,
    strict: bool,
    pipeline: str,
) -> None:
    """Warn about (or, ``strict``, refuse) a spec whose text is over ``limit`` bytes.

    Args:
        text: The compiled spec.
        limit: Its most bytes.
        spec: What it is, for the message ("KFP": "the KFP spec is 1.61 MiB, ...").
        over: What the limit is ("the 1 MiB Argo keeps uncompressed").
        fix: How to make it smaller.
        strict: Raise instead of warning.
        pipeline: The pipeline's name, for the error.

    Raises:
        ValidationError: naming ``size`` when ``strict`` and the spec is too large.
    """
    size = len(text.encode())
    if size <= limit:
        return
    problem = f"the {spec} spec is {size / 2**20:.2f} MiB, over {over}"
    if strict:
        raise ValidationError(problem, pipeline=pipeline, field="size", fix=fix)
    # stacklevel 3: the warning points at whoever called the target's ``write``
    warnings.warn(f"{problem}; {fix}", SpecSizeWarning, stacklevel=3)


def artifact_kind(type_str: str) -> tuple[str, bool]:
    """The artifact class name of an artifact type, and whether it is a list (Collected).

    A type a serializer knows (a DataFrame, an estimator) is the kind it travels as (a Dataset,
    a Model).
    """
    from dagwright.components import serializers
    from dagwright.components.types import ANY, element_type

    item = element_type(type_str)
    is_list = item is not None and item != ANY
    base = item if is_list and item is not None else type_str
    if base in serializers.BY_TYPE:  # a DataFrame travels as a Dataset, an estimator as a Model
        base = serializers.BY_TYPE[base].kind
    return base, is_list


def run_summary(
    who: str,
    state: str | None,
    *,
    finished: bool,
    duration: float | None,
    timeout: float | None,
    url: str | None,
    note: tuple[str, str | None],
    steps: Iterable[tuple[str, str]],
) -> list[str]:
    """Lines that tell how a run sent to a cluster ended, or that waiting for it stopped.

    Args:
        who: The run as the first line names it ("run 3f2a", "workflow ns/name").
        state: Its last known state.
        finished: It reached a final state.
        duration: Seconds it took, when known.
        timeout: Seconds waited, for a run that had not ended.
        url: Its page in the target's UI.
        note: A label and the server's message about it (``("error", "...")``), if any.
        steps: ``(step, state)`` rows, in the order the target gives them.
    """
    took = f" in {duration:.1f}s" if duration is not None else ""
    if finished:
        lines = [f"{who}: {state}{took}"]
    else:
        waited = f" after {timeout:g}s" if timeout is not None else ""
        lines = [f"{who}: still {state}{waited}; stopped waiting"]
    if url:
        lines.append(f"  {url}")
    label, message = note
    if message:
        lines.append(f"  {label}: {message}")
    rows = list(steps)
    if rows:
        width = max(len(step) for step, _ in rows)
        lines.extend(f"  {step:<{width}}  {said}" for step, said in rows)
    return lines
