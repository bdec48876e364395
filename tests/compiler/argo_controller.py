"""A test stand-in for the Argo controller. It is not Argo: no Argo controller runs here.

It walks a compiled Workflow the way the controller does, as far as dagwright's specs use it:
DAG templates in dependency order (``dependencies``, or an enhanced ``depends`` expression),
``when`` filled (``{{...}}`` and ``{{=...}}`` expression tags, also in task arguments) and
evaluated as govaluate does (``argo_expressions``, ``govaluate_model``: a ``when`` Argo cannot
evaluate errors the node), each finished task's ``tasks.<name>.status`` in scope (and the hooked
task's in its exit hook's), ``withItems`` /
``withParam`` fan-out with ``{{item}}`` and ``{{item.key}}`` and a loop template's
``parallelism``, output parameters of a fan-out aggregated into a JSON list as Argo v4 does
(``aggregated_json_value_list``: the values embedded as JSON only when every one is a JSON object
or list, else the list of their texts), input artifacts taken from the task's arguments as
Argo's ``ProcessArgs`` takes them (``optional`` honoured on the argument only), exit hooks,
``retryStrategy.limit``, ``activeDeadlineSeconds`` and ``memoize`` (the key filled from the
template's inputs, refused unless ``cacheKeyRegex`` matches it, looked up in ``caches`` before
a pod would be made; a hit gives the saved outputs and runs nothing; a succeeded node is saved;
``maxAge`` is not modelled). Each container template's command runs
as a local subprocess with its own folder standing in for the pod's paths (whatever the
template's image: a KFP container component's shell command runs on this machine's shell);
output parameters are read from their files (their ``valueFrom.default`` when none was
written, as Argo's executor takes it), and artifacts are kept in a folder standing in for the
artifact repository, under their keys.

As strict as Argo v4 where ``argo_validate`` and ``argo_values`` say, each rule citing its
upstream code: the manifest is validated as workflow/validate does (parameter names, task
names beginning with a digit, ``{{`` in defaults, unresolvable variables: ``ArgoRejected``),
input values get the workflow's variables substituted when their template runs (a value
holding ``{{workflow.name}}`` gets the name), and ``{{item}}`` / ``{{item.key}}`` are rendered
from each item's own JSON as Argo renders them (quotes cut off, escapes kept). A substitution
Argo would refuse at run time fails the step; ``errors`` keeps Argo's messages.

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
from pathlib import Path
from typing import Any

import yaml
from argo_expressions import replace_tags, when_holds
from argo_validate import ancestors, validate
from argo_values import (  # noqa: F401  (aggregated_json_value_list: tests import it here)
    ArgoRejected,
    aggregated_json_value_list,
    item_scope,
    item_texts,
    replace,
)
from govaluate_lexer import WhenError

_VARIABLE = re.compile(r"\{\{([^{}]+)\}\}")
_CACHE_KEY = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")  # workflow/controller/cache/cache.go


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
        self,
        manifest: dict[str, Any],
        folder: Path,
        record_resources: bool = False,
        caches: dict[str, dict[str, Node]] | None = None,
        shutdown: str | None = None,
    ) -> None:
        validate(manifest)  # what Argo refuses at submission (argo_validate.validate)
        self.record_resources = record_resources
        # memoization: ConfigMaps by name, each entry a node's outputs by key; pass the same
        # dict to the stand-in of a later workflow to share them, as one namespace does
        self.caches = caches if caches is not None else {}
        self.memoized: list[tuple[str, str, bool]] = []  # (template, key, hit) per lookup
        self.errors: list[str] = []  # Argo's messages for substitutions it refused at run time
        self.created: list[dict[str, Any]] = []  # manifests of resource templates, substituted
        self.spec = manifest["spec"]
        self.templates = {t["name"]: t for t in self.spec["templates"]}
        self.folder = folder
        self.repository = folder / "repository"
        self.name = manifest["metadata"].get("generateName", "wf-") + "stand-in"
        self.pods = itertools.count()
        self.ran: list[str] = []  # container templates run, in order: what Argo would schedule
        self.globals: dict[str, str] = {}  # the exit handler's workflow.status and .failures
        self.failures: list[dict[str, str]] = []  # failed pods, as {{workflow.failures}} has them
        self.exit_node: Node | None = None  # what the onExit template ended with
        # the workflow's spec.shutdown, set before any pod was made ("Stop": `argo stop`,
        # "Terminate": `argo terminate`): no step's pod is made, and only a Stop runs the exit
        # handler (ShutdownStrategy.ShouldExecute, pkg/apis/workflow/v1alpha1/workflow_types.go)
        self.shutdown = shutdown
        self._in_exit = False
        self.errors: list[str] = []  # why nodes errored (a when Argo cannot evaluate)
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
        node = self.template(self.spec["entrypoint"], {}, {})
        if self.spec.get("onExit") and self.shutdown != "Terminate":
            # Argo's exit handler (operator.go): {{workflow.status}}, and {{workflow.failures}},
            # the failed nodes as JSON quoted once more as a Go string (strconv.Quote)
            self.globals["workflow.status"] = node.phase
            self.globals["workflow.failures"] = json.dumps(json.dumps(self.failures))
            self._in_exit = True
            self.exit_node = self.template(self.spec["onExit"], {}, {})
        return node

    # substitution

    def substitute(self, text: str, scope: dict[str, str]) -> str:
        if "{{=" in text:  # an expression tag: filled as Argo fills a task's JSON
            values = {f"workflow.parameters.{k}": v for k, v in self.parameters.items()}
            values = {**values, "workflow.name": self.name, **scope}
            return replace_tags(text, lambda tag: self.substitute(tag, scope), values)

        def value(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in scope:
                found = scope[name]
            elif name.startswith("workflow.parameters."):
                found = self.parameters[name.split(".", 2)[2]]
            elif name == "workflow.name":
                found = self.name
            elif name in self.globals:
                found = self.globals[name]
            else:
                raise KeyError(f"unresolved variable {{{{{name}}}}} in {text!r}")
            return replace("{{v}}", {"v": found}, False)  # refuses what Go cannot quote

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
        # Argo's SubstituteParams (workflow/common/util.go): the workflow's variables and the
        # pod's name are substituted in the template's JSON with the input values already in
        # it, so a value holding {{workflow.name}} gets the name; then the inputs
        local = {"workflow.name": self.name}
        local.update({f"workflow.parameters.{k}": v for k, v in self.parameters.items()})
        if "container" in template or "resource" in template:
            local["pod.name"] = f"{self.name}-{name}-{next(self.pods)}"
        for p in inputs.get("parameters", []):
            value = params.get(p["name"], p.get("default"))
            assert value is not None, f"{name}: {p['name']}"
            scope[f"inputs.parameters.{p['name']}"] = replace(value, local, True)
        if "pod.name" in local:
            scope["pod.name"] = local["pod.name"]
        if "dag" in template:
            return self.dag(template, scope, artifacts)
        memo = template.get("memoize")
        key = None
        if memo is not None:  # looked up before a pod is made (operator.go, executeTemplate)
            key = self.substitute(memo["key"], scope)
            if not _CACHE_KEY.match(key):  # configmap_cache.go: Load refuses it, the node errors
                self.errors.append(f"{name}: invalid cache key: {key}")
                return Node("Failed")
            entries = self.caches.setdefault(memo["cache"]["configMap"]["name"], {})
            hit = entries.get(key)
            self.memoized.append((name, key, hit is not None))
            if hit is not None:  # the saved outputs, no pod (maxAge is not modelled)
                return Node("Succeeded", dict(hit.params), dict(hit.artifacts))
        if "resource" in template:
            node = self.resource(template, scope)
        else:
            node = self.container(template, scope, artifacts, optional)
        if key is not None and node.phase == "Succeeded":  # only a succeeded node is saved
            entries[key] = Node("Succeeded", dict(node.params), dict(node.artifacts))
        return node

    def resource(self, template: dict[str, Any], scope: dict[str, str]) -> Node:
        kind = yaml.safe_load(template["resource"]["manifest"]).get("kind")
        if not self.record_resources:
            raise ResourceTemplateError(
                f"template '{template['name']}' creates a {kind}; the stand-in has no "
                "Kubernetes API server or operator to create and run it (pass "
                "record_resources=True to record its manifest instead)"
            )
        pod = scope["pod.name"]
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
                if name not in nodes and all(d in nodes for d in _upstream(t, tasks))
            ]
            for task in ready:
                if "depends" in task:
                    blocked = not depends_hold(task["depends"], nodes)
                else:
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
                    if "expression" in p["valueFrom"]:  # scope.go: resolveParameter
                        out.params[p["name"]] = self.substitute(
                            "{{=" + p["valueFrom"]["expression"] + "}}", {**scope, **task_scope}
                        )
                        continue
                    out.params[p["name"]] = self.substitute(
                        p["valueFrom"]["parameter"], {**scope, **task_scope}
                    )
                except KeyError:  # a skipped task's output: Argo takes the default, if any
                    if "default" not in p["valueFrom"]:
                        raise
                    out.params[p["name"]] = p["valueFrom"]["default"]
            for a in template.get("outputs", {}).get("artifacts", []):
                if "fromExpression" in a:  # scope.go, resolveArtifact
                    tag = "{{=" + a["fromExpression"] + "}}"
                    out.artifacts[a["name"]] = self.substitute(tag, {**scope, **task_scope})
                    continue
                out.artifacts[a["name"]] = self._artifact_from(
                    a["from"], task_scope, artifact_scope
                )
        return out

    def _task_scope(self, nodes: dict[str, Node]) -> dict[str, str]:
        # each finished task's phase and outputs (operator.go, processNodeOutputs)
        found = {f"tasks.{name}.status": node.phase for name, node in nodes.items()}
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
        if "when" in task:
            try:  # tags filled and govaluate run as Argo does (argo_expressions, govaluate_model)
                proceed = evaluate(task["when"], local, self)
            except WhenError as exc:  # Argo errors the node: the DAG fails
                self.errors.append(f"{task['name']}: {exc}")
                return Node("Failed")
            if not proceed:
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
            upstream = ancestors(task["name"], tasks)
            seen = {name: n for name, n in nodes.items() if name in upstream}
            # and the hooked task's own phase (dag.go: tasks.<name>.status before runOnExitNode)
            hooked = {f"tasks.{task['name']}.status": node.phase}
            self.call(hook, {**scope, **self._task_scope(seen), **hooked}, artifact_scope)
        return node

    def call(
        self,
        task: dict[str, Any],
        scope: dict[str, str],
        artifact_scope: dict[str, str],
        item: dict[str, str] | None = None,
    ) -> Node:
        """Call a task's template; ``item`` is one iteration's ``{{item...}}`` of a looping
        task: Argo resolves the other references first, then substitutes the item and the
        workflow's variables in the result, refusing what stays unresolved (``processItem``)."""
        try:
            return self._call(task, scope, artifact_scope, item)
        except ArgoRejected as exc:  # Argo fails the node with its message
            self.errors.append(str(exc))
            return Node("Failed")

    def _call(
        self,
        task: dict[str, Any],
        scope: dict[str, str],
        artifact_scope: dict[str, str],
        item: dict[str, str] | None,
    ) -> Node:
        args = task.get("arguments", {})
        if item is None:
            params = {
                p["name"]: self.substitute(p["value"], scope) for p in args.get("parameters", [])
            }
        else:
            second = {"workflow.name": self.name, **item}
            second.update({f"workflow.parameters.{k}": v for k, v in self.parameters.items()})
            params = {
                p["name"]: replace(replace(p["value"], scope, True), second, False)
                for p in args.get("parameters", [])
            }
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
        # each item's own JSON, rendered as Argo renders {{item}} (argo_values.item_scope)
        with_param = self.substitute(task["withParam"], scope) if "withParam" in task else None
        try:
            raws = item_texts(task, with_param)
        except ArgoRejected as exc:  # withParam that is not a JSON list fails the task
            self.errors.append(str(exc))
            return Node("Failed")
        assert len(raws) == len(items)
        results = [self.call(task, scope, artifact_scope, item_scope(raw)) for raw in raws]
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
        pod = scope["pod.name"]
        if self.shutdown and not self._in_exit:
            # workflowpod.go, createWorkflowPod: no pod while shutting down, the node failed
            message = f"workflow shutdown with strategy: {self.shutdown}"
            self.failures.append(
                {"displayName": template["name"], "templateName": template["name"],
                 "message": message, "phase": "Failed", "podName": pod}
            )  # fmt: skip
            return Node("Failed")
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
        # a value from a Secret (valueFrom) has no Secret here: as an optional one missing
        env = {**self.env, **{e["name"]: e["value"] for e in box.get("env", []) if "value" in e}}
        timeout = template.get("activeDeadlineSeconds")
        tries = 1 + int(template.get("retryStrategy", {}).get("limit", 0))
        self.ran.append(template["name"])
        message = ""
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
                message = "Step exceeded its deadline"
                continue
            if proc.returncode == 0:
                break
            message = f"Error (exit code {proc.returncode})"
        else:
            self.failures.append(
                {"displayName": template["name"], "templateName": template["name"],
                 "message": message, "phase": "Failed", "podName": pod}
            )  # fmt: skip
            return Node("Failed")
        node = Node("Succeeded")
        for p in outputs.get("parameters", []):
            written = home / "out" / p["name"]
            default = p.get("valueFrom", {}).get("default")
            if default is not None and not written.exists():
                # Argo's executor takes the default when the file is not there
                # (saveParameters in workflow/executor), the template's variables in it filled
                node.params[p["name"]] = self.substitute(default, local)
                continue
            text = written.read_text(encoding="utf-8")
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


