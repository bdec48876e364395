"""The pipeline IR: plain, versioned data that every target and the engine consume.

Values that flow into task inputs, conditions and loops are small dicts, one key saying what
they are:

- ``{"constant": 3}``
- ``{"param": "lr"}`` a pipeline parameter
- ``{"task": "train", "output": "model"}`` a task output
- ``{"loop_item": "for-1"}`` the current item of a ParallelFor (``"key"`` picks a dict field)
- ``{"collected": {"task": ..., "output": ...}}`` one task output gathered over loop iterations
- ``{"one_of": [value, ...]}`` the output of whichever task ran, of tasks in the branches of one
  If/Elif/Else chain (KFP's ``dsl.OneOf``)
- ``{"final_status": "exit-handler-1"}`` how a block ended, given to its exit task (KFP's
  ``PipelineTaskFinalStatus``); it may also name the one upstream task of a task that ignores
  upstream failures

Conditions are expression trees: ``{"op": "gt", "left": value, "right": value}``,
``{"op": "and"|"or", "args": [...]}``, ``{"op": "not", "arg": ...}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagwright.components.spec import ComponentSpec, IOSpec
from dagwright.errors import UnknownKey

if TYPE_CHECKING:  # loaded with the first pipeline that has notifiers (import time)
    from dagwright.pipelines.notify import Notification

IR_VERSION = "dagwright.dev/v1alpha1"
Value = dict[str, Any]


@dataclass
class TaskIR:
    """One call of a component."""

    name: str
    component: str
    inputs: dict[str, Value] = field(default_factory=dict)
    after: list[str] = field(default_factory=list)
    group: str | None = None
    display_name: str | None = None  # what people see (KFP's taskInfo.name); name stays
    # runs once its upstream tasks are done, whatever their state (KFP's
    # ``.ignore_upstream_failure()``); inputs a failed upstream did not make take their defaults
    ignore_upstream_failure: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The task as IR data."""
        data: dict[str, Any] = {"name": self.name, "component": self.component}
        data["inputs"] = self.inputs
        if self.after:
            data["after"] = list(self.after)
        if self.group:
            data["group"] = self.group
        if self.display_name is not None:
            data["display_name"] = self.display_name
        if self.ignore_upstream_failure:
            data["ignore_upstream_failure"] = True
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskIR:
        """The task from IR data."""
        return cls(
            name=data["name"],
            component=data["component"],
            inputs=dict(data.get("inputs", {})),
            after=list(data.get("after", [])),
            group=data.get("group"),
            display_name=data.get("display_name"),
            ignore_upstream_failure=bool(data.get("ignore_upstream_failure", False)),
        )


@dataclass
class GroupIR:
    """A block of tasks: kind is "condition", "loop", "exit_handler" or "pipeline" (a sub-DAG).

    ``condition`` is the full condition under which the block runs (an Elif or Else already
    carries the negation of the branches before it); ``branch`` says which of if/elif/else it
    came from. A loop has ``items`` and an optional ``parallelism``. An exit handler names the
    ``exit_task`` that runs after the block, whatever happened inside.
    """

    id: str
    kind: str
    parent: str | None = None
    condition: Value | None = None
    branch: str | None = None
    items: Value | None = None
    parallelism: int | None = None
    exit_task: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The block as IR data."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroupIR:
        """The block from IR data."""
        return cls(**data)


