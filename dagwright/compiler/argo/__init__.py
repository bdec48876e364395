"""The Argo target: the IR as a Workflow, WorkflowTemplate or CronWorkflow.

Built as plain dicts, each as Hera's model of it dumps (``objects.py``, which says why), then
checked against Argo's own JSON schema plus a strict unknown-key check derived from it
(``validate.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from dagwright.compiler.argo.objects import obj
from dagwright.compiler.delivery import CodeDelivery
from dagwright.errors import ValidationError
from dagwright.specs import SpecSizeWarning as SpecSizeWarning  # the one class, for callers here
from dagwright.specs import check_size, yaml_text

SIZE_LIMIT = 1024 * 1024  # Argo compresses a workflow's status past 1 MiB; etcd refuses 1.5
CONCURRENCY = ("Allow", "Forbid", "Replace")


@dataclass(frozen=True)
class ArgoOptions:
    """Choices for the Argo target.

    Attributes:
        kind: "workflow", "template" (WorkflowTemplate) or "cron" (CronWorkflow).
        delivery: How steps get their code.
        namespace: ``metadata.namespace``, if set.
        service_account: The pods' service account.
        labels: Extra labels on the workflow and its pods.
        artifact_repository: Where artifacts go: "s3" or "gcs" (the cluster's default
            repository of that kind), or ``s3://bucket/prefix`` / ``gs://bucket/prefix``.
        artifact_repository_ref: ``configmap[:key]`` naming a repository instead.
        artifact_endpoint: The endpoint of an ``s3://`` bucket (required there): ``host[:port]``
            or ``https://host[:port]`` (TLS), ``http://host[:port]`` (written as host and port
            with ``insecure: true``); ``s3.amazonaws.com`` for AWS.
        artifact_secret: Secret holding the store's credentials (``accesskey``/``secretkey``
            for S3, ``serviceAccountKey`` for GCS).
        schedule: Five-field cron for ``kind="cron"`` (default: the pipeline's schedule).
        timezone: IANA timezone of the schedule (default UTC, as for local schedules: Argo
            would otherwise read it in its controller's own zone).
        concurrency_policy: Allow, Forbid or Replace.
        starting_deadline_seconds: How late a missed run may still start.
        ttl_success / ttl_failure: Seconds a finished workflow is kept.
        strict: Fail instead of warning when the spec is over 1 MiB.
        validate: Check against Argo's schema (on by default).
        tracking_uri: MLflow tracking URI the pods record lineage to (none: they record none).
        allow_pickle: Pods may unpickle (joblib) artifacts they are given; without it they
            refuse, since loading a pickle runs whatever code it holds.
        cache_config_map: The ConfigMap Argo keeps the entries of ``cache=True`` components
            in (``memoize.py``; Argo creates it, given RBAC to create and update ConfigMaps).
        cache_max_age: How old an entry may be and still be used (``24h``); empty: any age.
    """

    kind: str = "workflow"
    delivery: CodeDelivery = field(default_factory=CodeDelivery)
    namespace: str | None = None
    service_account: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    artifact_repository: str = "s3"
    artifact_repository_ref: str | None = None
    artifact_endpoint: str | None = None
    artifact_secret: str | None = None
    schedule: str | None = None
    timezone: str | None = None
    concurrency_policy: str = "Forbid"
    starting_deadline_seconds: int | None = None
    ttl_success: int = 24 * 3600
    ttl_failure: int = 7 * 24 * 3600
    strict: bool = False
    validate: bool = True
    tracking_uri: str | None = None
    allow_pickle: bool = False
    cache_config_map: str = "dagwright-cache"
    cache_max_age: str = ""

    def location(self, key: str) -> dict[str, Any]:
        """The storage fields (``s3=`` or ``gcs=``) of an artifact stored under ``key``.

        Only a full location is kept as it is: Argo (``ArtifactLocation.Relocate``) replaces
        a location without an endpoint, bucket and key (S3) or bucket and key (GCS) by the
        default repository's, key aside. So the cluster's default gets the key alone, and a
        bucket always comes with its endpoint (``check_options`` makes sure).
        """
        kind, _, rest = self.artifact_repository.partition("://")
        bucket, _, prefix = rest.partition("/")
        full = f"{prefix.rstrip('/')}/{key}" if prefix else key
        if kind in ("gcs", "gs"):
            secret = (
                obj(name=self.artifact_secret, key="serviceAccountKey")
                if self.artifact_secret
                else None
            )
            return {"gcs": obj(bucket=bucket or None, key=full, serviceAccountKeySecret=secret)}
        if not bucket:
            return {"s3": obj(key=full)}
        host, insecure = s3_endpoint(self.artifact_endpoint or "")
        name = self.artifact_secret
        return {
            "s3": obj(
                bucket=bucket,
                key=full,
                endpoint=host,
                insecure=True if insecure else None,
                accessKeySecret=obj(name=name, key="accesskey") if name else None,
                secretKeySecret=obj(name=name, key="secretkey") if name else None,
            )
        }

    def stored_at(self, key: str) -> str:
        """Where an artifact stored under ``key`` is kept, as its pod records it for ``dagwright
        replay``: ``s3://bucket/prefix/<key>`` (or ``gs://...``) when the repository is named
        here, else the key alone (the cluster's default repository, or one named by
        ``artifact_repository_ref``, whose bucket only the cluster knows). No credential: the
        repository's URL holds none (``check_repository``)."""
        kind, sep, rest = self.artifact_repository.partition("://")
        if not sep or self.artifact_repository_ref:
            return key
        return f"{kind}://{rest.rstrip('/')}/{key}"

    def repository_ref(self) -> dict[str, Any] | None:
        """The ``artifactRepositoryRef`` for ``config-map:key``, or None when none is set."""
        if not self.artifact_repository_ref:
            return None
        config_map, _, key = self.artifact_repository_ref.partition(":")
        return obj(configMap=config_map, key=key or None)


def check_options(options: ArgoOptions, ir_schedule: str | None) -> None:
    """Refuse bad options before anything is built."""

    def fail(field: str, problem: str, fix: str) -> ValidationError:
        return ValidationError(f"Argo target: {problem}", field=field, fix=fix)

    from dagwright.compiler.argo.workflow import KINDS

    if options.kind not in KINDS:
        raise fail("kind", f"unknown kind {options.kind!r}", f"use one of {', '.join(KINDS)}")
    check_repository(options)
    from dagwright.compiler.argo.memoize import check_max_age
    from dagwright.names import is_k8s_name

    check_max_age(options.cache_max_age)
    if not is_k8s_name(options.cache_config_map):
        raise fail(
            "cache_config_map",
            f"{options.cache_config_map!r} is not a ConfigMap name",
            "use lowercase letters, digits and '-' (e.g. dagwright-cache)",
        )
    if options.kind != "cron":
        return
    cron = options.schedule or ir_schedule
    if not cron:
        raise fail(
            "schedule", "a CronWorkflow needs a schedule", "give --cron or @pipeline(schedule=)"
        )
    from croniter import croniter

    from dagwright.schedules.cron import check_weekday

    if len(cron.split()) != 5 or not croniter.is_valid(cron):
        raise fail(
            "cron", f"{cron!r} is not a five-field cron expression", "write e.g. '0 3 * * *'"
        )
    check_weekday(cron, field="cron")  # robfig/cron's days of the week are 0-6
    if options.concurrency_policy not in CONCURRENCY:
        raise fail(
            "concurrency_policy",
            f"{options.concurrency_policy!r} is not a concurrency policy",
            f"use one of {', '.join(CONCURRENCY)}",
        )
    if options.timezone:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(options.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise fail(
                "timezone",
                f"{options.timezone!r} is not a timezone",
                "use an IANA name such as Europe/Berlin",
            ) from exc


def s3_endpoint(text: str) -> tuple[str, bool]:
    """An S3 endpoint as Argo takes it: ``host[:port]``, and whether to connect without TLS.

    ``http://`` means ``insecure`` (Argo's S3 driver uses TLS unless told so); ``https://`` and
    a bare host use TLS. Anything else is refused, naming ``artifact_endpoint``.
    """
    scheme, sep, host = text.partition("://")
    if not sep:
        scheme, host = "", text
    fix = "give host[:port] (TLS), https://host[:port] or http://host[:port] (no TLS)"
    problem = None
    if scheme not in ("", "http", "https"):
        problem = f"the endpoint {text!r} has the scheme {scheme}://, not http:// or https://"
    elif not _HOST.match(host.removesuffix("/")):
        problem = f"the endpoint {text!r} is not a host[:port] (Argo takes no path or bucket there)"
    if problem:
        raise ValidationError(f"Argo target: {problem}", field="artifact_endpoint", fix=fix)
    return host.removesuffix("/"), scheme == "http"


_HOST = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)


def check_repository(options: ArgoOptions) -> None:
    """Refuse artifact settings Argo would drop without a word.

    Argo's ``ArtifactLocation.Relocate`` (``pkg/apis/workflow/v1alpha1``) replaces every
    location that lacks an endpoint, a bucket or a key (S3; ``S3Artifact.HasLocation``) by the
    default repository's, keeping only the key: a bucket without an endpoint, and credentials or
    an endpoint without a bucket, would go unused.
    """
    repository = options.artifact_repository
    kind, sep, rest = repository.partition("://")
    bucket = rest.partition("/")[0]
    if kind not in (("s3", "gs") if sep else ("s3", "gcs")) or (sep and not bucket):
        raise ValidationError(
            f"Argo target: {repository!r} is not an artifact repository",
            field="artifact_repository",
            fix="use s3, gcs, s3://bucket/prefix or gs://bucket/prefix",
        )
    default = "the cluster's default artifact repository (its own endpoint and credentials)"
    if options.artifact_repository_ref and sep:
        raise ValidationError(
            f"Argo target: artifacts stored in {repository!r} do not use the repository "
            f"{options.artifact_repository_ref!r} named by artifact_repository_ref",
            field="artifact_repository_ref",
            fix="give one of --artifact-repository s3://bucket/... and --artifact-repository-ref",
        )
    if options.artifact_endpoint is not None and kind != "s3":
        raise ValidationError(
            f"Argo target: an endpoint is for S3, and the repository is {repository!r}",
            field="artifact_endpoint",
            fix="leave --artifact-endpoint out for GCS",
        )
    if not sep and (options.artifact_endpoint is not None or options.artifact_secret):
        flag = "endpoint" if options.artifact_endpoint is not None else "secret"
        raise ValidationError(
            f"Argo target: artifacts without a bucket go to {default}, so Argo would not use "
            f"--artifact-{flag}",
            field=f"artifact_{flag}",
            fix="name the bucket (--artifact-repository s3://bucket/prefix, or gs://...), or "
            f"leave --artifact-{flag} out",
        )
    if kind == "s3" and sep:
        if not options.artifact_endpoint:
            raise ValidationError(
                f"Argo target: {repository!r} has no endpoint, and Argo stores an S3 artifact "
                f"without one in {default}, not in bucket '{bucket}'",
                field="artifact_endpoint",
                fix="give --artifact-endpoint: s3.amazonaws.com for AWS, or the host:port of "
                "your store (http://minio:9000 for a MinIO without TLS)",
            )
        s3_endpoint(options.artifact_endpoint)


def build(ir: Any, options: ArgoOptions) -> dict[str, Any]:
    """The manifest (a dict) of ``ir`` as options.kind says."""
    from dagwright.compiler.argo.workflow import API_VERSION, KINDS, WorkflowBuilder

    check_options(options, ir.schedule)
    builder = WorkflowBuilder(ir, options)
    spec = builder.spec()
    labels = {"dagwright.dev/pipeline": builder.name, **options.labels}
    kind = KINDS[options.kind]
    if options.kind == "workflow":
        meta = obj(generateName=f"{builder.name}-", namespace=options.namespace, labels=labels)
    else:
        meta = obj(name=builder.name, namespace=options.namespace, labels=labels)
    if options.kind == "cron":
        spec = obj(
            schedules=[options.schedule or ir.schedule],
            timezone=options.timezone or "UTC",
            concurrencyPolicy=options.concurrency_policy,
            startingDeadlineSeconds=options.starting_deadline_seconds,
            workflowSpec=spec,
        )
    return obj(apiVersion=API_VERSION, kind=kind, metadata=meta, spec=spec)


def write(ir: Any, options: ArgoOptions | None = None) -> str:
    """Compile the IR to Argo YAML, validate it and check its size.

    Raises:
        ValidationError: for a spec Argo's schema refuses (naming the path in it), or over
            1 MiB when ``options.strict`` is set.
    """
    options = options or ArgoOptions()
    data = build(ir, options)
    if options.validate:
        from dagwright.compiler.argo.validate import validate_manifest

        validate_manifest(data)
    text = yaml_text(data)
    check_size(
        text,
        SIZE_LIMIT,
        spec="Argo",
        over="the 1 MiB Argo keeps uncompressed",
        fix="deliver code by image (--code image) or split the pipeline",
        strict=options.strict,
        pipeline=ir.name,
    )
    return text
