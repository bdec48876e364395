"""``cache=True`` on Argo: templates memoized with a key made like the local cache key.

Each manifest is validated against Argo v4.1.2's schema (``argo_manifest``) and run by the
stand-in for the Argo controller (``argo_controller.ArgoControllerStandIn``, not Argo), which
fills each memoized template's key from its inputs as Argo does (the expression through
``argo_expressions``), looks it up in a ConfigMap stand-in shared by the runs, and runs no pod on
a hit. Each run below changes one thing and checks which steps ran again: a key changes when
an input changes (a parameter, the bytes of an upstream artifact, the component's code, its
``cache_version``) and only then.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from argo_controller import ArgoControllerStandIn, Node
from fidelity_helpers import argo_manifest

import dagwright
from dagwright import Dataset, Input, Output, component, pipeline
from dagwright.errors import ValidationError

pytest.importorskip("hera")


@component(cache=True)
def make(n: int, out: Output[Dataset]) -> None:
    with open(out.path, "w") as f:
        f.write("x" * n)


@component(cache=True, cache_version="2")
def make_again(n: int, out: Output[Dataset]) -> None:  # the same bytes, another component
    with open(out.path, "w") as f:
        f.write("x" * n)


@component(cache=True)
def size(data: Input[Dataset], scale: float = 1.0) -> float:
    with open(data.path) as f:
        return len(f.read()) * scale


@component(cache=True)
def size_edited(data: Input[Dataset], scale: float = 1.0) -> float:
    with open(data.path) as f:
        return len(f.read()) * scale + 0.0  # the code changed, not the result


@component(cache=True, cache_version="v2")
def size_v2(data: Input[Dataset], scale: float = 1.0) -> float:
    with open(data.path) as f:
        return len(f.read()) * scale


@component
def uncached(x: float) -> float:
    return x


def _pipeline(maker: Any, measure: Any) -> Any:
    @pipeline(name="memo")
    def memo(n: int = 3, scale: float = 2.0) -> float:
        data = maker(n=n)
        return uncached(x=measure(data=data.outputs["out"], scale=scale).output).output

    return memo


class Runs:
    """Workflows run one after another against one namespace's caches."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.caches: dict[str, dict[str, Node]] = {}
        self.count = 0

    def run(self, pipe: Any, **arguments: str) -> tuple[Node, list[str], list[str]]:
        """The outcome, the templates whose pods ran and the memoized templates that hit."""
        self.count += 1
        folder = self.folder / str(self.count)
        manifest = argo_manifest(pipe, folder)
        stand_in = ArgoControllerStandIn(manifest, folder, caches=self.caches)
        node = stand_in.run(arguments)
        assert not stand_in.errors, stand_in.errors
        hits = [name for name, _, hit in stand_in.memoized if hit]
        return node, stand_in.ran, hits


def test_a_key_changes_when_and_only_when_an_input_changes(tmp_path: Path) -> None:
    runs = Runs(tmp_path)
    base = _pipeline(make, size)
    node, ran, hits = runs.run(base)
    assert node.phase == "Succeeded" and node.params["output"] == "6.0"
    assert ran == ["make", "size", "uncached"] and hits == []
    # nothing changed: both memoized steps are hits, only the uncached one runs
    node, ran, hits = runs.run(base)
    assert node.params["output"] == "6.0"
    assert ran == ["uncached"] and hits == ["make", "size"]
    # a parameter of the second step
    node, ran, hits = runs.run(base, scale="3.0")
    assert node.params["output"] == "9.0"
    assert ran == ["size", "uncached"] and hits == ["make"]
    # a parameter of the first step: its artifact has other bytes, so the second runs too
    node, ran, hits = runs.run(base, n="4", scale="3.0")
    assert node.params["output"] == "12.0"
    assert ran == ["make", "size", "uncached"] and hits == []
    # an upstream step ran again (another component) but wrote the same bytes: the reader's
    # key is the artifact's digest, so it is a hit, as the local cache is
    node, ran, hits = runs.run(_pipeline(make_again, size))
    assert node.params["output"] == "6.0"
    assert ran == ["make-again", "uncached"] and hits == ["size"]
    # the component's code, then its cache_version
    node, ran, hits = runs.run(_pipeline(make, size_edited))
    assert ran == ["size-edited", "uncached"] and hits == ["make"]
    node, ran, hits = runs.run(_pipeline(make, size_v2))
    assert ran == ["size-v2", "uncached"] and hits == ["make"]
    assert node.params["output"] == "6.0"


