"""Why a step was, or was not, served from the cache (``dagwright cache explain RUN STEP``).

It reads what the engine recorded for each step (``engine/cache.look_up``, kept in
``steps.inputs``): the cache key, its parts and what the lookup found. A hit names the run and
task whose entry served it; an entry found but unusable says why (its artifact changed or
gone). For a miss, the parts are compared with those of the nearest earlier step of the same
component, and each part that differs is named (``explain_diff.py``).

"Nearest" is, among the steps recorded before this one (by the time each was looked up) that
succeeded: the most recent of the same task in a run of the same pipeline, at the same loop
iteration; else of the same task at any iteration; else the most recent of any task of the
same component digest, in any pipeline of the store; else of a component of the same name.
"""

from __future__ import annotations

import json
from typing import Any

from dagwright.engine.explain_diff import differences
from dagwright.errors import ValidationError
from dagwright.store.rundb import RunDatabase


def explain(db: RunDatabase, run: str, step: str) -> dict[str, Any]:
    """What ``dagwright cache explain`` says of STEP (``train`` or ``train[0,2]``) of RUN (an
    id or an unambiguous prefix), as data: ``run_id``, ``task``, ``iteration``, ``status``,
    ``key``, ``parts``, ``outcome`` (hit, miss, unusable, disabled or unrecorded), ``source``
    (the entry's run and task), ``reason``, ``nearest`` (run, task, iteration and how it was
    chosen), ``differences`` (each a dict with ``text``) and ``lines``, the same in words.

    Raises:
        ValidationError: (field ``RUN`` or ``STEP``) for a run or step that is not recorded.
    """
    found = db.find_run(run)
    row = _step_row(db, found["run_id"], step)
    task, iteration = row["task"], row["iteration"]
    parts = db.step_inputs(found["run_id"], task, iteration)
    result: dict[str, Any] = {
        "run_id": found["run_id"],
        "task": task,
        "iteration": iteration,
        "status": row["status"],
        "key": row["cache_key"],
        "parts": None,
        "outcome": "unrecorded",
        "source": None,
        "reason": None,
        "nearest": None,
        "differences": [],
    }
    label = _label(task, iteration)
    if parts is None:
        result["lines"] = [
            f"step {label} ({row['status'].replace('_', ' ')}) has no cache key parts recorded: "
            "it was not given its inputs, or an older dagwright ran it"
        ]
        return result
    result["key"] = parts["key"]
    result["parts"] = {k: parts.get(k) for k in _PARTS}
    lines = [f"step {label} of run {found['run_id']}", *_part_lines(parts)]
    result["lines"] = lines + _verdict(db, found, row, parts, result)
    return result


def _verdict(
    db: RunDatabase,
    found: dict[str, Any],
    row: dict[str, Any],
    parts: dict[str, Any],
    result: dict[str, Any],
) -> list[str]:
    """The lines after the parts: hit, unusable entry, caching off, or a miss and what differs
    from the nearest earlier step (``result`` filled in as it goes)."""
    cache = parts["cache"]
    if not cache["enabled"]:
        result["outcome"] = "disabled"
        how = (
            "the run's --no-cache"
            if cache["set_by"] == "run"
            else "its component's cache=False, or the task's set_caching_options(False)"
        )
        return [f"caching disabled for this task ({how})"]
    entry = {k: cache[k] for k in ("run_id", "task") if k in cache}
    result["outcome"] = cache["result"]
    made = f"run {entry.get('run_id')} ({entry.get('task')})"
    if cache["result"] == "hit":
        result["source"] = entry
        return [f"hit: served from the cache entry made by {made}"]
    if cache["result"] == "unusable":
        result["source"], result["reason"] = entry, cache.get("reason")
        return [f"miss: the cache entry made by {made} could not be used: {cache.get('reason')}"]
    lines = ["miss: no cache entry had this key"]
    nearest = _nearest(db, found, row["task"], row["iteration"], parts)
    if nearest is None:
        return [*lines, f"no earlier run of this component ({parts['component']['name']})"]
    before = nearest["parts"]
    result["nearest"] = {k: nearest[k] for k in ("run_id", "task", "iteration", "chosen")}
    changes = differences(
        before,
        parts,
        _component(db, nearest["run_id"], before),
        _component(db, found["run_id"], parts),
    )
    result["differences"] = changes
    where = f"run {nearest['run_id']} ({_label(nearest['task'], nearest['iteration'])})"
    lines.append(f"nearest earlier step: {where}, {nearest['chosen']}")
    if not before["cache"]["enabled"]:
        lines.append("  (it ran with caching disabled: it made no cache entry)")
    lines += [f"  {c['text']}" for c in changes]
    if not any(c["part"] != "masked" for c in changes):
        lines.append(f"  {_same_key(db, before, parts)}")
    return lines


