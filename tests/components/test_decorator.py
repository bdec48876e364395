"""@component: what a signature becomes, and that the function stays a function."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from dagwright import (
    HTML,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
    Resources,
    Retry,
    ValidationError,
    component,
)
from dagwright.components.decorator import ComponentSourceWarning
from dagwright.runtimes import Local


class Stats(NamedTuple):
    mean: float
    count: int


@component
def add(a: int, b: int = 2) -> int:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number,
            which has a default.
    """
    return a + b


@component(
    name="summarise",
    description="Summary statistics",
    image="python:3.11",
    packages=["numpy"],
    cpu="500m",
    memory="1Gi",
    gpu=1,
    retries=Retry(limit=3, backoff=0.5, factor=3.0, max_backoff=4.0),
    timeout=30,
    cache=True,
    runtime=Local(),
)
def stats(values: list[float], weights: dict[str, float] | None = None) -> Stats:
    return Stats(sum(values) / len(values), len(values))


@component
def artifacts(
    raw: Input[Dataset],
    model: Output[Model],
    metrics: Output[Metrics],
    page: Output[HTML],
    notes: Output[Markdown],
) -> None:
    return None


def test_calling_outside_a_pipeline_runs_the_plain_function() -> None:
    assert add(1) == 3
    assert add(a=1, b=5) == 6
    assert stats([1.0, 3.0]) == Stats(2.0, 2)
    assert add.__doc__ is not None and add.__name__ == "add"


def test_parameters_types_defaults_and_docstring_descriptions() -> None:
    spec = add.spec
    assert spec.name == "add"
    assert spec.description == "Add two numbers."
    a, b = spec.inputs
    assert (a.name, a.type, a.has_default, a.description) == (
        "a",
        "int",
        False,
        "The first number.",
    )
    assert (b.type, b.default, b.description) == (
        "int",
        2,
        "The second number, which has a default.",
    )
    assert [(o.name, o.type) for o in spec.outputs] == [("output", "int")]
    assert spec.returns == "single"


def test_typed_collections_optional_and_named_tuple_outputs() -> None:
    spec = stats.spec
    assert [(i.name, i.type) for i in spec.inputs] == [
        ("values", "list[float]"),
        ("weights", "Optional[dict[str, float]]"),
    ]
    assert spec.input("weights").default is None  # type: ignore[union-attr]
    assert spec.returns == "namedtuple"
    assert [(o.name, o.type) for o in spec.outputs] == [("mean", "float"), ("count", "int")]


def test_options_are_kept() -> None:
    spec = stats.spec
    assert spec.name == "summarise" and spec.description == "Summary statistics"
    assert spec.image == "python:3.11" and spec.packages == ["numpy"]
    assert spec.resources == Resources(cpu="500m", memory="1Gi", gpu=1)
    assert spec.retry == Retry(limit=3, backoff=0.5, factor=3.0, max_backoff=4.0)
    assert [spec.retry.delay(n) for n in (1, 2, 3)] == [0.5, 1.5, 4.0]
    assert spec.timeout == 30 and spec.cache is True
    assert spec.runtime == Local()
    assert add.spec.retry.limit == 0 and add.spec.cache is False


def test_artifact_inputs_and_outputs() -> None:
    spec = artifacts.spec
    assert [(i.name, i.type, i.artifact) for i in spec.inputs] == [("raw", "Dataset", True)]
    assert [(o.name, o.type) for o in spec.outputs] == [
        ("model", "Model"),
        ("metrics", "Metrics"),
        ("page", "HTML"),
        ("notes", "Markdown"),
    ]
    assert spec.returns == "none"


def test_metrics_log_metric_records_metadata(tmp_path) -> None:  # type: ignore[no-untyped-def]
    metrics = Metrics(name="m", uri=str(tmp_path / "m.json"))
    metrics.log_metric("accuracy", 0.5)
    metrics._finish()
    assert metrics.metadata == {"accuracy": 0.5}
    assert (tmp_path / "m.json").read_text() == '{"accuracy": 0.5}'


def test_function_names_become_kubernetes_names() -> None:
    @component
    def load_raw_data() -> int:
        return 1

    assert load_raw_data.spec.name == "load-raw-data"
    assert load_raw_data.spec.function == "load_raw_data"


def test_source_carries_the_function_without_decorators() -> None:
    source = add.spec.source
    assert "@component" not in source
    assert source.rstrip().endswith("return a + b")