_DEPENDS_TOKEN = re.compile(r"\s*(?:(&&|\|\||!|\(|\))|([A-Za-z0-9_-]+)(?:\.([A-Za-z]+))?)")
# what a bare task name in depends means (enhanced depends logic, as dependencies means it)
_BARE = ("Succeeded", "Skipped", "Daemoned")


def _upstream(task: dict[str, Any], tasks: dict[str, Any]) -> list[str]:
    """The tasks a DAG task waits for: its dependencies, or the names its depends reads."""
    if "depends" not in task:
        return list(task.get("dependencies", []))
    names = [m.group(2) for m in _DEPENDS_TOKEN.finditer(task["depends"]) if m.group(2)]
    return [n for n in names if n in tasks]


def depends_hold(depends: str, nodes: dict[str, Node]) -> bool:
    """An enhanced ``depends`` over finished tasks (``workflow/common/ancestry.go``: each
    ``task.Result`` operand is the task's phase, a bare name any of ``_BARE``; ``&&``, ``||``,
    ``!`` and parentheses as written). A phase the stand-in does not make (Errored, Daemoned)
    is never held."""
    out, at = [], 0
    while at < len(depends.rstrip()):
        match = _DEPENDS_TOKEN.match(depends, at)
        assert match is not None, f"depends {depends!r} at {at}"
        op, name, result = match.groups()
        if op:
            out.append({"&&": " and ", "||": " or ", "!": " not "}.get(op, op))
        else:
            phase = nodes[name].phase
            out.append(str(phase == result if result else phase in _BARE))
        at = match.end()
    return bool(eval("".join(out), {"__builtins__": {}}))  # only True/False/and/or/not


def evaluate(when: str, scope: dict[str, str], stand_in: ArgoControllerStandIn) -> bool:
    """A task's ``when``, its tags filled and evaluated as Argo v4 does (see ``argo_expressions``
    and ``govaluate_model``, which cite the upstream files they model)."""
    values = {f"workflow.parameters.{k}": v for k, v in stand_in.parameters.items()}
    values = {**values, "workflow.name": stand_in.name, **scope}
    return when_holds(when, lambda tag: stand_in.substitute(tag, scope), values)


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