@dataclass
class PipelineIR:
    """A whole pipeline. Components are stored once, keyed by id; tasks refer to them."""

    name: str
    params: list[IOSpec] = field(default_factory=list)
    tasks: list[TaskIR] = field(default_factory=list)
    components: dict[str, ComponentSpec] = field(default_factory=dict)
    groups: list[GroupIR] = field(default_factory=list)
    outputs: dict[str, Value] = field(default_factory=dict)
    # outputs that may come from a task inside an If (the run fails at its end when the branch
    # did not run): KFP compiles `return dsl.Collected(t.output)` so, and only its importer
    # sets this; a traced @pipeline's output from inside an If is refused before anything runs
    optional_outputs: list[str] = field(default_factory=list)
    description: str = ""
    schedule: str | None = None
    notify: Notification | None = None  # who is told how a run ended
    # the @pipeline function's name, for finding its runs; not part of the portable data
    function: str = field(default="", repr=False, compare=False)
    _index: dict[str, TaskIR] = field(default_factory=dict, init=False, repr=False, compare=False)
    _indexed: int = field(default=0, init=False, repr=False, compare=False)

    def task(self, name: str) -> TaskIR:
        """The task called ``name``; a KeyError when there is none."""
        found = self._index.get(name)
        if found is None:  # most often a task appended since: index just the new ones
            self._index.update((t.name, t) for t in self.tasks[self._indexed :])
            self._indexed = len(self.tasks)
            found = self._index.get(name)
        if found is None or found.name != name:
            self._index = {t.name: t for t in self.tasks}  # renamed or replaced: start over
            self._indexed = len(self.tasks)
            found = self._index.get(name)
        if found is None:
            raise UnknownKey(f"pipeline '{self.name}' has no task '{name}'")
        return found

    def group(self, group_id: str) -> GroupIR:
        """The block ``group_id``; a KeyError when there is none."""
        for group in self.groups:
            if group.id == group_id:
                return group
        raise UnknownKey(f"pipeline '{self.name}' has no block '{group_id}'")

    def param(self, name: str) -> IOSpec | None:
        """The parameter called ``name``, or None."""
        return next((p for p in self.params if p.name == name), None)

    def component_of(self, task: TaskIR | str) -> ComponentSpec:
        """The component a task runs."""
        task = self.task(task) if isinstance(task, str) else task
        return self.components[task.component]

    def ancestors(self, group_id: str | None) -> list[GroupIR]:
        """The group and its enclosing groups, innermost first."""
        chain: list[GroupIR] = []
        while group_id is not None:
            group = self.group(group_id)
            if group in chain:
                from dagwright.errors import ValidationError

                raise ValidationError(
                    f"block '{group_id}' is its own ancestor",
                    pipeline=self.name,
                    block=group_id,
                    field="parent",
                    fix="give each block a parent outside it",
                )
            chain.append(group)
            group_id = group.parent
        return chain

    def to_dict(self) -> dict[str, Any]:
        """The IR as plain data, ready for YAML or JSON."""
        data: dict[str, Any] = {"apiVersion": IR_VERSION, "kind": "Pipeline", "name": self.name}
        if self.description:
            data["description"] = self.description
        if self.schedule:
            data["schedule"] = self.schedule
        if self.notify is not None:
            data["notify"] = self.notify.to_dict()
        data["params"] = [p.to_dict() for p in self.params]
        data["outputs"] = self.outputs
        if self.optional_outputs:
            data["optional_outputs"] = self.optional_outputs
        data["groups"] = [g.to_dict() for g in self.groups]
        data["tasks"] = [t.to_dict() for t in self.tasks]
        data["components"] = {
            cid: {"digest": c.digest, **c.to_dict()} for cid, c in self.components.items()
        }
        return data

    @classmethod
    def from_dict(cls, data: Any) -> PipelineIR:
        """Read an IR written by ``to_dict``.

        Raises:
            ValidationError: for anything else: another kind of document, a missing or
                unknown field, a component edited after it was compiled.
        """
        from dagwright.errors import ValidationError

        if not isinstance(data, dict):
            raise ValidationError(
                f"an IR is a mapping, not {type(data).__name__}",
                fix="give a file written by 'dagwright compile --target ir'",
            )
        if data.get("apiVersion") != IR_VERSION or data.get("kind") != "Pipeline":
            raise ValidationError(
                f"not a dagwright pipeline IR (apiVersion {data.get('apiVersion')!r}, "
                f"kind {data.get('kind')!r})",
                field="apiVersion",
                fix=f"give a file written by 'dagwright compile --target ir' ({IR_VERSION})",
            )
        from dagwright.pipelines.shapes import check_shapes

        check_shapes(data)
        try:
            return cls(
                name=data["name"],
                description=data.get("description", ""),
                schedule=data.get("schedule"),
                notify=_notification(data),
                params=[IOSpec.from_dict(p) for p in data.get("params", [])],
                outputs=dict(data.get("outputs", {})),
                optional_outputs=list(data.get("optional_outputs", [])),
                groups=[GroupIR.from_dict(g) for g in data.get("groups", [])],
                tasks=[TaskIR.from_dict(t) for t in data.get("tasks", [])],
                components={
                    cid: _component(cid, c) for cid, c in data.get("components", {}).items()
                },
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(
                f"malformed IR ({type(exc).__name__}: {exc})",
                pipeline=str(data.get("name", "")) or None,
                fix="recompile it with 'dagwright compile --target ir'",
            ) from exc

    def to_yaml(self) -> str:
        """The IR as YAML (component sources as literal blocks)."""
        from dagwright.specs import yaml_text

        return yaml_text(self.to_dict(), fast=False)

    def to_json(self) -> str:
        """The IR as JSON."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_yaml(cls, text: str) -> PipelineIR:
        """Read an IR from YAML text; a ValidationError when it is not one."""
        import yaml  # here: a pipeline that is traced, not read, never needs it (~10 ms)

        return cls.from_dict(_parsed(yaml.safe_load, text, yaml.YAMLError))

    @classmethod
    def from_json(cls, text: str) -> PipelineIR:
        """Read an IR from JSON text; a ValidationError when it is not one."""
        return cls.from_dict(_parsed(json.loads, text, json.JSONDecodeError))

    def save(self, path: str | Path) -> Path:
        """Write as JSON when the path ends in .json, else YAML."""
        path = Path(path)
        text = self.to_json() if path.suffix == ".json" else self.to_yaml()
        from dagwright.writes import write_file

        return write_file(path, text)

    @classmethod
    def load(cls, path: str | Path) -> PipelineIR:
        """Read an IR file (JSON by its suffix, else YAML)."""
        text = Path(path).read_text(encoding="utf-8")
        return cls.from_json(text) if str(path).endswith(".json") else cls.from_yaml(text)


def _notification(data: dict[str, Any]) -> Notification | None:
    if "notify" not in data:
        return None
    from dagwright.pipelines.notify import Notification

    return Notification.from_dict(data["notify"])


def _parsed(parse: Any, text: str, error: type[Exception]) -> Any:
    from dagwright.errors import ValidationError

    try:
        return parse(text)
    except error as exc:
        raise ValidationError(f"the IR file does not parse ({exc})") from exc


def _component(cid: str, data: dict[str, Any]) -> ComponentSpec:
    """Read one component, refusing one whose content no longer matches its digest."""
    from dagwright.errors import ValidationError

    fields = dict(data)
    recorded = fields.pop("digest", None)
    spec = ComponentSpec.from_dict(fields)
    if recorded is not None and recorded != spec.digest:
        raise ValidationError(
            f"component '{cid}' was changed after it was compiled (its digest no longer matches)",
            field="digest",
            fix="recompile the pipeline from its Python source, or delete the digest line",
        )
    return spec