def test_memoize_is_written_only_for_cached_components(tmp_path: Path) -> None:
    manifest = argo_manifest(_pipeline(make, size), tmp_path)
    templates = {t["name"]: t for t in manifest["spec"]["templates"]}
    assert "memoize" not in templates["uncached"]
    memo = templates["size"]["memoize"]
    assert memo["cache"] == {"configMap": {"name": "dagwright-cache"}} and memo["maxAge"] == ""
    key = memo["key"]
    # the task's name is not in the key (as locally); the artifact's digest is read from its
    # metadata; no '?' Argo would take for a ternary
    assert "dagwright-task" not in key
    assert (
        "sprig.regexFind('digest[^0-9a-f]{2,4}[0-9a-f]{64}', inputs.parameters['data-meta'])" in key
    )
    assert "?" not in key and '"' not in key


def test_config_map_and_max_age_are_options_checked_before_compiling(tmp_path: Path) -> None:
    text = dagwright.compile(
        _pipeline(make, size), target="argo", cache_config_map="ml-cache", cache_max_age="24h"
    )
    memo = {t["name"]: t for t in yaml.safe_load(text)["spec"]["templates"]}["make"]["memoize"]
    assert memo["cache"]["configMap"]["name"] == "ml-cache" and memo["maxAge"] == "24h"
    with pytest.raises(ValidationError) as bad_age:
        dagwright.compile(_pipeline(make, size), target="argo", cache_max_age="2d")
    assert bad_age.value.field == "cache_max_age"
    with pytest.raises(ValidationError) as bad_name:
        dagwright.compile(_pipeline(make, size), target="argo", cache_config_map="My_Cache")
    assert bad_name.value.field == "cache_config_map"


def _key(template: dict[str, Any], **params: str) -> str:
    """The key Argo fills for a template given its input parameters (argo_expressions)."""
    from argo_expressions import replace_tags

    values = {f"inputs.parameters.{k}": v for k, v in params.items()}
    return replace_tags(template["memoize"]["key"], lambda tag: tag, values)


def test_the_key_reads_a_digest_as_a_pod_or_go_wrote_it_and_never_fails(tmp_path: Path) -> None:
    manifest = argo_manifest(_pipeline(make, size), tmp_path)
    template = {t["name"]: t for t in manifest["spec"]["templates"]}["size"]
    digest = "ab" * 32
    pod_written = f'{{"digest": "{digest}", "metadata": {{}}, "pod": "memo-1-size-4"}}'
    go_written = f'{{"digest":"{digest}","metadata":{{}},"pod":"memo-2-size-9"}}'
    keys = {_key(template, scale="2.0", **{"data-meta": m}) for m in (pod_written, go_written)}
    assert len(keys) == 1 and re.fullmatch("[0-9a-f]{64}", keys.pop())
    # no digest (a KFP container's artifact), or text that is no JSON at all: the whole text,
    # so another pod gives another key, and the key is still one Argo takes
    other = {
        _key(template, scale="2.0", **{"data-meta": m})
        for m in ('{"metadata":{},"pod":"a"}', '{"metadata":{},"pod":"b"}', "not json {")
    }
    assert len(other) == 3 and all(re.fullmatch("[0-9a-f]{64}", k) for k in other)
    assert _key(template, scale="3.0", **{"data-meta": go_written}) != _key(
        template, scale="2.0", **{"data-meta": go_written}
    )