_PARTS = ("component", "cache_version", "parameters", "masked", "artifacts")


def _label(task: str, iteration: str) -> str:
    return f"{task}[{iteration.replace('.', ',')}]" if iteration else task


def _part_lines(parts: dict[str, Any]) -> list[str]:
    """The key and its parts, one line each."""
    lines = [
        f"  key            {parts['key']}",
        f"  component      {parts['component']['name']} (digest {parts['component']['digest']})",
        f"  cache_version  {_text(parts['cache_version'])}",
    ]
    masked = set(parts.get("masked") or ())
    for name, value in sorted(parts["parameters"].items()):
        shown = "*** (masked; cannot compare)" if name in masked else json.dumps(value, default=str)
        lines.append(f"  parameter {name} = {shown}")
    for name, value in sorted(parts["artifacts"].items()):
        items = value if isinstance(value, list) else [value]
        digests = ", ".join(_text(i.get("digest")) for i in items if isinstance(i, dict))
        lines.append(f"  input {name}: digest {digests or '-'}")
    return lines


def _text(value: Any) -> str:
    return "none" if value is None else str(value)


def _step_row(db: RunDatabase, run_id: str, step: str) -> dict[str, Any]:
    """The step row STEP names: ``task`` alone when it ran once, else ``task[i,j]``."""
    rows = db.steps(run_id)
    task, _, rest = step.partition("[")
    wanted = rest.rstrip("]").replace(",", ".").replace(" ", "") if rest else None
    mine = [r for r in rows if r["task"] == task]
    if wanted is not None:
        mine = [r for r in mine if r["iteration"] == wanted]
    if len(mine) == 1:
        return mine[0]
    if not mine:
        known = sorted({_label(r["task"], r["iteration"]) for r in rows})
        raise ValidationError(
            f"run '{run_id}' has no step '{step}'",
            field="STEP",
            fix=f"give one of: {', '.join(known[:12])}" if known else "this run has no steps",
        )
    first = _label(task, mine[0]["iteration"])
    raise ValidationError(
        f"step '{task}' ran {len(mine)} times in run '{run_id}' (a loop)",
        field="STEP",
        fix=f"name one iteration, e.g. {first}",
    )


def _nearest(
    db: RunDatabase, run: dict[str, Any], task: str, iteration: str, parts: dict[str, Any]
) -> dict[str, Any] | None:
    """The nearest earlier step of the same component (see the module's docstring), with
    ``chosen`` saying by which rule."""
    at = parts.get("at", float("inf"))
    pipeline, name = run["pipeline"], parts["component"]["name"]
    same_task = {"pipeline": pipeline, "task": task}
    tiers: list[tuple[str, dict[str, Any]]] = [
        (f"the same task in pipeline {pipeline}", same_task),
        (
            "the latest step with the same component digest",
            {"digest": parts["component"]["digest"]},
        ),
        (f"the latest step of component {name}", {"component": name}),
    ]
    if iteration:  # in a loop: the same iteration first
        here = f"the same task and loop iteration in pipeline {pipeline}"
        tiers.insert(0, (here, {**same_task, "iteration": iteration}))
    for chosen, only in tiers:
        found = db.earlier_inputs(at, limit=1, **only)
        if found:
            return {**found[0], "parts": found[0]["inputs"], "chosen": chosen}
    return None


def _component(db: RunDatabase, run_id: str, parts: dict[str, Any]) -> dict[str, Any] | None:
    """The component of that digest as the run's IR keeps it (source and options), if any."""
    try:
        components = json.loads(db.find_run(run_id)["ir"]).get("components", {})
    except (TypeError, ValueError, AttributeError):  # an IR this version cannot read
        return None
    for data in components.values():
        if isinstance(data, dict) and data.get("digest") == parts["component"]["digest"]:
            return data
    return None


def _same_key(db: RunDatabase, before: dict[str, Any], parts: dict[str, Any]) -> str:
    """Why nothing differs and still no entry served: the earlier step made none, or it is
    gone; or only a masked value can differ."""
    if before["key"] != parts["key"]:
        if parts.get("masked") or before.get("masked"):
            return "only a masked parameter can differ (its value is not kept)"
        return (
            f"the keys differ ({before['key'][:12]}… -> {parts['key'][:12]}…) in no part "
            "kept in a form that can be compared"
        )
    if not before["cache"]["enabled"]:
        return "it had the same key but ran with caching disabled, so it made no cache entry"
    if db.cache_entry(parts["key"]) is None:
        return "it had the same key, but its cache entry was removed since (runs rm or gc)"
    return "it had the same key; its cache entry was made after this step looked it up"
