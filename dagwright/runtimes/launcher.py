r"""A pod that runs a resource step: create its custom resource and wait until it is done.

KFP has no resource template (Argo's ``resource:`` step), so the KFP target compiles a step
whose runtime becomes a custom resource (a SparkApplication, an MPIJob) into a pod running
``python -m dagwright.runtimes.launcher``. The launcher

1. puts the values KFP gave the step into the manifest: ``{{$}}`` (the whole executor input,
   which the resource's pods hand to KFP's executor), ``{{$.inputs.parameters['x']}}`` (read
   from the executor input's ``inputs.parameterValues``) and the other KFP placeholders the
   compiler passed through as ``--placeholder`` pairs;
2. creates the resource in its own namespace with in-cluster credentials, under a name made
   unique per pod (one executor serves every task and loop iteration of its component; strings
   of the manifest that are exactly ``fragments.INSTANCE`` become that name), owned by its pod
   when the downward API gives the pod's name and uid (deleting the pod, or the run's pods,
   then deletes the resource);
3. reads the resource until the failure condition or the success condition holds, or the
   timeout passes (then the resource is deleted, so a retry does not leave it running).
   Nothing is deleted on success or failure: the resource keeps its status and its pods'
   logs for inspection.

It exits 0 on success and 1 with a message naming the condition, or the timeout, otherwise.
The run's service account needs RBAC to create, get and delete the resource's kind.

Conditions are written in Argo's resource-template notation
(``dagwright.runtimes.resource_conditions``).
The manifest travels with every ``{{`` written as ``\u007b\u007b`` (the same JSON), so that
KFP substitutes nothing inside it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dagwright.errors import DagwrightError, ValidationError
from dagwright.runtimes.fragments import fill_instance
from dagwright.runtimes.resource_conditions import Requirement, lookup, parse_condition, text_of

POD_NAME_ENV = "DAGWRIGHT_POD_NAME"
POD_UID_ENV = "DAGWRIGHT_POD_UID"
POD_NAMESPACE_ENV = "DAGWRIGHT_POD_NAMESPACE"
# the namespace file Kubernetes mounts into every pod with a service account token
_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
# room for the operators' suffixes (``-driver``, ``-launcher``, ``-worker-12``) in a 63-char name
_NAME_LIMIT = 52
_PLACEHOLDER = re.compile(r"\{\{(\$[^{}]*)\}\}")
_PARAMETER = re.compile(r"^\$\.inputs\.parameters\['([^']+)'\]$")


class LauncherError(DagwrightError, RuntimeError):
    """The resource failed, vanished or timed out, or could not be created."""


def encode_manifest(manifest: Mapping[str, Any]) -> str:
    r"""The manifest as the launcher's argument: JSON with no ``{{`` for KFP to substitute.

    ``{`` only starts an object or sits inside a string, and two in a row only inside a
    string, where ``\u007b`` is the same character to a JSON reader.
    """
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("{{", "\\u007b\\u007b")


def placeholders_in(manifest: Any) -> list[str]:
    """The KFP placeholders in the manifest's strings that the launcher cannot fill itself
    (every one but the executor input and its parameter values), without their braces."""
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, str):
            for inner in _PLACEHOLDER.findall(node):
                if inner != "$" and not _PARAMETER.match(inner):
                    found.add(inner)
        elif isinstance(node, Mapping):
            for item in node.values():
                visit(item)
        elif isinstance(node, list):
            for item in node:
                visit(item)

    visit(manifest)
    return sorted(found)


def substitute(manifest: Any, executor_input: Mapping[str, Any], values: Mapping[str, str]) -> Any:
    """The manifest with KFP's values in place of its placeholders (strings only).

    Raises:
        LauncherError: a placeholder reads a parameter KFP did not pass.
    """
    parameters = (executor_input.get("inputs") or {}).get("parameterValues") or {}
    whole = json.dumps(executor_input, separators=(",", ":"))

    def resolve(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner == "$":
            return whole
        parameter = _PARAMETER.match(inner)
        if parameter:
            name = parameter.group(1)
            if name not in parameters:
                raise LauncherError(
                    f"the manifest reads parameter '{name}', which KFP did not pass"
                )
            value = parameters[name]
            return value if isinstance(value, str) else json.dumps(value)
        return values.get(inner, match.group(0))

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return _PLACEHOLDER.sub(resolve, node)
        if isinstance(node, Mapping):
            return {key: walk(item) for key, item in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(manifest)


def launch(
    manifest: Mapping[str, Any],
    success: Sequence[Requirement],
    failure: Sequence[Requirement],
    *,
    namespace: str,
    api_client: Any,
    timeout: float | None = None,
    owner: Mapping[str, str] | None = None,
    poll: float = 5.0,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Create the resource and read it until a condition holds.

    Args:
        manifest: The resource, placeholders already filled.
        success: Requirements that must all hold (none: done once created).
        failure: Requirements of which any fails the step.
        namespace: Where to create it.
        api_client: A ``kubernetes.client.ApiClient``.
        timeout: Seconds to wait in all (None: no limit).
        owner: ``name`` and ``uid`` of the pod that owns the resource.
        poll: Seconds between reads.
        say: Where progress lines go.

    Returns:
        The resource as last read.

    Raises:
        LauncherError: it could not be created, it failed, vanished or timed out.
    """
    from kubernetes.client import CustomObjectsApi
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    api = CustomObjectsApi(api_client)
    group, _, version = str(manifest.get("apiVersion", "")).rpartition("/")
    if not group:
        raise LauncherError(f"apiVersion {manifest.get('apiVersion')!r} names no API group")
    plural = _plural(api, group, version, str(manifest.get("kind", "")))
    body = named(manifest, namespace, owner)
    name = body["metadata"]["name"]
    where = f"{body.get('kind')} {namespace}/{name}"
    try:
        api.create_namespaced_custom_object(group, version, namespace, plural, body)
    except ApiException as exc:
        raise LauncherError(f"could not create {where}: {_reason(exc)}") from exc
    except HTTPError as exc:  # the API server did not answer
        raise LauncherError(f"could not create {where}: {exc}") from exc
    say(f"created {where}")
    deadline = None if timeout is None else time.monotonic() + timeout
    last = ""
    while True:
        try:
            obj = api.get_namespaced_custom_object(group, version, namespace, plural, name)
        except ApiException as exc:
            if exc.status == 404:
                raise LauncherError(f"{where} was deleted while the step waited for it") from exc
            say(f"reading {where} failed ({_reason(exc)}); trying again")
            obj = None
        except HTTPError as exc:  # a moment without the API server: read again
            say(f"reading {where} failed ({exc}); trying again")
            obj = None
        if obj is not None:
            state = text_of(obj.get("status", {}))
            if state != last:
                say(f"status: {state}")
                last = state
            for requirement in failure:
                if requirement.holds(obj):
                    value = text_of(lookup(obj, requirement.path)[1])
                    raise LauncherError(
                        f"{where} failed: the failure condition '{requirement}' holds "
                        f"({requirement.path} is {value!r})"
                    )
            if all(requirement.holds(obj) for requirement in success):
                say(f"{where} succeeded")
                return dict(obj)
        if deadline is not None and time.monotonic() >= deadline:
            _delete(api, group, version, namespace, plural, name, say)
            raise LauncherError(
                f"{where} did not finish within the step's timeout of {timeout:g}s; it was deleted"
            )
        time.sleep(poll if deadline is None else max(0.0, min(poll, deadline - time.monotonic())))


def named(
    manifest: Mapping[str, Any], namespace: str, owner: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The resource as the launcher creates it: a name unique to the pod (``unique_name``) in
    ``namespace``, owned by the pod, and every ``fragments.INSTANCE`` string (a selector of its
    own pods, the label it selects) replaced by that name."""
    body: dict[str, Any] = copy.deepcopy(dict(manifest))
    name = unique_name(
        str((body.get("metadata") or {}).get("name", "step")), (owner or {}).get("uid")
    )
    body = fill_instance(body, name)
    metadata = body.setdefault("metadata", {})
    metadata["name"] = name
    metadata["namespace"] = namespace
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "v1", "kind": "Pod", **owner}]
    return body


def unique_name(base: str, uid: str | None = None) -> str:
    """``base`` with a suffix from the pod's uid (or a random one), within 52 characters."""
    suffix = (uid or uuid.uuid4().hex).replace("-", "")[:8].lower()
    return f"{base[: _NAME_LIMIT - 9].rstrip('-.')}-{suffix}"


def _plural(api: Any, group: str, version: str, kind: str) -> str:
    """The resource name of a kind, from API discovery; Kubernetes' convention if that fails."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        listing = api.get_api_resources(group, version)
    except ApiException:
        return kind.lower() + "s"
    except HTTPError as exc:
        raise LauncherError(f"the Kubernetes API did not answer: {exc}") from exc
    for resource in listing.resources or []:
        if resource.kind == kind and "/" not in resource.name:
            return str(resource.name)
    raise LauncherError(
        f"the API {group}/{version} serves no kind {kind}; is its operator installed?"
    )


def _delete(
    api: Any,
    group: str,
    version: str,
    namespace: str,
    plural: str,
    name: str,
    say: Callable[[str], None],
) -> None:
    from kubernetes.client.exceptions import ApiException

    try:
        api.delete_namespaced_custom_object(group, version, namespace, plural, name)
    except ApiException as exc:
        say(f"deleting {name} failed: {_reason(exc)}")


def _reason(exc: Any) -> str:
    try:
        message = json.loads(exc.body).get("message")
    except (TypeError, ValueError, AttributeError):
        message = None
    return f"HTTP {exc.status} {message or exc.reason}"


def _namespace() -> str:
    if os.environ.get(POD_NAMESPACE_ENV):
        return os.environ[POD_NAMESPACE_ENV]
    try:
        with open(_NAMESPACE_FILE, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return "default"


def _owner() -> dict[str, str] | None:
    name, uid = os.environ.get(POD_NAME_ENV), os.environ.get(POD_UID_ENV)
    return {"name": name, "uid": uid} if name and uid else None


def main(argv: Sequence[str] | None = None, api_client: Any = None) -> int:
    """The launcher's command line; returns the exit status.

    Args:
        argv: The arguments (``sys.argv[1:]`` when None).
        api_client: A ``kubernetes.client.ApiClient``; in-cluster credentials when None.
    """
    parser = argparse.ArgumentParser(prog="python -m dagwright.runtimes.launcher")
    parser.add_argument("--manifest", required=True, help="the resource, as JSON")
    parser.add_argument("--success", default="", help="success condition (Argo notation)")
    parser.add_argument("--failure", default="", help="failure condition (Argo notation)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds in all")
    parser.add_argument("--executor-input", default="{}", help="KFP's {{$}}")
    parser.add_argument(
        "--placeholder",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="a KFP placeholder and its value",
    )
    parser.add_argument("--namespace", default=None)
    parser.add_argument("--poll", type=float, default=5.0)
    args = parser.parse_args(argv)
    try:
        success = parse_condition(args.success, "success_condition")
        failure = parse_condition(args.failure, "failure_condition")
        manifest = substitute(
            json.loads(args.manifest), json.loads(args.executor_input), dict(args.placeholder)
        )
    except (ValidationError, LauncherError, ValueError) as exc:
        print(f"dagwright launcher: {exc}", file=sys.stderr)
        return 2
    if api_client is None:
        from kubernetes import client, config

        config.load_incluster_config()
        api_client = client.ApiClient()
    try:
        launch(
            manifest,
            success,
            failure,
            namespace=args.namespace or _namespace(),
            api_client=api_client,
            timeout=args.timeout,
            owner=_owner(),
            poll=args.poll,
        )
    except LauncherError as exc:
        print(f"dagwright launcher: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
