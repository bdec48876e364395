"""What a traced pipeline passes around: references to values that exist only at run time.

Comparing a reference (``task.output > 0.9``) builds a Condition, an expression tree that the
IR stores as data; ``&``, ``|`` and ``~`` combine conditions.
"""

from __future__ import annotations

import abc
import copy
import json
from typing import Any

from dagwright.errors import UsageError, ValidationError
from dagwright.pipelines.ir import TaskIR, Value

_OPS = {"eq", "ne", "lt", "le", "gt", "ge"}


class Condition:
    """A boolean expression over references and constants."""

    def __init__(self, expr: Value) -> None:
        self.expr = expr

    def __and__(self, other: Condition) -> Condition:
        return Condition({"op": "and", "args": [self.expr, as_condition(other).expr]})

    def __or__(self, other: Condition) -> Condition:
        return Condition({"op": "or", "args": [self.expr, as_condition(other).expr]})

    def __invert__(self) -> Condition:
        return Condition({"op": "not", "arg": self.expr})

    def __rand__(self, other: Any) -> Condition:
        return as_condition(other) & self

    def __ror__(self, other: Any) -> Condition:
        return as_condition(other) | self

    def __bool__(self) -> bool:
        raise ValidationError(
            "a pipeline condition has no value while the pipeline is built",
            fix="combine conditions with &, | and ~ instead of and, or, not, chained "
            "comparisons (1 < x < 5) or 'in'",
        )

    def __repr__(self) -> str:
        return f"Condition({self.expr!r})"


class Operand(abc.ABC):
    """Something whose value is known only at run time, usable in conditions."""

    @abc.abstractmethod
    def to_value(self) -> Value:
        """The IR value that refers to it."""

    def _compare(self, op: str, other: Any) -> Condition:
        return Condition({"op": op, "left": self.to_value(), "right": to_value(other)})

    def __eq__(self, other: object) -> Condition:  # type: ignore[override]
        return self._compare("eq", other)

    def __ne__(self, other: object) -> Condition:  # type: ignore[override]
        return self._compare("ne", other)

    def __lt__(self, other: Any) -> Condition:
        return self._compare("lt", other)

    def __le__(self, other: Any) -> Condition:
        return self._compare("le", other)

    def __gt__(self, other: Any) -> Condition:
        return self._compare("gt", other)

    def __ge__(self, other: Any) -> Condition:
        return self._compare("ge", other)

    def __and__(self, other: Any) -> Condition:
        return as_condition(self) & other

    def __or__(self, other: Any) -> Condition:
        return as_condition(self) | other

    def __invert__(self) -> Condition:
        return ~as_condition(self)

    def __bool__(self) -> bool:
        raise ValidationError(
            f"{self!r} has no value while the pipeline is built; use it in If(...) "
            "or pass it to a component"
        )

    __hash__ = object.__hash__


class ParamRef(Operand):
    """A pipeline parameter."""

    def __init__(self, name: str, builder: Any) -> None:
        self.name = name
        self.builder = builder

    def to_value(self) -> Value:
        """The parameter as an IR value."""
        return {"param": self.name}

    def __repr__(self) -> str:
        return f"<param {self.name}>"


class OutputRef(Operand):
    """One output of one task.

    It holds the task's IR record, not its name, so a reference taken before ``.named(...)``
    still points at the task afterwards.
    """

    def __init__(self, task: TaskIR, output: str, builder: Any) -> None:
        self._task = task
        self.output = output
        self.builder = builder

    @property
    def task(self) -> str:
        """The name of the task that makes the output."""
        return self._task.name

    def to_value(self) -> Value:
        """The output as an IR value."""
        return {"task": self.task, "output": self.output}

    def __repr__(self) -> str:
        return f"<output {self.task}.{self.output}>"


