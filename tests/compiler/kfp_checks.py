"""A consistency check of a KFP PipelineSpec: does every reference resolve where KFP looks?

KFP's backend resolves a task's inputs only from its own DAG's inputs and its sibling tasks'
outputs; this walks every DAG and reports each reference that would not resolve, each type that
changes on the way, and each output read without a dependency on its producer.
"""

from __future__ import annotations

import re
from typing import Any


def problems(spec: dict[str, Any]) -> list[str]:
    """Everything wrong with ``spec`` (the YAML as a dict); empty when it is consistent."""
    comps = {**spec.get("components", {}), "<root>": spec["root"]}
    executors = spec.get("deploymentSpec", {}).get("executors", {})
    found: list[str] = []
    for name, comp in comps.items():
        label = comp.get("executorLabel")
        if label is not None and label not in executors:
            found.append(f"{name}: executor {label} is missing")
        if "dag" in comp:
            found += _dag_problems(name, comp, comps)
    return found


def _defs(comp: dict[str, Any], side: str) -> tuple[dict[str, Any], dict[str, Any]]:
    defs = comp.get(side, {})
    return defs.get("parameters", {}), defs.get("artifacts", {})


def _dag_problems(name: str, comp: dict[str, Any], comps: dict[str, Any]) -> list[str]:
    found: list[str] = []
    own_params, own_arts = _defs(comp, "inputDefinitions")
    tasks = comp["dag"].get("tasks", {})

    def outputs_of(task: str) -> tuple[dict[str, Any], dict[str, Any]]:
        return _defs(comps[tasks[task]["componentRef"]["name"]], "outputDefinitions")

    for task_name, task in tasks.items():
        where = f"{name}/{task_name}"
        ref = task["componentRef"]["name"]
        if ref not in comps:
            found.append(f"{where}: component {ref} is missing")
            continue
        params, arts = _defs(comps[ref], "inputDefinitions")
        given = task.get("inputs", {})
        item = task.get("parameterIterator", {}).get("itemInput")
        producers: set[str] = set()
        for key, source in given.get("parameters", {}).items():
            if key not in params:
                found.append(f"{where}: parameter {key} is not an input of {ref}")
                continue
            want = params[key]["parameterType"]
            if "componentInputParameter" in source:
                got = own_params.get(source["componentInputParameter"])
                if got is None:
                    found.append(f"{where}: {source['componentInputParameter']} is not an input")
                elif "parameterExpressionSelector" not in source and got["parameterType"] != want:
                    found.append(f"{where}: {key} is {want}, fed {got['parameterType']}")
            if "taskOutputParameter" in source:
                out = source["taskOutputParameter"]
                producers.add(out["producerTask"])
                if out["producerTask"] not in tasks:
                    found.append(f"{where}: producer {out['producerTask']} is not a sibling")
                    continue
                got = outputs_of(out["producerTask"])[0].get(out["outputParameterKey"])
                if got is None:
                    found.append(f"{where}: {out['outputParameterKey']} is not an output")
                elif got["parameterType"] != want:
                    found.append(f"{where}: {key} is {want}, fed {got['parameterType']}")
        for key, source in given.get("artifacts", {}).items():
            if key not in arts:
                found.append(f"{where}: artifact {key} is not an input of {ref}")
            if (
                "componentInputArtifact" in source
                and source["componentInputArtifact"] not in own_arts
            ):
                found.append(f"{where}: {source['componentInputArtifact']} is not an input")
            if "taskOutputArtifact" in source:
                out = source["taskOutputArtifact"]
                producers.add(out["producerTask"])
                if out["producerTask"] not in tasks:
                    found.append(f"{where}: producer {out['producerTask']} is not a sibling")
                elif out["outputArtifactKey"] not in outputs_of(out["producerTask"])[1]:
                    found.append(f"{where}: {out['outputArtifactKey']} is not an output")
        for key, spec in {**params, **arts}.items():
            sent = {**given.get("parameters", {}), **given.get("artifacts", {})}
            if not spec.get("isOptional") and key not in sent and key != item:
                found.append(f"{where}: required input {key} of {ref} is not given")
        depends = set(task.get("dependentTasks", []))
        if producers - depends:
            found.append(f"{where}: reads {sorted(producers - depends)} without depending on it")
        found += [f"{where}: depends on {d}, not a sibling" for d in depends if d not in tasks]
        condition = task.get("triggerPolicy", {}).get("condition", "")
        for read in re.findall(r"inputs\.parameter_values\['([^']*)'\]", condition):
            if read not in given.get("parameters", {}):
                found.append(f"{where}: the condition reads {read}, not an input of the task")
        items = task.get("parameterIterator", {}).get("items", {}).get("inputParameter")
        if items and items not in given.get("parameters", {}):
            found.append(f"{where}: the loop's items {items} are not an input of the task")
        if item and item not in params:
            found.append(f"{where}: the loop item {item} is not an input of {ref}")
    outputs = comp["dag"].get("outputs", {})
    declared_params, declared_arts = _defs(comp, "outputDefinitions")
    for key, out in outputs.get("parameters", {}).items():
        # one producer, or the branch that ran of several (dsl.OneOf's valueFromOneof)
        selectors = out.get("valueFromOneof", {}).get("parameterSelectors", [])
        for selector in [out["valueFromParameter"]] if "valueFromParameter" in out else selectors:
            if key not in declared_params:
                found.append(f"{name}: DAG output {key} is not declared")
            elif selector["producerSubtask"] not in tasks:
                found.append(f"{name}: DAG output {key} comes from no task of the DAG")
            elif selector["outputParameterKey"] not in outputs_of(selector["producerSubtask"])[0]:
                found.append(f"{name}: DAG output {key} reads a missing output")
            elif selectors and (  # a loop's output is a list of its producer's (Collected)
                outputs_of(selector["producerSubtask"])[0][selector["outputParameterKey"]][
                    "parameterType"
                ]
                != declared_params[key]["parameterType"]
            ):
                found.append(f"{name}: DAG output {key} changes type on the way")
        if not selectors and "valueFromParameter" not in out:
            found.append(f"{name}: DAG output {key} names no producer")
    for key, out in outputs.get("artifacts", {}).items():
        for selector in out["artifactSelectors"]:
            if key not in declared_arts:
                found.append(f"{name}: DAG output {key} is not declared")
            elif selector["producerSubtask"] not in tasks:
                found.append(f"{name}: DAG output {key} comes from no task of the DAG")
            elif selector["outputArtifactKey"] not in outputs_of(selector["producerSubtask"])[1]:
                found.append(f"{name}: DAG output {key} reads a missing output")
    return found
