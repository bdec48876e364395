"""A test stand-in for the Argo controller. It is not Argo: no Argo controller runs here.

It walks a compiled Workflow the way the controller does, as far as dagwright's specs use it:
DAG templates in dependency order (``dependencies``), ``when`` evaluated after substituting
``{{...}}`` placeholders (govaluate's ``&&``, ``||``, ``!``, quoted strings), ``withItems`` /
``withParam`` fan-out with ``{{item}}`` and ``{{item.key}}`` and a loop template's
``parallelism``, output parameters of a fan-out aggregated into a JSON list as Argo v4 does
(``aggregated_json_value_list``: the values embedded as JSON only when every one is a JSON object
or list, else the list of their texts), input artifacts taken from the task's arguments as
Argo's ``ProcessArgs`` takes them (``optional`` honoured on the argument only), exit hooks,
``retryStrategy.limit`` and ``activeDeadlineSeconds``. Each container template's command runs
as a local subprocess with its own folder standing in for the pod's paths; output parameters
are read from their files, and artifacts are kept in a folder standing in for the artifact
repository, under their keys.

Resource templates (a step whose runtime makes a SparkApplication, an MPIJob ...) need a
Kubernetes API server and an operator, neither of which runs here: the stand-in refuses them
with ``ResourceTemplateError``, unless made with ``record_resources=True``. Then it substitutes
the template's placeholders into the manifest, parses it as YAML and keeps it in ``created``,
and counts the step as succeeded without running anything: that checks what Argo would send to
the API server, not what the resource would do.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

_VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")


@dataclass
class Node:
    """One task's outcome: phase, output parameters (text) and artifacts (local paths)."""

    phase: str
    params: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)


class ResourceTemplateError(RuntimeError):
    """A resource template reached the stand-in, which cannot create Kubernetes resources."""