class LoopItem(Operand):
    """The current item of a ParallelFor; ``item["key"]`` or ``item.key`` picks a field."""

    def __init__(self, loop_id: str, key: str | None = None) -> None:
        self.loop_id = loop_id
        self.key = key

    def to_value(self) -> Value:
        """The loop item (or one key of it) as an IR value."""
        value: Value = {"loop_item": self.loop_id}
        if self.key is not None:
            value["key"] = self.key
        return value

    def __getitem__(self, key: str) -> LoopItem:
        if self.key is not None:
            raise ValidationError(
                f"item['{self.key}']['{key}']: only one level of item fields can be picked",
                fix="loop over items whose fields are the values you need",
            )
        return LoopItem(self.loop_id, key)

    def __getattr__(self, key: str) -> LoopItem:
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __repr__(self) -> str:
        return f"<item of {self.loop_id}{'.' + self.key if self.key else ''}>"


class Collected:
    """The values of one task output from every iteration of the loops around that task."""

    def __init__(self, output: OutputRef) -> None:
        if not isinstance(output, OutputRef):
            raise ValidationError(
                f"Collected takes a task output, not {output!r}",
                fix="write Collected(task.output) or Collected(task.outputs['name'])",
            )
        self.ref = output

    def to_value(self) -> Value:
        """The gathered output as an IR value."""
        return {"collected": self.ref.to_value()}

    def __repr__(self) -> str:
        return f"Collected({self.ref!r})"


class OneOf(Operand):
    """The output of whichever task ran, of tasks in the branches of one If/Elif/Else chain
    (KFP's ``dsl.OneOf``): ``OneOf(a.output, b.output)``, used after the chain, which must end
    in an Else."""

    def __init__(self, *outputs: Any) -> None:
        if not outputs or not all(isinstance(o, OutputRef) for o in outputs):
            bad = next((o for o in outputs if not isinstance(o, OutputRef)), None)
            raise ValidationError(
                f"OneOf takes task outputs, not {bad!r}" if outputs else "OneOf takes outputs",
                field="OneOf",
                fix="write OneOf(a.output, b.outputs['name'], ...) with a task of each branch",
            )
        self.refs: tuple[OutputRef, ...] = outputs
        self.builder = outputs[0].builder

    def to_value(self) -> Value:
        """The choice as an IR value."""
        return {"one_of": [ref.to_value() for ref in self.refs]}

    def __repr__(self) -> str:
        return f"OneOf({', '.join(map(repr, self.refs))})"


def to_value(obj: Any) -> Value:
    """The IR value for a reference or a JSON-compatible constant.

    Raises:
        TypeError: for anything that can be neither.
    """
    if isinstance(obj, (Operand, Collected)):
        return obj.to_value()
    if isinstance(obj, Condition):
        raise UsageError("a condition cannot be passed as a value; use it in If(...)")
    if hasattr(obj, "outputs") and hasattr(obj, "after"):
        raise UsageError(
            f"{obj!r} is a step, not a value; pass one of its outputs "
            "(step.output or step.outputs['name'])"
        )
    if _holds_reference(obj):
        raise UsageError(
            f"{obj!r} holds task outputs or parameters inside a list or dict; "
            "pass each one as an input of its own"
        )
    try:
        json.dumps(obj)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{obj!r} is not JSON-serializable ({exc})") from exc
    return {"constant": copy.deepcopy(obj)}  # the IR must not change when the caller's does


def _holds_reference(obj: Any) -> bool:
    if isinstance(obj, (Operand, Collected)):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_holds_reference(v) for v in obj)
    if isinstance(obj, dict):
        return any(_holds_reference(v) for v in obj.values())
    return False


def as_condition(obj: Any) -> Condition:
    """A Condition, or ``ref == True`` for a bare reference."""
    if isinstance(obj, Condition):
        return obj
    if isinstance(obj, Operand):
        return obj == True  # noqa: E712  (builds an expression, not a comparison)
    if isinstance(obj, bool):
        return Condition({"constant": obj})
    raise UsageError(
        f"If(...) takes a condition on task outputs or pipeline parameters, not {obj!r}"
    )