def test_digest_changes_with_options_and_code() -> None:
    def f(x: int) -> int:
        return x

    assert component(f).digest == component(f).digest
    assert component(f).digest != component(retries=1)(f).digest


@pytest.mark.parametrize(
    "signature, message",
    [
        ("def f(x): pass", "input 'x' has no type hint"),
        ("def f(x: set) -> None: pass", "input 'x' has an unsupported annotation"),
        ("def f(x: Union[int, str]) -> None: pass", "unions other than Optional"),
        ("def f(x: dict[int, str]) -> None: pass", "dictionary keys must be str"),
        ("def f(x: Dataset) -> None: pass", "write Input[Dataset]"),
        ("def f(*xs: int) -> None: pass", "*xs is not supported"),
        ("def f(x: int = 'a') -> None: pass", "default 'a' of 'x' is not a int"),
        ("def f() -> set: pass", "return value 'return' has an unsupported annotation"),
        ("def f(output: Output[Model]) -> int: pass", "both returned and an Output"),
    ],
)
def test_unsupported_signatures_are_refused(signature: str, message: str) -> None:
    namespace: dict = {}
    exec("from typing import Union\nfrom dagwright import *\n" + signature, namespace)
    with pytest.raises(ValidationError, match="component 'f'") as info:
        component(namespace["f"])
    assert message in str(info.value)


def test_explicit_component_name_must_be_a_kubernetes_name() -> None:
    with pytest.raises(ValidationError, match="would become 'my-step'"):
        component(name="My_Step")(lambda: None)


def test_source_carries_what_the_function_needs_from_its_module() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
    try:
        import helpers_pipeline
    finally:
        sys.path.pop(0)
    source = helpers_pipeline.compute.spec.source
    for needed in (
        "import math",
        "SCALE = 3",
        "Out = NamedTuple(",
        "class Labeller:",
        "def _helper(x: int)",
        "from typing import NamedTuple",
    ):
        assert needed in source
    assert "def uses_helpers" not in source and "@component" not in source
    namespace: dict = {}
    exec(source, namespace)
    assert namespace["compute"](x=4) == (12.0, "v12")


def test_names_the_module_does_not_bind_are_warned_about(tmp_path: Path) -> None:
    import importlib.util

    module = tmp_path / "starred.py"
    module.write_text(
        "from math import *\nfrom dagwright import component\n\n"
        "@component\ndef root(x: float) -> float:\n    return sqrt(x)\n"
    )
    spec = importlib.util.spec_from_file_location("starred", module)
    assert spec is not None and spec.loader is not None
    with pytest.warns(ComponentSourceWarning, match="reads sqrt, which nothing in its module"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


@pytest.mark.parametrize(
    "options, field, message",
    [
        ({"retries": -1}, "retries.limit", "retry limit -1 is not a whole number >= 0"),
        ({"retries": "2"}, "retries", "retries '2' is not a number"),
        ({"retries": Retry(limit=1, backoff=-1)}, "retries.backoff", "retry backoff -1"),
        ({"retries": Retry(limit=1, factor=0.5)}, "retries.factor", "is not a number >= 1"),
        ({"packages": "numpy"}, "packages", "write packages=['numpy']"),
        ({"packages": ["numpy", 3]}, "packages", "other than requirement strings"),
        ({"runtime": "inprocess"}, "runtime", "'inprocess' is not a runtime config"),
        ({"timeout": -5}, "timeout", "timeout -5 is not a positive number of seconds"),
        ({"cpu": "lots"}, "cpu", "cpu 'lots' is not a Kubernetes quantity"),
        ({"memory": 3}, "memory", "memory 3 is not a Kubernetes quantity"),
        ({"gpu": 1.5}, "gpu", "gpu 1.5 is not a whole number of GPUs"),
        ({"image": 3}, "image", "image 3 is not a string"),
        ({"cache_version": 2}, "cache_version", "cache_version 2 is not a string"),
    ],
)
def test_bad_options_are_refused_at_decoration(options: dict, field: str, message: str) -> None:
    def step(x: int) -> int:
        return x

    with pytest.raises(ValidationError, match="component 'step'") as info:
        component(**options)(step)
    assert info.value.field == field and message in str(info.value)


def test_good_quantities_pass() -> None:
    def step() -> None:
        pass

    spec = component(cpu="1.5", memory="512Mi", gpu=0, retries=0, timeout=0.5)(step).spec
    assert spec.resources == Resources(cpu="1.5", memory="512Mi", gpu=0)