class ArgoControllerStandIn:
    """Runs one compiled Workflow manifest locally (see the module docstring)."""

    def __init__(
        self, manifest: dict[str, Any], folder: Path, record_resources: bool = False
    ) -> None:
        self.record_resources = record_resources
        self.created: list[dict[str, Any]] = []  # manifests of resource templates, substituted
        self.spec = manifest["spec"]
        self.templates = {t["name"]: t for t in self.spec["templates"]}
        self.folder = folder
        self.repository = folder / "repository"
        self.name = manifest["metadata"].get("generateName", "wf-") + "stand-in"
        self.pods = itertools.count()
        self.ran: list[str] = []  # container templates run, in order: what Argo would schedule
        bin_dir = folder / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        python3 = bin_dir / "python3"
        if not python3.exists():
            # pods say python3; here it is this interpreter. A script, not a symlink: a venv's
            # interpreter started through a link outside the venv finds no pyvenv.cfg beside it
            # and starts as the base interpreter, without the venv's packages.
            python3.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
            python3.chmod(0o755)
        self.env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
        dropped = dropped_location_fields(manifest)
        assert not dropped, f"Argo would store these artifacts in the default repository: {dropped}"

    def run(self, arguments: dict[str, str] | None = None) -> Node:
        """Run the entrypoint; the result holds the entry template's outputs."""
        given = dict(arguments or {})
        self.parameters = {
            p["name"]: given.pop(p["name"], p.get("value", ""))
            for p in self.spec.get("arguments", {}).get("parameters", [])
        }
        assert not given, f"unknown arguments {given}"
        return self.template(self.spec["entrypoint"], {}, {})

    # substitution

    def substitute(self, text: str, scope: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in scope:
                return scope[name]
            if name.startswith("workflow.parameters."):
                return self.parameters[name.split(".", 2)[2]]
            if name == "workflow.name":
                return self.name
            raise KeyError(f"unresolved variable {{{{{name}}}}} in {text!r}")

        return _VARIABLE.sub(value, text)

    # templates

    def template(
        self,
        name: str,
        params: dict[str, str],
        artifacts: dict[str, str],
        optional: frozenset[str] = frozenset(),
    ) -> Node:
        """Run template ``name`` with its arguments; ``optional`` names the argument artifacts
        that say ``optional: true``."""
        template = self.templates[name]
        inputs = template.get("inputs", {})
        scope = {}
        for p in inputs.get("parameters", []):
            scope[f"inputs.parameters.{p['name']}"] = params.get(p["name"], p.get("default"))
            assert scope[f"inputs.parameters.{p['name']}"] is not None, f"{name}: {p['name']}"
        if "dag" in template:
            return self.dag(template, scope, artifacts)
        if "resource" in template:
            return self.resource(template, scope)
        return self.container(template, scope, artifacts, optional)

    def resource(self, template: dict[str, Any], scope: dict[str, str]) -> Node:
        kind = yaml.safe_load(template["resource"]["manifest"]).get("kind")
        if not self.record_resources:
            raise ResourceTemplateError(
                f"template '{template['name']}' creates a {kind}; the stand-in has no "
                "Kubernetes API server or operator to create and run it (pass "
                "record_resources=True to record its manifest instead)"
            )
        pod = f"{self.name}-{template['name']}-{next(self.pods)}"
        text = self.substitute(template["resource"]["manifest"], {**scope, "pod.name": pod})
        self.created.append(yaml.safe_load(text))
        self.ran.append(template["name"])
        return Node("Succeeded")  # recorded, not run: see the module docstring

    def dag(
        self, template: dict[str, Any], scope: dict[str, str], artifacts: dict[str, str]
    ) -> Node:
        tasks = {t["name"]: t for t in template["dag"]["tasks"]}
        nodes: dict[str, Node] = {}
        artifact_scope = {f"inputs.artifacts.{k}": v for k, v in artifacts.items()}
        while len(nodes) < len(tasks):
            ready = [
                t
                for name, t in tasks.items()
                if name not in nodes and all(d in nodes for d in t.get("dependencies", []))
            ]
            for task in ready:
                blocked = any(
                    nodes[d].phase not in ("Succeeded", "Skipped")
                    for d in task.get("dependencies", [])
                )
                nodes[task["name"]] = (
                    Node("Omitted")
                    if blocked
                    else self.task(task, scope, artifact_scope, nodes, tasks)
                )
        phase = "Failed" if any(n.phase == "Failed" for n in nodes.values()) else "Succeeded"
        out = Node(phase)
        if phase == "Succeeded":
            task_scope = self._task_scope(nodes)
            for p in template.get("outputs", {}).get("parameters", []):
                try:
                    out.params[p["name"]] = self.substitute(
                        p["valueFrom"]["parameter"], {**scope, **task_scope}
                    )
                except KeyError:  # a skipped task's output: Argo takes the default, if any
                    if "default" not in p["valueFrom"]:
                        raise
                    out.params[p["name"]] = p["valueFrom"]["default"]
            for a in template.get("outputs", {}).get("artifacts", []):
                out.artifacts[a["name"]] = self._artifact_from(
                    a["from"], task_scope, artifact_scope
                )
        return out

    def _task_scope(self, nodes: dict[str, Node]) -> dict[str, str]:
        found = {}
        for name, node in nodes.items():
            for key, value in node.params.items():
                found[f"tasks.{name}.outputs.parameters.{key}"] = value
            for key, value in node.artifacts.items():
                found[f"tasks.{name}.outputs.artifacts.{key}"] = value
        return found

    def _artifact_from(self, text: str, tasks: dict[str, str], inputs: dict[str, str]) -> str:
        name = text.strip()[2:-2].strip()
        return {**tasks, **inputs}[name]

    def task(
        self,
        task: dict[str, Any],
        scope: dict[str, str],
        artifact_scope: dict[str, str],
        nodes: dict[str, Node],
        tasks: dict[str, Any],
    ) -> Node:
        local = {**scope, **self._task_scope(nodes)}
        if "when" in task and not evaluate(self.substitute(task["when"], local)):
            return Node("Skipped")
        if "withItems" in task or "withParam" in task:
            items = task.get("withItems")
            if items is None:
                items = json.loads(self.substitute(task["withParam"], local))
            node = self.fan_out(task, items, local, artifact_scope)
        else:
            node = self.call(task, local, artifact_scope)
        hook = task.get("hooks", {}).get("exit")
        if hook is not None:  # Argo resolves a hook from the hooked task's ancestors only
            ancestors = self._ancestors(task["name"], tasks)
            seen = {name: n for name, n in nodes.items() if name in ancestors}
            self.call(hook, {**scope, **self._task_scope(seen)}, artifact_scope)
        return node

    @staticmethod
    def _ancestors(name: str, tasks: dict[str, Any]) -> set[str]:
        found: set[str] = set()
        todo = list(tasks[name].get("dependencies", []))
        while todo:
            upstream = todo.pop()
            if upstream not in found:
                found.add(upstream)
                todo += tasks[upstream].get("dependencies", [])
        return found

    def call(
        self, task: dict[str, Any], scope: dict[str, str], artifact_scope: dict[str, str]
    ) -> Node:
        args = task.get("arguments", {})
        params = {p["name"]: self.substitute(p["value"], scope) for p in args.get("parameters", [])}
        artifacts = {}
        optional = frozenset(a["name"] for a in args.get("artifacts", []) if a.get("optional"))
        for a in args.get("artifacts", []):
            if "from" in a:
                artifacts[a["name"]] = self._artifact_from(
                    a["from"],
                    {k: v for k, v in scope.items() if ".artifacts." in k},
                    artifact_scope,
                )
            else:  # a location: read every object under the key prefix
                location = a.get("s3") or a.get("gcs")
                artifacts[a["name"]] = str(
                    self.repository / self.substitute(location["key"], scope)
                )
        return self.template(task["template"], params, artifacts, optional)

    def fan_out(
        self,
        task: dict[str, Any],
        items: list[Any],
        scope: dict[str, str],
        artifact_scope: dict[str, str],
    ) -> Node:
        def one(item: Any) -> Node:
            local = {**scope, "item": item if isinstance(item, str) else json.dumps(item)}
            if isinstance(item, dict):
                for key, value in item.items():
                    local[f"item.{key}"] = value if isinstance(value, str) else json.dumps(value)
            return self.call(task, local, artifact_scope)

        results = [one(item) for item in items]  # one at a time: parallelism is not the point
        phase = "Failed" if any(r.phase == "Failed" for r in results) else "Succeeded"
        aggregated: dict[str, list[str]] = {}
        for result in results:
            for key, value in result.params.items():
                aggregated.setdefault(key, []).append(value)
        # no iteration, no aggregate: Argo leaves the parameter unset (a default fills it)
        return Node(phase, {k: aggregated_json_value_list(v) for k, v in aggregated.items()})

    def container(
        self,
        template: dict[str, Any],
        scope: dict[str, str],
        artifacts: dict[str, str],
        optional: frozenset[str] = frozenset(),
    ) -> Node:
        pod = f"{self.name}-{template['name']}-{next(self.pods)}"
        home = self.folder / "pods" / pod
        local = {**scope, "pod.name": pod}
        for a in template.get("inputs", {}).get("artifacts", []):
            # Argo's ProcessArgs (workflow/common/util.go) replaces the template's artifact by
            # the task's argument of that name, keeping only path, mode and recurseMode: the
            # template's ``optional`` counts only when no argument is given at all
            if a["name"] not in artifacts:
                if not a.get("optional"):
                    raise KeyError(f"inputs.artifacts.{a['name']} was not supplied")
                continue
            path = artifacts[a["name"]]
            if not Path(path).exists() and a["name"] not in optional:
                return Node("Failed")  # Argo fails a pod whose required input is missing
            local[f"inputs.artifacts.{a['name']}.path"] = path
        outputs = template.get("outputs", {})
        for p in outputs.get("parameters", []):
            local[f"outputs.parameters.{p['name']}.path"] = str(home / "out" / p["name"])
        for a in outputs.get("artifacts", []):
            local[f"outputs.artifacts.{a['name']}.path"] = str(home / "art" / a["name"])
        box = template["container"]
        command = [self.substitute(c, local) for c in box["command"] + box.get("args", [])]
        env = {**self.env, **{e["name"]: e["value"] for e in box.get("env", [])}}
        timeout = template.get("activeDeadlineSeconds")
        tries = 1 + int(template.get("retryStrategy", {}).get("limit", 0))
        self.ran.append(template["name"])
        for _ in range(tries):
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            try:
                proc = subprocess.run(
                    command,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=float(timeout) if timeout else None,
                )
            except subprocess.TimeoutExpired:
                continue
            if proc.returncode == 0:
                break
        else:
            return Node("Failed")
        node = Node("Succeeded")
        for p in outputs.get("parameters", []):
            text = (home / "out" / p["name"]).read_text(encoding="utf-8")
            node.params[p["name"]] = text.removesuffix("\n")  # as Argo's executor saves it
        for a in outputs.get("artifacts", []):
            location = a.get("s3") or a.get("gcs")
            stored = self.repository / self.substitute(location["key"], local)
            stored.parent.mkdir(parents=True, exist_ok=True)
            source = home / "art" / a["name"]
            copy = shutil.copytree if source.is_dir() else shutil.copyfile
            copy(source, stored)
            node.artifacts[a["name"]] = str(stored)
        return node


def aggregated_json_value_list(values: list[str]) -> str:
    """The outputs of a fan-out's iterations as one parameter, as Argo v4.1.2 aggregates them.

    Models the controller's ``aggregatedJSONValueList`` and ``tryJSONUnmarshal``
    (workflow/controller/operator.go): the values are embedded as JSON only when EVERY one
    unmarshals to a JSON object or list; otherwise the result is the JSON list of the values'
    raw texts, so the items ``1``, ``2``, ``3`` aggregate to ``["1","2","3"]`` (Argo's own e2e
    test and operator_test.go's ``TestAggregatedJsonValueList``). Either way the list is
    written by Go's ``json.Marshal``: compact, object keys sorted, numbers as float64, ``<``,
    ``>`` and ``&`` escaped.
    """
    parsed: list[Any] = []
    for value in values:
        try:
            loaded = json.loads(value, parse_int=float, parse_constant=_no_constant)
        except ValueError:  # Go's encoding/json refuses it: the texts are passed on
            return _go_marshal(values)
        if not isinstance(loaded, (dict, list)):  # a scalar: the texts are passed on
            return _go_marshal(values)
        parsed.append(loaded)
    return _go_marshal(parsed)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity, Go does not


def _go_marshal(value: Any) -> str:
    """``value`` as Go's ``json.Marshal`` writes it (numbers are float64 by then)."""
    if isinstance(value, list):
        return "[" + ",".join(_go_marshal(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_go_marshal(k)}:{_go_marshal(v)}" for k, v in sorted(value.items()))
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, float):
        magnitude = abs(value)
        if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
            return re.sub(r"e([-+])0(\d)$", r"e\1\2", repr(value))  # 1e-07 is 1e-7 in Go
        return format(Decimal(repr(value)).normalize(), "f")  # 1e-05 is 0.00001, 3.0 is 3
    text = json.dumps(value, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)  # Go escapes HTML's specials in strings
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def evaluate(expression: str) -> bool:
    """A substituted ``when`` expression, in govaluate's syntax, evaluated."""
    python = expression.replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!(?!=)", " not ", python)
    names = {"true": True, "false": False, "null": None, "__builtins__": {}}
    return bool(eval(python, names, {}))  # the test's own compiled expression


def dropped_location_fields(manifest: Any) -> list[str]:
    """Artifact locations whose fields Argo would drop without a word.

    Argo's ``ArtifactLocation.Relocate`` (``pkg/apis/workflow/v1alpha1/workflow_types.go``)
    keeps a location only when it ``HasLocation``: endpoint, bucket and key for S3
    (``S3Artifact.HasLocation``), bucket and key for GCS. Any other location is replaced by the
    default repository's, its key kept: a bucket without an endpoint, or credentials without a
    bucket, go unused. Returns ``kind:field`` for each such field found anywhere in the manifest.
    """
    found: list[str] = []
    required = {"s3": ("endpoint", "bucket", "key"), "gcs": ("bucket", "key")}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for kind, fields in required.items():
                location = node.get(kind)
                if isinstance(location, dict) and not all(location.get(f) for f in fields):
                    found.extend(f"{kind}:{f}" for f in sorted(location) if f != "key")
            for value in node.values():
                walk(value)

    walk(manifest)
    return found
