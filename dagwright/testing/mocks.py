"""``run_with_mocks``: a pipeline run here with some components replaced by mocks.

The replacement happens on a copy of the pipeline's IR before the run: each mocked task gets
a component of its own whose interface is the original's and whose function is the mock,
found by the executor as any live component function is. The engine runs it as it runs any
other step.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.components.decorator import (
    Component,
    forget_live_function,
    live_function,
    share_live_function,
)
from dagwright.components.spec import ComponentSpec, PodOptions
from dagwright.components.types import is_value_file
from dagwright.errors import RunFailed, ValidationError
from dagwright.pipelines.ir import PipelineIR
from dagwright.runtimes.registry import Local
from dagwright.testing.mock_checks import check_mock, ports
from dagwright.testing.result import MockedRun
from dagwright.testing.store import active_store

if TYPE_CHECKING:
    from dagwright.engine.progress import Observer

Mocks = Mapping[Any, Any]


def run_with_mocks(
    pipeline: Any,
    /,
    mocks: Mocks | None = None,
    *,
    arguments: dict[str, Any] | None = None,
    root: str | Path | None = None,
    echo: bool | Callable[[str], None] | Observer = False,
    keep_going: bool = False,
    cache: bool | None = None,
    lineage: bool = False,
    raise_on_error: bool = False,
    secrets_file: str | Path | None = None,
    **params: Any,
) -> MockedRun:
    """Run a pipeline here with some of its components replaced, for a test.

    Each mock is checked against the component it replaces before anything runs: it takes
    the same inputs (parameters and artifacts) and ``Output[...]`` parameters by name, with
    compatible annotations, and returns what the component returns (a parameter it leaves
    unannotated, a missing return annotation and the names a ``**kwargs`` takes are checked
    only by the values when it runs). A mocked step always runs in this process, in a worker
    thread as a ``Local()`` step does, whatever the runtime of the component it replaces
    (``Process``, ``Dask``, ``Spark``, ``Job``, ``Nuclio``...): a test's closures and
    ``unittest.mock.Mock`` objects see its calls. It is never served from the cache nor
    written to it; it gets no pod options (volumes, Secrets), keeps the component's retries
    and timeout, and the pipeline's notifications are not sent.

    Args:
        pipeline: A @pipeline, or anything ``dagwright.run`` takes.
        mocks: Replacements by component name (every task of it: inside loops, conditions
            and nested pipelines, and its per-task variants), by task name (``train-2``: that
            task only) or by the ``@component`` object; each a function or a ``@component``.
        arguments: Parameter values as a dict (for names that clash with the options here).
        root: The store to run in. By default the test's store (the ``dagwright_store``
            fixture, ``use_store``), else a temporary folder removed when the run returns:
            pass ``root`` to read the run's artifacts afterwards. Artifacts go under it
            whatever ``$DAGWRIGHT_ARTIFACTS`` says.
        echo: As for ``dagwright.run``; quiet by default.
        keep_going, secrets_file: As for ``dagwright.run``.
        cache: None lets each component that is not mocked decide; True or False turns
            caching on or off for all of them.
        lineage: Record the run's provenance graph (off by default).
        raise_on_error: Raise RunFailed when a step fails (the MockedRun is on it).
        **params: Parameter values.

    Returns:
        The MockedRun: the ``RunResult`` with ``mocked``, ``ran``, ``skipped``, ``failed``,
        ``cached`` and ``step_outputs``.

    Raises:
        ValidationError: a mock keyed by a name the pipeline does not have, or one that does
            not fit the component it replaces; nothing runs.
    """
    from dagwright.api import run, to_ir

    ir, replaced = with_mocks(to_ir(pipeline), mocks or {})
    if cache is True:  # for every step but the mocked ones, which keep cache=False
        ir.components = {
            cid: spec if cid in replaced.values() else _cached(spec)
            for cid, spec in ir.components.items()
        }
        cache = None
    given = root if root is not None else active_store()
    folder = tempfile.mkdtemp(prefix="dagwright-test-") if given is None else None
    where = Path(given if given is not None else str(folder))
    try:
        result = run(
            ir,
            arguments,
            root=where,
            artifacts=str(where / "artifacts"),
            echo=echo,
            keep_going=keep_going,
            cache=cache,
            lineage=lineage,
            raise_on_error=raise_on_error,
            secrets_file=secrets_file,
            **params,
        )
    except RunFailed as failure:
        failure.result = MockedRun.of(failure.result, set(replaced))  # type: ignore[arg-type]
        raise
    finally:
        for cid in set(replaced.values()):  # the mocks, and what they hold, let go
            forget_live_function(ir.components[cid])
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return MockedRun.of(result, set(replaced))


def with_mocks(ir: PipelineIR, mocks: Mocks) -> tuple[PipelineIR, dict[str, str]]:
    """A copy of ``ir`` whose mocked tasks run their mock; and the component id each mocked
    task now has, by task name.

    Raises:
        ValidationError: for a key the pipeline does not know, a task mocked twice, or a mock
            that does not fit its component.
    """
    chosen: dict[str, tuple[Any, Any]] = {}  # task -> (key, mock)
    for key, mock in mocks.items():
        for name in _tasks_of(ir, key):
            if name in chosen:
                raise ValidationError(
                    f"task '{name}' is mocked twice, by {_key_text(chosen[name][0])} and by "
                    f"{_key_text(key)}",
                    pipeline=ir.name,
                    field="mocks",
                    fix="give each task one mock",
                )
            chosen[name] = (key, mock)
    copy = replace(ir, tasks=list(ir.tasks), components=dict(ir.components), notify=None)
    made: dict[tuple[str, int], str] = {}  # (original component, id of the mock) -> new id
    replaced: dict[str, str] = {}
    for index, task in enumerate(copy.tasks):
        if task.name not in chosen:
            continue
        key, mock = chosen[task.name]
        new_id = made.get((task.component, id(mock)))
        if new_id is None:
            spec = _as_function(ir.components[task.component])
            omitted = {  # inputs a mocked task leaves to the component's default
                port.name
                for t in ir.tasks
                if t.name in chosen and t.component == task.component
                for port, out in ports(spec).values()
                if not out and port.has_default and port.name not in t.inputs
            }
            try:
                func = check_mock(mock, spec, omitted)
            except ValidationError as exc:
                raise exc.within(pipeline=ir.name) from None
            new_id = f"{task.component}-mock-{len(made) + 1}"
            copy.components[new_id] = _mocked_spec(spec, func)
            made[(task.component, id(mock))] = new_id
        copy.tasks[index] = replace(task, component=new_id)
        replaced[task.name] = new_id
    return copy, replaced


def _tasks_of(ir: PipelineIR, key: Any) -> list[str]:
    """The tasks a mock's key names: every task of a component (by its name or its object),
    or one task by its name."""
    if isinstance(key, Component):
        ids = {cid for cid, spec in ir.components.items() if _same(spec, key)}
    elif isinstance(key, str):
        ids = {cid for cid, spec in ir.components.items() if spec.name == key}
        if not ids and any(t.name == key for t in ir.tasks):
            return [key]
    else:
        raise ValidationError(
            f"a mock is keyed by {key!r}",
            pipeline=ir.name,
            field="mocks",
            fix="key each mock by a component's name, a task's name or the @component itself",
        )
    found = [t.name for t in ir.tasks if t.component in ids]
    if not found:
        names = sorted({spec.name for spec in ir.components.values()})
        tasks = [t.name for t in ir.tasks if t.name not in names]
        known = f"its components are {', '.join(names)}"
        if tasks:
            known += f"; its other tasks {', '.join(tasks)}"
        raise ValidationError(
            f"{_key_text(key)} is not in the pipeline ({known})",
            pipeline=ir.name,
            field="mocks",
            fix="key the mock by one of those names",
        )
    return found


def _same(spec: ComponentSpec, component: Component) -> bool:
    """Is ``spec`` this component, or a per-task variant of it (its function shared)?"""
    if live_function(spec) is component.func:
        return True
    return spec.name == component.spec.name and spec.source == component.spec.source


def _cached(spec: ComponentSpec) -> ComponentSpec:
    """The component with its cache on; its function found live as the original's is."""
    variant = replace(spec, cache=True)
    share_live_function(spec, variant)
    return variant


