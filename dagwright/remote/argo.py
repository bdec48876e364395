"""Workflows, WorkflowTemplates and CronWorkflows on Argo Workflows, through Hera's
``WorkflowsService``.

``submit`` creates a Workflow from a compiled manifest (the YAML ``dagwright compile --target
argo`` writes), linted by the server first when asked, and can follow it to its end;
``apply_template`` and ``apply_cron`` create a WorkflowTemplate or CronWorkflow, or update the
one of that name (carrying its resourceVersion, as Kubernetes requires); ``delete_template``
and ``delete_cron`` remove one. Every request goes through ``WorkflowsService``; hera is
imported only when one of these functions runs. What is checked before anything is sent is in
``argo_checks``; what comes back (``Submission``, ``Applied``) in ``argo_results``.

No Argo server can run where dagwright is tested: the tests talk to a local HTTP stand-in
that checks every request against the upstream Argo Workflows v4.1.2 swagger
(``tests/schemas/argo-workflows-v4.1.2.swagger.json.gz``) and answers per its response schemas.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dagwright.errors import ValidationError
from dagwright.remote.argo_checks import (
    argo_cron,
    check_cron_spec,
    check_kind,
    check_name,
    namespace_for,
    place,
    read_manifest,
    set_arguments,
    to_model,
)
from dagwright.remote.argo_results import (
    FINAL_PHASES,
    Applied,
    Submission,
    node_states,
    phase_of,
)
from dagwright.remote.argo_service import (
    Echo,
    connect,
    page,
    remote_errors,
    server_lint,
    server_url,
    silent,
)

__all__ = [
    "Applied",
    "Submission",
    "apply_cron",
    "apply_template",
    "argo_cron",
    "check_kind",
    "connect",
    "delete_cron",
    "delete_template",
    "send",
    "submit",
]


def submit(
    manifest: str | Path,
    *,
    host: str | None = None,
    namespace: str | None = None,
    token: str | None = None,
    arguments: dict[str, Any] | None = None,
    name: str | None = None,
    lint: bool = False,
    wait: bool = False,
    timeout: float | None = None,
    poll_interval: float = 5.0,
    verify_ssl: bool = True,
    echo: Echo | None = print,
) -> Submission:
    """Create a Workflow from a compiled manifest and, with ``wait=True``, follow it to its end.

    Args:
        manifest: The Workflow YAML (``dagwright compile FILE.py --target argo -o ...``).
        host: The argo-server URL (see ``connect``).
        namespace: Where it runs; default the manifest's, else ``$ARGO_NAMESPACE``.
        token: A bearer token (default ``$ARGO_TOKEN``; see ``connect``).
        arguments: Pipeline parameter values; strings go as they are, others as JSON.
        name: The workflow's name (default: the server completes the manifest's
            ``generateName``).
        lint: Have the server lint it first (``lint_workflow``); nothing is created when
            linting fails.
        wait: Poll it (``get_workflow``) until it ends or ``timeout`` passes.
        timeout: Seconds to wait at most; None waits as long as it goes on.
        poll_interval: Seconds between polls.
        verify_ssl: Check the server's TLS certificate.
        echo: Takes each line of progress and the final summary; None prints nothing.

    Returns:
        The ``Submission``; ``succeeded`` tells how a waited workflow ended.

    Raises:
        ValidationError: a bad manifest, namespace, host or arguments; nothing was sent.
        SubmitError: the server refused a request (or the lint) or could not be reached.
    """
    from hera.workflows import models

    doc = read_manifest(manifest, "Workflow")
    ns = place(doc, namespace, name)
    set_arguments(doc, dict(arguments or {}), required=True)
    if poll_interval <= 0 or (timeout is not None and timeout <= 0):
        raise ValidationError("poll_interval and timeout must be > 0", field="timeout")
    url = server_url(host)
    workflow = to_model(doc)
    say = echo or silent
    started = time.monotonic()
    with remote_errors(url):
        service = connect(url, ns, token, verify_ssl=verify_ssl)
        if lint:
            request = models.WorkflowLintRequest(namespace=ns, workflow=workflow)
            server_lint(lambda: service.lint_workflow(request, namespace=ns), "Workflow", say)
        made = service.create_workflow(
            models.WorkflowCreateRequest(namespace=ns, workflow=workflow), namespace=ns
        )
        result = Submission(
            name=str(made.metadata.name),
            namespace=ns,
            uid=made.metadata.uid,
            phase=phase_of(made),
            url=page(url, "Workflow", ns, str(made.metadata.name)),
            linted=lint,
        )
        say(f"submitted workflow {ns}/{result.name}: {result.url}")
        if wait:
            last = _wait(service, result, timeout, poll_interval, say)
            result.ended(last, time.monotonic() - started)
            for line in result.summary(timeout):
                say(line)
    return result


def apply_template(manifest: str | Path, **options: Any) -> Applied:
    """Create a WorkflowTemplate from a compiled manifest, or update the one of its name.

    Args:
        manifest: The WorkflowTemplate YAML (compiled with ``kind="template"``).
        **options: ``host``, ``namespace``, ``token``, ``arguments``, ``name``, ``lint``,
            ``verify_ssl``, ``echo``, as for ``submit``. Arguments given become the
            template's defaults; a parameter may stay without a value, for whoever submits it.

    Returns:
        What was done: ``Applied``.

    Raises:
        ValidationError: a bad manifest, name, namespace or arguments; nothing was sent.
        SubmitError: the server refused a request or could not be reached.
    """
    return _apply("WorkflowTemplate", manifest, **options)


def apply_cron(manifest: str | Path, **options: Any) -> Applied:
    """Create a CronWorkflow from a compiled manifest, or update the one of its name.

    Its ``spec.schedules`` (Argo v4: a list of five-field crons) and ``spec.timezone`` are
    checked here first, as Argo's own parser would read them.

    Args:
        manifest: The CronWorkflow YAML (compiled with ``kind="cron"``).
        **options: ``host``, ``namespace``, ``token``, ``arguments``, ``name``, ``lint``,
            ``verify_ssl``, ``echo``, as for ``submit``.

    Returns:
        What was done: ``Applied``.

    Raises:
        ValidationError: a bad manifest, schedule, time zone, name, namespace or arguments.
        SubmitError: the server refused a request or could not be reached.
    """
    return _apply("CronWorkflow", manifest, **options)


def delete_template(name: str, **options: Any) -> None:
    """Delete the WorkflowTemplate ``name`` (``host``, ``namespace``, ``token``, ``verify_ssl``,
    ``echo`` as for ``submit``; the namespace defaults to ``$ARGO_NAMESPACE``).

    Raises:
        SubmitError: there is none of that name, or the server refused or could not be reached.
    """
    _delete("WorkflowTemplate", name, **options)


def delete_cron(name: str, **options: Any) -> None:
    """Delete the CronWorkflow ``name`` (options as for ``delete_template``).

    Raises:
        SubmitError: there is none of that name, or the server refused or could not be reached.
    """
    _delete("CronWorkflow", name, **options)


def send(manifest: str | Path, kind: str = "workflow", **options: Any) -> Submission | Applied:
    """``submit`` a Workflow, ``apply_template`` or ``apply_cron`` by ``kind``.

    Raises:
        ValidationError: an unknown kind, or options only a Workflow takes for another kind.
    """
    resource = check_kind(kind)
    if resource == "Workflow":
        return submit(manifest, **options)
    only_runs = sorted(
        k for k in ("wait", "timeout", "poll_interval") if options.pop(k, None) not in (None, False)
    )
    if only_runs:
        raise ValidationError(
            f"a {resource} does not run, so it takes no {only_runs[0]}",
            field=only_runs[0],
            fix="leave it out, or submit with kind='workflow'",
        )
    return _apply(resource, manifest, **options)


# --- behind the public functions -------------------------------------------------------------


def _apply(
    kind: str,
    manifest: str | Path,
    *,
    host: str | None = None,
    namespace: str | None = None,
    token: str | None = None,
    arguments: dict[str, Any] | None = None,
    name: str | None = None,
    lint: bool = False,
    verify_ssl: bool = True,
    echo: Echo | None = print,
) -> Applied:
    """Create or update a WorkflowTemplate or CronWorkflow: get it first, then one or other."""
    from hera.exceptions import NotFound

    doc = read_manifest(manifest, kind)
    ns = place(doc, namespace, name)
    rname = doc["metadata"].get("name")
    if not rname:
        raise ValidationError(
            f"the {kind} has no metadata.name", field="name", fix="pass a name (--name)"
        )
    check_name(rname, field="name")
    set_arguments(doc, dict(arguments or {}), required=kind == "CronWorkflow")
    if kind == "CronWorkflow":
        check_cron_spec(doc["spec"])
    url = server_url(host)
    model = to_model(doc)
    say = echo or silent
    with remote_errors(url):
        service = connect(url, ns, token, verify_ssl=verify_ssl)
        ops = _Ops(service, kind, ns, model)
        if lint:
            server_lint(ops.lint, kind, say)
        before = None
        try:
            existing = ops.get(rname)
        except NotFound:
            existing = None
        if existing is None:
            made, action = ops.create(), "created"
        else:
            # Kubernetes takes an update only with the resourceVersion it was read at
            before = existing.metadata.resource_version
            model.metadata.resource_version = before
            made, action = ops.update(rname), "updated"
    result = Applied(
        kind=kind,
        name=rname,
        namespace=ns,
        action=action,
        resource_version=made.metadata.resource_version,
        url=page(url, kind, ns, rname),
    )
    said = f"{action} {kind} {ns}/{rname}: {result.url}"
    if action == "updated":
        said += f" (resourceVersion {before} -> {result.resource_version})"
    say(said)
    if kind == "CronWorkflow":
        result.schedules = list(doc["spec"].get("schedules") or [])
        result.timezone = doc["spec"].get("timezone")
        zone = result.timezone or "the controller's time zone"
        say(f"  schedules: {', '.join(result.schedules)} ({zone})")
    return result


class _Ops:
    """The service calls for one kind, so that ``_apply`` reads the same for both."""

    def __init__(self, service: Any, kind: str, namespace: str, model: Any) -> None:
        from hera.workflows import models

        self.service, self.ns, self.model = service, namespace, model
        self.template = kind == "WorkflowTemplate"
        self.models = models

    def lint(self) -> Any:
        m, ns = self.models, self.ns
        if self.template:
            request = m.WorkflowTemplateLintRequest(namespace=ns, template=self.model)
            return self.service.lint_workflow_template(request, namespace=ns)
        cron = m.LintCronWorkflowRequest(namespace=ns, cron_workflow=self.model)
        return self.service.lint_cron_workflow(cron, namespace=ns)

    def get(self, name: str) -> Any:
        if self.template:
            return self.service.get_workflow_template(name, namespace=self.ns)
        return self.service.get_cron_workflow(name, namespace=self.ns)

    def create(self) -> Any:
        m, ns = self.models, self.ns
        if self.template:
            request = m.WorkflowTemplateCreateRequest(namespace=ns, template=self.model)
            return self.service.create_workflow_template(request, namespace=ns)
        cron = m.CreateCronWorkflowRequest(namespace=ns, cron_workflow=self.model)
        return self.service.create_cron_workflow(cron, namespace=ns)

    def update(self, name: str) -> Any:
        m, ns = self.models, self.ns
        if self.template:
            request = m.WorkflowTemplateUpdateRequest(namespace=ns, template=self.model)
            return self.service.update_workflow_template(name, request, namespace=ns)
        cron = m.UpdateCronWorkflowRequest(namespace=ns, cron_workflow=self.model)
        return self.service.update_cron_workflow(name, cron, namespace=ns)


def _delete(
    kind: str,
    name: str,
    *,
    host: str | None = None,
    namespace: str | None = None,
    token: str | None = None,
    verify_ssl: bool = True,
    echo: Echo | None = print,
) -> None:
    check_name(name, field="name")
    ns = namespace_for(namespace)
    url = server_url(host)
    with remote_errors(url):
        service = connect(url, ns, token, verify_ssl=verify_ssl)
        if kind == "WorkflowTemplate":
            service.delete_workflow_template(name, namespace=ns)
        else:
            service.delete_cron_workflow(name, namespace=ns)
    (echo or silent)(f"deleted {kind} {ns}/{name}")


def _wait(
    service: Any, result: Submission, timeout: float | None, interval: float, say: Echo
) -> Any:
    """Poll ``get_workflow`` until a final phase or the timeout, saying each change."""
    deadline = None if timeout is None else time.monotonic() + timeout
    who = f"workflow {result.namespace}/{result.name}"
    last_phase, seen = result.phase, set()
    while True:
        workflow = service.get_workflow(result.name, namespace=result.namespace)
        phase = phase_of(workflow)
        if phase != last_phase and phase is not None:
            say(f"{who}: {phase}")
        last_phase = phase
        for step, step_phase, _ in node_states(workflow):
            if (step, step_phase) not in seen:
                seen.add((step, step_phase))
                say(f"  {step}: {step_phase}")
        if phase in FINAL_PHASES or (deadline is not None and time.monotonic() >= deadline):
            return workflow
        pause = interval if deadline is None else min(interval, deadline - time.monotonic())
        time.sleep(max(pause, 0.0))