@component
def total(parts: list[float]) -> float:
    return sum(parts)


@component
def count(parts: Input[list[Dataset]]) -> int:
    return sum(len(open(p.path).read()) for p in parts)


@pipeline(name="memo-loop")
def memo_loop(ns: list[int] = [1, 2]) -> float:  # noqa: B006
    with dagwright.ParallelFor(ns) as n:
        made = make(n=n)
        sized = size(data=made.outputs["out"], scale=1.0)
    return total(parts=dagwright.Collected(sized.output)).output


@pipeline(name="memo-gathered")
def memo_gathered(ns: list[int] = [1, 2]) -> int:  # noqa: B006
    with dagwright.ParallelFor(ns) as n:
        made = make(n=n)
    return count(parts=dagwright.Collected(made.outputs["out"])).output


@pipeline(name="memo-off")
def memo_off(n: int = 3) -> float:
    data = make(n=n).set_caching_options(False)
    return size(data=data.outputs["out"], scale=1.0).output


def test_loop_iterations_are_memoized_each_and_a_task_can_turn_it_off(tmp_path: Path) -> None:
    runs = Runs(tmp_path)
    node, ran, hits = runs.run(memo_loop)
    assert node.params["output"] == "3.0" and ran == ["make", "size"] * 2 + ["total"]
    node, ran, hits = runs.run(memo_loop, ns="[1, 2, 5]")
    assert node.params["output"] == "8.0"
    assert ran == ["make", "size", "total"] and hits == ["make", "size"] * 2
    manifest = argo_manifest(memo_off, tmp_path / "off")
    memoized = {t["name"] for t in manifest["spec"]["templates"] if "memoize" in t}
    assert memoized == {"size"}  # the task's .set_caching_options(False) wins over cache=True


def test_artifacts_gathered_over_a_loop_are_not_memoized_and_it_is_said(tmp_path: Path) -> None:
    """A Collected list of artifacts is read by this workflow's key prefix, where an iteration
    whose outputs came from the cache stored nothing: memoizing its producer would lose them."""
    from dagwright.compiler.argo.memoize import MemoizeWarning

    with pytest.warns(MemoizeWarning, match="task 'make' .* is not memoized"):
        manifest = argo_manifest(memo_gathered, tmp_path / "m")
    assert not [t["name"] for t in manifest["spec"]["templates"] if "memoize" in t]
    runs = Runs(tmp_path)
    for _ in range(2):  # both runs make every artifact the reader reads
        with pytest.warns(MemoizeWarning):
            node, ran, hits = runs.run(memo_gathered)
        assert node.params["output"] == "3" and ran == ["make", "make", "count"]


def test_the_cache_options_on_the_command_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    source = (
        "from dagwright import component, pipeline\n\n"
        "@component(cache=True)\n"
        "def size(n: int) -> int:\n"
        "    return n\n\n"
        "@pipeline\n"
        "def memo_cli(n: int = 3) -> int:\n"
        "    return size(n=n).output\n"
    )
    (tmp_path / "memo_cli.py").write_text(source, encoding="utf-8")
    base = [sys.executable, "-m", "dagwright.cli", "compile", "memo_cli.py"]
    base += ["--target", "argo", "--dagwright", "dagwright==0.1.0"]
    good = subprocess.run(
        [*base, "--cache-config-map", "ml-cache", "--cache-max-age", "90m", "-o", "w.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr
    templates = yaml.safe_load((tmp_path / "w.yaml").read_text(encoding="utf-8"))["spec"]
    memo = {t["name"]: t for t in templates["templates"]}["size"]["memoize"]
    assert memo["cache"]["configMap"]["name"] == "ml-cache" and memo["maxAge"] == "90m"
    bad = subprocess.run(
        [*base, "--cache-max-age", "1d"], cwd=tmp_path, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "cache_max_age" in bad.stderr and "Traceback" not in bad.stderr