def _key_text(key: Any) -> str:
    return f"component '{key.spec.name}'" if isinstance(key, Component) else f"'{key}'"


def _as_function(spec: ComponentSpec) -> ComponentSpec:
    """The component as a Python function has it: one imported from KFP returns its values
    (an ``Output`` parameter, or several named ones) where KFP's executor wrote them."""
    if spec.kfp is None:
        return spec
    values = [o for o in spec.outputs if not o.artifact or is_value_file(o.type)]
    shape = "none" if not values else "single" if len(values) == 1 else "namedtuple"
    return replace(spec, returns=shape)


def _mocked_spec(spec: ComponentSpec, func: Callable[..., Any]) -> ComponentSpec:
    """The component a mocked task runs: the original's interface and environment; the
    mock's function, found live in this process (registered under this spec's digest, made
    unique, so that runs at once in one process never take each other's mock)."""
    text = (
        "def mock(**inputs):\n"
        f"    # a mock of '{spec.name}' given to dagwright.testing.run_with_mocks ({_named(func)}, "
        f"{secrets.token_hex(8)}); it runs only in the process that gave it\n"
        "    raise NotImplementedError('a mock runs only in the process that gave it')\n"
    )
    mocked = replace(
        spec,
        description=f"mock of {spec.name}",
        source=text,
        function="mock",
        module=None,
        runtime=Local(),
        injected=[],
        kfp=None,
        importer=None,
        cache=False,
        cache_version=None,
        pod=PodOptions(),
        packages=[],
        image=None,
    )

    def mock(**inputs: Any) -> Any:
        return func(**inputs)

    Component(mock, mocked)  # registers the function for the executor to find
    return mocked


def _named(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__qualname__", None) or type(func).__name__).replace("'", "")
