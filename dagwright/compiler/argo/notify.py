"""A pipeline's notifications on Argo: the workflow's ``onExit`` template, a container that
runs ``python -m dagwright.notifications.pod`` with ``{{workflow.status}}`` and
``{{workflow.failures}}`` (Argo sets both for the exit handler, ``workflow/controller/
operator.go``), delivered as every step is (``compiler/delivery.py``)."""

from __future__ import annotations

import json
from typing import Any

from dagwright.compiler.argo.objects import obj
from dagwright.compiler.argo.scopes import var
from dagwright.compiler.delivery import CodeDelivery
from dagwright.components.spec import ComponentSpec
from dagwright.pipelines.notify import Notification

PROGRAM = "python3 -m dagwright.notifications.pod"
TEMPLATE = "dagwright-notify"


def notify_template(
    name: str, pipeline: str, notification: Notification, delivery: CodeDelivery
) -> dict[str, Any]:
    """The exit template telling the notifiers how the workflow ended."""
    # "{{" only occurs inside JSON strings here; escaped, Argo cannot take it for a variable
    notify = json.dumps(notification.to_dict(), separators=(",", ":")).replace("{{", "{\\u007b")
    args = ["--notify", notify, "--pipeline", pipeline, "--run-id", var("workflow", "name")]
    args += ["--status", var("workflow", "status"), "--failures", var("workflow", "failures")]
    # what the pod installs and runs in, as for a component without packages of its own
    spec = ComponentSpec(name=TEMPLATE, inputs=[], outputs=[], source="", function="")
    install = delivery.install_command(spec)
    command = ["sh", "-c", f'{install} && exec {PROGRAM} "$@"', "sh"] if install else None
    return obj(
        name=name,
        metadata=obj(labels={"dagwright.dev/component": TEMPLATE}),
        container=obj(
            image=delivery.image_for(spec),
            command=command or PROGRAM.split(),
            args=args,
            env=secret_env(notification) or None,
        ),
    )


def secret_env(notification: Notification) -> list[dict[str, Any]]:
    """An Email's SMTP login from its Kubernetes Secret (``username``, ``password``) as the
    variables it reads; optional, so a missing Secret sends without a login instead of
    failing the exit handler, and with it the workflow."""
    return [
        obj(name=variable, valueFrom=obj(secretKeyRef=obj(name=secret, key=key, optional=True)))
        for variable, secret, key in notification.secret_env()
    ]
